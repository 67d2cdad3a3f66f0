package linux

import (
	"encoding/binary"
	"strconv"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"golang.org/x/sys/unix"
)

func init() { registrars = append(registrars, registerExec) }

func registerExec(b *tableBuilder) {
	const note = "set-user-ID and set-group-ID bits and file capabilities are not applied"
	b.partial(linux.SYS_EXECVE, Execve, note)
	b.partial(linux.SYS_EXECVEAT, Execveat, note)
}

// Bounds on execve's vectors: MAX_ARG_STRINGS, and the total size Linux
// allows (a quarter of an 8 MiB stack; the loader applies the exact
// RLIMIT_STACK bound).
const (
	maxArgStrings = 0x7fffffff
	maxArgBytes   = 32 << 20
	maxArgString  = 32 * linux.PageSize
)

// copyInStringVector reads a NULL-terminated array of string pointers.
func copyInStringVector(t *kernel.Task, addr uintptr) ([]string, linux.Errno) {
	if addr == 0 {
		return nil, 0
	}
	m := t.MemoryManager()
	var out []string
	total := 0
	var b [8]byte
	for i := 0; ; i++ {
		if i >= maxArgStrings || total > maxArgBytes {
			return nil, unix.E2BIG
		}
		if _, err := m.CopyIn(addr+uintptr(i)*8, b[:]); err != nil {
			return nil, unix.EFAULT
		}
		p := uintptr(binary.LittleEndian.Uint64(b[:]))
		if p == 0 {
			return out, 0
		}
		s, err := m.CopyInString(p, maxArgString)
		if err != nil {
			if err == unix.ENAMETOOLONG {
				return nil, unix.E2BIG
			}
			return nil, unix.EFAULT
		}
		total += len(s) + 1 + 8
		out = append(out, s)
	}
}

// Execve implements execve(2).
func Execve(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return execveat(t, linux.AT_FDCWD, args[0].Pointer(), args[1].Pointer(), args[2].Pointer(), 0)
}

// Execveat implements execveat(2).
func Execveat(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return execveat(t, args[0].Int(), args[1].Pointer(), args[2].Pointer(), args[3].Pointer(), args[4].Int())
}

func execveat(t *kernel.Task, dirfd int32, pathAddr, argvAddr, envvAddr uintptr, flags int32) (uintptr, linux.Errno) {
	if flags&^(linux.AT_EMPTY_PATH|linux.AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, unix.EINVAL
	}
	path, errno := copyInPath(t, pathAddr)
	if errno != 0 {
		return 0, errno
	}
	argv, errno := copyInStringVector(t, argvAddr)
	if errno != 0 {
		return 0, errno
	}
	envv, errno := copyInStringVector(t, envvAddr)
	if errno != 0 {
		return 0, errno
	}
	ea := kernel.ExecArgs{Filename: path, Argv: argv, Envv: envv, NoFollow: flags&linux.AT_SYMLINK_NOFOLLOW != 0}
	if path == "" && flags&linux.AT_EMPTY_PATH != 0 {
		// fexecve: the file open at dirfd.
		f, errno := getFile(t, dirfd)
		if errno != 0 {
			return 0, errno
		}
		defer f.DecRef(t.Ctx())
		ea.File = f
		ea.Filename = "/dev/fd/" + strconv.Itoa(int(dirfd))
	} else {
		pop, errno := newPathOperation(t, dirfd, path, true, false)
		if errno != 0 {
			return 0, errno
		}
		defer pop.release()
		ea.Dir = pop.Start
	}
	if errno := t.Execve(ea); errno != 0 {
		return 0, errno
	}
	return 0, 0
}
