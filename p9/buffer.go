package p9

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"sync"
)

// errShort is the decoder's sticky error for a message whose body ends
// before its fields do, or whose length fields point past its end.
var errShort = errors.New("p9: message truncated")

// errLong is the decoder's error for bytes left over after the last field.
var errLong = errors.New("p9: trailing bytes after message")

// encoder appends little-endian 9P fields to buf. It never fails; callers
// bound what they encode (names are validated, data counts are clamped to
// msize) before encoding.
type encoder struct {
	buf []byte
}

func (e *encoder) u8(v uint8)   { e.buf = append(e.buf, v) }
func (e *encoder) u16(v uint16) { e.buf = binary.LittleEndian.AppendUint16(e.buf, v) }
func (e *encoder) u32(v uint32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }
func (e *encoder) u64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }

// str encodes len[2] bytes. Strings longer than 65535 bytes are cut (never
// produced by this package: every string field is validated first).
func (e *encoder) str(s string) {
	if len(s) > 0xffff {
		s = s[:0xffff]
	}
	e.u16(uint16(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) qid(q QID) {
	e.u8(uint8(q.Type))
	e.u32(q.Version)
	e.u64(q.Path)
}

// decoder reads little-endian 9P fields from buf. The first error sticks:
// later reads return zero values, so a message decoder can read all fields
// and check err once. No read allocates more than the bytes it consumes.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf) {
		d.err = errShort
		d.buf = nil
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) u8() uint8 {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) u16() uint16 {
	b := d.take(2)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

func (d *decoder) u32() uint32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (d *decoder) u64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// str decodes len[2] bytes; the length is checked against the remaining
// buffer before the string is made.
func (d *decoder) str() string {
	n := int(d.u16())
	b := d.take(n)
	if b == nil {
		return ""
	}
	return string(b)
}

func (d *decoder) qid() QID {
	return QID{Type: QIDType(d.u8()), Version: d.u32(), Path: d.u64()}
}

// finish reports the sticky error, or errLong if bytes remain.
func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.buf) != 0 {
		return errLong
	}
	return nil
}

// Buffer pools by power-of-two size class, from 1<<minBufShift to
// MaxMsize. Messages are allocated from here so that steady-state traffic
// does not allocate per message.
const (
	minBufShift = 9
	maxBufShift = 22 // MaxMsize
)

var bufPools [maxBufShift + 1]sync.Pool

// getBuf returns a buffer of length n (n <= MaxMsize) from the pool.
func getBuf(n int) *[]byte {
	c := sizeClass(n)
	if c > maxBufShift {
		b := make([]byte, n)
		return &b
	}
	if p, ok := bufPools[c].Get().(*[]byte); ok {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n, 1<<c)
	return &b
}

// putBuf returns b to its pool.
func putBuf(b *[]byte) {
	c := cap(*b)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	s := bits.TrailingZeros(uint(c))
	if s < minBufShift || s > maxBufShift {
		return
	}
	*b = (*b)[:0]
	bufPools[s].Put(b)
}

func sizeClass(n int) int {
	if n <= 1<<minBufShift {
		return minBufShift
	}
	return bits.Len(uint(n - 1))
}
