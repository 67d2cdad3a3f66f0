package linux

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerPoll) }

func registerPoll(b *tableBuilder) {
	b.full(linux.SYS_POLL, Poll)
	b.full(linux.SYS_PPOLL, Ppoll)
	b.partial(linux.SYS_SELECT, Select, "nfds is capped at the fd table's size estimated from the highest open fd (Linux uses the table's allocated size, which never shrinks)")
	b.partial(linux.SYS_PSELECT6, Pselect6, "nfds is capped at the fd table's size estimated from the highest open fd (Linux uses the table's allocated size, which never shrinks)")
}

// Poll(2) and select(2) event sets (fs/select.c).
const (
	pollInSet  = waiter.EventRdNorm | waiter.EventRdBand | waiter.EventIn | waiter.EventHUp | waiter.EventErr
	pollOutSet = waiter.EventWrBand | waiter.EventWrNorm | waiter.EventOut | waiter.EventErr
	pollExSet  = waiter.EventPri
)

// pollFDSize is sizeof(struct pollfd).
const pollFDSize = 8

// deadline is a wait's end: none (wait forever) or an instant of the
// monotonic clock. zero marks a zero timeout, whose remaining time is
// never written back.
type deadline struct {
	at   time.Time
	set  bool
	zero bool
}

// deadlineAfter returns the deadline d from now; durations past what
// time.Duration holds wait (practically) forever.
func deadlineAfter(sec, nsec int64) deadline {
	if sec == 0 && nsec == 0 {
		return deadline{at: time.Now(), set: true, zero: true}
	}
	if sec > (math.MaxInt64-nsec)/int64(time.Second) {
		return deadline{at: time.Now().Add(math.MaxInt64), set: true}
	}
	return deadline{at: time.Now().Add(time.Duration(sec)*time.Second + time.Duration(nsec)), set: true}
}

// fileReadiness returns the events of mask (plus the always reported
// ones) that f has now. Files that cannot block are always readable and
// writable, as Linux's DEFAULT_POLLMASK.
func fileReadiness(f *vfs.FileDescription, mask waiter.EventMask) waiter.EventMask {
	filter := mask | waiter.AlwaysReported
	if w, ok := f.Impl().(waiter.Waitable); ok {
		return w.Readiness(filter) & filter
	}
	return waiter.DefaultReadiness & filter
}

// pollTarget is one file a poll or select waits on.
type pollTarget struct {
	file  *vfs.FileDescription
	mask  waiter.EventMask
	entry *waiter.Entry
}

// waitReady runs check (which returns how many results are ready) until
// it finds some, the deadline passes or the task is interrupted
// (ERESTARTNOHAND). Between checks it sleeps on entries registered with
// every target's file.
func waitReady(t *kernel.Task, targets []pollTarget, check func() int, dl deadline) (int, linux.Errno) {
	intr := t.Interrupted()
	interrupted := func() bool {
		select {
		case <-intr:
			return true
		default:
			return false
		}
	}
	if n := check(); n > 0 {
		return n, 0
	}
	if interrupted() {
		return 0, linux.ERESTARTNOHAND
	}
	if dl.set && !time.Now().Before(dl.at) {
		return 0, 0
	}
	ch := make(chan struct{}, 1)
	for i := range targets {
		tg := &targets[i]
		if w, ok := tg.file.Impl().(waiter.Waitable); ok {
			tg.entry = waiter.NewChannelEntry(tg.mask|waiter.AlwaysReported, ch)
			w.EventRegister(tg.entry)
		}
	}
	defer func() {
		for i := range targets {
			tg := &targets[i]
			if tg.entry != nil {
				tg.file.Impl().(waiter.Waitable).EventUnregister(tg.entry)
				tg.entry = nil
			}
		}
	}()
	var expired <-chan time.Time
	if dl.set {
		tm := time.NewTimer(time.Until(dl.at))
		defer tm.Stop()
		expired = tm.C
	}
	for {
		if n := check(); n > 0 {
			return n, 0
		}
		select {
		case <-ch:
		case <-intr:
			return 0, linux.ERESTARTNOHAND
		case <-expired:
			return check(), 0
		}
	}
}

// doPoll implements poll(2)'s work for nfds pollfds at addr.
func doPoll(t *kernel.Task, addr uintptr, nfds uint64, dl deadline) (uintptr, linux.Errno) {
	if nfds > t.ThreadGroup().Limits().Cur(linux.RLIMIT_NOFILE) {
		return 0, unix.EINVAL
	}
	buf := make([]byte, nfds*pollFDSize)
	if _, err := t.MemoryManager().CopyIn(addr, buf); err != nil {
		return 0, unix.EFAULT
	}
	type pfd struct {
		target  int // index in targets, or -1
		events  waiter.EventMask
		revents waiter.EventMask
	}
	pfds := make([]pfd, nfds)
	var targets []pollTarget
	defer func() {
		for _, tg := range targets {
			tg.file.DecRef(t.Ctx())
		}
	}()
	for i := range pfds {
		b := buf[i*pollFDSize:]
		fd := int32(binary.LittleEndian.Uint32(b))
		p := &pfds[i]
		p.target = -1
		p.events = waiter.EventMask(binary.LittleEndian.Uint16(b[4:]))
		if fd < 0 {
			continue
		}
		f, _ := t.FDTable().Get(fd)
		if f == nil {
			p.revents = waiter.EventNVal
			continue
		}
		if f.IsPath() {
			f.DecRef(t.Ctx())
			p.revents = waiter.EventNVal
			continue
		}
		p.target = len(targets)
		targets = append(targets, pollTarget{file: f, mask: p.events})
	}
	check := func() int {
		n := 0
		for i := range pfds {
			p := &pfds[i]
			if p.target >= 0 {
				p.revents = fileReadiness(targets[p.target].file, p.events) & (p.events | waiter.AlwaysReported)
			}
			if p.revents != 0 {
				n++
			}
		}
		return n
	}
	n, errno := waitReady(t, targets, check, dl)
	for i := range pfds {
		binary.LittleEndian.PutUint16(buf[i*pollFDSize+6:], uint16(pfds[i].revents))
	}
	if _, err := t.MemoryManager().CopyOut(addr, buf); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(n), errno
}

// Poll implements poll(2). An interrupted poll is restarted, when no
// handler runs, by restart_syscall(2) with what is left of its timeout.
func Poll(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, nfds, timeout := args[0].Pointer(), uint64(args[1].Uint()), args[2].Int()
	var dl deadline
	if timeout >= 0 {
		dl = deadlineAfter(int64(timeout/1000), int64(timeout%1000)*1e6)
	}
	return pollRestartable(t, addr, nfds, dl)
}

func pollRestartable(t *kernel.Task, addr uintptr, nfds uint64, dl deadline) (uintptr, linux.Errno) {
	n, errno := doPoll(t, addr, nfds, dl)
	if errno == linux.ERESTARTNOHAND {
		t.SetRestartBlock(func(t *kernel.Task) (uintptr, linux.Errno) {
			return pollRestartable(t, addr, nfds, dl)
		})
		return 0, linux.ERESTART_RESTARTBLOCK
	}
	return n, errno
}

// copyInTimespecArg reads a timeout struct timespec: EFAULT, or EINVAL
// for a negative or unnormalized value.
func copyInTimespecArg(t *kernel.Task, addr uintptr) (deadline, linux.Errno) {
	ts, errno := copyInTimespec(t, addr)
	if errno != 0 {
		return deadline{}, errno
	}
	if !timespecValid(ts) {
		return deadline{}, unix.EINVAL
	}
	return deadlineAfter(ts.Sec, ts.Nsec), 0
}

// setTempSignalMask installs the temporary mask of ppoll, pselect6 and
// epoll_pwait (sigset_t at addr, which must be 8 bytes). restore puts
// the old mask back; the call runs it unless it returns for a signal,
// whose delivery restores the mask after the handler.
func setTempSignalMask(t *kernel.Task, addr uintptr, size uint64) (restore func(), errno linux.Errno) {
	if addr == 0 {
		return func() {}, 0
	}
	set, errno := copyInSigset(t, addr, size)
	if errno != 0 {
		return nil, errno
	}
	old := t.SignalMask()
	t.SetSavedSignalMask(set)
	return func() { t.SetSignalMask(old) }, 0
}

// finishTimeout writes back the time left of dl at addr (a timespec, or a
// timeval for select) as Linux's poll_select_finish does; a failed write
// turns a restart into EINTR.
func finishTimeout(t *kernel.Task, addr uintptr, dl deadline, timeval bool, errno linux.Errno) linux.Errno {
	if addr == 0 || !dl.set || dl.zero {
		return errno
	}
	rem := max(time.Until(dl.at), 0)
	var b [16]byte
	sec, nsec := int64(rem/time.Second), int64(rem%time.Second)
	if timeval {
		nsec /= 1000
	}
	binary.LittleEndian.PutUint64(b[0:], uint64(sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(nsec))
	if _, err := t.MemoryManager().CopyOut(addr, b[:]); err != nil && errno == linux.ERESTARTNOHAND {
		return unix.EINTR
	}
	return errno
}

// Ppoll implements ppoll(2).
func Ppoll(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, nfds, tsAddr, maskAddr, maskSize := args[0].Pointer(), uint64(args[1].Uint()), args[2].Pointer(), args[3].Pointer(), args[4].Uint64()
	var dl deadline
	if tsAddr != 0 {
		var errno linux.Errno
		if dl, errno = copyInTimespecArg(t, tsAddr); errno != 0 {
			return 0, errno
		}
	}
	restore, errno := setTempSignalMask(t, maskAddr, maskSize)
	if errno != 0 {
		return 0, errno
	}
	n, errno := doPoll(t, addr, nfds, dl)
	errno = finishTimeout(t, tsAddr, dl, false, errno)
	if errno != linux.ERESTARTNOHAND {
		restore()
	}
	return n, errno
}

// selectMaxFDs estimates Linux's fdtable max_fds, to which select caps
// nfds: 64 while every fd is below 64, else 128 times the power of two
// above the highest fd / 128.
func selectMaxFDs(t *kernel.Task) int {
	highest := int32(-1)
	t.FDTable().ForEach(func(fd int32, _ *vfs.FileDescription, _ vfs.FDFlags) {
		highest = max(highest, fd)
	})
	if highest < 64 {
		return 64
	}
	n := 1
	for n < int(highest)/128+1 {
		n <<= 1
	}
	return n * 128
}

// doSelect implements select(2)'s work on the fd_sets at in, out and ex.
func doSelect(t *kernel.Task, nfds int32, inAddr, outAddr, exAddr uintptr, dl deadline) (uintptr, linux.Errno) {
	if nfds < 0 {
		return 0, unix.EINVAL
	}
	n := min(int(nfds), selectMaxFDs(t))
	size := (n + 63) / 64 * 8
	m := t.MemoryManager()
	var sets [3][]byte
	for i, a := range []uintptr{inAddr, outAddr, exAddr} {
		sets[i] = make([]byte, size)
		if a != 0 && size > 0 {
			if _, err := m.CopyIn(a, sets[i]); err != nil {
				return 0, unix.EFAULT
			}
		}
	}
	bit := func(set []byte, fd int) bool { return set[fd/8]&(1<<(fd%8)) != 0 }
	type sfd struct {
		fd         int
		in, out, e bool
		target     int // index in targets, or -1 (O_PATH: never ready)
	}
	var sfds []sfd
	var targets []pollTarget
	defer func() {
		for _, tg := range targets {
			tg.file.DecRef(t.Ctx())
		}
	}()
	for fd := 0; fd < n; fd++ {
		in, out, e := bit(sets[0], fd), bit(sets[1], fd), bit(sets[2], fd)
		if !in && !out && !e {
			continue
		}
		f, _ := t.FDTable().Get(int32(fd))
		if f == nil {
			return 0, unix.EBADF
		}
		s := sfd{fd: fd, in: in, out: out, e: e, target: -1}
		if f.IsPath() {
			f.DecRef(t.Ctx())
		} else {
			mask := pollExSet
			if in {
				mask |= pollInSet
			}
			if out {
				mask |= pollOutSet
			}
			s.target = len(targets)
			targets = append(targets, pollTarget{file: f, mask: mask})
		}
		sfds = append(sfds, s)
	}
	var res [3][]byte
	for i := range res {
		res[i] = make([]byte, size)
	}
	check := func() int {
		for i := range res {
			clear(res[i])
		}
		cnt := 0
		for _, s := range sfds {
			if s.target < 0 {
				continue
			}
			tg := targets[s.target]
			r := fileReadiness(tg.file, tg.mask)
			for i, want := range []bool{s.in && r&pollInSet != 0, s.out && r&pollOutSet != 0, s.e && r&pollExSet != 0} {
				if want {
					res[i][s.fd/8] |= 1 << (s.fd % 8)
					cnt++
				}
			}
		}
		return cnt
	}
	cnt, errno := waitReady(t, targets, check, dl)
	if errno != 0 {
		return 0, errno
	}
	for i, a := range []uintptr{inAddr, outAddr, exAddr} {
		if a != 0 && size > 0 {
			if _, err := m.CopyOut(a, res[i]); err != nil {
				return 0, unix.EFAULT
			}
		}
	}
	return uintptr(cnt), 0
}

// Select implements select(2).
func Select(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	nfds, in, out, ex, tvAddr := args[0].Int(), args[1].Pointer(), args[2].Pointer(), args[3].Pointer(), args[4].Pointer()
	var dl deadline
	if tvAddr != 0 {
		var b [16]byte
		if _, err := t.MemoryManager().CopyIn(tvAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		sec, usec := int64(binary.LittleEndian.Uint64(b[0:])), int64(binary.LittleEndian.Uint64(b[8:]))
		// Microseconds past a second carry over, as in Linux.
		if usec/1e6 > 0 && sec > math.MaxInt64-usec/1e6 {
			sec = math.MaxInt64
		} else {
			sec += usec / 1e6
		}
		nsec := usec % 1e6 * 1000
		if sec < 0 || nsec < 0 {
			return 0, unix.EINVAL
		}
		dl = deadlineAfter(sec, nsec)
	}
	n, errno := doSelect(t, nfds, in, out, ex, dl)
	return n, finishTimeout(t, tvAddr, dl, true, errno)
}

// Pselect6 implements pselect6(2): its sixth argument points to a
// {const sigset_t *ss; size_t ss_len} pair.
func Pselect6(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	nfds, in, out, ex, tsAddr, sigAddr := args[0].Int(), args[1].Pointer(), args[2].Pointer(), args[3].Pointer(), args[4].Pointer(), args[5].Pointer()
	var dl deadline
	if tsAddr != 0 {
		var errno linux.Errno
		if dl, errno = copyInTimespecArg(t, tsAddr); errno != 0 {
			return 0, errno
		}
	}
	var maskAddr uintptr
	var maskSize uint64
	if sigAddr != 0 {
		var b [16]byte
		if _, err := t.MemoryManager().CopyIn(sigAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		maskAddr = uintptr(binary.LittleEndian.Uint64(b[0:]))
		maskSize = binary.LittleEndian.Uint64(b[8:])
	}
	restore, errno := setTempSignalMask(t, maskAddr, maskSize)
	if errno != 0 {
		return 0, errno
	}
	n, errno := doSelect(t, nfds, in, out, ex, dl)
	errno = finishTimeout(t, tsAddr, dl, false, errno)
	if errno != linux.ERESTARTNOHAND {
		restore()
	}
	return n, errno
}
