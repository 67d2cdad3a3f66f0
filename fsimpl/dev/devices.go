package dev

import (
	"context"
	"crypto/rand"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// device is a character device driver: it makes the implementation of a
// description opened on a node with its device number.
type device interface {
	open(ctx context.Context, flags uint32) (vfs.FileDescriptionImpl, error)
}

// chunk bounds the bounce buffer of a device read or write, so memory
// does not grow with the guest's count.
const chunk = 64 << 10

// fill copies chunks made by gen into dst until it is full or it faults
// (a partial count, or the error with nothing done). These reads never
// block, but a huge one is cut short, with the count done so far, once
// ctx is done (Linux likewise stops at a pending signal).
func fill(ctx context.Context, dst vfs.IOSequence, gen func([]byte) error) (int64, error) {
	want := dst.NumBytes()
	if want == 0 {
		return 0, nil
	}
	buf := make([]byte, min(want, chunk))
	var done int64
	for done < want {
		b := buf[:min(int64(len(buf)), want-done)]
		if err := gen(b); err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		n, err := dst.CopyOutAt(ctx, done, b)
		done += int64(n)
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return done, nil
}

// drain copies src in chunks and discards it, so that a bad address is
// still EFAULT, as Linux's random driver reports.
func drain(ctx context.Context, src vfs.IOSequence) (int64, error) {
	want := src.NumBytes()
	if want == 0 {
		return 0, nil
	}
	buf := make([]byte, min(want, chunk))
	var done int64
	for done < want {
		n, err := src.CopyInAt(ctx, done, buf[:min(int64(len(buf)), want-done)])
		done += int64(n)
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n == 0 {
			break
		}
	}
	return done, nil
}

func zeros(b []byte) error {
	clear(b)
	return nil
}

// nullDevice is /dev/null: reads are end of file, writes succeed without
// touching the caller's memory.
type nullDevice struct{}

func (nullDevice) open(context.Context, uint32) (vfs.FileDescriptionImpl, error) {
	return nullFD{}, nil
}

type nullFD struct{ vfs.FileDescriptionDefaultImpl }

// Read implements read(2) of /dev/null.
func (nullFD) Read(context.Context, vfs.IOSequence) (int64, error) { return 0, nil }

// Write implements write(2) of /dev/null.
func (nullFD) Write(_ context.Context, src vfs.IOSequence) (int64, error) {
	return src.NumBytes(), nil
}

// zeroDevice is /dev/zero: reads give zeros, writes succeed unread.
type zeroDevice struct{}

func (zeroDevice) open(context.Context, uint32) (vfs.FileDescriptionImpl, error) {
	return zeroFD{}, nil
}

type zeroFD struct{ vfs.FileDescriptionDefaultImpl }

// Read implements read(2) of /dev/zero.
func (zeroFD) Read(ctx context.Context, dst vfs.IOSequence) (int64, error) {
	return fill(ctx, dst, zeros)
}

// Write implements write(2) of /dev/zero.
func (zeroFD) Write(_ context.Context, src vfs.IOSequence) (int64, error) {
	return src.NumBytes(), nil
}

// fullDevice is /dev/full: reads give zeros, writes fail with ENOSPC.
type fullDevice struct{}

func (fullDevice) open(context.Context, uint32) (vfs.FileDescriptionImpl, error) {
	return fullFD{}, nil
}

type fullFD struct{ vfs.FileDescriptionDefaultImpl }

// Read implements read(2) of /dev/full.
func (fullFD) Read(ctx context.Context, dst vfs.IOSequence) (int64, error) {
	return fill(ctx, dst, zeros)
}

// Write implements write(2) of /dev/full.
func (fullFD) Write(_ context.Context, src vfs.IOSequence) (int64, error) {
	if src.NumBytes() == 0 {
		return 0, nil
	}
	return 0, unix.ENOSPC
}

// randomDevice is /dev/random and /dev/urandom, which are the same since
// Linux 5.6: reads come from crypto/rand (the host's getrandom), writes
// are read and dropped (the host's pool needs no entropy from guests).
type randomDevice struct{}

func (randomDevice) open(context.Context, uint32) (vfs.FileDescriptionImpl, error) {
	return randomFD{}, nil
}

type randomFD struct{ vfs.FileDescriptionDefaultImpl }

// Read implements read(2) of /dev/random and /dev/urandom.
func (randomFD) Read(ctx context.Context, dst vfs.IOSequence) (int64, error) {
	return fill(ctx, dst, func(b []byte) error {
		_, err := rand.Read(b)
		return err
	})
}

// Write implements write(2) of /dev/random and /dev/urandom.
func (randomFD) Write(ctx context.Context, src vfs.IOSequence) (int64, error) {
	return drain(ctx, src)
}

// ttyDevice is /dev/tty, the caller's controlling terminal.
type ttyDevice struct {
	hook ControllingTTY
}

func (d ttyDevice) open(ctx context.Context, flags uint32) (vfs.FileDescriptionImpl, error) {
	if d.hook == nil {
		return nil, unix.ENXIO
	}
	return d.hook.OpenControllingTTY(ctx, flags)
}
