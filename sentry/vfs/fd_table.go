package vfs

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// MaxFDs bounds fd numbers regardless of RLIMIT_NOFILE (Linux's default
// fs.nr_open), so a guest cannot make the table allocate without limit.
const MaxFDs = 1 << 20

// FDFlags are the per-fd flags.
type FDFlags struct {
	// CloseOnExec is FD_CLOEXEC.
	CloseOnExec bool
}

type fdEntry struct {
	file  *FileDescription
	flags FDFlags
}

// FDTable is a process's file descriptor table, shared by threads created
// with CLONE_FILES. The table is also the owner of the process's POSIX
// record locks: closing any fd of a file releases the locks the table
// holds on it, as Linux does.
type FDTable struct {
	// mu guards files and used.
	mu    sync.Mutex
	files []fdEntry
	// used counts the non-nil entries of files.
	used int
	// limit returns RLIMIT_NOFILE's soft limit; nil means MaxFDs.
	limit func() uint64
	// users counts the tasks sharing the table.
	users atomic.Int32
}

// NewFDTable returns an empty table. limit reports RLIMIT_NOFILE (the
// kernel passes a closure over the thread group's limits).
func NewFDTable(limit func() uint64) *FDTable {
	t := &FDTable{limit: limit}
	t.users.Store(1)
	return t
}

func (t *FDTable) max() int32 {
	if t.limit == nil {
		return MaxFDs
	}
	l := t.limit()
	if l > MaxFDs {
		return MaxFDs
	}
	return int32(l)
}

func (t *FDTable) setLocked(fd int32, file *FileDescription, flags FDFlags) *FileDescription {
	for int(fd) >= len(t.files) {
		t.files = append(t.files, fdEntry{})
	}
	old := t.files[fd].file
	t.files[fd] = fdEntry{file: file, flags: flags}
	if old == nil && file != nil {
		t.used++
	} else if old != nil && file == nil {
		t.used--
	}
	return old
}

// closeFile drops the table's reference on file, releasing the POSIX
// locks the table holds on its inode first.
func (t *FDTable) closeFile(ctx context.Context, file *FileDescription) {
	if file == nil {
		return
	}
	if l := file.Locks(); l != nil {
		l.UnlockAll(t)
	}
	file.DecRef(ctx)
}

// NewFD installs file at the lowest free fd >= minFD, taking a reference
// (open, dup, F_DUPFD). EMFILE when none is below RLIMIT_NOFILE; EINVAL if
// a non-zero minFD is itself beyond it (as F_DUPFD). With minFD 0 a full
// table is EMFILE even when the limit is 0, as open and dup report it
// (Linux's F_DUPFD(0) would say EINVAL there).
func (t *FDTable) NewFD(minFD int32, file *FileDescription, flags FDFlags) (int32, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lim := t.max()
	if minFD < 0 || (minFD > 0 && minFD >= lim) {
		return -1, unix.EINVAL
	}
	fd := minFD
	for ; fd < lim; fd++ {
		if int(fd) >= len(t.files) || t.files[fd].file == nil {
			break
		}
	}
	if fd >= lim {
		return -1, unix.EMFILE
	}
	file.IncRef()
	t.setLocked(fd, file, flags)
	return fd, nil
}

// NewFDAt installs file at exactly fd, closing what was there (dup2,
// dup3). fd beyond RLIMIT_NOFILE is EBADF.
func (t *FDTable) NewFDAt(ctx context.Context, fd int32, file *FileDescription, flags FDFlags) error {
	t.mu.Lock()
	if fd < 0 || fd >= t.max() {
		t.mu.Unlock()
		return unix.EBADF
	}
	file.IncRef()
	old := t.setLocked(fd, file, flags)
	t.mu.Unlock()
	t.closeFile(ctx, old)
	return nil
}

// Get returns the file at fd with a reference, and its flags; nil if fd is
// not open.
func (t *FDTable) Get(fd int32) (*FileDescription, FDFlags) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.files) || t.files[fd].file == nil {
		return nil, FDFlags{}
	}
	e := t.files[fd]
	e.file.IncRef()
	return e.file, e.flags
}

// SetFlags implements F_SETFD.
func (t *FDTable) SetFlags(fd int32, flags FDFlags) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.files) || t.files[fd].file == nil {
		return unix.EBADF
	}
	t.files[fd].flags = flags
	return nil
}

// Close implements close(2).
func (t *FDTable) Close(ctx context.Context, fd int32) error {
	t.mu.Lock()
	if fd < 0 || int(fd) >= len(t.files) || t.files[fd].file == nil {
		t.mu.Unlock()
		return unix.EBADF
	}
	old := t.setLocked(fd, nil, FDFlags{})
	t.mu.Unlock()
	t.closeFile(ctx, old)
	return nil
}

// Dup implements dup(2) and F_DUPFD/F_DUPFD_CLOEXEC (minFD).
func (t *FDTable) Dup(oldfd, minFD int32, cloexec bool) (int32, error) {
	f, _ := t.Get(oldfd)
	if f == nil {
		return -1, unix.EBADF
	}
	defer f.DecRef(context.Background())
	return t.NewFD(minFD, f, FDFlags{CloseOnExec: cloexec})
}

// Dup2 implements dup2(2): duplicating an fd onto itself checks it and
// does nothing.
func (t *FDTable) Dup2(ctx context.Context, oldfd, newfd int32) (int32, error) {
	f, _ := t.Get(oldfd)
	if f == nil {
		return -1, unix.EBADF
	}
	defer f.DecRef(ctx)
	if oldfd == newfd {
		return newfd, nil
	}
	if err := t.NewFDAt(ctx, newfd, f, FDFlags{}); err != nil {
		return -1, err
	}
	return newfd, nil
}

// Dup3 implements dup3(2): flags may only be O_CLOEXEC, and oldfd ==
// newfd is EINVAL.
func (t *FDTable) Dup3(ctx context.Context, oldfd, newfd int32, flags uint32) (int32, error) {
	if flags&^linux.O_CLOEXEC != 0 || oldfd == newfd {
		return -1, unix.EINVAL
	}
	f, _ := t.Get(oldfd)
	if f == nil {
		return -1, unix.EBADF
	}
	defer f.DecRef(ctx)
	if err := t.NewFDAt(ctx, newfd, f, FDFlags{CloseOnExec: flags&linux.O_CLOEXEC != 0}); err != nil {
		return -1, err
	}
	return newfd, nil
}

// CloseRange implements close_range(2) over [first, last]. With
// CLOSE_RANGE_CLOEXEC the fds are marked close-on-exec instead of closed.
// With CLOSE_RANGE_UNSHARE the operation applies to a private copy of the
// table, which is returned for the caller to install as the task's table
// (the original is left untouched); otherwise it returns t.
func (t *FDTable) CloseRange(ctx context.Context, first, last uint32, flags uint32) (*FDTable, error) {
	if flags&^uint32(linux.CLOSE_RANGE_CLOEXEC|linux.CLOSE_RANGE_UNSHARE) != 0 || first > last {
		return nil, unix.EINVAL
	}
	target := t
	if flags&linux.CLOSE_RANGE_UNSHARE != 0 {
		target = t.Fork(t.limit)
	}
	var closed []*FileDescription
	target.mu.Lock()
	for fd := uint64(first); fd <= uint64(last) && fd < uint64(len(target.files)); fd++ {
		if target.files[fd].file == nil {
			continue
		}
		if flags&linux.CLOSE_RANGE_CLOEXEC != 0 {
			target.files[fd].flags.CloseOnExec = true
			continue
		}
		closed = append(closed, target.setLocked(int32(fd), nil, FDFlags{}))
	}
	target.mu.Unlock()
	for _, f := range closed {
		target.closeFile(ctx, f)
	}
	return target, nil
}

// Fork returns a copy of the table for a child created without
// CLONE_FILES: every file gains a reference; the copy owns no locks and
// takes its RLIMIT_NOFILE from limit.
func (t *FDTable) Fork(limit func() uint64) *FDTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &FDTable{files: make([]fdEntry, len(t.files)), used: t.used, limit: limit}
	n.users.Store(1)
	copy(n.files, t.files)
	for _, e := range n.files {
		if e.file != nil {
			e.file.IncRef()
		}
	}
	return n
}

// IncUsers adds a task sharing the table (CLONE_FILES).
func (t *FDTable) IncUsers() { t.users.Add(1) }

// DecUsers drops a task's use of the table; the last one closes every fd.
func (t *FDTable) DecUsers(ctx context.Context) {
	if t.users.Add(-1) == 0 {
		t.RemoveAll(ctx)
	}
}

// Shared reports whether more than one task uses the table.
func (t *FDTable) Shared() bool { return t.users.Load() > 1 }

// RemoveOnExec closes the close-on-exec fds (execve).
func (t *FDTable) RemoveOnExec(ctx context.Context) {
	var closed []*FileDescription
	t.mu.Lock()
	for fd, e := range t.files {
		if e.file != nil && e.flags.CloseOnExec {
			closed = append(closed, t.setLocked(int32(fd), nil, FDFlags{}))
		}
	}
	t.mu.Unlock()
	for _, f := range closed {
		t.closeFile(ctx, f)
	}
}

// RemoveAll closes every fd (the last user of the table exited).
func (t *FDTable) RemoveAll(ctx context.Context) {
	var closed []*FileDescription
	t.mu.Lock()
	for fd, e := range t.files {
		if e.file != nil {
			closed = append(closed, t.setLocked(int32(fd), nil, FDFlags{}))
		}
	}
	t.files = nil
	t.mu.Unlock()
	for _, f := range closed {
		t.closeFile(ctx, f)
	}
}

// Len returns the number of open fds.
func (t *FDTable) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.used
}

// ForEach calls fn for each open fd in ascending order with the table
// unlocked between calls; fn must not keep file without IncRef.
func (t *FDTable) ForEach(fn func(fd int32, file *FileDescription, flags FDFlags)) {
	t.mu.Lock()
	snap := make([]fdEntry, len(t.files))
	copy(snap, t.files)
	for _, e := range snap {
		if e.file != nil {
			e.file.IncRef()
		}
	}
	t.mu.Unlock()
	for fd, e := range snap {
		if e.file != nil {
			fn(int32(fd), e.file, e.flags)
			e.file.DecRef(context.Background())
		}
	}
}
