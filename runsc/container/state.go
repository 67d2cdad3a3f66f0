// Package container keeps the state of containers under runsc's --root
// directory: one directory per container ID holding state.json (the OCI
// state: ID, status, the pid of the process that runs the sandbox, the
// bundle). Creating the directory is what claims an ID, so two runsc
// processes cannot run containers of the same ID at once; a foreground
// `runsc run` removes it when the container ends.
package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultRoot is the default state root.
const DefaultRoot = "/var/run/palisade"

// stateName is the state file in a container's directory.
const stateName = "state.json"

// Status is a container's OCI status.
type Status string

// Statuses, as the runtime-spec names them.
const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Stopped  Status = "stopped"
)

// State is what state.json records.
type State struct {
	OCIVersion string    `json:"ociVersion"`
	ID         string    `json:"id"`
	Status     Status    `json:"status"`
	Pid        int       `json:"pid,omitempty"`
	Bundle     string    `json:"bundle"`
	Created    time.Time `json:"created"`
	// PidStartTime is when Pid started (field 22 of /proc/PID/stat, in
	// clock ticks since boot): with it a reused pid is not mistaken for
	// the runsc that recorded the state.
	PidStartTime uint64 `json:"pidStartTime,omitempty"`
}

// RunscAlive reports whether the runsc process that recorded st is still
// running.
func (st *State) RunscAlive() bool {
	if st.Pid <= 0 {
		return false
	}
	start, err := processStartTime(st.Pid)
	return err == nil && start == st.PidStartTime
}

// processStartTime returns field 22 (starttime) of /proc/PID/stat.
func processStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may hold anything: the
	// fields after the last ')' start with field 3 (state).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	const startTimeField = 22 - 3
	if len(f) <= startTimeField {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	return strconv.ParseUint(f[startTimeField], 10, 64)
}

// Container is a claimed container ID with its state directory.
type Container struct {
	dir   string
	state State
}

// Create claims id under root (created with mode 0700 if missing) and
// records it as creating, with this process's pid. The ID must already be
// valid (specutils.ValidateID). An ID already present is an error that
// says whose it is.
func Create(root, id, bundle, ociVersion string) (*Container, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("creating state root %s: %w", root, err)
	}
	dir := filepath.Join(root, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, existsError(root, id, dir)
		}
		return nil, fmt.Errorf("creating state directory %s: %w", dir, err)
	}
	start, err := processStartTime(os.Getpid())
	if err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("reading own start time: %w", err)
	}
	c := &Container{dir: dir, state: State{
		OCIVersion:   ociVersion,
		ID:           id,
		Status:       Creating,
		Pid:          os.Getpid(),
		Bundle:       bundle,
		Created:      time.Now().UTC(),
		PidStartTime: start,
	}}
	if err := c.save(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// existsError describes an ID that is taken, saying whether the runsc
// that holds it is still alive.
func existsError(root, id, dir string) error {
	st, err := Load(root, id)
	if err == nil && !st.RunscAlive() {
		return fmt.Errorf("container %q already exists: the runsc that ran it (pid %d) is gone; `runsc delete %s` releases the ID", id, st.Pid, id)
	}
	return fmt.Errorf("container %q already exists (state in %s)", id, dir)
}

// ErrNotExist is returned for an ID that has no state.
var ErrNotExist = errors.New("no such container")

// Load reads the state of container id under root. The status is
// reported as Stopped if the runsc that recorded it is gone.
func Load(root, id string) (*State, error) {
	p := filepath.Join(root, id, stateName)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(filepath.Join(root, id)); errors.Is(derr, os.ErrNotExist) {
			return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if !st.RunscAlive() {
		st.Status = Stopped
	}
	return &st, nil
}

// Delete removes the state of container id under root. A container
// whose runsc is still running is refused: end it first (a foreground
// `runsc run` removes its state itself). State that cannot be read (a
// runsc that died while writing it, or one that is just creating it) is
// removed only with force.
func Delete(root, id string, force bool) error {
	dir := filepath.Join(root, id)
	st, err := Load(root, id)
	switch {
	case errors.Is(err, ErrNotExist):
		return err
	case err != nil && !force:
		return fmt.Errorf("%w (--force removes it)", err)
	case err == nil && st.RunscAlive():
		return fmt.Errorf("container %q is %s (runsc pid %d): end it before deleting it", id, st.Status, st.Pid)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing state directory %s: %w", dir, err)
	}
	return nil
}

// Dir returns the container's state directory.
func (c *Container) Dir() string { return c.dir }

// SetStatus records a new status.
func (c *Container) SetStatus(s Status) error {
	c.state.Status = s
	return c.save()
}

// Destroy removes the state directory, releasing the ID.
func (c *Container) Destroy() error {
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("removing state directory %s: %w", c.dir, err)
	}
	return nil
}

// save writes state.json atomically (a temporary file renamed over it).
func (c *Container) save() error {
	b, err := json.Marshal(&c.state)
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	tmp := filepath.Join(c.dir, stateName+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, stateName)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing state: %w", err)
	}
	return nil
}
