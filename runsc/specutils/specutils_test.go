package specutils

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/runsc/boot"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

// goodSpec returns a valid spec whose root is dir/rootfs (created).
func goodSpec(t *testing.T, dir string) *specs.Spec {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	umask := uint32(0o027)
	return &specs.Spec{
		Version: "1.0.2",
		Process: &specs.Process{
			User: specs.User{UID: 1000, GID: 100, AdditionalGids: []uint32{5, 6}, Umask: &umask},
			Args: []string{"/bin/echo", "hi"},
			Env:  []string{"PATH=/bin", "A=b=c"},
			Cwd:  "/tmp",
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Hard: 2048, Soft: 512},
				{Type: "RLIMIT_CORE", Hard: 0, Soft: 0},
			},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "box",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
			{Destination: "/data", Type: "bind", Source: ".", Options: []string{"rbind", "rprivate", "ro"}},
			{Destination: "/rw/", Type: "none", Source: dir, Options: []string{"bind"}},
		},
	}
}

// writeBundle writes spec (or raw, if spec is nil) as dir/config.json.
func writeBundle(t *testing.T, dir string, spec *specs.Spec) {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBootConfig(t *testing.T) {
	dir := t.TempDir()
	spec := goodSpec(t, dir)
	writeBundle(t, dir, spec)
	loaded, err := LoadSpec(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := BootConfig(loaded, dir)
	if err != nil {
		t.Fatal(err)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootPath != filepath.Join(realDir, "rootfs") || !cfg.RootReadOnly || cfg.RootWritable {
		t.Errorf("root %q readonly %v writable %v", cfg.RootPath, cfg.RootReadOnly, cfg.RootWritable)
	}
	if strings.Join(cfg.Argv, " ") != "/bin/echo hi" || strings.Join(cfg.Env, " ") != "PATH=/bin A=b=c" || cfg.Cwd != "/tmp" {
		t.Errorf("process: argv %q env %q cwd %q", cfg.Argv, cfg.Env, cfg.Cwd)
	}
	c := cfg.Credentials
	if c.RealUID != 1000 || c.EffectiveUID != 1000 || c.FSUID != 1000 || c.RealGID != 100 || c.EffectiveGID != 100 || c.FSGID != 100 {
		t.Errorf("credentials %+v", c)
	}
	if len(c.Groups) != 2 || c.Groups[0] != 5 || c.Groups[1] != 6 || c.EffectiveCaps != 0 {
		t.Errorf("groups %v caps %#x", c.Groups, c.EffectiveCaps)
	}
	if cfg.Umask != 0o027 || !cfg.NoNewPrivileges || cfg.Hostname != "box" || cfg.Network != boot.NetworkNone {
		t.Errorf("umask %#o nnp %v hostname %q network %q", cfg.Umask, cfg.NoNewPrivileges, cfg.Hostname, cfg.Network)
	}
	if l, _ := cfg.Limits.Get(linux.RLIMIT_NOFILE); l.Cur != 512 || l.Max != 2048 {
		t.Errorf("NOFILE %+v", l)
	}
	if l, _ := cfg.Limits.Get(linux.RLIMIT_CORE); l.Cur != 0 || l.Max != 0 {
		t.Errorf("CORE %+v", l)
	}
	// Limits not named keep Linux's defaults.
	def, _ := kernel.DefaultLimits().Get(linux.RLIMIT_STACK)
	if l, _ := cfg.Limits.Get(linux.RLIMIT_STACK); l != def {
		t.Errorf("STACK %+v, want default %+v", l, def)
	}

	// /dev (tmpfs), devpts, cgroup and mqueue are skipped.
	want := []struct {
		kind   boot.MountKind
		dest   string
		source string
		ro     bool
	}{
		{boot.MountProc, "/proc", "", false},
		{boot.MountEmptySysfs, "/sys", "", true},
		{boot.MountTmpfs, "/dev/shm", "", false},
		{boot.MountBind, "/data", realDir, true},
		{boot.MountBind, "/rw", realDir, false},
	}
	if len(cfg.Mounts) != len(want) {
		t.Fatalf("mounts: got %+v", cfg.Mounts)
	}
	for i, w := range want {
		m := cfg.Mounts[i]
		if m.Kind != w.kind || m.Destination != w.dest || m.Source != w.source || m.Flags.ReadOnly != w.ro {
			t.Errorf("mount %d: got %+v, want %+v", i, m, w)
		}
	}
	shm := cfg.Mounts[2]
	if shm.Tmpfs.RootMode != 0o1777 || shm.Tmpfs.MaxSize != 67108864 || !shm.Flags.NoSuid || !shm.Flags.NoExec || !shm.Flags.NoDev {
		t.Errorf("/dev/shm: %+v", shm)
	}
	if p := cfg.Mounts[0]; !p.Flags.NoSuid || !p.Flags.NoExec || !p.Flags.NoDev {
		t.Errorf("/proc flags %+v", p.Flags)
	}
}

func TestRootUserHasCapabilities(t *testing.T) {
	c := Credentials(0, 7, []uint32{8})
	if c.EffectiveUID != 0 || c.FSGID != 7 || c.EffectiveGID != 7 || len(c.Groups) != 1 || c.EffectiveCaps == 0 {
		t.Fatalf("root credentials %+v", c)
	}
	if u := Credentials(5, 5, nil); u.EffectiveCaps != 0 || u.EffectiveUID != 5 {
		t.Fatalf("user credentials %+v", u)
	}
}

// TestBadBundles checks that each malformed bundle gets one error naming
// the field.
func TestBadBundles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(s *specs.Spec, dir string)
		want   string
	}{
		{"no process", func(s *specs.Spec, _ string) { s.Process = nil }, "process: missing"},
		{"no args", func(s *specs.Spec, _ string) { s.Process.Args = nil }, "process.args: missing"},
		{"empty arg0", func(s *specs.Spec, _ string) { s.Process.Args = []string{""} }, "process.args[0]: empty"},
		{"NUL in arg", func(s *specs.Spec, _ string) { s.Process.Args = []string{"/bin/x", "a\x00b"} }, "process.args[1]: contains a NUL"},
		{"bad env", func(s *specs.Spec, _ string) { s.Process.Env = []string{"A=1", "NOEQUALS"} }, "process.env[1]"},
		{"empty env key", func(s *specs.Spec, _ string) { s.Process.Env = []string{"=x"} }, "process.env[0]"},
		{"no cwd", func(s *specs.Spec, _ string) { s.Process.Cwd = "" }, "process.cwd: missing"},
		{"relative cwd", func(s *specs.Spec, _ string) { s.Process.Cwd = "tmp" }, "process.cwd: \"tmp\" is not an absolute path"},
		{"bad umask", func(s *specs.Spec, _ string) { u := uint32(0o1000); s.Process.User.Umask = &u }, "process.user.umask"},
		{"too many groups", func(s *specs.Spec, _ string) { s.Process.User.AdditionalGids = make([]uint32, ngroupsMax+1) }, "process.user.additionalGids"},
		{"unknown rlimit", func(s *specs.Spec, _ string) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_WINDOWS", Hard: 1, Soft: 1}}
		}, "process.rlimits[0]: unknown type \"RLIMIT_WINDOWS\""},
		{"soft above hard", func(s *specs.Spec, _ string) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 11}}
		}, "process.rlimits[0]: RLIMIT_NOFILE soft limit 11 is above the hard limit 10"},
		{"nofile above nr_open", func(s *specs.Spec, _ string) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: linux.NrOpen + 1, Soft: 1}}
		}, "process.rlimits[0]: RLIMIT_NOFILE hard limit"},
		{"duplicate rlimit", func(s *specs.Spec, _ string) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_AS", Hard: 10, Soft: 1}, {Type: "RLIMIT_AS", Hard: 10, Soft: 1}}
		}, "process.rlimits[1]: RLIMIT_AS given twice"},
		{"no root", func(s *specs.Spec, _ string) { s.Root = nil }, "root: missing"},
		{"empty root path", func(s *specs.Spec, _ string) { s.Root.Path = "" }, "root.path: missing"},
		{"missing root path", func(s *specs.Spec, _ string) { s.Root.Path = "nonexistent" }, "root.path: "},
		{"root is a file", func(s *specs.Spec, dir string) {
			os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
			s.Root.Path = "file"
		}, "is not a directory"},
		{"long hostname", func(s *specs.Spec, _ string) { s.Hostname = strings.Repeat("h", 65) }, "hostname: longer than 64 bytes"},
		{"unknown mount type", func(s *specs.Spec, _ string) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "nfs", Source: "srv:/x"})
		}, "mounts[9] (/x): type: unknown mount type \"nfs\""},
		{"relative destination", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "x", Type: "tmpfs"}}
		}, "mounts[0] (x): destination: \"x\" is not an absolute path"},
		{"dotdot destination", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "/a/../../etc", Type: "tmpfs"}}
		}, "mounts[0] (/a/../../etc): destination: \"/a/../../etc\" contains a \"..\" component"},
		{"empty destination", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "", Type: "tmpfs"}}
		}, "mounts[0] (): destination: missing"},
		{"no type no bind", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "/x", Source: "/tmp"}}
		}, "mounts[0] (/x): type: missing"},
		{"bind source missing", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "/x", Type: "bind", Source: "/nonexistent/dir"}}
		}, "mounts[0] (/x): source: /nonexistent/dir: no such file or directory"},
		{"bind of a file", func(s *specs.Spec, dir string) {
			os.WriteFile(filepath.Join(dir, "hosts"), nil, 0o644)
			s.Mounts = []specs.Mount{{Destination: "/etc/hosts", Type: "bind", Source: "hosts", Options: []string{"rbind"}}}
		}, "mounts[0] (/etc/hosts): source: "},
		{"bind data option", func(s *specs.Spec, dir string) {
			s.Mounts = []specs.Mount{{Destination: "/x", Type: "bind", Source: dir, Options: []string{"size=1"}}}
		}, "mounts[0] (/x): options: option \"size=1\" is not supported for bind mounts"},
		{"unknown option", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "/x", Type: "tmpfs", Options: []string{"frobnicate"}}}
		}, "mounts[0] (/x): options: option \"frobnicate\""},
		{"bad tmpfs mode", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "/x", Type: "tmpfs", Options: []string{"mode=999"}}}
		}, "option \"mode=999\": not an octal number"},
		{"bad tmpfs size", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "/x", Type: "tmpfs", Options: []string{"size=50%"}}}
		}, "option \"size=50%\": sizes in percent"},
		{"huge tmpfs size", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "/x", Type: "tmpfs", Options: []string{"size=99999999999t"}}}
		}, "option \"size=99999999999t\": size too large"},
		{"sysfs elsewhere", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "/sys/kernel", Type: "sysfs", Source: "sysfs"}}
		}, "mounts[0] (/sys/kernel): type: sysfs is not available yet"},
		{"idmapped", func(s *specs.Spec, _ string) {
			s.Mounts = []specs.Mount{{Destination: "/x", Type: "tmpfs", UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}}}
		}, "mounts[0] (/x): uidMappings"},
		{"too many mounts", func(s *specs.Spec, _ string) {
			s.Mounts = make([]specs.Mount, MaxMounts+1)
		}, "mounts: 257 mounts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			spec := goodSpec(t, dir)
			tc.modify(spec, dir)
			writeBundle(t, dir, spec)
			loaded, err := LoadSpec(dir)
			if err != nil {
				t.Fatalf("LoadSpec: %v", err)
			}
			_, err = BootConfig(loaded, dir)
			if err == nil {
				t.Fatalf("BootConfig succeeded; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q; want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadSpecErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadSpec(dir); err == nil || !strings.Contains(err.Error(), "config.json: no such file or directory") {
		t.Errorf("missing config.json: %v", err)
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("{\n\"process\": {\n}\n,,}")
	if _, err := LoadSpec(dir); err == nil || !strings.Contains(err.Error(), "bad JSON at line 4") {
		t.Errorf("bad JSON: %v", err)
	}
	write(`{"process": {"args": "echo"}}`)
	if _, err := LoadSpec(dir); err == nil || !strings.Contains(err.Error(), "process.args: cannot hold a JSON string") {
		t.Errorf("wrong type: %v", err)
	}
	write(`{"process": {"args": ["echo"]}, "unknownField": 1}`)
	if _, err := LoadSpec(dir); err != nil {
		t.Errorf("unknown fields must be ignored: %v", err)
	}
	write(strings.Repeat(" ", MaxConfigSize+1))
	if _, err := LoadSpec(dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge config: %v", err)
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "my-container_1.2", strings.Repeat("x", MaxIDLength)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q): %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "a/b", "../x", "a b", "é", "a\x00", strings.Repeat("x", MaxIDLength+1)} {
		if err := ValidateID(id); err == nil {
			t.Errorf("ValidateID(%q) succeeded", id)
		}
	}
}

func TestCheckTerminal(t *testing.T) {
	spec := &specs.Spec{Process: &specs.Process{Terminal: true}}
	if err := CheckTerminal(spec, false); err == nil || !strings.HasPrefix(err.Error(), "process.terminal") {
		t.Errorf("terminal without a tty: %v", err)
	}
	if err := CheckTerminal(spec, true); err != nil {
		t.Errorf("terminal with a tty: %v", err)
	}
	spec.Process.Terminal = false
	if err := CheckTerminal(spec, false); err != nil {
		t.Errorf("no terminal: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "4096": 4096, "64k": 64 << 10, "2M": 2 << 20, "1g": 1 << 30, "3T": 3 << 40} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1", "1.5m", "1x", "10%", "18446744073709551616", "9223372036854775807k"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

// FuzzBootConfig feeds arbitrary config.json contents through LoadSpec
// and BootConfig: they may fail, never panic.
func FuzzBootConfig(f *testing.F) {
	f.Add(`{"process":{"args":["/bin/true"],"cwd":"/"},"root":{"path":"."}}`)
	f.Add(`{"process":{"args":["x"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":2}]},"root":{"path":"."},"mounts":[{"destination":"/t","type":"tmpfs","options":["size=1k","mode=700"]}]}`)
	f.Fuzz(func(t *testing.T, config string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		spec, err := LoadSpec(dir)
		if err != nil {
			return
		}
		if _, err := BootConfig(spec, dir); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}
	})
}
