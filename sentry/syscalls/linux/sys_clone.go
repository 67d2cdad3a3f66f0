package linux

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerClone) }

func registerClone(b *tableBuilder) {
	const nsNote = "new namespaces (CLONE_NEW*), CLONE_PIDFD and CLONE_INTO_CGROUP are EINVAL"
	b.partial(linux.SYS_CLONE, Clone, nsNote)
	b.partial(linux.SYS_CLONE3, Clone3, nsNote+"; set_tid is EINVAL")
	b.full(linux.SYS_FORK, Fork)
	b.full(linux.SYS_VFORK, Vfork)
}

// Clone implements clone(2). On x86-64 the arguments are flags, stack,
// parent_tid, child_tid, tls.
func Clone(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	flags := args[0].Uint64()
	opts := kernel.CloneOptions{
		Flags:      flags &^ 0xff,
		ExitSignal: linux.Signal(flags & 0xff),
		Stack:      args[1].Pointer(),
		ParentTID:  args[2].Pointer(),
		ChildTID:   args[3].Pointer(),
		TLS:        args[4].Pointer(),
	}
	if opts.Flags&(kernel.CLONE_CLEAR_SIGHAND|kernel.CLONE_INTO_CGROUP) != 0 {
		return 0, unix.EINVAL
	}
	tid, errno := t.Clone(opts)
	return uintptr(tid), errno
}

// Fork implements fork(2).
func Fork(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	tid, errno := t.Clone(kernel.CloneOptions{ExitSignal: linux.SIGCHLD})
	return uintptr(tid), errno
}

// Vfork implements vfork(2).
func Vfork(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	tid, errno := t.Clone(kernel.CloneOptions{Flags: kernel.CLONE_VM | kernel.CLONE_VFORK, ExitSignal: linux.SIGCHLD})
	return uintptr(tid), errno
}

// cloneArgs sizes: CLONE_ARGS_SIZE_VER0 (no set_tid), VER1, VER2.
const (
	cloneArgsSizeVer0 = 64
	cloneArgsSizeVer2 = 88
)

// Clone3 implements clone3(2).
func Clone3(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, size := args[0].Pointer(), args[1].Uint64()
	if size < cloneArgsSizeVer0 || size > linux.PageSize {
		return 0, unix.EINVAL
	}
	buf := make([]byte, size)
	if _, err := t.MemoryManager().CopyIn(addr, buf); err != nil {
		return 0, unix.EFAULT
	}
	// Fields past those this kernel knows must be zero (E2BIG).
	for _, c := range buf[min(uint64(len(buf)), cloneArgsSizeVer2):] {
		if c != 0 {
			return 0, unix.E2BIG
		}
	}
	full := make([]byte, cloneArgsSizeVer2)
	copy(full, buf)
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(full[i*8:]) }
	// struct clone_args: flags, pidfd, child_tid, parent_tid,
	// exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup
	// (pidfd and cgroup go with flags Clone refuses).
	flags, childTID, parentTID, exitSignal := u(0), u(2), u(3), u(4)
	stack, stackSize, tls, setTID, setTIDSize := u(5), u(6), u(7), u(8), u(9)
	if exitSignal&^0xff != 0 || flags&0xff != 0 {
		return 0, unix.EINVAL
	}
	if setTID != 0 || setTIDSize != 0 {
		return 0, unix.EINVAL
	}
	if (stack == 0) != (stackSize == 0) {
		return 0, unix.EINVAL
	}
	sp := uintptr(0)
	if stack != 0 {
		sp = uintptr(stack + stackSize)
	}
	tid, errno := t.Clone(kernel.CloneOptions{
		Flags:      flags,
		ExitSignal: linux.Signal(exitSignal),
		Stack:      sp,
		TLS:        uintptr(tls),
		ParentTID:  uintptr(parentTID),
		ChildTID:   uintptr(childTID),
	})
	return uintptr(tid), errno
}
