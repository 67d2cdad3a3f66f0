package proc

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// cmdline is /proc/[pid]/cmdline: the argument area as it is in memory.
func (t task) cmdline(context.Context) ([]byte, error) {
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	return p.Cmdline()
}

// environ is /proc/[pid]/environ: the environment area.
func (t task) environ(context.Context) ([]byte, error) {
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	return p.Environ()
}

// comm is /proc/[pid]/comm: the thread's name and a newline.
func (t task) comm(context.Context) ([]byte, error) {
	info, err := t.info()
	if err != nil {
		return nil, err
	}
	return []byte(info.Comm + "\n"), nil
}

// limitNames are /proc/[pid]/limits' row names and units, by RLIMIT_*.
var limitNames = [linux.RLIM_NLIMITS]struct{ name, unit string }{
	linux.RLIMIT_CPU:        {"Max cpu time", "seconds"},
	linux.RLIMIT_FSIZE:      {"Max file size", "bytes"},
	linux.RLIMIT_DATA:       {"Max data size", "bytes"},
	linux.RLIMIT_STACK:      {"Max stack size", "bytes"},
	linux.RLIMIT_CORE:       {"Max core file size", "bytes"},
	linux.RLIMIT_RSS:        {"Max resident set", "bytes"},
	linux.RLIMIT_NPROC:      {"Max processes", "processes"},
	linux.RLIMIT_NOFILE:     {"Max open files", "files"},
	linux.RLIMIT_MEMLOCK:    {"Max locked memory", "bytes"},
	linux.RLIMIT_AS:         {"Max address space", "bytes"},
	linux.RLIMIT_LOCKS:      {"Max file locks", "locks"},
	linux.RLIMIT_SIGPENDING: {"Max pending signals", "signals"},
	linux.RLIMIT_MSGQUEUE:   {"Max msgqueue size", "bytes"},
	linux.RLIMIT_NICE:       {"Max nice priority", ""},
	linux.RLIMIT_RTPRIO:     {"Max realtime priority", ""},
	linux.RLIMIT_RTTIME:     {"Max realtime timeout", "us"},
}

// limits is /proc/[pid]/limits.
func (t task) limits(context.Context) ([]byte, error) {
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	lim := p.Limits()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units")
	val := func(v uint64) string {
		if v == linux.RLimInfinity {
			return "unlimited"
		}
		return fmt.Sprint(v)
	}
	for i, l := range lim {
		fmt.Fprintf(&b, "%-25s %-20s %-20s ", limitNames[i].name, val(l.Cur), val(l.Max))
		if limitNames[i].unit != "" {
			fmt.Fprintf(&b, "%-10s", limitNames[i].unit)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// mapsNameColumn is where the name of a mapping starts in
// /proc/[pid]/maps: the fixed part is padded to 25 + 6*sizeof(void *) - 1
// columns, then one space.
const mapsNameColumn = 25 + 6*8 - 1

// maps is /proc/[pid]/maps.
func (t task) maps(context.Context) ([]byte, error) {
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	ms, err := p.Maps()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, m := range ms {
		perm := func(ok bool, c byte) byte {
			if ok {
				return c
			}
			return '-'
		}
		share := byte('p')
		if m.Shared {
			share = 's'
		}
		start := b.Len()
		fmt.Fprintf(&b, "%08x-%08x %c%c%c%c %08x %02x:%02x %d ", m.Start, m.End,
			perm(m.Read, 'r'), perm(m.Write, 'w'), perm(m.Exec, 'x'), share,
			m.Offset, m.DevMajor, m.DevMinor, m.Inode)
		if m.Name != "" {
			for b.Len()-start < mapsNameColumn {
				b.WriteByte(' ')
			}
			b.WriteByte(' ')
			b.WriteString(escapeMapsName(m.Name))
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// escapeMapsName escapes a newline in a mapped file's name as Linux's
// seq_path does ("\012").
func escapeMapsName(s string) string {
	return strings.ReplaceAll(s, "\n", `\012`)
}

// mounts is /proc/[pid]/mounts: "source mountpoint fstype options 0 0",
// the options being the per-mount ones followed by the filesystem's.
func (t task) mounts(context.Context) ([]byte, error) {
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, m := range p.Mounts() {
		opts := m.MountOptions
		if _, fsOpts, ok := strings.Cut(m.SuperOptions, ","); ok && fsOpts != "" {
			opts += "," + fsOpts
		}
		fmt.Fprintf(&b, "%s %s %s %s 0 0\n", escapeMount(m.Source), escapeMount(m.MountPoint), escapeMount(m.FSType), escapeMount(opts))
	}
	return b.Bytes(), nil
}

// mountinfo is /proc/[pid]/mountinfo: "ID parentID major:minor root
// mountpoint options - fstype source superoptions" (no mount is shared,
// so there are no optional fields).
func (t task) mountinfo(context.Context) ([]byte, error) {
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, m := range p.Mounts() {
		fmt.Fprintf(&b, "%d %d %d:%d %s %s %s - %s %s %s\n", m.ID, m.ParentID, m.DevMajor, m.DevMinor,
			escapeMount(m.Root), escapeMount(m.MountPoint), escapeMount(m.MountOptions),
			escapeMount(m.FSType), escapeMount(m.Source), escapeMount(m.SuperOptions))
	}
	return b.Bytes(), nil
}

// statm is /proc/[pid]/statm: sizes in pages (size resident shared text
// lib data dt); lib and dt are always 0 in Linux 2.6+, shared (resident
// file and shared memory) is not tracked.
func (t task) statm(context.Context) ([]byte, error) {
	info, err := t.info()
	if err != nil {
		return nil, err
	}
	var m MemoryInfo
	if info.Mem != nil {
		m = *info.Mem
	}
	return fmt.Appendf(nil, "%d %d 0 %d 0 %d 0\n", m.VirtualSize/pageSize, m.ResidentSize/pageSize,
		m.ExeSize/pageSize, (m.DataSize+m.StackSize)/pageSize), nil
}

// auxv is /proc/[pid]/auxv, for processes that keep it.
func (t task) auxv(context.Context) ([]byte, error) {
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	a, ok := p.(AuxvProcess)
	if !ok {
		return nil, unix.ENOENT
	}
	return a.Auxv()
}

// escapeMount escapes space, tab, newline and backslash as octal, as
// Linux's mangle() does for /proc/mounts.
func escapeMount(s string) string {
	if !strings.ContainsAny(s, " \t\n\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stat is /proc/[pid]/stat and /proc/[pid]/task/[tid]/stat: 52 fields
// as proc(5) lists them.
func (t task) stat(ctx context.Context) ([]byte, error) {
	info, err := t.info()
	if err != nil {
		return nil, err
	}
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	boot := t.fs.k.System().BootTime
	var mem MemoryInfo
	if info.Mem != nil {
		mem = *info.Mem
	}
	if !t.fs.k.MayInspect(ctx, t.pid) {
		// Linux shows the layout addresses only to those who may
		// ptrace the process.
		mem = MemoryInfo{VirtualSize: mem.VirtualSize, ResidentSize: mem.ResidentSize}
	}
	rsslim := p.Limits()[linux.RLIMIT_RSS].Cur
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d (%s) %c", info.TID, info.Comm, info.State)
	for _, v := range []int64{
		int64(info.PPID), int64(info.PGID), int64(info.SID), int64(ttyNr(info.TTY)), int64(info.TPGID),
		0, // flags
		int64(info.MinorFaults), 0, int64(info.MajorFaults), 0,
		int64(clockTicks(info.UserTime)), int64(clockTicks(info.SysTime)),
		int64(clockTicks(info.ChildUserTime)), int64(clockTicks(info.ChildSysTime)),
		int64(20 + info.Nice), int64(info.Nice), int64(info.NumThreads),
		0, // itrealvalue
		int64(clockTicks(info.StartTime.Sub(boot))),
		int64(mem.VirtualSize), int64(mem.ResidentSize / pageSize),
	} {
		fmt.Fprintf(&b, " %d", v)
	}
	fmt.Fprintf(&b, " %d", rsslim)
	for _, v := range []uint64{
		mem.StartCode, mem.EndCode, mem.StartStack,
		0, 0, // kstkesp, kstkeip
		// The obsolete signal fields: the first 31 signals only.
		info.SigPending & 0x7fffffff, info.SigBlocked & 0x7fffffff,
		info.SigIgnored & 0x7fffffff, info.SigCaught & 0x7fffffff,
		0, 0, 0, // wchan, nswap, cnswap
		uint64(info.ExitSignal), uint64(info.LastCPU),
		0, 0, 0, 0, 0, // rt_priority, policy (SCHED_OTHER), delayacct_blkio_ticks, guest_time, cguest_time
		mem.StartData, mem.EndData, mem.StartBrk, mem.ArgStart, mem.ArgEnd, mem.EnvStart, mem.EnvEnd,
	} {
		fmt.Fprintf(&b, " %d", v)
	}
	fmt.Fprintf(&b, " %d\n", info.ExitCode)
	return b.Bytes(), nil
}

// ttyNr encodes a device number as /proc/[pid]/stat's tty_nr (the old
// dev_t layout new_encode_dev produces).
func ttyNr(dev uint64) uint32 {
	if dev == 0 {
		return 0
	}
	major, minor := linux.DecodeDev(dev)
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

// stateNames are the state names status shows.
var stateNames = map[byte]string{
	'R': "R (running)",
	'S': "S (sleeping)",
	'D': "D (disk sleep)",
	'T': "T (stopped)",
	't': "t (tracing stop)",
	'X': "X (dead)",
	'Z': "Z (zombie)",
	'P': "P (parked)",
	'I': "I (idle)",
}

// escapeName escapes a task name for status's Name line, as Linux does
// with ESCAPE_SPACE|ESCAPE_SPECIAL for "\n" and "\\".
func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\n':
			b.WriteString(`\n`)
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// status is /proc/[pid]/status and /proc/[pid]/task/[tid]/status.
func (t task) status(context.Context) ([]byte, error) {
	info, err := t.info()
	if err != nil {
		return nil, err
	}
	p, err := t.process()
	if err != nil {
		return nil, err
	}
	sys := t.fs.k.System()
	var b bytes.Buffer
	state := stateNames[info.State]
	if state == "" {
		state = string(info.State)
	}
	fdSize := 0
	if tab := p.FDTable(); tab != nil {
		fdSize = 64
		tab.ForEach(func(fd int32, _ *vfs.FileDescription, _ vfs.FDFlags) {
			for int(fd) >= fdSize {
				fdSize *= 2
			}
		})
	}
	fmt.Fprintf(&b, "Name:\t%s\n", escapeName(info.Comm))
	fmt.Fprintf(&b, "Umask:\t%04o\n", info.Umask)
	fmt.Fprintf(&b, "State:\t%s\n", state)
	fmt.Fprintf(&b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t%d\n", t.pid, info.TID, info.PPID, info.TracerPID)
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\n", info.UIDs[0], info.UIDs[1], info.UIDs[2], info.UIDs[3])
	fmt.Fprintf(&b, "Gid:\t%d\t%d\t%d\t%d\n", info.GIDs[0], info.GIDs[1], info.GIDs[2], info.GIDs[3])
	fmt.Fprintf(&b, "FDSize:\t%d\n", fdSize)
	b.WriteString("Groups:\t")
	for _, g := range info.Groups {
		fmt.Fprintf(&b, "%d ", g)
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", t.pid, info.TID, info.PGID, info.SID)
	b.WriteString("Kthread:\t0\n")
	if m := info.Mem; m != nil {
		kb := func(name string, v uint64) { fmt.Fprintf(&b, "%s\t%8d kB\n", name+":", v>>10) }
		kb("VmPeak", m.PeakVirtualSize)
		kb("VmSize", m.VirtualSize)
		kb("VmLck", m.LockedSize)
		kb("VmPin", 0)
		kb("VmHWM", m.PeakResidentSize)
		kb("VmRSS", m.ResidentSize)
		kb("VmData", m.DataSize)
		kb("VmStk", m.StackSize)
		kb("VmExe", m.ExeSize)
		kb("VmLib", m.LibSize)
		kb("VmSwap", 0)
		kb("HugetlbPages", 0)
		b.WriteString("CoreDumping:\t0\n")
	}
	fmt.Fprintf(&b, "Threads:\t%d\n", info.NumThreads)
	fmt.Fprintf(&b, "SigQ:\t%d/%d\n", info.SigQueued, p.Limits()[linux.RLIMIT_SIGPENDING].Cur)
	fmt.Fprintf(&b, "SigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		info.SigPending, info.SigShared, info.SigBlocked, info.SigIgnored, info.SigCaught)
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
		info.CapInheritable, info.CapPermitted, info.CapEffective, info.CapBounding, info.CapAmbient)
	nnp := 0
	if info.NoNewPrivs {
		nnp = 1
	}
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\nSeccomp:\t%d\n", nnp, info.Seccomp)
	ncpu := max(sys.NumCPU, 1)
	fmt.Fprintf(&b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n", cpuMask(ncpu), cpuList(ncpu))
	fmt.Fprintf(&b, "voluntary_ctxt_switches:\t%d\nnonvoluntary_ctxt_switches:\t%d\n", info.VoluntarySwitches, info.InvoluntarySwitches)
	return b.Bytes(), nil
}

// cpuMask formats a mask of CPUs 0..n-1 as Linux's %*pb: hex words of
// 32 bits, most significant first, separated by commas.
func cpuMask(n int) string {
	words := (n + 31) / 32
	var parts []string
	for w := words - 1; w >= 0; w-- {
		bitsInWord := min(n-32*w, 32)
		v := uint32(1<<uint(bitsInWord) - 1)
		if bitsInWord == 32 {
			v = ^uint32(0)
		}
		if len(parts) == 0 {
			parts = append(parts, fmt.Sprintf("%x", v))
		} else {
			parts = append(parts, fmt.Sprintf("%08x", v))
		}
	}
	return strings.Join(parts, ",")
}

// cpuList formats CPUs 0..n-1 as Linux's %*pbl.
func cpuList(n int) string {
	if n == 1 {
		return "0"
	}
	return fmt.Sprintf("0-%d", n-1)
}
