package linux

import (
	"context"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// knownMapFlags are the mmap flags Linux accepts with MAP_SHARED_VALIDATE.
const knownMapFlags = linux.MAP_TYPE | linux.MAP_FIXED | linux.MAP_ANONYMOUS | linux.MAP_32BIT |
	linux.MAP_GROWSDOWN | linux.MAP_DENYWRITE | linux.MAP_EXECUTABLE | linux.MAP_LOCKED |
	linux.MAP_NORESERVE | linux.MAP_POPULATE | linux.MAP_NONBLOCK | linux.MAP_STACK |
	linux.MAP_HUGETLB | linux.MAP_SYNC | linux.MAP_FIXED_NOREPLACE

// map32Start and map32End bound MAP_32BIT mappings on x86-64 (the second
// gigabyte, as Linux's arch_get_unmapped_area picks).
const (
	map32Start = 0x40000000
	map32End   = 0x80000000
)

// mmapNote is mmap's entry in the compatibility table.
const mmapNote = "anonymous memory (MAP_SHARED anonymous memory shared across fork), /dev/zero and regular files; " +
	"MAP_POPULATE, MAP_LOCKED, MAP_GROWSDOWN, MAP_NORESERVE (nothing is reserved) work; " +
	"MAP_PRIVATE file pages are private copies; MAP_SHARED file mappings share pages across all mappings of the file " +
	"and are written back on msync, munmap and exit, but read(2)/write(2) of the file do not see mapped pages in between; " +
	"other file types are ENODEV"

// Mmap implements mmap(2) for anonymous memory, /dev/zero (which Linux
// also maps as anonymous memory) and regular files. File mappings are
// served from the memory file: MAP_PRIVATE pages are private copies,
// MAP_SHARED pages are shared by every mapping of the file and written
// back (see mm.SharedMappable).
func Mmap(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	addr, length := args[0].Pointer(), uintptr(args[1].Uint64())
	prot, flags, fd, off := args[2].Int(), args[3].Int(), args[4].Int(), args[5].Uint64()
	if off&(linux.PageSize-1) != 0 {
		return 0, unix.EINVAL
	}
	if errno := checkAddressSpaceLimit(t, length); errno != 0 {
		return 0, errno
	}
	var file *vfs.FileDescription
	if flags&linux.MAP_ANONYMOUS == 0 {
		f, errno := getFile(t, fd)
		if errno != 0 {
			return 0, errno
		}
		defer f.DecRef(t.Ctx())
		if f.IsPath() {
			return 0, unix.EBADF
		}
		file = f
	}
	switch flags & linux.MAP_TYPE {
	case linux.MAP_PRIVATE, linux.MAP_SHARED:
	case linux.MAP_SHARED_VALIDATE:
		// Linux validates flags only for file mappings; for anonymous
		// memory the type is simply not MAP_SHARED or MAP_PRIVATE.
		if file == nil {
			return 0, unix.EINVAL
		}
		if flags&^knownMapFlags != 0 {
			return 0, unix.EOPNOTSUPP
		}
	default:
		return 0, unix.EINVAL
	}
	if length == 0 {
		return 0, unix.EINVAL
	}
	if flags&linux.MAP_HUGETLB != 0 {
		// No huge page pool is configured.
		return 0, unix.ENOMEM
	}
	opts := mm.MMapOpts{
		Length:    length,
		Addr:      addr,
		Fixed:     flags&(linux.MAP_FIXED|linux.MAP_FIXED_NOREPLACE) != 0,
		NoReplace: flags&linux.MAP_FIXED_NOREPLACE != 0 && flags&linux.MAP_FIXED == 0,
		Perms: platform.AccessType{
			Read:    prot&linux.PROT_READ != 0,
			Write:   prot&linux.PROT_WRITE != 0,
			Execute: prot&linux.PROT_EXEC != 0,
		},
		Private:   flags&linux.MAP_TYPE == linux.MAP_PRIVATE,
		GrowsDown: flags&linux.MAP_GROWSDOWN != 0,
		// MAP_NONBLOCK turns MAP_POPULATE off, as in Linux.
		Populate: flags&linux.MAP_POPULATE != 0 && flags&linux.MAP_NONBLOCK == 0,
		Locked:   flags&linux.MAP_LOCKED != 0,
	}
	if file != nil {
		zero, errno := isDevZero(t, file)
		if errno != 0 {
			return 0, errno
		}
		if zero {
			// Like Linux's mmap_zero: /dev/zero gives anonymous
			// memory; the file's access mode still applies.
			if !file.IsReadable() || (!opts.Private && prot&linux.PROT_WRITE != 0 && !file.IsWritable()) {
				return 0, unix.EACCES
			}
			file = nil
		}
	}
	if file != nil {
		if errno := configureFileMapping(t, file, &opts, prot, flags, off); errno != 0 {
			return 0, errno
		}
	}
	m := t.MemoryManager()
	want32 := flags&linux.MAP_32BIT != 0 && !opts.Fixed
	if want32 && (addr < map32Start || addr >= map32End) {
		opts.Addr = map32Start
	}
	got, errno := m.MMap(opts)
	if errno != 0 {
		return 0, errno
	}
	if want32 && got+length > map32End {
		m.MUnmap(got, length)
		return 0, unix.ENOMEM
	}
	return got, 0
}

// isDevZero reports whether file is the character device /dev/zero (1:5).
func isDevZero(t *kernel.Task, file *vfs.FileDescription) (bool, linux.Errno) {
	st, err := file.Stat(t.Ctx(), linux.STATX_TYPE)
	if err != nil {
		return false, errnoOf(err)
	}
	return uint32(st.Mode)&linux.S_IFMT == linux.S_IFCHR && st.RdevMajor == 1 && st.RdevMinor == 5, 0
}

// configureFileMapping checks that file may be mapped as asked, in the
// order of Linux's do_mmap, and makes opts map it at offset off: EACCES for
// a file not opened for reading or a shared writable mapping of a file not
// opened for writing, ENODEV for anything but a regular file, EINVAL for
// MAP_GROWSDOWN. A shared mapping may later be made writable by mprotect
// only if the file is open for writing, as in Linux.
func configureFileMapping(t *kernel.Task, file *vfs.FileDescription, opts *mm.MMapOpts, prot, flags int32, off uint64) linux.Errno {
	maxPerms := platform.AnyAccess
	if !opts.Private {
		if prot&linux.PROT_WRITE != 0 && !file.IsWritable() {
			return unix.EACCES
		}
		maxPerms.Write = file.IsWritable()
	}
	if !file.IsReadable() {
		return unix.EACCES
	}
	st, err := file.Stat(t.Ctx(), linux.STATX_TYPE)
	if err != nil {
		return errnoOf(err)
	}
	if uint32(st.Mode)&linux.S_IFMT != linux.S_IFREG {
		return unix.ENODEV
	}
	if flags&linux.MAP_GROWSDOWN != 0 {
		return unix.EINVAL
	}
	// Faults read the file long after this call, from any task sharing
	// the mapping (or a forked child), so the context must not end with
	// this task's current interrupt.
	opts.Mappable = &fileMappable{ctx: context.WithoutCancel(t.Ctx()), fd: file}
	opts.Offset = off
	opts.MaxPerms = maxPerms
	return 0
}

// fileMappable adapts an open file description to mm.Mappable.
type fileMappable struct {
	ctx context.Context
	fd  *vfs.FileDescription
}

// File returns the mapped description (for /proc/PID/maps).
func (m *fileMappable) File() *vfs.FileDescription { return m.fd }

// ReadAt implements mm.Mappable.ReadAt with pread on the description,
// repeated over short reads until end of file.
func (m *fileMappable) ReadAt(off int64, dst []byte) (int, error) {
	total := 0
	for total < len(dst) {
		n, err := m.fd.PRead(m.ctx, vfs.BytesIOSequence(dst[total:]), off+int64(total))
		total += int(n)
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
	}
	return total, nil
}

// Key implements mm.SharedMappable.Key: the file's inode, so that every
// shared mapping of the file shares its pages.
func (m *fileMappable) Key() any {
	if ino := m.fd.Inode(); ino != nil {
		return ino
	}
	return nil
}

// Writable implements mm.SharedMappable.Writable.
func (m *fileMappable) Writable() bool { return m.fd.IsWritable() }

// WriteAt implements mm.SharedMappable.WriteAt (write-back of shared
// mappings), always at off even if the description is in append mode.
func (m *fileMappable) WriteAt(off int64, src []byte) (int, error) {
	total := 0
	for total < len(src) {
		n, _, err := m.fd.Impl().PWrite(m.ctx, vfs.BytesIOSequence(src[total:]), off+int64(total), false)
		total += int(n)
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, unix.EIO
		}
	}
	return total, nil
}

// IncRef implements mm.Mappable.IncRef.
func (m *fileMappable) IncRef() { m.fd.IncRef() }

// DecRef implements mm.Mappable.DecRef.
func (m *fileMappable) DecRef() { m.fd.DecRef(m.ctx) }

// Munmap implements munmap(2).
func Munmap(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return 0, t.MemoryManager().MUnmap(args[0].Pointer(), uintptr(args[1].Uint64()))
}

// Mprotect implements mprotect(2).
func Mprotect(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	return 0, t.MemoryManager().MProtect(args[0].Pointer(), uintptr(args[1].Uint64()), int(args[2].Int()))
}

// Brk implements brk(2): it returns the new break, or the old one if the
// request cannot be met.
func Brk(t *kernel.Task, args *arch.SyscallArguments) (uintptr, linux.Errno) {
	m, addr := t.MemoryManager(), args[0].Pointer()
	// brk(0) (below the heap start) just reports the break.
	cur := m.Brk(0)
	if addr > cur {
		grow := (addr+linux.PageSize-1)&^(linux.PageSize-1) - (cur+linux.PageSize-1)&^(linux.PageSize-1)
		if checkAddressSpaceLimit(t, grow) != 0 {
			return cur, 0
		}
	}
	return m.Brk(addr), 0
}

// checkAddressSpaceLimit reports ENOMEM if growing the address space by
// grow bytes would take it past RLIMIT_AS (Linux's may_expand_vm; a
// MAP_FIXED mapping over existing ones is counted in full).
func checkAddressSpaceLimit(t *kernel.Task, grow uintptr) linux.Errno {
	limit := t.ThreadGroup().Limits().Cur(linux.RLIMIT_AS)
	if limit == linux.RLimInfinity {
		return 0
	}
	if t.MemoryManager().VirtualSize()+uint64(grow) > limit {
		return unix.ENOMEM
	}
	return 0
}
