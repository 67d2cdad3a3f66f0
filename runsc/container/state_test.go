package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateLoadDestroy(t *testing.T) {
	root := filepath.Join(t.TempDir(), "state")
	c, err := Create(root, "c1", "/bundle", "1.0.2")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Load(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != "c1" || st.Status != Creating || st.Pid != os.Getpid() || st.Bundle != "/bundle" || st.OCIVersion != "1.0.2" {
		t.Fatalf("state %+v", st)
	}
	if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state root: %v, %v", fi, err)
	}
	if err := c.SetStatus(Running); err != nil {
		t.Fatal(err)
	}
	if st, err := Load(root, "c1"); err != nil || st.Status != Running {
		t.Fatalf("after SetStatus: %+v, %v", st, err)
	}
	// The ID is taken while the state exists.
	if _, err := Create(root, "c1", "/other", "1.0.2"); err == nil || !strings.Contains(err.Error(), `container "c1" already exists`) {
		t.Fatalf("second Create: %v", err)
	}
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dir()); !os.IsNotExist(err) {
		t.Fatalf("state directory left behind: %v", err)
	}
	// Released: the ID can be used again.
	c2, err := Create(root, "c1", "/bundle", "1.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Destroy(); err != nil {
		t.Fatal(err)
	}
}

// TestStaleState checks that an ID held by a runsc that died is reported
// as such.
func TestStaleState(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "old")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Pid 0x3fffffff is above pid_max's ceiling: no such process.
	if err := os.WriteFile(filepath.Join(dir, stateName), []byte(`{"id":"old","status":"running","pid":1073741823}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Create(root, "old", "/b", "1.0.2")
	if err == nil || !strings.Contains(err.Error(), "is gone") || !strings.Contains(err.Error(), "runsc delete old") {
		t.Fatalf("stale state: %v", err)
	}
	st, err := Load(root, "old")
	if err != nil || st.Status != Stopped {
		t.Fatalf("Load of stale state: %+v, %v; want status stopped", st, err)
	}
	if err := Delete(root, "old", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Delete left %s: %v", dir, err)
	}
	if err := Delete(root, "old", false); !errors.Is(err, ErrNotExist) {
		t.Fatalf("second Delete: %v", err)
	}
}

// TestReusedPid checks that a live process with the recorded pid but
// another start time is not taken for the recording runsc.
func TestReusedPid(t *testing.T) {
	root := t.TempDir()
	c, err := Create(root, "c", "/b", "1.0.2")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Load(root, "c")
	if err != nil || !st.RunscAlive() || st.Status != Creating {
		t.Fatalf("own state: %+v, %v", st, err)
	}
	if err := Delete(root, "c", false); err == nil || !strings.Contains(err.Error(), "end it before deleting it") {
		t.Fatalf("Delete of a live container: %v", err)
	}
	c.state.PidStartTime++
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	if st, err := Load(root, "c"); err != nil || st.RunscAlive() || st.Status != Stopped {
		t.Fatalf("state with another start time: %+v, %v", st, err)
	}
}

func TestDeleteUnreadable(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "half")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Delete(root, "half", false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Delete of unreadable state: %v", err)
	}
	if err := Delete(root, "half", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Delete --force left %s: %v", dir, err)
	}
}
