// Package seccomp builds and installs the seccomp-bpf filters that confine
// Palisade's host processes: the Sentry, the Gofer and the ptrace stubs.
//
// A filter is a list of rules, each naming one host syscall, optional
// conditions on its arguments, and the reason it is allowed. Filters are
// compiled to classic BPF with libseccomp (which also adds the architecture
// check, so a 32-bit int 0x80 entry never matches an amd64 rule) and exported
// as a raw program. The raw program can then be installed either by an
// ordinary Go process (Install) or, for a stub that was created with a raw
// clone and may not run the Go runtime, by InstallRaw, which makes only two
// raw system calls and touches no Go runtime state.
package seccomp

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Action is what a filter does with a syscall.
type Action struct {
	kind  actionKind
	errno unix.Errno
}

type actionKind int

const (
	actKillProcess actionKind = iota
	actAllow
	actErrno
	actTrap
)

var (
	// KillProcess kills the whole process with SIGSYS.
	KillProcess = Action{kind: actKillProcess}
	// Allow lets the syscall run.
	Allow = Action{kind: actAllow}
	// Trap delivers SIGSYS to the calling thread.
	Trap = Action{kind: actTrap}
)

// Errno makes the syscall fail with e without running it.
func Errno(e unix.Errno) Action { return Action{kind: actErrno, errno: e} }

func (a Action) scmp() libseccomp.ScmpAction {
	switch a.kind {
	case actAllow:
		return libseccomp.ActAllow
	case actErrno:
		return libseccomp.ActErrno.SetReturnCode(int16(a.errno))
	case actTrap:
		return libseccomp.ActTrap
	default:
		return libseccomp.ActKillProcess
	}
}

// CompareOp is a comparison applied to one syscall argument.
type CompareOp int

// Comparison operators for ArgMatch.
const (
	// Equal matches when arg == Value.
	Equal CompareOp = iota
	// MaskedEqual matches when arg & Mask == Value.
	MaskedEqual
	// NotEqual matches when arg != Value.
	NotEqual
)

// ArgMatch is a condition on argument Index (0-5).
type ArgMatch struct {
	Index uint
	Op    CompareOp
	Value uint64
	Mask  uint64 // only for MaskedEqual
}

// Rule allows (or otherwise acts on) one syscall, optionally only when all
// of Args match. Several rules may name the same syscall: any one matching
// rule applies.
type Rule struct {
	Syscall uintptr // amd64 syscall number (unix.SYS_*)
	Args    []ArgMatch
	Action  Action // zero value means Allow is NOT implied; use AllowRule
	Reason  string // why this process needs the syscall
}

// AllowRule is a Rule that allows nr under the given conditions.
func AllowRule(nr uintptr, reason string, args ...ArgMatch) Rule {
	return Rule{Syscall: nr, Args: args, Action: Allow, Reason: reason}
}

// Filter is a complete policy: rules plus what happens to everything else.
type Filter struct {
	Name    string // for error messages, e.g. "gofer"
	Default Action
	Rules   []Rule
}

// BPF compiles f to a classic BPF program.
func (f *Filter) BPF() ([]unix.SockFilter, error) {
	flt, err := libseccomp.NewFilter(f.Default.scmp())
	if err != nil {
		return nil, fmt.Errorf("seccomp filter %s: new filter: %w", f.Name, err)
	}
	defer flt.Release()
	// A 32-bit entry (int 0x80) from an amd64 process is killed outright.
	if err := flt.SetBadArchAction(libseccomp.ActKillProcess); err != nil {
		return nil, fmt.Errorf("seccomp filter %s: bad-arch action: %w", f.Name, err)
	}
	// A binary tree of syscall numbers instead of a linear list: the Gofer
	// and Sentry filters have dozens of rules and run on every host call.
	if err := flt.SetOptimize(2); err != nil {
		return nil, fmt.Errorf("seccomp filter %s: optimize: %w", f.Name, err)
	}
	// NO_NEW_PRIVS is set by the installer, not by libseccomp's loader.
	if err := flt.SetNoNewPrivsBit(false); err != nil {
		return nil, fmt.Errorf("seccomp filter %s: %w", f.Name, err)
	}
	for _, r := range f.Rules {
		if r.Reason == "" {
			return nil, fmt.Errorf("seccomp filter %s: rule for syscall %d has no reason", f.Name, r.Syscall)
		}
		conds := make([]libseccomp.ScmpCondition, 0, len(r.Args))
		for _, a := range r.Args {
			var c libseccomp.ScmpCondition
			var err error
			switch a.Op {
			case Equal:
				c, err = libseccomp.MakeCondition(a.Index, libseccomp.CompareEqual, a.Value)
			case NotEqual:
				c, err = libseccomp.MakeCondition(a.Index, libseccomp.CompareNotEqual, a.Value)
			case MaskedEqual:
				c, err = libseccomp.MakeCondition(a.Index, libseccomp.CompareMaskedEqual, a.Mask, a.Value)
			default:
				err = fmt.Errorf("unknown compare op %d", a.Op)
			}
			if err != nil {
				return nil, fmt.Errorf("seccomp filter %s: syscall %d arg %d: %w", f.Name, r.Syscall, a.Index, err)
			}
			conds = append(conds, c)
		}
		call := libseccomp.ScmpSyscall(r.Syscall)
		var err error
		if len(conds) == 0 {
			err = flt.AddRuleExact(call, r.Action.scmp())
		} else {
			err = flt.AddRuleConditionalExact(call, r.Action.scmp(), conds)
		}
		if err != nil {
			return nil, fmt.Errorf("seccomp filter %s: rule for syscall %d: %w", f.Name, r.Syscall, err)
		}
	}
	return export(flt, f.Name)
}

// export writes flt as raw BPF into a memfd and decodes the instructions.
func export(flt *libseccomp.ScmpFilter, name string) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("seccomp filter %s: memfd: %w", name, err)
	}
	file := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer file.Close()
	if err := flt.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("seccomp filter %s: export: %w", name, err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seccomp filter %s: %w", name, err)
	}
	raw, err := io.ReadAll(file)
	if err != nil {
		return nil, fmt.Errorf("seccomp filter %s: reading exported program: %w", name, err)
	}
	return DecodeBPF(raw)
}

// sockFilterSize is sizeof(struct sock_filter): code u16, jt u8, jf u8, k u32.
const sockFilterSize = 8

// maxInstructions is BPF_MAXINSNS, the kernel's limit on a filter.
const maxInstructions = 4096

// DecodeBPF decodes raw sock_filter records in host (little-endian) order.
func DecodeBPF(raw []byte) ([]unix.SockFilter, error) {
	if len(raw)%sockFilterSize != 0 {
		return nil, fmt.Errorf("seccomp: BPF program of %d bytes is not a whole number of instructions", len(raw))
	}
	n := len(raw) / sockFilterSize
	if n == 0 || n > maxInstructions {
		return nil, fmt.Errorf("seccomp: BPF program has %d instructions (limit %d)", n, maxInstructions)
	}
	prog := make([]unix.SockFilter, n)
	for i := range prog {
		b := raw[i*sockFilterSize:]
		prog[i] = unix.SockFilter{
			Code: binary.LittleEndian.Uint16(b[0:2]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.LittleEndian.Uint32(b[4:8]),
		}
	}
	return prog, nil
}
