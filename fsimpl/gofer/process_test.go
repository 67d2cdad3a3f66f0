package gofer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	goferserver "github.com/palisade-sandbox/palisade/gofer"
	"github.com/palisade-sandbox/palisade/p9"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// goferMainEnv makes the test binary run the Gofer's Main (what `runsc
// gofer` runs) instead of the tests.
const goferMainEnv = "PALISADE_FSIMPL_GOFER_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(goferMainEnv) == "1" {
		os.Exit(goferserver.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestRealGoferProcess mounts a tree served by a real, confined Gofer
// process (its own mount namespace, pivot_root, seccomp) and uses it
// through the VFS.
func TestRealGoferProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("starting a Gofer needs root (namespaces, pivot_root)")
	}
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0::/:/bin/sh\n"), 0o644))
	must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "pw")))
	sock, clientFD, err := goferserver.NewSocketPair()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd, err := goferserver.Start(goferserver.StartOptions{
		Path:    os.Args[0],
		Args:    []string{os.Args[0]},
		Env:     append(os.Environ(), goferMainEnv+"=1"),
		Options: goferserver.Options{Root: dir},
		Sockets: []*os.File{sock},
		Stderr:  &stderr,
	})
	sock.Close()
	if err != nil {
		unix.Close(clientFD)
		t.Fatal(err)
	}
	client, err := p9.NewClient(clientFD, p9.MaxMsize, p9.VersionPalisade)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("client: %v (gofer stderr: %s)", err, &stderr)
	}
	fs, err := New(client, Options{})
	if err != nil {
		client.Close()
		cmd.Wait()
		t.Fatalf("New: %v (gofer stderr: %s)", err, &stderr)
	}
	v := vfs.New()
	root := v.NewMountNamespace(v.NewFilesystem(fs), vfs.MountFlags{}).Root()
	f := &fixture{tb: t, ctx: context.Background(), dir: dir, vfs: v, fs: fs, client: client, root: root, creds: vfs.RootCredentials()}

	if got := f.readAll("/pw"); got != "root:x:0:0::/:/bin/sh\n" {
		t.Errorf("/pw (symlink to /etc/passwd) reads %q", got)
	}
	fd := f.open("/new", linux.O_CREAT|linux.O_RDWR)
	if fd.Impl().(*regularFD).hostFD < 0 {
		t.Error("no donated fd from the real Gofer")
	}
	if _, err := fd.Write(f.ctx, vfs.BytesIOSequence([]byte("hi"))); err != nil {
		t.Error(err)
	}
	fd.DecRef(f.ctx)
	if b, err := os.ReadFile(filepath.Join(dir, "new")); err != nil || string(b) != "hi" {
		t.Errorf("host file = %q, %v", b, err)
	}
	must(t, f.vfs.MkdirAt(f.ctx, f.creds, f.pop("/d"), 0o755))
	var h unix.Stat_t
	must(t, unix.Lstat(filepath.Join(dir, "etc/passwd"), &h))
	checkStat(t, "/etc/passwd", f.stat("/etc/passwd"), &h, false)
	dfd := f.open("/", linux.O_RDONLY|linux.O_DIRECTORY)
	b, err := dfd.Getdents64(f.ctx, 4096)
	dfd.DecRef(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names, _, _ := parseDirents(t, b); len(names) != 6 { // . .. etc pw new d
		t.Errorf("getdents of /: %v", names)
	}

	root.DecRef()
	fs.FlushClunks()
	client.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("gofer exited: %v; stderr: %s", err, &stderr)
	}
}
