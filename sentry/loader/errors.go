package loader

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// FormatError is a malformed or unsupported executable. It matches
// unix.ENOEXEC with errors.Is, the errno execve(2) would return.
type FormatError struct {
	Reason string
}

func (e *FormatError) Error() string { return e.Reason }

// Is makes FormatError match ENOEXEC.
func (e *FormatError) Is(target error) bool { return target == unix.ENOEXEC }

func formatErr(format string, args ...any) error {
	return &FormatError{Reason: fmt.Sprintf(format, args...)}
}

// ErrNotELF is returned for a file that does not start with the ELF magic.
var ErrNotELF = &FormatError{Reason: "not an ELF file"}

// InterpreterError is an ELF interpreter (PT_INTERP) that is not a usable
// ELF file. It matches unix.ELIBBAD with errors.Is, as execve(2) reports
// it; the underlying format problem is in Reason, not in the error chain,
// so that it does not also match ENOEXEC.
type InterpreterError struct {
	Path   string
	Reason string
}

func (e *InterpreterError) Error() string {
	return fmt.Sprintf("bad ELF interpreter %s: %s", e.Path, e.Reason)
}

// Is makes InterpreterError match ELIBBAD.
func (e *InterpreterError) Is(target error) bool { return target == unix.ELIBBAD }

// ErrNoOpener is returned when a program needs another file (an ELF
// interpreter or a script's interpreter) but LoadArgs has no Opener. It
// matches ENOENT: there is no filesystem to find the file in.
var ErrNoOpener = errors.New("no file opener to find it with")

// noOpenerError wraps ErrNoOpener with the path and ENOENT.
func noOpenerError(path string) error {
	return fmt.Errorf("opening %s: %w (%w)", path, ErrNoOpener, unix.ENOENT)
}

// truncatedErr is a read the ELF headers promise that the file cannot
// satisfy; Linux's elf_read reports it as EIO.
func truncatedErr(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), unix.EIO)
}
