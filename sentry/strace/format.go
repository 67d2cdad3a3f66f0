package strace

import (
	"strconv"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
)

// Memory is the guest memory the tracer reads arguments from.
type Memory interface {
	CopyIn(addr uintptr, dst []byte) (int, error)
	CopyInString(addr uintptr, maxLen int) (string, error)
}

// call is one call being formatted.
type call struct {
	mem   Memory
	args  *arch.SyscallArguments
	rval  uintptr
	errno linux.Errno
	limit int
}

func appendHex(b []byte, v uint64) []byte {
	b = append(b, "0x"...)
	return strconv.AppendUint(b, v, 16)
}

// appendPointer appends a pointer: NULL or hex.
func appendPointer(b []byte, v uintptr) []byte {
	if v == 0 {
		return append(b, "NULL"...)
	}
	return appendHex(b, uint64(v))
}

// appendQuoted appends s quoted and escaped as strace does, with "..."
// after it if truncated.
func appendQuoted(b []byte, s []byte, truncated bool) []byte {
	b = append(b, '"')
	for i, c := range s {
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\t':
			b = append(b, `\t`...)
		case '\r':
			b = append(b, `\r`...)
		case '\v':
			b = append(b, `\v`...)
		case '\f':
			b = append(b, `\f`...)
		default:
			if c >= ' ' && c < 0x7f {
				b = append(b, c)
				continue
			}
			// Octal, as short as possible unless a digit follows.
			b = append(b, '\\')
			nextDigit := i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'
			if nextDigit || c >= 0100 {
				b = append(b, '0'+c>>6)
			}
			if nextDigit || c >= 010 {
				b = append(b, '0'+(c>>3)&7)
			}
			b = append(b, '0'+c&7)
		}
	}
	b = append(b, '"')
	if truncated {
		b = append(b, "..."...)
	}
	return b
}

// appendBuffer appends n bytes of guest memory at addr (at most limit).
func (c *call) appendBuffer(b []byte, addr uintptr, n uint64) []byte {
	if c.mem == nil {
		return appendPointer(b, addr)
	}
	show := min(n, uint64(c.limit))
	buf := make([]byte, show)
	if got, err := c.mem.CopyIn(addr, buf); err != nil || uint64(got) != show {
		return appendPointer(b, addr)
	}
	return appendQuoted(b, buf, show < n)
}

// appendString appends a NUL-terminated guest string.
func (c *call) appendString(b []byte, addr uintptr) []byte {
	if c.mem == nil || addr == 0 {
		return appendPointer(b, addr)
	}
	s, err := c.mem.CopyInString(addr, c.limit)
	if err == nil {
		return appendQuoted(b, []byte(s), false)
	}
	// Longer than the limit: show the prefix.
	buf := make([]byte, c.limit)
	if n, err := c.mem.CopyIn(addr, buf); err == nil && n == len(buf) {
		return appendQuoted(b, buf, true)
	}
	return appendPointer(b, addr)
}

// appendFlags appends v as names joined by '|', with any unknown rest in
// hex, or zero as "0" (or zeroName).
func appendFlags(b []byte, v uint64, names []flagName, zeroName string) []byte {
	if v == 0 {
		if zeroName != "" {
			return append(b, zeroName...)
		}
		return append(b, '0')
	}
	first := true
	for _, f := range names {
		if f.value != 0 && v&f.value == f.value {
			if !first {
				b = append(b, '|')
			}
			b = append(b, f.name...)
			first = false
			v &^= f.value
		}
	}
	if v != 0 {
		if !first {
			b = append(b, '|')
		}
		b = appendHex(b, v)
	}
	return b
}

// appendValue appends v as its name if known, else decimal.
func appendValue(b []byte, v int64, names []flagName) []byte {
	for _, f := range names {
		if int64(f.value) == v {
			return append(b, f.name...)
		}
	}
	return strconv.AppendInt(b, v, 10)
}

type flagName struct {
	value uint64
	name  string
}
