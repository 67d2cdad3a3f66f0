package pipe

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// Peek returns a copy of up to n buffered bytes without consuming them
// (tee(2)'s source side). It waits for data unless nonblock (EAGAIN);
// with no data and no writer it returns nothing (end of file). A wait ends
// with ERESTARTSYS when ctx's interrupt closes.
func (p *Pipe) Peek(ctx context.Context, n int64, nonblock bool) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	var (
		e  *waiter.Entry
		ch <-chan struct{}
	)
	defer func() {
		if e != nil {
			p.queue.EventUnregister(e)
		}
	}()
	for {
		p.mu.Lock()
		if p.n > 0 {
			all := make([]byte, p.n)
			p.copyOutLocked(all)
			p.mu.Unlock()
			return all[:min(int64(len(all)), n)], nil
		}
		if p.writers == 0 {
			p.mu.Unlock()
			return nil, nil
		}
		if nonblock {
			p.mu.Unlock()
			return nil, unix.EAGAIN
		}
		if e == nil {
			e, ch = waiter.NewEntry(waiter.ReadableEvents | waiter.EventHUp)
			p.queue.EventRegister(e)
			p.mu.Unlock()
			continue
		}
		p.mu.Unlock()
		if err := wait(ctx, ch); err != nil {
			return nil, err
		}
	}
}

// WriteBytes writes b as write(2) on a write end would, with nonblock
// deciding whether a full pipe means EAGAIN or a wait (tee(2)'s
// destination side).
func (p *Pipe) WriteBytes(ctx context.Context, b []byte, nonblock bool) (int64, error) {
	return p.write(ctx, vfs.BytesIOSequence(b), nonblock)
}
