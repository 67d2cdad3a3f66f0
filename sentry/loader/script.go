package loader

import (
	"bytes"
)

// Interpreter scripts, as Linux's binfmt_script runs them.
const (
	// binprmBufSize is how much of a file exec looks at to recognise
	// its format (BINPRM_BUF_SIZE); a "#!" line is parsed from it.
	binprmBufSize = 256
	// maxBinfmtDepth is how many interpreter scripts one exec follows:
	// a chain of five scripts ending in a program runs, a sixth script
	// fails with ELOOP (exec_binprm's depth check, as measured on Linux
	// 6.x).
	maxBinfmtDepth = 5
)

// shebang is a parsed "#!" line.
type shebang struct {
	// interp is the interpreter path: never empty unless the line had a
	// NUL right after the blanks, and free of blanks and NULs.
	interp string
	// arg is the optional argument: the rest of the line after the
	// blanks that follow the path, trailing blanks removed, up to any
	// NUL. hasArg says there was one (it may then be empty, if it began
	// with a NUL).
	arg    string
	hasArg bool
}

// isShebang reports whether head, a file's first bytes, starts a script.
func isShebang(head []byte) bool {
	return len(head) >= 2 && head[0] == '#' && head[1] == '!'
}

// parseShebang parses the "#!" line at the start of head (the file's
// first bytes; only binprmBufSize are looked at) exactly as binfmt_script
// does. The line ends at the first newline; if there is none within the
// buffer, the line is the first binprmBufSize-1 bytes, which is accepted
// only if the interpreter path ends (at a blank or NUL) within them: a
// long argument is truncated, a long path is ENOEXEC. Blanks are spaces
// and tabs only (a carriage return is part of the path or argument).
// Trailing blanks are dropped; the path is the first run of non-blanks;
// everything after the blanks that follow it is one argument.
func parseShebang(head []byte) (shebang, error) {
	var b [binprmBufSize]byte
	copy(b[:], head)
	if !isShebang(b[:]) {
		return shebang{}, formatErr("not an interpreter script")
	}
	end := bytes.IndexByte(b[:], '\n')
	if end < 0 {
		bufEnd := binprmBufSize - 1
		p := nextNonBlank(b[:], 2, bufEnd)
		if p < 0 {
			return shebang{}, formatErr("#! line is all blanks")
		}
		if nextTerminator(b[:], p, bufEnd) < 0 {
			return shebang{}, formatErr("#! interpreter path longer than %d bytes", bufEnd-2)
		}
		end = bufEnd
	}
	// b[1] is '!', so this stops at index 2 at the latest.
	for isBlank(b[end-1]) {
		end--
	}
	name := nextNonBlank(b[:], 2, end)
	if name < 0 {
		return shebang{}, formatErr("#! line names no interpreter")
	}
	var sb shebang
	sep := nextTerminator(b[:], name, end)
	if sep < 0 {
		sb.interp = string(b[name:end])
		return sb, nil
	}
	sb.interp = string(b[name:sep])
	if b[sep] == 0 {
		return sb, nil
	}
	if a := nextNonBlank(b[:], sep, end); a >= 0 {
		arg := b[a:end]
		if i := bytes.IndexByte(arg, 0); i >= 0 {
			arg = arg[:i]
		}
		sb.arg, sb.hasArg = string(arg), true
	}
	return sb, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// nextNonBlank returns the index of the first byte of b[from:to] that is
// not a blank, or -1.
func nextNonBlank(b []byte, from, to int) int {
	for i := from; i < to; i++ {
		if !isBlank(b[i]) {
			return i
		}
	}
	return -1
}

// nextTerminator returns the index of the first blank or NUL in
// b[from:to], or -1.
func nextTerminator(b []byte, from, to int) int {
	for i := from; i < to; i++ {
		if isBlank(b[i]) || b[i] == 0 {
			return i
		}
	}
	return -1
}

// scriptArgv returns the argument vector exec passes to a script's
// interpreter: the interpreter path, the optional argument, the path the
// script was opened by, then the script's arguments after argv[0].
func scriptArgv(sb shebang, scriptPath string, argv []string) []string {
	out := make([]string, 0, len(argv)+2)
	out = append(out, sb.interp)
	if sb.hasArg {
		out = append(out, sb.arg)
	}
	out = append(out, scriptPath)
	if len(argv) > 1 {
		out = append(out, argv[1:]...)
	}
	return out
}
