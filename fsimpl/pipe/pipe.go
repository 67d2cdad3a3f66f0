// Package pipe implements pipes and FIFOs for the Sentry: the pipe buffer
// with Linux's blocking, atomicity and capacity rules, the file
// description both ends of a pipe(2) and every open FIFO use, the
// FIFO open rules a filesystem applies when a FIFO inode is opened, and
// readiness for poll and epoll (FD implements waiter.Waitable).
//
// A Pipe is a ring buffer of at most Size bytes (64 KiB, 16 pages, by
// default; F_SETPIPE_SZ changes it within [one page, MaxSize], rounded up
// to a power-of-two number of pages as Linux does) plus counts of the
// read and write ends open on it. Reads take what is buffered and do not
// wait for more; on an empty pipe they block while a writer exists and
// return 0 (end of file) otherwise. Writes of at most PipeBuf (4096)
// bytes are atomic: they wait until all of it fits, so concurrent small
// writes never interleave; larger writes fill the buffer piecewise.
// Writing with no reader fails with EPIPE, on which the kernel raises
// SIGPIPE in the writer (see RaisesSIGPIPE). O_NONBLOCK turns every wait
// into EAGAIN. Waits end with ERESTARTSYS when the task's interrupt
// channel (WithInterrupt) closes; a write that already moved data returns
// the count instead, as Linux does. All state is guarded by one mutex per
// pipe; waiters sleep on the pipe's waiter.Queue, which also serves
// poll and epoll. When the last end of a pipe closes its data is
// discarded.
//
// pipe2(2)'s O_DIRECT ("packet mode") is not implemented: NewPair
// rejects it with EINVAL, as Linux did before 3.4.
package pipe

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// Pipe sizes.
const (
	// PipeBuf is PIPE_BUF: writes up to this size are atomic.
	PipeBuf = 4096
	// pageSize is the unit of pipe capacity.
	pageSize = 4096
	// DefaultSize is a new pipe's capacity (16 pages).
	DefaultSize = 16 * pageSize
	// MaxSize is the largest capacity F_SETPIPE_SZ grants without
	// CAP_SYS_RESOURCE (/proc/sys/fs/pipe-max-size).
	MaxSize = 1 << 20
	// hardMaxSize bounds the capacity even with CAP_SYS_RESOURCE, so
	// a guest cannot make the Sentry allocate without limit.
	hardMaxSize = 16 << 20
)

// RaisesSIGPIPE reports whether a write to a pipe that returned err must
// raise SIGPIPE in the writer: write(2) on a pipe without readers fails
// with EPIPE and sends SIGPIPE (even when part of the data was written
// and the count is returned).
func RaisesSIGPIPE(err error) bool { return err == unix.EPIPE }

// Pipe is the shared state of a pipe or FIFO.
type Pipe struct {
	// queue is woken with waiter.ReadableEvents when data arrives or the last writer
	// leaves, and with waiter.WritableEvents when space frees or the last reader
	// leaves.
	queue waiter.Queue

	// mu guards the fields below.
	mu sync.Mutex
	// buf is a ring of at most size bytes, grown as data arrives; head
	// indexes the first buffered byte, n counts them.
	buf  []byte
	head int
	n    int
	size int
	// readers and writers count open ends; rCounter and wCounter count
	// opens of each kind ever, so FIFO opens can wait for "a new
	// reader/writer arrived" and readers can tell whether a writer has
	// come and gone since they opened (EPOLLHUP).
	readers, writers   int
	rCounter, wCounter uint64
}

// NewPipe returns a pipe with no ends open.
func NewPipe() *Pipe { return &Pipe{size: DefaultSize} }

// Queue returns the pipe's waiter queue.
func (p *Pipe) Queue() *waiter.Queue { return &p.queue }

// Size returns the capacity (F_GETPIPE_SZ).
func (p *Pipe) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size
}

// Buffered returns the number of bytes waiting to be read (FIONREAD).
func (p *Pipe) Buffered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// roundSize rounds a requested capacity as Linux's round_pipe_size does:
// at least one page, a power-of-two number of pages.
func roundSize(size int64) int64 {
	if size < pageSize {
		return pageSize
	}
	pages := (size + pageSize - 1) / pageSize
	r := int64(1)
	for r < pages {
		r <<= 1
	}
	return r * pageSize
}

// SetSize implements F_SETPIPE_SZ: it returns the new capacity. A size
// above MaxSize needs CAP_SYS_RESOURCE (EPERM); shrinking below the
// buffered data fails with EBUSY.
func (p *Pipe) SetSize(size int64, capSysResource bool) (int64, error) {
	if size < 0 || size > hardMaxSize {
		if capSysResource || size < 0 {
			return 0, unix.EINVAL
		}
		return 0, unix.EPERM
	}
	size = roundSize(size)
	if size > MaxSize && !capSysResource {
		return 0, unix.EPERM
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if int(size) < p.n {
		return 0, unix.EBUSY
	}
	if int(size) < len(p.buf) {
		nb := make([]byte, size)
		p.copyOutLocked(nb)
		p.buf, p.head = nb, 0
	}
	grew := int(size) > p.size
	p.size = int(size)
	if grew {
		p.queue.Notify(waiter.WritableEvents)
	}
	return size, nil
}

// copyOutLocked copies the buffered bytes, in order, to the start of dst.
func (p *Pipe) copyOutLocked(dst []byte) {
	first := min(p.n, len(p.buf)-p.head)
	copy(dst, p.buf[p.head:p.head+first])
	copy(dst[first:], p.buf[:p.n-first])
}

// readiness returns the events ready for an end that reads (r) and/or
// writes (w); wSeen is the writer count the reader saw at open.
func (p *Pipe) readiness(r, w bool, wSeen uint64) waiter.EventMask {
	p.mu.Lock()
	defer p.mu.Unlock()
	var m waiter.EventMask
	if r {
		if p.n > 0 {
			m |= waiter.ReadableEvents
		}
		if p.writers == 0 && p.wCounter != wSeen {
			m |= waiter.EventHUp
		}
	}
	if w {
		if p.size-p.n >= min(PipeBuf, p.size) {
			m |= waiter.WritableEvents
		}
		if p.readers == 0 {
			m |= waiter.EventErr
		}
	}
	return m
}

// wait blocks until an event in mask is notified or ctx's interrupt
// closes (ERESTARTSYS). e must have been registered before p.mu was
// released, so no notification is lost.
func wait(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-Interrupt(ctx):
		return linux.ERESTARTSYS
	}
}

// read implements read(2) on a read end.
func (p *Pipe) read(ctx context.Context, dst vfs.IOSequence, nonblock bool) (int64, error) {
	want := dst.NumBytes()
	if want == 0 {
		return 0, nil
	}
	var (
		e  *waiter.Entry
		ch <-chan struct{}
	)
	for {
		p.mu.Lock()
		if p.n > 0 {
			n, err := p.readLocked(ctx, dst, want)
			p.mu.Unlock()
			if e != nil {
				p.queue.EventUnregister(e)
			}
			if n > 0 {
				p.queue.Notify(waiter.WritableEvents)
				return n, nil
			}
			return 0, err
		}
		if p.writers == 0 {
			p.mu.Unlock()
			if e != nil {
				p.queue.EventUnregister(e)
			}
			return 0, nil
		}
		if nonblock {
			p.mu.Unlock()
			return 0, unix.EAGAIN
		}
		if e == nil {
			e, ch = waiter.NewEntry(waiter.ReadableEvents | waiter.EventHUp)
			p.queue.EventRegister(e)
		}
		p.mu.Unlock()
		if err := wait(ctx, ch); err != nil {
			p.queue.EventUnregister(e)
			return 0, err
		}
	}
}

// readLocked moves up to want buffered bytes into dst; only the bytes
// copied are consumed.
func (p *Pipe) readLocked(ctx context.Context, dst vfs.IOSequence, want int64) (int64, error) {
	var done int64
	for done < want && p.n > 0 {
		seg := p.buf[p.head:min(p.head+p.n, len(p.buf))]
		seg = seg[:min(int64(len(seg)), want-done)]
		c, err := dst.CopyOutAt(ctx, done, seg)
		done += int64(c)
		p.head = (p.head + c) % len(p.buf)
		p.n -= c
		if err != nil {
			return done, err
		}
		if c == 0 {
			break
		}
	}
	if p.n == 0 {
		p.head = 0
	}
	return done, nil
}

// write implements write(2) on a write end. A write that moved some data
// before failing returns the count with the error (EPIPE), so the kernel
// can return the count and still raise SIGPIPE.
func (p *Pipe) write(ctx context.Context, src vfs.IOSequence, nonblock bool) (int64, error) {
	want := src.NumBytes()
	var (
		done int64
		e    *waiter.Entry
		ch   <-chan struct{}
	)
	defer func() {
		if e != nil {
			p.queue.EventUnregister(e)
		}
	}()
	if want == 0 {
		return 0, nil
	}
	for {
		p.mu.Lock()
		if p.readers == 0 {
			p.mu.Unlock()
			return done, unix.EPIPE
		}
		free := p.size - p.n
		// Atomic writes wait for room for all of it.
		if free > 0 && (want > PipeBuf || int64(free) >= want-done) {
			n, err := p.writeLocked(ctx, src, done, want)
			p.mu.Unlock()
			if n > 0 {
				p.queue.Notify(waiter.ReadableEvents)
			}
			done += n
			if err != nil {
				if done > 0 {
					return done, nil
				}
				return 0, err
			}
			if done == want {
				return done, nil
			}
			continue
		}
		if nonblock {
			p.mu.Unlock()
			if done > 0 {
				return done, nil
			}
			return 0, unix.EAGAIN
		}
		if e == nil {
			e, ch = waiter.NewEntry(waiter.WritableEvents | waiter.EventErr)
			p.queue.EventRegister(e)
		}
		p.mu.Unlock()
		if err := wait(ctx, ch); err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
	}
}

// writeLocked copies as much of src[done:want] as fits into the ring.
func (p *Pipe) writeLocked(ctx context.Context, src vfs.IOSequence, done, want int64) (int64, error) {
	p.growLocked(p.n + int(min(want-done, int64(p.size-p.n))))
	var n int64
	for done+n < want && p.n < len(p.buf) {
		tail := (p.head + p.n) % len(p.buf)
		end := len(p.buf)
		if tail < p.head {
			end = p.head
		}
		seg := p.buf[tail:end]
		seg = seg[:min(int64(len(seg)), want-done-n)]
		c, err := src.CopyInAt(ctx, done+n, seg)
		if err != nil {
			// As Linux's pipe_write, a chunk that faults part way is
			// dropped: the write returns what went in before it, or
			// EFAULT.
			return n, err
		}
		p.n += c
		n += int64(c)
		if c == 0 {
			break
		}
	}
	return n, nil
}

// growLocked makes the ring hold at least need bytes (need <= p.size).
// The ring starts at one page and doubles, so a pipe that carries little
// data costs little memory.
func (p *Pipe) growLocked(need int) {
	if len(p.buf) >= need {
		return
	}
	n := max(len(p.buf), pageSize)
	for n < need {
		n *= 2
	}
	nb := make([]byte, min(n, p.size))
	if p.n > 0 {
		p.copyOutLocked(nb)
	}
	p.buf, p.head = nb, 0
}

// closeEnds drops the given ends; the data goes when the last end does.
func (p *Pipe) closeEnds(r, w bool) {
	p.mu.Lock()
	if r {
		p.readers--
	}
	if w {
		p.writers--
	}
	if p.readers == 0 && p.writers == 0 {
		p.buf, p.head, p.n = nil, 0, 0
	}
	p.mu.Unlock()
	var m waiter.EventMask
	if r {
		m |= waiter.WritableEvents | waiter.EventErr
	}
	if w {
		m |= waiter.ReadableEvents | waiter.EventHUp
	}
	p.queue.Notify(m)
}
