package linux

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/epoll"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerEpoll) }

func registerEpoll(b *tableBuilder) {
	b.full(linux.SYS_EPOLL_CREATE, EpollCreate)
	b.full(linux.SYS_EPOLL_CREATE1, EpollCreate1)
	b.partial(linux.SYS_EPOLL_CTL, EpollCtl, "EPOLLEXCLUSIVE is accepted but every waiter is woken; EPOLLWAKEUP is ignored; Linux's limit on wake-up paths per file is not applied")
	b.full(linux.SYS_EPOLL_WAIT, EpollWait)
	b.full(linux.SYS_EPOLL_PWAIT, EpollPwait)
	b.full(linux.SYS_EPOLL_PWAIT2, EpollPwait2)
}

// epollEventSize is sizeof(struct epoll_event), packed on amd64.
const epollEventSize = 12

// epMaxEvents is EP_MAX_EVENTS.
const epMaxEvents = math.MaxInt32 / epollEventSize

// installEpoll makes a new instance and gives it an fd.
func installEpoll(t *kernel.Task, flags uint32) (uintptr, linux.Errno) {
	f, err := epoll.New(t.Kernel().VFS(), t.Credentials(), flags)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer f.DecRef(t.Ctx())
	fd, err := t.FDTable().NewFD(0, f, vfs.FDFlags{CloseOnExec: flags&epoll.EPOLL_CLOEXEC != 0})
	if err != nil {
		return 0, errnoOf(err)
	}
	return uintptr(fd), 0
}

// EpollCreate implements epoll_create(2): size is only checked.
func EpollCreate(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	if args[0].Int() <= 0 {
		return 0, unix.EINVAL
	}
	return installEpoll(t, 0)
}

// EpollCreate1 implements epoll_create1(2).
func EpollCreate1(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return installEpoll(t, args[0].Uint())
}

// getPollableFile returns fd's description for epoll: O_PATH
// descriptions are EBADF, as fdget refuses them.
func getPollableFile(t *kernel.Task, fd int32) (*vfs.FileDescription, linux.Errno) {
	f, errno := getFile(t, fd)
	if errno != 0 {
		return nil, errno
	}
	if f.IsPath() {
		f.DecRef(t.Ctx())
		return nil, unix.EBADF
	}
	return f, 0
}

// EpollCtl implements epoll_ctl(2).
func EpollCtl(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	epfd, op, fd, evAddr := args[0].Int(), args[1].Int(), args[2].Int(), args[3].Pointer()
	var (
		events waiter.EventMask
		data   uint64
	)
	if op == epoll.EPOLL_CTL_ADD || op == epoll.EPOLL_CTL_MOD {
		var b [epollEventSize]byte
		if _, err := t.MemoryManager().CopyIn(evAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		events = waiter.EventMask(binary.LittleEndian.Uint32(b[0:]))
		data = binary.LittleEndian.Uint64(b[4:])
	}
	ef, errno := getPollableFile(t, epfd)
	if errno != 0 {
		return 0, errno
	}
	defer ef.DecRef(t.Ctx())
	tf, errno := getPollableFile(t, fd)
	if errno != 0 {
		return 0, errno
	}
	defer tf.DecRef(t.Ctx())
	if _, ok := tf.Impl().(waiter.Waitable); !ok {
		return 0, unix.EPERM
	}
	ep := epoll.FromFile(ef)
	if ep == nil || ef == tf {
		return 0, unix.EINVAL
	}
	var err error
	switch op {
	case epoll.EPOLL_CTL_ADD:
		err = ep.Add(tf, fd, events, data)
	case epoll.EPOLL_CTL_MOD:
		err = ep.Modify(tf, fd, events, data)
	case epoll.EPOLL_CTL_DEL:
		err = ep.Delete(tf, fd)
	default:
		return 0, unix.EINVAL
	}
	return 0, errnoOrZero(err)
}

// epollWait waits on epfd's instance and copies the events out.
func epollWait(t *kernel.Task, epfd int32, addr uintptr, maxEvents int32, timeout time.Duration) (uintptr, linux.Errno) {
	if maxEvents <= 0 || maxEvents > epMaxEvents {
		return 0, unix.EINVAL
	}
	if errno := checkBuffer(t, addr, uint64(maxEvents)*epollEventSize); errno != 0 {
		return 0, errno
	}
	f, errno := getPollableFile(t, epfd)
	if errno != 0 {
		return 0, errno
	}
	defer f.DecRef(t.Ctx())
	ep := epoll.FromFile(f)
	if ep == nil {
		return 0, unix.EINVAL
	}
	evs, err := ep.Wait(t.Ctx(), int(maxEvents), timeout)
	if err != nil {
		return 0, errnoOf(err)
	}
	if len(evs) == 0 {
		return 0, 0
	}
	b := make([]byte, len(evs)*epollEventSize)
	for i, e := range evs {
		binary.LittleEndian.PutUint32(b[i*epollEventSize:], uint32(e.Events))
		binary.LittleEndian.PutUint64(b[i*epollEventSize+4:], e.Data)
	}
	if _, err := t.MemoryManager().CopyOut(addr, b); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(len(evs)), 0
}

// msTimeout converts a millisecond timeout (negative: forever).
func msTimeout(ms int32) time.Duration {
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

// EpollWait implements epoll_wait(2). A signal ends it with EINTR, never
// a restart, as in Linux.
func EpollWait(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return epollWait(t, args[0].Int(), args[1].Pointer(), args[2].Int(), msTimeout(args[3].Int()))
}

// epollPwait runs epollWait under the temporary signal mask at maskAddr.
func epollPwait(t *kernel.Task, args *arch.SyscallArguments, timeout time.Duration) (uintptr, linux.Errno) {
	restore, errno := setTempSignalMask(t, args[4].Pointer(), args[5].Uint64())
	if errno != 0 {
		return 0, errno
	}
	n, errno := epollWait(t, args[0].Int(), args[1].Pointer(), args[2].Int(), timeout)
	if errno != unix.EINTR {
		restore()
	}
	return n, errno
}

// EpollPwait implements epoll_pwait(2).
func EpollPwait(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return epollPwait(t, args, msTimeout(args[3].Int()))
}

// EpollPwait2 implements epoll_pwait2(2): the timeout is a struct
// timespec (NULL: forever).
func EpollPwait2(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	timeout := time.Duration(-1)
	if addr := args[3].Pointer(); addr != 0 {
		ts, errno := copyInTimespec(t, addr)
		if errno != 0 {
			return 0, errno
		}
		if !timespecValid(ts) {
			return 0, unix.EINVAL
		}
		timeout = time.Duration(timespecNanos(ts))
	}
	return epollPwait(t, args, timeout)
}
