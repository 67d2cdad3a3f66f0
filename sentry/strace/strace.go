// Package strace prints the system calls of guest tasks in strace's style,
// one line per call after it returns:
//
//	[pid 1] write(1, "hello\n", 6) = 6
//	[pid 1] rseq(0x4c97e0, 0x20, 0, 0x53053053) = -1 ENOSYS (Function not implemented)
//
// Arguments are decoded from a per-syscall description: strings and
// buffers are read from guest memory (truncated and escaped as strace
// does), flags are shown symbolically, pointers in hex. Output goes to a
// writer of the Sentry's (stderr for runsc --strace), never to a guest fd.
package strace

import (
	"io"
	"strconv"
	"sync"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

// DefaultStringLimit is how many bytes of a string are shown (strace -s).
const DefaultStringLimit = 32

// Tracer implements kernel.SyscallTracer by printing each call.
type Tracer struct {
	table       *kernel.SyscallTable
	stringLimit int

	// mu guards w and buf.
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// New returns a tracer that writes to w, naming calls from table.
func New(w io.Writer, table *kernel.SyscallTable) *Tracer {
	return &Tracer{w: w, table: table, stringLimit: DefaultStringLimit}
}

// SetStringLimit sets how many bytes of strings and buffers are shown.
func (tr *Tracer) SetStringLimit(n int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if n > 0 {
		tr.stringLimit = n
	}
}

// SyscallExit implements kernel.SyscallTracer.
func (tr *Tracer) SyscallExit(t *kernel.Task, nr uintptr, args *arch.SyscallArguments, rval uintptr, errno linux.Errno) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.buf = Format(tr.buf[:0], t, tr.table.Name(nr), nr, args, rval, errno, t.Exiting(), tr.stringLimit)
	tr.w.Write(tr.buf)
}

// Format appends one trace line (with newline) for a call by t to b;
// exited means the call did not return.
func Format(b []byte, t *kernel.Task, name string, nr uintptr, args *arch.SyscallArguments, rval uintptr, errno linux.Errno, exited bool, limit int) []byte {
	var mem Memory
	var tid int32
	if t != nil {
		mem = t.MemoryManager()
		tid = t.ThreadID()
	}
	b = append(b, "[pid "...)
	b = strconv.AppendInt(b, int64(tid), 10)
	b = append(b, "] "...)
	b = formatCall(b, mem, name, nr, args, rval, errno, exited, limit)
	return append(b, '\n')
}

// formatCall appends "name(args) = result", reading guest memory from mem
// (nil: none is read).
func formatCall(b []byte, mem Memory, name string, nr uintptr, args *arch.SyscallArguments, rval uintptr, errno linux.Errno, exited bool, limit int) []byte {
	b = append(b, name...)
	b = append(b, '(')
	spec := specFor(nr)
	c := &call{mem: mem, args: args, rval: rval, errno: errno, limit: limit}
	for i, a := range spec.args {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = c.formatArg(b, i, a)
	}
	b = append(b, ')')
	switch {
	case exited:
		return append(b, " = ?"...)
	case errno != 0:
		b = append(b, " = -1 "...)
		return appendErrno(b, errno)
	default:
		b = append(b, " = "...)
		return c.formatReturn(b, spec.ret)
	}
}

// appendErrno appends "ENOSYS (Function not implemented)".
func appendErrno(b []byte, errno linux.Errno) []byte {
	name := linux.ErrnoName(errno)
	if name == "" {
		name = "errno " + strconv.Itoa(int(errno))
	}
	b = append(b, name...)
	msg := errno.Error()
	if msg == "" {
		return b
	}
	b = append(b, " ("...)
	if c := msg[0]; c >= 'a' && c <= 'z' {
		b = append(b, c-'a'+'A')
		msg = msg[1:]
	}
	b = append(b, msg...)
	return append(b, ')')
}
