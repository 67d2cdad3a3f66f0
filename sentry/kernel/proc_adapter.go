package kernel

import (
	"context"
	"runtime"
	"sort"
	"time"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/proc"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"golang.org/x/sys/unix"
)

// ProcKernel returns the view of the kernel that fsimpl/proc shows. Its
// methods take the kernel's mu only briefly and never call into the VFS
// while holding it.
func (k *Kernel) ProcKernel() proc.Kernel { return procKernel{k} }

// procKernel adapts Kernel to proc.Kernel.
type procKernel struct{ k *Kernel }

// PIDs implements proc.Kernel.PIDs.
func (p procKernel) PIDs() []int32 {
	k := p.k
	k.mu.Lock()
	pids := make([]int32, 0, len(k.threadGroups))
	for pid, tg := range k.threadGroups {
		if !tg.reaped {
			pids = append(pids, pid)
		}
	}
	k.mu.Unlock()
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	return pids
}

// Process implements proc.Kernel.Process.
func (p procKernel) Process(pid int32) proc.Process {
	k := p.k
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := k.threadGroups[pid]
	if tg == nil || tg.reaped {
		return nil
	}
	return procProcess{tg}
}

// Caller implements proc.Kernel.Caller.
func (p procKernel) Caller(ctx context.Context) (pid, tid int32, ok bool) {
	t := TaskFromContext(ctx)
	if t == nil {
		return 0, 0, false
	}
	p.k.mu.Lock()
	defer p.k.mu.Unlock()
	return t.tg.pid, t.tid, true
}

// MayInspect implements proc.Kernel.MayInspect.
func (p procKernel) MayInspect(ctx context.Context, pid int32) bool {
	t := TaskFromContext(ctx)
	if t == nil {
		return true
	}
	c := t.Credentials()
	if c.HasCapability(unix.CAP_SYS_PTRACE) {
		return true
	}
	k := p.k
	k.mu.Lock()
	tg := k.threadGroups[pid]
	var leader *Task
	if tg != nil {
		if tg == t.tg {
			k.mu.Unlock()
			return true
		}
		leader = tg.leader
	}
	k.mu.Unlock()
	if leader == nil {
		return false
	}
	tc := leader.Credentials()
	return c.FSUID == tc.RealUID && c.FSUID == tc.EffectiveUID && c.FSUID == tc.SavedUID &&
		c.FSGID == tc.RealGID && c.FSGID == tc.EffectiveGID && c.FSGID == tc.SavedGID
}

// System implements proc.Kernel.System.
func (p procKernel) System() proc.SystemInfo {
	k := p.k
	var si unix.Sysinfo_t
	total := uint64(0)
	if unix.Sysinfo(&si) == nil {
		total = uint64(si.Totalram) * uint64(si.Unit)
	}
	used := k.mf.Usage()
	free := uint64(0)
	if total > used {
		free = total - used
	}
	k.mu.Lock()
	forks, last := k.forks, k.lastPID
	k.mu.Unlock()
	return proc.SystemInfo{
		Uname:    k.uts,
		BootTime: time.Now().Add(-time.Duration(k.MonotonicNanos())),
		NumCPU:   runtime.NumCPU(),
		MemTotal: total,
		MemFree:  free,
		Forks:    forks,
		LastPID:  last,
	}
}

// procProcess adapts a ThreadGroup to proc.Process.
type procProcess struct{ tg *ThreadGroup }

// leaderLocked returns the group's leader task, or any live task.
func (p procProcess) leaderLocked() *Task {
	tg := p.tg
	if tg.leader != nil && !tg.zombie {
		return tg.leader
	}
	if len(tg.tasks) > 0 {
		return tg.tasks[0]
	}
	return nil
}

// liveTask returns a live task of the group, or nil for a zombie.
func (p procProcess) liveTask() *Task {
	k := p.tg.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if p.tg.zombie || len(p.tg.tasks) == 0 {
		return nil
	}
	return p.leaderLocked()
}

// sleepThreshold is how long a task must have been in one syscall to be
// reported sleeping ('S') rather than running ('R'): the Sentry does not
// track which calls block, so a call that has lasted this long is taken
// to be waiting.
const sleepThreshold = 10 * time.Millisecond

func taskState(t *Task) byte {
	if t.tg.zombie {
		return 'Z'
	}
	if t.tg.stopped {
		return 'T'
	}
	if since := t.syscallSince.Load(); since != 0 && time.Since(time.Unix(0, since)) > sleepThreshold {
		return 'S'
	}
	return 'R'
}

// taskInfoLocked snapshots t.
func taskInfoLocked(t *Task) proc.TaskInfo {
	u, s := t.CPUTimes()
	return proc.TaskInfo{
		TID:        t.tid,
		Comm:       t.name,
		State:      taskState(t),
		UserTime:   time.Duration(u),
		SysTime:    time.Duration(s),
		StartTime:  t.tg.start,
		SigPending: uint64(t.pending.set),
		SigBlocked: uint64(t.sigMask),
	}
}

// Info implements proc.Process.Info.
func (p procProcess) Info() proc.ProcessInfo {
	tg := p.tg
	k := tg.k
	k.mu.Lock()
	info := proc.ProcessInfo{}
	t := p.leaderLocked()
	if t == nil {
		t = tg.leader
	}
	if t != nil {
		info.TaskInfo = taskInfoLocked(t)
	}
	info.TID = tg.pid
	u, s := tg.cpuTimesLocked()
	info.UserTime, info.SysTime = time.Duration(u), time.Duration(s)
	info.StartTime = tg.start
	if tg.zombie {
		info.State = 'Z'
		info.ExitCode = int32(tg.status.WaitStatus())
	}
	if tg.parent != nil {
		info.PPID = tg.parent.pid
	}
	info.PGID, info.SID = tg.pgid, tg.sid
	info.TPGID = -1
	info.NoNewPrivs = tg.noNewPrivs
	info.ChildUserTime, info.ChildSysTime = time.Duration(tg.childUser), time.Duration(tg.childSys)
	info.NumThreads = len(tg.tasks)
	info.SigShared = uint64(tg.pending.set)
	for i, a := range tg.handlers.actions {
		switch a.Handler {
		case linux.SIG_DFL:
		case linux.SIG_IGN:
			info.SigIgnored |= 1 << uint(i)
		default:
			info.SigCaught |= 1 << uint(i)
		}
	}
	info.ExitSignal = int32(tg.exitSignal)
	live := !tg.zombie && len(tg.tasks) > 0
	var fsc *FSContext
	if live && t != nil {
		fsc = t.fsc
	}
	k.mu.Unlock()
	if t != nil {
		c := t.Credentials()
		info.UIDs = [4]uint32{c.RealUID, c.EffectiveUID, c.SavedUID, c.FSUID}
		info.GIDs = [4]uint32{c.RealGID, c.EffectiveGID, c.SavedGID, c.FSGID}
		info.Groups = append([]uint32(nil), c.Groups...)
		info.CapEffective = uint64(c.EffectiveCaps)
		info.CapPermitted = uint64(c.PermittedCaps)
		info.CapInheritable = uint64(c.InheritableCaps)
		info.CapBounding = uint64(c.BoundingCaps)
		info.CapAmbient = uint64(c.AmbientCaps)
	}
	if fsc != nil {
		info.Umask = fsc.Umask()
	}
	if live && t != nil {
		m := t.MemoryManager()
		mi := &proc.MemoryInfo{VirtualSize: m.VirtualSize(), ResidentSize: m.ResidentSize(), LockedSize: m.LockedSize()}
		mi.PeakVirtualSize, mi.PeakResidentSize = mi.VirtualSize, mi.ResidentSize
		as, ae := m.ArgvRange()
		es, ee := m.EnvRange()
		mi.ArgStart, mi.ArgEnd, mi.EnvStart, mi.EnvEnd = uint64(as), uint64(ae), uint64(es), uint64(ee)
		info.Mem = mi
	}
	return info
}

// Owner implements proc.Process.Owner.
func (p procProcess) Owner() (uid, gid uint32) {
	k := p.tg.k
	k.mu.Lock()
	t := p.leaderLocked()
	if t == nil {
		t = p.tg.leader
	}
	k.mu.Unlock()
	if t == nil {
		return 0, 0
	}
	c := t.Credentials()
	return c.EffectiveUID, c.EffectiveGID
}

// TIDs implements proc.Process.TIDs.
func (p procProcess) TIDs() []int32 {
	k := p.tg.k
	k.mu.Lock()
	tids := make([]int32, 0, len(p.tg.tasks))
	for _, t := range p.tg.tasks {
		tids = append(tids, t.tid)
	}
	k.mu.Unlock()
	sort.Slice(tids, func(i, j int) bool { return tids[i] < tids[j] })
	return tids
}

// Task implements proc.Process.Task.
func (p procProcess) Task(tid int32) (proc.TaskInfo, bool) {
	k := p.tg.k
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, t := range p.tg.tasks {
		if t.tid == tid {
			return taskInfoLocked(t), true
		}
	}
	return proc.TaskInfo{}, false
}

// readRange reads [start, end) of t's memory, bounded.
func readRange(t *Task, start, end uintptr) ([]byte, error) {
	if t == nil || end <= start {
		return nil, nil
	}
	const maxRead = 1 << 20
	if end-start > maxRead {
		end = start + maxRead
	}
	b := make([]byte, end-start)
	n, err := t.MemoryManager().CopyIn(start, b)
	if n > 0 {
		return b[:n], nil
	}
	return nil, err
}

// Cmdline implements proc.Process.Cmdline.
func (p procProcess) Cmdline() ([]byte, error) {
	t := p.liveTask()
	if t == nil {
		return nil, nil
	}
	s, e := t.MemoryManager().ArgvRange()
	return readRange(t, s, e)
}

// Environ implements proc.Process.Environ.
func (p procProcess) Environ() ([]byte, error) {
	t := p.liveTask()
	if t == nil {
		return nil, nil
	}
	s, e := t.MemoryManager().EnvRange()
	return readRange(t, s, e)
}

// Maps implements proc.Process.Maps.
func (p procProcess) Maps() ([]proc.Mapping, error) {
	t := p.liveTask()
	if t == nil {
		return nil, nil
	}
	root := t.FSContext().Root()
	defer root.DecRef()
	var out []proc.Mapping
	for _, v := range t.MemoryManager().VMAs() {
		m := proc.Mapping{
			Start: uint64(v.Start), End: uint64(v.End),
			Read: v.Perms.Read, Write: v.Perms.Write, Exec: v.Perms.Execute,
			Shared: !v.Private, Offset: v.Offset,
		}
		switch {
		case v.GrowsDown:
			m.Name = "[stack]"
		case v.Mappable != nil:
			if fm, ok := v.Mappable.(mappedFile); ok {
				f := fm.File()
				m.Name = t.k.vfs.PathnameWithDeleted(root, f.VirtualDentry())
				if st, err := f.Stat(context.Background(), linux.STATX_INO); err == nil {
					m.DevMajor, m.DevMinor, m.Inode = st.DevMajor, st.DevMinor, st.Ino
				}
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// mappedFile is a file mapping's Mappable that names its description.
type mappedFile interface {
	File() *vfs.FileDescription
}

// FDTable implements proc.Process.FDTable.
func (p procProcess) FDTable() *vfs.FDTable {
	t := p.liveTask()
	if t == nil {
		return nil
	}
	k := p.tg.k
	k.mu.Lock()
	defer k.mu.Unlock()
	return t.fdTable
}

// Exe implements proc.Process.Exe.
func (p procProcess) Exe() (vfs.VirtualDentry, error) {
	t := p.liveTask()
	if t == nil {
		return vfs.VirtualDentry{}, unix.ENOENT
	}
	k := p.tg.k
	k.mu.Lock()
	defer k.mu.Unlock()
	vd := p.tg.exe
	if !vd.Ok() {
		return vfs.VirtualDentry{}, unix.ENOENT
	}
	vd.IncRef()
	return vd, nil
}

// Cwd implements proc.Process.Cwd.
func (p procProcess) Cwd() (vfs.VirtualDentry, error) {
	t := p.liveTask()
	if t == nil {
		return vfs.VirtualDentry{}, unix.ENOENT
	}
	return t.FSContext().WorkingDirectory(), nil
}

// Root implements proc.Process.Root.
func (p procProcess) Root() (vfs.VirtualDentry, error) {
	t := p.liveTask()
	if t == nil {
		return vfs.VirtualDentry{}, unix.ENOENT
	}
	return t.FSContext().Root(), nil
}

// Limits implements proc.Process.Limits.
func (p procProcess) Limits() [linux.RLIM_NLIMITS]linux.RLimit64 {
	var out [linux.RLIM_NLIMITS]linux.RLimit64
	for r := range out {
		if l, err := p.tg.limits.Get(r); err == nil {
			out[r] = linux.RLimit64(l)
		}
	}
	return out
}

// Mounts implements proc.Process.Mounts.
func (p procProcess) Mounts() []proc.MountInfo {
	t := p.liveTask()
	if t == nil {
		return nil
	}
	root := t.FSContext().Root()
	defer root.DecRef()
	var out []proc.MountInfo
	for _, r := range p.tg.k.vfs.Mounts(root) {
		if !r.ReachableFromRoot {
			continue
		}
		opts := "rw"
		if r.Flags.ReadOnly {
			opts = "ro"
		}
		if r.Flags.NoSuid {
			opts += ",nosuid"
		}
		if r.Flags.NoDev {
			opts += ",nodev"
		}
		if r.Flags.NoExec {
			opts += ",noexec"
		}
		opts += ",relatime"
		super := "rw"
		if r.Flags.ReadOnly {
			super = "ro"
		}
		out = append(out, proc.MountInfo{
			ID: r.ID, ParentID: r.ParentID, DevMinor: r.DevMinor, Root: r.RootPath,
			MountPoint: r.MountPoint, MountOptions: opts, FSType: r.FSType, Source: r.FSType, SuperOptions: super,
		})
	}
	return out
}
