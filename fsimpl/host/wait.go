package host

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
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

// Readiness returns which of events (POLLIN, POLLOUT, ...) the host file
// has now, with POLLERR, POLLHUP and POLLNVAL always reported; it is the
// building block for the kernel's poll and epoll on host files.
func (fd *FD) Readiness(events int16) int16 {
	h, ok := fd.inode.get()
	if !ok {
		return unix.POLLNVAL
	}
	defer fd.inode.put()
	fds := []unix.PollFd{{Fd: int32(h), Events: events}}
	for {
		_, err := unix.Poll(fds, 0)
		if err != unix.EINTR {
			break
		}
	}
	return fds[0].Revents
}
