package host

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// eventfdPool keeps a few idle eventfds for waits, so a blocking read
// does not cost two extra syscalls to make and close one.
var eventfdPool struct {
	// mu guards free.
	mu   sync.Mutex
	free []int
}

// maxIdleEventfds bounds the pool.
const maxIdleEventfds = 8

func getEventfd() (int, error) {
	eventfdPool.mu.Lock()
	if n := len(eventfdPool.free); n > 0 {
		fd := eventfdPool.free[n-1]
		eventfdPool.free = eventfdPool.free[:n-1]
		eventfdPool.mu.Unlock()
		return fd, nil
	}
	eventfdPool.mu.Unlock()
	return unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
}

// putEventfd returns a drained eventfd to the pool.
func putEventfd(fd int) {
	var b [8]byte
	_, _ = unix.Read(fd, b[:]) // drain; EAGAIN if nothing was signalled.
	eventfdPool.mu.Lock()
	if len(eventfdPool.free) < maxIdleEventfds {
		eventfdPool.free = append(eventfdPool.free, fd)
		fd = -1
	}
	eventfdPool.mu.Unlock()
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}

// waitFD blocks until the host fd has one of events (or an error or
// hang-up, which the following I/O reports), or until ctx's interrupt
// channel closes: ERESTARTSYS. A readiness that arrives together with
// the interrupt wins, so no data is lost to a signal.
func waitFD(ctx context.Context, fd int, events int16) error {
	intr := ctx.Done()
	if intr == nil {
		// Nothing can interrupt this caller: plain poll.
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		for {
			_, err := unix.Poll(fds, -1)
			if err != unix.EINTR {
				return err
			}
		}
	}
	select {
	case <-intr:
		return linux.ERESTARTSYS
	default:
	}
	efd, err := getEventfd()
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-intr:
			var one = [8]byte{1}
			_, _ = unix.Write(efd, one[:])
		case <-done:
		}
	}()
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}, {Fd: int32(efd), Events: unix.POLLIN}}
	for {
		_, err = unix.Poll(fds, -1)
		if err != unix.EINTR {
			break
		}
	}
	close(done)
	wg.Wait()
	putEventfd(efd)
	if err != nil {
		return err
	}
	if fds[0].Revents != 0 {
		return nil
	}
	return linux.ERESTARTSYS
}

// Readiness implements waiter.Waitable.Readiness with a poll(2) of zero
// timeout on the host fd: the events of mask that hold now, plus POLLERR,
// POLLHUP (and POLLNVAL if the host fd is gone), whose values equal the
// waiter.Event* bits.
func (fd *FD) Readiness(mask waiter.EventMask) waiter.EventMask {
	h, ok := fd.inode.get()
	if !ok {
		return waiter.EventNVal
	}
	defer fd.inode.put()
	fds := []unix.PollFd{{Fd: int32(h), Events: int16(mask & waiter.AllEvents)}}
	for {
		_, err := unix.Poll(fds, 0)
		if err != unix.EINTR {
			break
		}
	}
	return waiter.EventMask(uint16(fds[0].Revents))
}

// EventRegister implements waiter.Waitable.EventRegister. The host
// kernel tells us about changes: each registration gets a goroutine
// blocked in epoll_wait(2) on a private host epoll instance that watches
// the host fd edge-triggered (so it fires on every new readiness, not
// continuously while the fd stays ready) and an eventfd that
// EventUnregister signals to end it. A host fd the host cannot poll (a
// regular file, /dev/null: EPERM) never changes readiness, so nothing is
// started. The registration holds a reference on the host fd until it
// ends.
func (fd *FD) EventRegister(e *waiter.Entry) {
	h, ok := fd.inode.get()
	if !ok {
		return
	}
	w, err := startHostWatch(h, e)
	if w == nil {
		fd.inode.put()
		if err != nil {
			// The waiter may then sleep until interrupted; say why.
			slog.Warn("host fd readiness watch failed", "fd", h, "err", err)
			e.Notify(e.Mask())
		}
		return
	}
	fd.watchMu.Lock()
	if fd.released.Load() {
		fd.watchMu.Unlock()
		w.stop()
		fd.inode.put()
		return
	}
	if fd.watches == nil {
		fd.watches = make(map[*waiter.Entry]*hostWatch)
	}
	if old := fd.watches[e]; old != nil {
		// Registering an entry twice replaces the watch.
		old.stop()
		fd.inode.put()
	}
	fd.watches[e] = w
	fd.watchMu.Unlock()
}

// EventUnregister implements waiter.Waitable.EventUnregister: the watch's
// goroutine has ended when it returns.
func (fd *FD) EventUnregister(e *waiter.Entry) {
	fd.watchMu.Lock()
	w := fd.watches[e]
	delete(fd.watches, e)
	fd.watchMu.Unlock()
	if w != nil {
		w.stop()
		fd.inode.put()
	}
}

// stopWatches ends every registration (on release).
func (fd *FD) stopWatches() {
	fd.watchMu.Lock()
	ws := fd.watches
	fd.watches = nil
	fd.watchMu.Unlock()
	for _, w := range ws {
		w.stop()
		fd.inode.put()
	}
}

// hostWatch is one registration's host epoll instance, cancellation
// eventfd and goroutine.
type hostWatch struct {
	epfd, efd int
	done      chan struct{}
}

// Event data tags in a watch's epoll set.
const (
	tagFile   = 0
	tagCancel = 1
)

// startHostWatch starts watching host fd h for e's events. It returns
// nil and no error when h cannot be polled.
func startHostWatch(h int, e *waiter.Entry) (*hostWatch, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	ev := unix.EpollEvent{Events: uint32(e.Mask()&waiter.AllEvents) | unix.EPOLLERR | unix.EPOLLHUP | unix.EPOLLET, Fd: tagFile}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, h, &ev); err != nil {
		_ = unix.Close(epfd)
		if err == unix.EPERM {
			return nil, nil
		}
		return nil, fmt.Errorf("epoll_ctl of host fd %d: %w", h, err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev = unix.EpollEvent{Events: unix.EPOLLIN, Fd: tagCancel}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(efd)
		return nil, fmt.Errorf("epoll_ctl of eventfd: %w", err)
	}
	w := &hostWatch{epfd: epfd, efd: efd, done: make(chan struct{})}
	go w.run(e)
	return w, nil
}

// run forwards the host's readiness changes to e until stop.
func (w *hostWatch) run(e *waiter.Entry) {
	defer close(w.done)
	var evs [2]unix.EpollEvent
	for {
		n, err := unix.EpollWait(w.epfd, evs[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			slog.Warn("host fd readiness watch ended", "err", err)
			return
		}
		var ready waiter.EventMask
		for _, ev := range evs[:n] {
			if ev.Fd == tagCancel {
				return
			}
			ready |= waiter.EventMask(ev.Events) & waiter.AllEvents
		}
		if ready != 0 {
			e.Notify(ready)
		}
	}
}

// stop ends the goroutine, waits for it and closes the host fds.
func (w *hostWatch) stop() {
	one := [8]byte{1}
	_, _ = unix.Write(w.efd, one[:])
	<-w.done
	_ = unix.Close(w.epfd)
	_ = unix.Close(w.efd)
}
