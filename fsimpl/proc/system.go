package proc

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// filesystems is /proc/filesystems.
func (fs *Filesystem) filesystems(context.Context) ([]byte, error) {
	var b bytes.Buffer
	for _, f := range fs.opts.Filesystems {
		if f.NoDev {
			b.WriteString("nodev")
		}
		fmt.Fprintf(&b, "\t%s\n", f.Name)
	}
	return b.Bytes(), nil
}

// version is /proc/version: "Linux version <release> (<builder>)
// (<compiler>) <version>"; the builder is Palisade and the compiler the
// Go toolchain that built the Sentry.
func (fs *Filesystem) version(context.Context) ([]byte, error) {
	u := fs.k.System().Uname
	return fmt.Appendf(nil, "%s version %s (palisade@palisade) (%s) %s\n", u.Sysname, u.Release, runtime.Version(), u.Version), nil
}

// cpuTime sums the CPU time of the live processes.
func (fs *Filesystem) cpuTime() (user, sys time.Duration) {
	for _, pid := range fs.k.PIDs() {
		if p := fs.k.Process(pid); p != nil {
			info := p.Info()
			user += info.UserTime + info.ChildUserTime
			sys += info.SysTime + info.ChildSysTime
		}
	}
	return user, sys
}

// idleTime is the CPU time no task used since boot, over all CPUs.
func (fs *Filesystem) idleTime(sys SystemInfo, up time.Duration) time.Duration {
	user, system := fs.cpuTime()
	idle := up*time.Duration(max(sys.NumCPU, 1)) - user - system
	return max(idle, 0)
}

// uptime is /proc/uptime: seconds since boot and idle CPU seconds, each
// with two decimals.
func (fs *Filesystem) uptime(context.Context) ([]byte, error) {
	sys := fs.k.System()
	up := max(time.Since(sys.BootTime), 0)
	idle := fs.idleTime(sys, up)
	centis := func(d time.Duration) (uint64, uint64) {
		c := uint64(d / (10 * time.Millisecond))
		return c / 100, c % 100
	}
	us, uc := centis(up)
	is, ic := centis(idle)
	return fmt.Appendf(nil, "%d.%02d %d.%02d\n", us, uc, is, ic), nil
}

// meminfo is /proc/meminfo. There is no swap, no block device buffers
// and no huge pages.
func (fs *Filesystem) meminfo(context.Context) ([]byte, error) {
	sys := fs.k.System()
	var b bytes.Buffer
	kb := func(name string, v uint64) { fmt.Fprintf(&b, "%-16s%8d kB\n", name+":", v>>10) }
	avail := sys.MemFree + sys.MemCached
	if avail > sys.MemTotal {
		avail = sys.MemTotal
	}
	used := uint64(0)
	if sys.MemTotal > sys.MemFree+sys.MemCached {
		used = sys.MemTotal - sys.MemFree - sys.MemCached
	}
	kb("MemTotal", sys.MemTotal)
	kb("MemFree", sys.MemFree)
	kb("MemAvailable", avail)
	kb("Buffers", 0)
	kb("Cached", sys.MemCached)
	kb("SwapCached", 0)
	kb("Active", used+sys.MemCached)
	kb("Inactive", 0)
	kb("SwapTotal", 0)
	kb("SwapFree", 0)
	kb("Dirty", 0)
	kb("Writeback", 0)
	kb("AnonPages", used)
	kb("Mapped", 0)
	kb("Shmem", sys.MemShmem)
	kb("SReclaimable", 0)
	kb("CommitLimit", sys.MemTotal)
	kb("Committed_AS", used)
	return b.Bytes(), nil
}

// stat is /proc/stat. The Sentry does not know on which host CPU a task
// ran, so the busy time is shared evenly among the per-CPU lines.
func (fs *Filesystem) stat(context.Context) ([]byte, error) {
	sys := fs.k.System()
	ncpu := max(sys.NumCPU, 1)
	up := max(time.Since(sys.BootTime), 0)
	user, system := fs.cpuTime()
	idle := fs.idleTime(sys, up)
	var running, blocked int
	for _, pid := range fs.k.PIDs() {
		p := fs.k.Process(pid)
		if p == nil {
			continue
		}
		for _, tid := range p.TIDs() {
			if ti, ok := p.Task(tid); ok {
				switch ti.State {
				case 'R':
					running++
				case 'D':
					blocked++
				}
			}
		}
	}
	var b bytes.Buffer
	line := func(name string, u, s, i uint64) {
		fmt.Fprintf(&b, "%s %d 0 %d %d 0 0 0 0 0 0\n", name, u, s, i)
	}
	line("cpu ", clockTicks(user), clockTicks(system), clockTicks(idle))
	n := time.Duration(ncpu)
	for c := range ncpu {
		line(fmt.Sprintf("cpu%d", c), clockTicks(user/n), clockTicks(system/n), clockTicks(idle/n))
	}
	fmt.Fprintf(&b, "intr 0\nctxt %d\nbtime %d\nprocesses %d\nprocs_running %d\nprocs_blocked %d\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
		sys.ContextSwitches, sys.BootTime.Unix(), sys.Forks, running, blocked)
	return b.Bytes(), nil
}

// Load average fixed point (include/linux/sched/loadavg.h): 11 bits of
// fraction, sampled every 5 seconds, with decay factors for 1, 5 and 15
// minutes.
const (
	fshift   = 11
	fixed1   = 1 << fshift
	loadFreq = 5 * time.Second
)

var loadExp = [3]uint64{1884, 2014, 2037}

// loadTracker computes the load averages lazily: each read applies one
// decay step per 5-second period elapsed since the last one, with the
// number of runnable and uninterruptible tasks counted at the read (a
// task count that changed between reads is thus attributed to the whole
// gap).
type loadTracker struct {
	// mu guards avg and last.
	mu   sync.Mutex
	avg  [3]uint64
	last time.Time
}

// calcLoad is Linux's calc_load.
func calcLoad(load, exp, active uint64) uint64 {
	n := load*exp + active*(fixed1-exp)
	if active >= load {
		n += fixed1 - 1
	}
	return n / fixed1
}

// update advances the averages to now with active tasks and returns them.
// The first update starts from zero averages at boot.
func (l *loadTracker) update(boot, now time.Time, active uint64) [3]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.last = boot
	}
	steps := int(now.Sub(l.last) / loadFreq)
	// After ~1000 periods every average has converged to active.
	for i := 0; i < min(steps, 1000); i++ {
		for j := range l.avg {
			l.avg[j] = calcLoad(l.avg[j], loadExp[j], active*fixed1)
		}
	}
	if steps > 0 {
		l.last = l.last.Add(time.Duration(steps) * loadFreq)
	}
	return l.avg
}

// loadavg is /proc/loadavg: the 1, 5 and 15 minute load averages,
// runnable/total tasks and the last PID.
func (fs *Filesystem) loadavg(context.Context) ([]byte, error) {
	var running, active, total uint64
	for _, pid := range fs.k.PIDs() {
		p := fs.k.Process(pid)
		if p == nil {
			continue
		}
		for _, tid := range p.TIDs() {
			ti, ok := p.Task(tid)
			if !ok {
				continue
			}
			total++
			switch ti.State {
			case 'R':
				running++
				active++
			case 'D':
				active++
			}
		}
	}
	sys := fs.k.System()
	avg := fs.load.update(sys.BootTime, time.Now(), active)
	var b bytes.Buffer
	for _, a := range avg {
		a += fixed1 / 200 // rounding, as get_avenrun's offset
		fmt.Fprintf(&b, "%d.%02d ", a>>fshift, ((a&(fixed1-1))*100)>>fshift)
	}
	fmt.Fprintf(&b, "%d/%d %d\n", running, total, sys.LastPID)
	return b.Bytes(), nil
}

// newUUID returns a random (version 4) UUID in its text form, as
// /proc/sys/kernel/random/{uuid,boot_id} show.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
