package proc_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/fsimpl/pipe"
	"github.com/palisade-sandbox/palisade/fsimpl/proc"
	"github.com/palisade-sandbox/palisade/fsimpl/tmpfs"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

type fixture struct {
	t     *testing.T
	ctx   context.Context // the caller is process 100, thread 101
	v     *vfs.VirtualFilesystem
	root  vfs.VirtualDentry
	creds *vfs.Credentials
	k     *fakeKernel
	sh    *fakeProcess // pid 100, threads 100 and 101, uid 1000
	init  *fakeProcess // pid 1, uid 0
	// pr and pw are the ends of a pipe, at fds 4 and 5 of pid 100.
	pr, pw *vfs.FileDescription
}

// newFixture builds a tmpfs root with /bin/sh, /home/u/file and /proc,
// and two fake processes.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, v: vfs.New(), creds: vfs.RootCredentials()}
	ns := f.v.NewMountNamespace(f.v.NewFilesystem(tmpfs.New(tmpfs.Options{MaxSize: 1 << 20, RootMode: 0o755})), vfs.MountFlags{})
	f.root = ns.Root()
	t.Cleanup(f.root.DecRef)
	f.ctx = asTask(context.Background(), 100, 101)
	for _, d := range []string{"/proc", "/bin", "/home", "/home/u"} {
		if err := f.v.MkdirAt(f.ctx, f.creds, f.pop(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.write("/bin/sh", "#!")
	f.write("/home/u/file", "hello")
	f.write("/home/u/gone", "still here")
	f.write("/home/u/with space", "x")

	f.k = &fakeKernel{procs: map[int32]proc.Process{}, denied: map[int32]bool{}, sys: proc.SystemInfo{
		Uname:    linux.Utsname{Sysname: "Linux", Nodename: "sandbox", Release: "6.1.0", Version: "#1 SMP PREEMPT_DYNAMIC Palisade", Machine: "x86_64", Domainname: "(none)"},
		BootTime: time.Now().Add(-90 * time.Second),
		NumCPU:   2,
		MemTotal: 2 << 30, MemFree: 1 << 30, MemCached: 256 << 20, MemShmem: 16 << 20,
		Forks: 7, ContextSwitches: 1234, LastPID: 101,
	}}
	boot := f.k.sys.BootTime
	f.init = &fakeProcess{
		info: proc.ProcessInfo{
			TaskInfo: proc.TaskInfo{TID: 1, Comm: "init", State: 'S', StartTime: boot},
			PPID:     0, PGID: 1, SID: 1, TPGID: -1, NumThreads: 1, ExitSignal: 17,
			CapEffective: 0x1ffffffffff,
		},
		tasks:  []proc.TaskInfo{{TID: 1, Comm: "init", State: 'S', StartTime: boot}},
		limits: defaultLimits(),
	}
	f.k.add(f.init)

	fdt := vfs.NewFDTable(nil)
	t.Cleanup(func() { fdt.RemoveAll(context.Background()) })
	f.sh = &fakeProcess{
		info: proc.ProcessInfo{
			TaskInfo: proc.TaskInfo{TID: 100, Comm: "my sh) x", State: 'R',
				UserTime: 1500 * time.Millisecond, SysTime: 250 * time.Millisecond, StartTime: boot.Add(2 * time.Second),
				SigBlocked: 1 << 1},
			PPID: 1, PGID: 100, SID: 1, TTY: linux.MakeDev(136, 3), TPGID: 100,
			UIDs: [4]uint32{1000, 1000, 1000, 1000}, GIDs: [4]uint32{100, 100, 100, 100}, Groups: []uint32{100, 27},
			Umask: 0o022, NumThreads: 2, ExitSignal: 17, SigCaught: 1 << 16, SigIgnored: 1 << 2,
			Mem: &proc.MemoryInfo{VirtualSize: 8 << 20, PeakVirtualSize: 9 << 20, ResidentSize: 2 << 20, PeakResidentSize: 2 << 20,
				DataSize: 1 << 20, StackSize: 132 << 10, ExeSize: 100 << 10, LibSize: 2 << 20,
				StartCode: 0x400000, EndCode: 0x419000, StartStack: 0x7ffc0000},
		},
		tasks: []proc.TaskInfo{
			{TID: 100, Comm: "my sh) x", State: 'S', UserTime: time.Second, StartTime: boot.Add(2 * time.Second)},
			{TID: 101, Comm: "worker", State: 'R', UserTime: 500 * time.Millisecond, SysTime: 250 * time.Millisecond, StartTime: boot.Add(3 * time.Second)},
		},
		cmdline: []byte("sh\x00-c\x00echo hi\x00"),
		environ: []byte("HOME=/home/u\x00PATH=/bin\x00"),
		maps: []proc.Mapping{
			{Start: 0x400000, End: 0x419000, Read: true, Exec: true, Offset: 0, DevMajor: 0, DevMinor: 0x2a, Inode: 12, Name: "/bin/sh"},
			{Start: 0x7ffc0000, End: 0x7ffe1000, Read: true, Write: true},
			{Start: 0x7fff0000, End: 0x7fff2000, Read: true, Write: true, Shared: true, Offset: 0x1000, Name: "[stack]"},
		},
		fdt:    fdt,
		limits: defaultLimits(),
		mounts: []proc.MountInfo{
			{ID: 1, ParentID: 1, DevMajor: 0, DevMinor: 1, Root: "/", MountPoint: "/", MountOptions: "rw,relatime", FSType: "tmpfs", Source: "none", SuperOptions: "rw,size=1024k"},
			{ID: 2, ParentID: 1, DevMajor: 0, DevMinor: 5, Root: "/", MountPoint: "/proc", MountOptions: "rw,nosuid,nodev,noexec", FSType: "proc", Source: "proc", SuperOptions: "rw"},
			{ID: 3, ParentID: 1, DevMajor: 0, DevMinor: 9, Root: "/sub dir", MountPoint: "/mnt/a b", MountOptions: "ro", FSType: "9p", Source: "tag 1", SuperOptions: "rw,trans=fd"},
		},
	}
	var err error
	if f.sh.exe, err = f.v.GetFileAt(f.ctx, f.creds, f.pop("/bin/sh")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.sh.exe.DecRef)
	if f.sh.cwd, err = f.v.GetDentryAt(f.ctx, f.creds, f.pop("/home/u")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.sh.cwd.DecRef)
	f.sh.root = f.root
	f.k.add(auxvProcess{fakeProcess: f.sh, auxv: []byte{6, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}})

	install := func(fd int32, file *vfs.FileDescription, cloexec bool) {
		if err := fdt.NewFDAt(f.ctx, fd, file, vfs.FDFlags{CloseOnExec: cloexec}); err != nil {
			t.Fatal(err)
		}
		file.DecRef(f.ctx)
	}
	install(0, f.open("/home/u/file", linux.O_RDONLY), false)
	install(3, f.open("/home/u/gone", linux.O_RDWR), false)
	if err := f.v.UnlinkAt(f.ctx, f.creds, f.pop("/home/u/gone")); err != nil {
		t.Fatal(err)
	}
	r, w, err := pipe.NewPair(f.ctx, f.v, f.creds, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.pr, f.pw = r, w
	install(4, r, false)
	install(5, w, false)
	install(6, f.open("/home/u", linux.O_RDONLY|linux.O_DIRECTORY), true)

	target, err := f.v.GetDentryAt(f.ctx, f.creds, f.pop("/proc"))
	if err != nil {
		t.Fatal(err)
	}
	defer target.DecRef()
	if _, err := f.v.MountAt(f.ctx, f.creds, f.v.NewFilesystem(proc.New(f.v, f.k, proc.Options{})), target, vfs.MountFlags{NoSuid: true, NoExec: true, NoDev: true}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) pop(p string) *vfs.PathOperation {
	return &vfs.PathOperation{Root: f.root, Start: f.root, Path: p, FollowFinalSymlink: true}
}

func (f *fixture) open(p string, flags uint32) *vfs.FileDescription {
	f.t.Helper()
	fd, err := f.v.OpenAt(f.ctx, f.creds, f.pop(p), flags, 0o644)
	if err != nil {
		f.t.Fatalf("open %s: %v", p, err)
	}
	return fd
}

func (f *fixture) write(p, data string) {
	f.t.Helper()
	fd := f.open(p, linux.O_CREAT|linux.O_WRONLY)
	defer fd.DecRef(f.ctx)
	if _, err := fd.Write(f.ctx, vfs.BytesIOSequence(data)); err != nil {
		f.t.Fatal(err)
	}
}

// readFD reads fd to its end in small chunks (exercising offsets).
func (f *fixture) readFD(fd *vfs.FileDescription) string {
	f.t.Helper()
	var out []byte
	buf := make([]byte, 7)
	for {
		n, err := fd.Read(f.ctx, vfs.BytesIOSequence(buf))
		if err != nil {
			f.t.Fatalf("read: %v", err)
		}
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func (f *fixture) read(p string) string {
	f.t.Helper()
	fd := f.open(p, linux.O_RDONLY)
	defer fd.DecRef(f.ctx)
	return f.readFD(fd)
}

func (f *fixture) readErr(p string) error {
	fd, err := f.v.OpenAt(f.ctx, f.creds, f.pop(p), linux.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer fd.DecRef(f.ctx)
	_, err = fd.Read(f.ctx, vfs.BytesIOSequence(make([]byte, 64)))
	return err
}

func (f *fixture) readlink(p string) (string, error) {
	return f.v.ReadlinkAt(f.ctx, f.creds, f.pop(p))
}

func (f *fixture) list(p string) []string {
	f.t.Helper()
	fd := f.open(p, linux.O_RDONLY|linux.O_DIRECTORY)
	defer fd.DecRef(f.ctx)
	var names []string
	for {
		// A small buffer: several getdents calls per directory.
		buf, err := fd.Getdents64(f.ctx, 64)
		if err != nil {
			f.t.Fatalf("getdents %s: %v", p, err)
		}
		if len(buf) == 0 {
			return names
		}
		for len(buf) > 0 {
			reclen := int(buf[16]) | int(buf[17])<<8
			name := buf[19:reclen]
			if i := strings.IndexByte(string(name), 0); i >= 0 {
				name = name[:i]
			}
			names = append(names, string(name))
			buf = buf[reclen:]
		}
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

func contains(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			if l == w {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestListing(t *testing.T) {
	f := newFixture(t)
	root := f.list("/proc")
	if !contains(root, ".", "..", "1", "100", "self", "thread-self", "cpuinfo", "meminfo", "stat", "uptime", "loadavg", "version", "filesystems", "mounts", "sys") {
		t.Errorf("/proc lists %v", root)
	}
	if contains(root, "101") {
		t.Errorf("/proc lists the non-leader thread 101: %v", root)
	}
	pid := f.list("/proc/100")
	if !contains(pid, "auxv", "statm", "mountinfo", "stat", "status", "cmdline", "environ", "maps", "fd", "fdinfo", "exe", "cwd", "root", "mounts", "comm", "task", "limits") {
		t.Errorf("/proc/100 lists %v", pid)
	}
	if got := f.list("/proc/1"); contains(got, "auxv") || !contains(got, "statm", "mountinfo") {
		t.Errorf("/proc/1 (no auxv kept) lists %v", got)
	}
	if got := f.list("/proc/100/task"); strings.Join(got, " ") != ". .. 100 101" {
		t.Errorf("task lists %v", got)
	}
	if got := f.list("/proc/100/task/101"); !contains(got, "stat", "status", "comm") || contains(got, "task") {
		t.Errorf("task/101 lists %v", got)
	}
	if got := f.list("/proc/100/fd"); strings.Join(got, " ") != ". .. 0 3 4 5 6" {
		t.Errorf("fd lists %v", got)
	}
	if got := f.list("/proc/100/fdinfo"); strings.Join(got, " ") != ". .. 0 3 4 5 6" {
		t.Errorf("fdinfo lists %v", got)
	}
	if got := f.list("/proc/sys/kernel"); !contains(got, "hostname", "osrelease", "ostype", "version", "pid_max", "ngroups_max", "random") {
		t.Errorf("sys/kernel lists %v", got)
	}
	for _, bad := range []string{"/proc/2", "/proc/0100", "/proc/+100", "/proc/-1", "/proc/99999999999", "/proc/100/task/1", "/proc/100/fd/7", "/proc/100/fd/00", "/proc/nope"} {
		_, err := f.v.StatAt(f.ctx, f.creds, f.pop(bad), linux.STATX_BASIC_STATS)
		wantErr(t, "stat "+bad, err, unix.ENOENT)
	}
	st, err := f.v.StatAt(f.ctx, f.creds, f.pop("/proc/100"), linux.STATX_BASIC_STATS)
	if err != nil || st.UID != 1000 || st.GID != 100 || st.Mode != linux.S_IFDIR|0o555 {
		t.Errorf("stat /proc/100 = uid %d gid %d mode %o, %v", st.UID, st.GID, st.Mode, err)
	}
	sf, err := f.v.StatFSAt(f.ctx, f.creds, f.pop("/proc"))
	if err != nil || sf.Type != proc.PROC_SUPER_MAGIC {
		t.Errorf("statfs /proc = %#x, %v", sf.Type, err)
	}
}

func TestSelf(t *testing.T) {
	f := newFixture(t)
	if l, err := f.readlink("/proc/self"); l != "100" || err != nil {
		t.Errorf("readlink self = %q, %v", l, err)
	}
	if l, err := f.readlink("/proc/thread-self"); l != "100/task/101" || err != nil {
		t.Errorf("readlink thread-self = %q, %v", l, err)
	}
	if got := f.read("/proc/self/comm"); got != "my sh) x\n" {
		t.Errorf("self/comm = %q", got)
	}
	if got := f.read("/proc/thread-self/comm"); got != "worker\n" {
		t.Errorf("thread-self/comm = %q", got)
	}
	if l, err := f.readlink("/proc/mounts"); l != "self/mounts" || err != nil {
		t.Errorf("readlink mounts = %q, %v", l, err)
	}
	if got := f.read("/proc/mounts"); got != "none / tmpfs rw,relatime,size=1024k 0 0\nproc /proc proc rw,nosuid,nodev,noexec 0 0\ntag\\0401 /mnt/a\\040b 9p ro,trans=fd 0 0\n" {
		t.Errorf("mounts = %q", got)
	}
	if got := f.read("/proc/self/mountinfo"); got != "1 1 0:1 / / rw,relatime - tmpfs none rw,size=1024k\n"+
		"2 1 0:5 / /proc rw,nosuid,nodev,noexec - proc proc rw\n"+
		"3 1 0:9 /sub\\040dir /mnt/a\\040b ro - 9p tag\\0401 rw,trans=fd\n" {
		t.Errorf("mountinfo = %q", got)
	}
	// Another caller sees itself.
	f.ctx = asTask(context.Background(), 1, 1)
	if got := f.read("/proc/self/comm"); got != "init\n" {
		t.Errorf("init's self/comm = %q", got)
	}
	// The Sentry itself is no process.
	f.ctx = context.Background()
	_, err := f.readlink("/proc/self")
	wantErr(t, "readlink self without a task", err, unix.ENOENT)
}

// statFields splits a stat line the way ps does: the comm is between
// the first '(' and the last ')'.
func statFields(t *testing.T, line string) []string {
	t.Helper()
	open, cl := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || cl < open || !strings.HasSuffix(line, "\n") {
		t.Fatalf("malformed stat %q", line)
	}
	fields := []string{strings.TrimSpace(line[:open]), line[open+1 : cl]}
	return append(fields, strings.Fields(line[cl+1:])...)
}

func TestStat(t *testing.T) {
	f := newFixture(t)
	fields := statFields(t, f.read("/proc/100/stat"))
	if len(fields) != 52 {
		t.Fatalf("stat has %d fields: %q", len(fields), fields)
	}
	// Fields are 1-based in proc(5).
	want := map[int]string{
		1: "100", 2: "my sh) x", 3: "R", 4: "1", 5: "100", 6: "1",
		7: "34819", 8: "100", 14: "150", 15: "25", 18: "20", 19: "0", 20: "2",
		22: "200", 23: strconv.Itoa(8 << 20), 24: "512", 25: "18446744073709551615",
		26: strconv.Itoa(0x400000), 27: strconv.Itoa(0x419000), 28: strconv.Itoa(0x7ffc0000),
		31: "0", 32: "2", 33: "4", 34: "65536", 38: "17", 52: "0",
	}
	for i, w := range want {
		if fields[i-1] != w {
			t.Errorf("stat field %d = %q, want %q", i, fields[i-1], w)
		}
	}
	th := statFields(t, f.read("/proc/100/task/101/stat"))
	if len(th) != 52 || th[0] != "101" || th[1] != "worker" || th[2] != "R" || th[13] != "50" || th[14] != "25" || th[21] != "300" || th[19] != "2" {
		t.Errorf("task 101 stat = %q", th)
	}
	// Without ptrace access the layout addresses are hidden.
	f.k.denied[100] = true
	fields = statFields(t, f.read("/proc/100/stat"))
	if fields[25] != "0" || fields[27] != "0" || fields[22] != strconv.Itoa(8<<20) {
		t.Errorf("stat for a stranger shows startcode %s startstack %s vsize %s", fields[25], fields[27], fields[22])
	}
}

func TestStatus(t *testing.T) {
	f := newFixture(t)
	status := f.read("/proc/100/status")
	var keys []string
	vals := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(status, "\n"), "\n") {
		k, v, ok := strings.Cut(l, ":\t")
		if !ok {
			t.Fatalf("status line %q is not key:\\tvalue", l)
		}
		keys = append(keys, k)
		vals[k] = v
	}
	wantKeys := "Name Umask State Tgid Ngid Pid PPid TracerPid Uid Gid FDSize Groups NStgid NSpid NSpgid NSsid Kthread " +
		"VmPeak VmSize VmLck VmPin VmHWM VmRSS VmData VmStk VmExe VmLib VmSwap HugetlbPages CoreDumping Threads SigQ SigPnd ShdPnd SigBlk SigIgn SigCgt " +
		"CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp Cpus_allowed Cpus_allowed_list voluntary_ctxt_switches nonvoluntary_ctxt_switches"
	if got := strings.Join(keys, " "); got != wantKeys {
		t.Errorf("status keys:\n got %s\nwant %s", got, wantKeys)
	}
	for k, w := range map[string]string{
		"Name": "my sh) x", "Umask": "0022", "State": "R (running)", "Tgid": "100", "Pid": "100", "PPid": "1",
		"Uid": "1000\t1000\t1000\t1000", "Gid": "100\t100\t100\t100", "Groups": "100 27 ", "FDSize": "64",
		"VmSize": "    8192 kB", "VmRSS": "    2048 kB", "Threads": "2", "SigQ": "0/63459",
		"SigBlk": "0000000000000002", "SigCgt": "0000000000010000", "CapEff": "0000000000000000",
		"Cpus_allowed": "3", "Cpus_allowed_list": "0-1",
	} {
		if vals[k] != w {
			t.Errorf("status %s = %q, want %q", k, vals[k], w)
		}
	}
	th := f.read("/proc/100/task/101/status")
	if !strings.Contains(th, "Name:\tworker\n") || !strings.Contains(th, "Tgid:\t100\nNgid:\t0\nPid:\t101\n") {
		t.Errorf("task status:\n%s", th)
	}
	// A name with a newline is escaped.
	f.init.mu.Lock()
	f.init.info.Comm = "a\nb\\"
	f.init.mu.Unlock()
	if got := f.read("/proc/1/status"); !strings.HasPrefix(got, "Name:\ta\\nb\\\\\n") {
		t.Errorf("escaped name: %q", got[:20])
	}
}

func TestProcessFiles(t *testing.T) {
	f := newFixture(t)
	if got := f.read("/proc/100/cmdline"); got != "sh\x00-c\x00echo hi\x00" {
		t.Errorf("cmdline = %q", got)
	}
	if got := f.read("/proc/100/environ"); got != "HOME=/home/u\x00PATH=/bin\x00" {
		t.Errorf("environ = %q", got)
	}
	maps := f.read("/proc/100/maps")
	wantMaps := "00400000-00419000 r-xp 00000000 00:2a 12                                 /bin/sh\n" +
		"7ffc0000-7ffe1000 rw-p 00000000 00:00 0 \n" +
		"7fff0000-7fff2000 rw-s 00001000 00:00 0                                  [stack]\n"
	if maps != wantMaps {
		t.Errorf("maps:\n%q\nwant\n%q", maps, wantMaps)
	}
	for _, l := range strings.Split(strings.TrimSuffix(maps, "\n"), "\n") {
		if strings.HasSuffix(l, "]") || strings.HasSuffix(l, "sh") {
			if i := strings.IndexAny(l, "/["); i != 73 {
				t.Errorf("maps name at column %d, want 73: %q", i, l)
			}
		}
	}
	if got := f.read("/proc/100/statm"); got != "2048 512 0 25 0 289 0\n" {
		t.Errorf("statm = %q", got)
	}
	if got := f.read("/proc/100/auxv"); len(got) != 32 || got[0] != 6 || got[9] != 16 {
		t.Errorf("auxv = %q", got)
	}
	limits := f.read("/proc/100/limits")
	lines := strings.Split(limits, "\n")
	if len(lines) != 18 || lines[0] != "Limit                     Soft Limit           Hard Limit           Units     " ||
		lines[1] != "Max cpu time              unlimited            unlimited            seconds   " ||
		lines[8] != "Max open files            1024                 1048576              files     " ||
		lines[14] != "Max nice priority         0                    0                    " {
		t.Errorf("limits:\n%s", limits)
	}
	fdinfo := f.read("/proc/100/fdinfo/6")
	if !regexp.MustCompile("^pos:\t0\nflags:\t02200000\nmnt_id:\t[0-9]+\nino:\t[0-9]+\n$").MatchString(fdinfo) {
		t.Errorf("fdinfo/6 = %q", fdinfo)
	}
	if got := f.read("/proc/100/fdinfo/3"); !strings.HasPrefix(got, "pos:\t0\nflags:\t02\n") {
		t.Errorf("fdinfo/3 = %q", got)
	}
	// environ and maps need ptrace access; stat does not.
	f.k.denied[100] = true
	wantErr(t, "environ of a stranger", f.readErr("/proc/100/environ"), unix.EACCES)
	wantErr(t, "maps of a stranger", f.readErr("/proc/100/maps"), unix.EACCES)
	wantErr(t, "stat of a stranger", f.readErr("/proc/100/stat"), nil)
}

func TestMagicLinks(t *testing.T) {
	f := newFixture(t)
	for p, want := range map[string]string{
		"/proc/100/exe":   "/bin/sh",
		"/proc/100/cwd":   "/home/u",
		"/proc/100/root":  "/",
		"/proc/100/fd/0":  "/home/u/file",
		"/proc/100/fd/3":  "/home/u/gone (deleted)",
		"/proc/100/fd/6":  "/home/u",
		"/proc/self/fd/0": "/home/u/file",
	} {
		if l, err := f.readlink(p); l != want || err != nil {
			t.Errorf("readlink %s = %q, %v; want %q", p, l, err, want)
		}
	}
	st, err := f.pr.Stat(f.ctx, linux.STATX_INO)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/proc/100/fd/4", "/proc/100/fd/5"} {
		if l, err := f.readlink(p); l != fmt.Sprintf("pipe:[%d]", st.Ino) || err != nil {
			t.Errorf("readlink %s = %q, %v", p, l, err)
		}
	}
	// Traversal reaches the files themselves: a new description of the
	// same file, even an unlinked one.
	if got := f.read("/proc/100/fd/0"); got != "hello" {
		t.Errorf("read via fd/0 = %q", got)
	}
	if got := f.read("/proc/self/fd/3"); got != "still here" {
		t.Errorf("read via fd/3 = %q", got)
	}
	if got := f.read("/proc/100/cwd/file"); got != "hello" {
		t.Errorf("read via cwd/file = %q", got)
	}
	if got := f.read("/proc/100/fd/6/file"); got != "hello" {
		t.Errorf("read via fd/6/file = %q", got)
	}
	if got := f.read("/proc/100/exe"); got != "#!" {
		t.Errorf("read via exe = %q", got)
	}
	// A new description: its offset is its own.
	a := f.open("/proc/100/fd/0", linux.O_RDONLY)
	defer a.DecRef(f.ctx)
	if a == nil || a.Offset() != 0 {
		t.Errorf("reopened fd/0 offset %d", a.Offset())
	}
	// Reopening the pipe's read end gives the same pipe, as bash's <(cmd)
	// needs through /dev/fd/N.
	if _, err := f.pw.Write(f.ctx, vfs.BytesIOSequence("through the pipe")); err != nil {
		t.Fatal(err)
	}
	r := f.open("/proc/self/fd/4", linux.O_RDONLY)
	buf := make([]byte, 64)
	n, err := r.Read(f.ctx, vfs.BytesIOSequence(buf))
	if err != nil || string(buf[:n]) != "through the pipe" {
		t.Errorf("read via reopened pipe = %q, %v", buf[:n], err)
	}
	r.DecRef(f.ctx)
	// The same through /dev/fd -> /proc/self/fd, as bash's <(cmd) does.
	if err := f.v.SymlinkAt(f.ctx, f.creds, f.pop("/devfd"), "/proc/self/fd"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pw.Write(f.ctx, vfs.BytesIOSequence("via /dev/fd")); err != nil {
		t.Fatal(err)
	}
	r = f.open("/devfd/4", linux.O_RDONLY)
	n, err = r.Read(f.ctx, vfs.BytesIOSequence(buf))
	if err != nil || string(buf[:n]) != "via /dev/fd" {
		t.Errorf("read via /devfd/4 = %q, %v", buf[:n], err)
	}
	r.DecRef(f.ctx)
	// stat through the link is the target's, lstat the link's.
	tgt, err := f.v.StatAt(f.ctx, f.creds, f.pop("/proc/100/fd/0"), linux.STATX_BASIC_STATS)
	if err != nil || tgt.Mode&linux.S_IFMT != linux.S_IFREG || tgt.Size != 5 {
		t.Errorf("stat fd/0 = %+v, %v", tgt, err)
	}
	lp := f.pop("/proc/100/fd/0")
	lp.FollowFinalSymlink = false
	if l, err := f.v.StatAt(f.ctx, f.creds, lp, linux.STATX_BASIC_STATS); err != nil || l.Mode != linux.S_IFLNK|0o500 || l.UID != 1000 {
		t.Errorf("lstat fd/0 mode %o uid %d, %v", l.Mode, l.UID, err)
	}
	if l, err := f.v.StatAt(f.ctx, f.creds, f.popNoFollow("/proc/100/fd/3"), linux.STATX_BASIC_STATS); err != nil || l.Mode != linux.S_IFLNK|0o700 {
		t.Errorf("lstat fd/3 mode %o, %v", l.Mode, err)
	}
	// openat2 restrictions.
	for _, flag := range []uint64{linux.RESOLVE_NO_MAGICLINKS, linux.RESOLVE_NO_SYMLINKS} {
		p := f.pop("/proc/100/fd/0")
		p.Resolve = flag
		_, err := f.v.OpenAt(f.ctx, f.creds, p, linux.O_RDONLY, 0)
		wantErr(t, "open magic link with RESOLVE flags", err, unix.ELOOP)
	}
	// Opening the link itself.
	_, err = f.v.OpenAt(f.ctx, f.creds, f.pop("/proc/100/fd/0"), linux.O_RDONLY|linux.O_NOFOLLOW, 0)
	wantErr(t, "open O_NOFOLLOW", err, unix.ELOOP)
	// Without ptrace access neither readlink nor traversal works.
	f.k.denied[100] = true
	_, err = f.readlink("/proc/100/exe")
	wantErr(t, "readlink exe of a stranger", err, unix.EACCES)
	_, err = f.v.OpenAt(f.ctx, f.creds, f.pop("/proc/100/cwd/file"), linux.O_RDONLY, 0)
	wantErr(t, "traverse cwd of a stranger", err, unix.EACCES)
	_, err = f.v.OpenAt(f.ctx, f.creds, f.pop("/proc/100/fd/0"), linux.O_RDONLY, 0)
	wantErr(t, "open fd/0 of a stranger", err, unix.EACCES)
}

func (f *fixture) popNoFollow(p string) *vfs.PathOperation {
	pop := f.pop(p)
	pop.FollowFinalSymlink = false
	return pop
}

func TestReadlinkFromChroot(t *testing.T) {
	f := newFixture(t)
	// The caller (pid 1) is chrooted to /home: paths are shown from
	// there, as d_path does.
	var err error
	f.init.root, err = f.v.GetDentryAt(f.ctx, f.creds, f.pop("/home"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.init.root.DecRef()
	f.ctx = asTask(context.Background(), 1, 1)
	if l, err := f.readlink("/proc/100/fd/0"); l != "/u/file" || err != nil {
		t.Errorf("readlink from a chroot = %q, %v", l, err)
	}
}

func TestStaleEntries(t *testing.T) {
	f := newFixture(t)
	// Cache dentries, then make what they stand for go away.
	for _, p := range []string{"/proc/100/fd/0", "/proc/100/fdinfo/0", "/proc/100/stat", "/proc/100/task/101/comm"} {
		if _, err := f.v.StatAt(f.ctx, f.creds, f.popNoFollow(p), 0); err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
	}
	fd := f.open("/proc/100/stat", linux.O_RDONLY)
	defer fd.DecRef(f.ctx)
	if err := f.sh.fdt.Close(f.ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/proc/100/fd/0", "/proc/100/fdinfo/0"} {
		_, err := f.v.StatAt(f.ctx, f.creds, f.popNoFollow(p), 0)
		wantErr(t, "lstat closed "+p, err, unix.ENOENT)
		_, err = f.v.OpenAt(f.ctx, f.creds, f.pop(p), linux.O_RDONLY, 0)
		wantErr(t, "open closed "+p, err, unix.ENOENT)
	}
	_, err := f.readlink("/proc/100/fd/0")
	wantErr(t, "readlink closed fd", err, unix.ENOENT)
	f.sh.mu.Lock()
	f.sh.tasks = f.sh.tasks[:1]
	f.sh.mu.Unlock()
	wantErr(t, "read exited thread's comm", f.readErr("/proc/100/task/101/comm"), unix.ENOENT)
	f.k.remove(100)
	_, err = f.v.StatAt(f.ctx, f.creds, f.pop("/proc/100/stat"), 0)
	wantErr(t, "stat exited process", err, unix.ENOENT)
	wantErr(t, "read exited process", f.readErr("/proc/100/status"), unix.ENOENT)
	// An open file of an exited process reads ENOENT too (Linux: ESRCH
	// for some files; the process is gone either way).
	_, err = fd.PRead(f.ctx, vfs.BytesIOSequence(make([]byte, 8)), 0)
	wantErr(t, "read open stat of exited process", err, unix.ENOENT)
	if got := f.list("/proc"); contains(got, "100") {
		t.Errorf("/proc still lists 100: %v", got)
	}
}

func TestReadOnly(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/proc/uptime", "/proc/100/stat", "/proc/100/comm", "/proc/sys/kernel/hostname"} {
		for _, fl := range []uint32{linux.O_WRONLY, linux.O_RDWR} {
			_, err := f.v.OpenAt(f.ctx, f.creds, f.pop(p), fl, 0)
			wantErr(t, "root opens "+p+" for writing", err, unix.EACCES)
		}
		// O_TRUNC is a size change, refused like chmod.
		_, err := f.v.OpenAt(f.ctx, f.creds, f.pop(p), linux.O_RDONLY|linux.O_TRUNC, 0)
		wantErr(t, "root opens "+p+" with O_TRUNC", err, unix.EPERM)
	}
	wantErr(t, "mkdir", f.v.MkdirAt(f.ctx, f.creds, f.pop("/proc/x"), 0o755), unix.EPERM)
	_, err := f.v.OpenAt(f.ctx, f.creds, f.pop("/proc/new"), linux.O_CREAT|linux.O_WRONLY, 0o644)
	wantErr(t, "create", err, unix.EACCES)
	wantErr(t, "unlink", f.v.UnlinkAt(f.ctx, f.creds, f.pop("/proc/uptime")), unix.EPERM)
	wantErr(t, "symlink", f.v.SymlinkAt(f.ctx, f.creds, f.pop("/proc/l"), "x"), unix.EPERM)
	wantErr(t, "rename", f.v.RenameAt(f.ctx, f.creds, f.pop("/proc/uptime"), f.pop("/proc/up"), 0), unix.EPERM)
	wantErr(t, "chmod", f.v.SetStatAt(f.ctx, f.creds, f.pop("/proc/uptime"), vfs.SetStatOptions{Stat: linux.Statx{Mask: linux.STATX_MODE, Mode: 0o666}}), unix.EPERM)
	// An unprivileged stranger cannot look into another user's fd
	// directory (dr-x------).
	user := vfs.UserCredentials(2000, 2000)
	_, err = f.v.OpenAt(f.ctx, user, f.pop("/proc/100/fd"), linux.O_RDONLY|linux.O_DIRECTORY, 0)
	wantErr(t, "stranger lists fd", err, unix.EACCES)
	_, err = f.v.OpenAt(f.ctx, user, f.pop("/proc/100/environ"), linux.O_RDONLY, 0)
	wantErr(t, "stranger reads environ (0400)", err, unix.EACCES)
	// The owner can.
	owner := vfs.UserCredentials(1000, 100)
	d, err := f.v.OpenAt(f.ctx, owner, f.pop("/proc/100/fd"), linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		t.Errorf("owner lists fd: %v", err)
	} else {
		d.DecRef(f.ctx)
	}
	_, err = f.v.OpenAt(f.ctx, user, f.pop("/proc/uptime"), linux.O_WRONLY, 0)
	wantErr(t, "user opens uptime for writing", err, unix.EACCES)
}

func TestSeqSnapshot(t *testing.T) {
	f := newFixture(t)
	fd := f.open("/proc/100/comm", linux.O_RDONLY)
	defer fd.DecRef(f.ctx)
	buf := make([]byte, 3)
	if n, err := fd.Read(f.ctx, vfs.BytesIOSequence(buf)); n != 3 || err != nil || string(buf) != "my " {
		t.Fatalf("first read %q %v", buf[:n], err)
	}
	f.sh.mu.Lock()
	f.sh.info.Comm = "renamed"
	f.sh.mu.Unlock()
	// A sequential reader continues in its snapshot...
	if got := f.readFD(fd); got != "sh) x\n" {
		t.Errorf("rest of snapshot = %q", got)
	}
	// ... a read from offset 0 sees the new text.
	if _, err := fd.Seek(f.ctx, 0, linux.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	if got := f.readFD(fd); got != "renamed\n" {
		t.Errorf("after rewind = %q", got)
	}
	_, err := fd.Seek(f.ctx, 0, linux.SEEK_END)
	wantErr(t, "SEEK_END", err, unix.EINVAL)
	n, err := fd.PRead(f.ctx, vfs.BytesIOSequence(make([]byte, 8)), 100)
	if n != 0 || err != nil {
		t.Errorf("pread past the end = %d, %v", n, err)
	}
}

func TestSystemFiles(t *testing.T) {
	f := newFixture(t)
	for p, re := range map[string]string{
		"/proc/uptime":                   `^(9[0-9]|1[0-9][0-9])\.[0-9]{2} [0-9]+\.[0-9]{2}\n$`,
		"/proc/loadavg":                  `^[0-9]+\.[0-9]{2} [0-9]+\.[0-9]{2} [0-9]+\.[0-9]{2} 1/3 101\n$`,
		"/proc/version":                  `^Linux version 6\.1\.0 \(palisade@palisade\) \(go[^)]*\) #1 SMP PREEMPT_DYNAMIC Palisade\n$`,
		"/proc/sys/kernel/hostname":      "^sandbox\n$",
		"/proc/sys/kernel/domainname":    `^\(none\)\n$`,
		"/proc/sys/kernel/osrelease":     `^6\.1\.0\n$`,
		"/proc/sys/kernel/ostype":        "^Linux\n$",
		"/proc/sys/kernel/version":       "^#1 SMP PREEMPT_DYNAMIC Palisade\n$",
		"/proc/sys/kernel/pid_max":       "^4194304\n$",
		"/proc/sys/kernel/ngroups_max":   "^65536\n$",
		"/proc/sys/kernel/cap_last_cap":  "^" + strconv.Itoa(unix.CAP_LAST_CAP) + "\n$",
		"/proc/sys/vm/overcommit_memory": "^0\n$",
		"/proc/sys/fs/nr_open":           "^1048576\n$",
		"/proc/sys/kernel/random/uuid":   "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n$",
		"/proc/filesystems":              "^nodev\ttmpfs\nnodev\tproc\n",
	} {
		if got := f.read(p); !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("%s = %q, want match of %q", p, got, re)
		}
	}
	if a, b := f.read("/proc/sys/kernel/random/uuid"), f.read("/proc/sys/kernel/random/uuid"); a == b {
		t.Errorf("uuid repeats: %q", a)
	}
	if a, b := f.read("/proc/sys/kernel/random/boot_id"), f.read("/proc/sys/kernel/random/boot_id"); a != b {
		t.Errorf("boot_id changes: %q %q", a, b)
	}

	mem := f.read("/proc/meminfo")
	for _, l := range []string{"MemTotal:        2097152 kB\n", "MemFree:         1048576 kB\n", "MemAvailable:    1310720 kB\n", "Cached:           262144 kB\n", "SwapTotal:             0 kB\n", "Shmem:             16384 kB\n"} {
		if !strings.Contains(mem, l) {
			t.Errorf("meminfo lacks %q:\n%s", l, mem)
		}
	}

	stat := f.read("/proc/stat")
	lines := strings.Split(stat, "\n")
	if !regexp.MustCompile(`^cpu  [0-9]+ 0 [0-9]+ [0-9]+ 0 0 0 0 0 0$`).MatchString(lines[0]) ||
		!strings.HasPrefix(lines[1], "cpu0 ") || !strings.HasPrefix(lines[2], "cpu1 ") || strings.HasPrefix(lines[3], "cpu") {
		t.Errorf("stat cpu lines:\n%s", stat)
	}
	cpu := strings.Fields(lines[0])
	if cpu[1] != "150" || cpu[3] != "25" { // the processes' user 1.5 s and system 0.25 s
		t.Errorf("stat cpu user %s system %s", cpu[1], cpu[3])
	}
	for _, w := range []string{"ctxt 1234\n", fmt.Sprintf("btime %d\n", f.k.sys.BootTime.Unix()), "processes 7\n", "procs_running 1\n", "procs_blocked 0\n"} {
		if !strings.Contains(stat, w) {
			t.Errorf("stat lacks %q:\n%s", w, stat)
		}
	}

	cpuinfo := f.read("/proc/cpuinfo")
	blocks := strings.Split(strings.TrimSuffix(cpuinfo, "\n\n"), "\n\n")
	if len(blocks) != 2 || !strings.HasPrefix(blocks[0], "processor\t: 0\n") || !strings.HasPrefix(blocks[1], "processor\t: 1\n") {
		t.Fatalf("cpuinfo blocks: %d\n%s", len(blocks), cpuinfo)
	}
	for _, key := range []string{"vendor_id\t: ", "model name\t: ", "flags\t\t: fpu ", "cpu family\t: ", "siblings\t: 2\n", "address sizes\t: "} {
		if !strings.Contains(blocks[1], key) {
			t.Errorf("cpuinfo block lacks %q:\n%s", key, blocks[1])
		}
	}
	// The flags agree with the host's (same CPUID) for the common ones.
	flags := regexp.MustCompile("flags\t\t: (.*)\n").FindStringSubmatch(blocks[0])[1]
	for _, fl := range []string{"sse2", "lm", "syscall", "nx"} {
		if !contains(strings.Fields(flags), fl) {
			t.Errorf("flags lack %s: %s", fl, flags)
		}
	}
}

func TestLoadAverage(t *testing.T) {
	f := newFixture(t)
	// 90 s of uptime with one runnable task (pid 100's thread 101):
	// 18 samples, so the 1-minute average is 1-exp(-1.5) ~ 0.78.
	got := f.read("/proc/loadavg")
	v, err := strconv.ParseFloat(strings.Fields(got)[0], 64)
	if err != nil || v < 0.70 || v > 0.85 {
		t.Errorf("loadavg = %q", got)
	}
	v15, _ := strconv.ParseFloat(strings.Fields(got)[2], 64)
	if v15 <= 0 || v15 >= v {
		t.Errorf("15-minute average %v not below the 1-minute one %v", v15, v)
	}
}

func TestConcurrentAccess(t *testing.T) {
	f := newFixture(t)
	done := make(chan struct{})
	paths := []string{"/proc/100/fd/0", "/proc/100/status", "/proc/self/fd/3", "/proc/stat"}
	for i := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 200 {
				p := paths[i]
				fd, err := f.v.OpenAt(f.ctx, f.creds, f.pop(p), linux.O_RDONLY, 0)
				if err != nil {
					continue // fd 0 may be closed below.
				}
				fd.Read(f.ctx, vfs.BytesIOSequence(make([]byte, 128)))
				fd.DecRef(f.ctx)
			}
		}()
	}
	for i := range 100 {
		file := f.open("/home/u/file", linux.O_RDONLY)
		f.sh.fdt.NewFDAt(f.ctx, 0, file, vfs.FDFlags{})
		file.DecRef(f.ctx)
		if i%2 == 0 {
			f.sh.fdt.Close(f.ctx, 0)
		}
	}
	for range 4 {
		<-done
	}
	names := f.list("/proc/100/fd")
	sort.Strings(names)
	if !contains(names, "3", "4", "5", "6") {
		t.Errorf("fd lists %v", names)
	}
}
