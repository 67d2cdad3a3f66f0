package proc_test

import (
	"context"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/proc"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// fakeKernel is a Kernel over a table of fake processes.
type fakeKernel struct {
	// mu guards procs, denied and sys.
	mu     sync.Mutex
	procs  map[int32]proc.Process
	denied map[int32]bool
	sys    proc.SystemInfo
}

// callerKey carries the calling task in a test context.
type callerKey struct{}

type callerID struct{ pid, tid int32 }

func asTask(ctx context.Context, pid, tid int32) context.Context {
	return context.WithValue(ctx, callerKey{}, callerID{pid, tid})
}

func (k *fakeKernel) PIDs() []int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []int32
	for pid := range k.procs {
		out = append(out, pid)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (k *fakeKernel) Process(pid int32) proc.Process {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.procs[pid]; ok {
		return p
	}
	return nil
}

func (k *fakeKernel) Caller(ctx context.Context) (int32, int32, bool) {
	c, ok := ctx.Value(callerKey{}).(callerID)
	return c.pid, c.tid, ok
}

func (k *fakeKernel) MayInspect(ctx context.Context, pid int32) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.denied[pid]
}

func (k *fakeKernel) System() proc.SystemInfo {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sys
}

func (k *fakeKernel) add(p proc.Process) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.procs[p.Info().TID] = p
}

func (k *fakeKernel) remove(pid int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.procs, pid)
}

// fakeProcess is a Process with fixed answers.
type fakeProcess struct {
	// mu guards the fields.
	mu             sync.Mutex
	info           proc.ProcessInfo
	tasks          []proc.TaskInfo
	cmdline        []byte
	environ        []byte
	maps           []proc.Mapping
	fdt            *vfs.FDTable
	exe, cwd, root vfs.VirtualDentry
	limits         [linux.RLIM_NLIMITS]linux.RLimit64
	mounts         []proc.MountInfo
}

func (p *fakeProcess) Info() proc.ProcessInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info
}

func (p *fakeProcess) Owner() (uint32, uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info.UIDs[1], p.info.GIDs[1]
}

func (p *fakeProcess) TIDs() []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int32
	for _, t := range p.tasks {
		out = append(out, t.TID)
	}
	return out
}

func (p *fakeProcess) Task(tid int32) (proc.TaskInfo, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.tasks {
		if t.TID == tid {
			return t, true
		}
	}
	return proc.TaskInfo{}, false
}

func (p *fakeProcess) Cmdline() ([]byte, error) { return p.cmdline, nil }
func (p *fakeProcess) Environ() ([]byte, error) { return p.environ, nil }
func (p *fakeProcess) Maps() ([]proc.Mapping, error) {
	return p.maps, nil
}
func (p *fakeProcess) FDTable() *vfs.FDTable { return p.fdt }

func ref(vd vfs.VirtualDentry) (vfs.VirtualDentry, error) {
	if !vd.Ok() {
		return vd, unix.ENOENT
	}
	vd.IncRef()
	return vd, nil
}

func (p *fakeProcess) Exe() (vfs.VirtualDentry, error)  { return ref(p.exe) }
func (p *fakeProcess) Cwd() (vfs.VirtualDentry, error)  { return ref(p.cwd) }
func (p *fakeProcess) Root() (vfs.VirtualDentry, error) { return ref(p.root) }
func (p *fakeProcess) Limits() [linux.RLIM_NLIMITS]linux.RLimit64 {
	return p.limits
}
func (p *fakeProcess) Mounts() []proc.MountInfo { return p.mounts }

// defaultLimits are Linux's defaults for a shell.
func defaultLimits() [linux.RLIM_NLIMITS]linux.RLimit64 {
	var l [linux.RLIM_NLIMITS]linux.RLimit64
	for i := range l {
		l[i] = linux.RLimit64{Cur: linux.RLimInfinity, Max: linux.RLimInfinity}
	}
	l[linux.RLIMIT_STACK].Cur = 8 << 20
	l[linux.RLIMIT_CORE].Cur = 0
	l[linux.RLIMIT_NOFILE] = linux.RLimit64{Cur: 1024, Max: 1 << 20}
	l[linux.RLIMIT_SIGPENDING] = linux.RLimit64{Cur: 63459, Max: 63459}
	l[linux.RLIMIT_NICE] = linux.RLimit64{}
	l[linux.RLIMIT_RTPRIO] = linux.RLimit64{}
	return l
}

// auxvProcess is a fakeProcess that keeps its auxiliary vector.
type auxvProcess struct {
	*fakeProcess
	auxv []byte
}

func (p auxvProcess) Auxv() ([]byte, error) { return p.auxv, nil }
