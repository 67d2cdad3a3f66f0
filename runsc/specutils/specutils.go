// Package specutils reads and checks OCI bundles (the runtime-spec's
// config.json) and turns them into a boot.Config.
//
// An OCI bundle is untrusted input: every field runsc uses is checked
// before anything is started, and a bad one is reported as one error that
// names the field (for example `process.cwd: "tmp" is not an absolute
// path`). Fields that describe things Palisade does not model (linux
// namespaces, cgroups, seccomp, capabilities beyond "uid 0 has all") are
// ignored with a debug log; fields whose meaning cannot be honoured (an
// unknown mount type, a sysfs mount other than Docker's default one) are
// errors rather than silently dropped.
package specutils

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/runsc/boot"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// ConfigName is the name of the spec file in a bundle.
const ConfigName = "config.json"

// Limits on what a spec may ask for, so that a hostile config cannot make
// runsc allocate without bound.
const (
	// MaxConfigSize bounds config.json.
	MaxConfigSize = 4 << 20
	// MaxMounts bounds the mounts of a spec.
	MaxMounts = 256
	// MaxIDLength bounds a container ID.
	MaxIDLength = 128
	// ngroupsMax is NGROUPS_MAX, the most supplementary groups a
	// process may have.
	ngroupsMax = 65536
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// ValidateID checks a container ID: 1 to MaxIDLength characters from
// [A-Za-z0-9_.-], and not "." or ".." (it names a directory under the
// state root).
func ValidateID(id string) error {
	switch {
	case id == "":
		return errors.New("container ID: empty")
	case len(id) > MaxIDLength:
		return fmt.Errorf("container ID: longer than %d characters", MaxIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("container ID: %q is not allowed", id)
	case !idPattern.MatchString(id):
		return fmt.Errorf("container ID %q: only letters, digits, '_', '.' and '-' are allowed", id)
	}
	return nil
}

// LoadSpec reads bundle/config.json. Unknown fields are ignored, as the
// runtime-spec asks; a file larger than MaxConfigSize is refused.
func LoadSpec(bundle string) (*specs.Spec, error) {
	p := filepath.Join(bundle, ConfigName)
	f, err := os.Open(p)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if len(b) > MaxConfigSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, MaxConfigSize)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("%s: %s", p, jsonError(b, err))
	}
	return &spec, nil
}

// jsonError describes a decoding error with the line it happened on.
func jsonError(b []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%s: cannot hold a JSON %s", te.Field, te.Value)
		}
		off = te.Offset
	}
	if off < 0 || off > int64(len(b)) {
		return "bad JSON: " + err.Error()
	}
	line := 1 + strings.Count(string(b[:off]), "\n")
	return fmt.Sprintf("bad JSON at line %d: %v", line, err)
}

// BootConfig checks spec, whose bundle directory is bundle, and returns
// the boot configuration it describes. Stdio, Strace and the kernel
// release and version are left for the caller.
func BootConfig(spec *specs.Spec, bundle string) (*boot.Config, error) {
	cfg := &boot.Config{Network: boot.NetworkNone}
	if err := processConfig(spec.Process, cfg); err != nil {
		return nil, err
	}
	if spec.Root == nil {
		return nil, errors.New("root: missing")
	}
	root, err := hostPath("root.path", spec.Root.Path, bundle)
	if err != nil {
		return nil, err
	}
	if err := checkDir("root.path", root); err != nil {
		return nil, err
	}
	cfg.RootPath = root
	cfg.RootReadOnly = spec.Root.Readonly
	if len(spec.Hostname) >= linux.UTSLen {
		return nil, fmt.Errorf("hostname: longer than %d bytes", linux.UTSLen-1)
	}
	if strings.IndexByte(spec.Hostname, 0) >= 0 {
		return nil, errors.New("hostname: contains a NUL byte")
	}
	cfg.Hostname = spec.Hostname
	if spec.Domainname != "" {
		slog.Debug("domainname is not modelled; ignored", "domainname", spec.Domainname)
	}
	if len(spec.Mounts) > MaxMounts {
		return nil, fmt.Errorf("mounts: %d mounts, more than %d", len(spec.Mounts), MaxMounts)
	}
	for i := range spec.Mounts {
		m, ok, err := convertMount(&spec.Mounts[i], bundle)
		if err != nil {
			return nil, fmt.Errorf("mounts[%d] (%s): %w", i, spec.Mounts[i].Destination, err)
		}
		if ok {
			cfg.Mounts = append(cfg.Mounts, m)
		}
	}
	if spec.Linux != nil {
		slog.Debug("linux section (namespaces, resources, seccomp, ...) is not applied by this runtime yet")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// processConfig checks p and fills the process part of cfg.
func processConfig(p *specs.Process, cfg *boot.Config) error {
	if p == nil {
		return errors.New("process: missing")
	}
	if len(p.Args) == 0 {
		return errors.New("process.args: missing")
	}
	if p.Args[0] == "" {
		return errors.New("process.args[0]: empty")
	}
	for i, a := range p.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("process.args[%d]: contains a NUL byte", i)
		}
	}
	for i, e := range p.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return fmt.Errorf("process.env[%d]: %q is not KEY=VALUE", i, e)
		}
		if strings.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("process.env[%d]: contains a NUL byte", i)
		}
	}
	if p.Cwd == "" {
		return errors.New("process.cwd: missing")
	}
	if !strings.HasPrefix(p.Cwd, "/") {
		return fmt.Errorf("process.cwd: %q is not an absolute path", p.Cwd)
	}
	if strings.IndexByte(p.Cwd, 0) >= 0 {
		return errors.New("process.cwd: contains a NUL byte")
	}
	cfg.Argv = append([]string(nil), p.Args...)
	cfg.Env = append([]string(nil), p.Env...)
	cfg.Cwd = p.Cwd

	u := p.User
	if len(u.AdditionalGids) > ngroupsMax {
		return fmt.Errorf("process.user.additionalGids: %d groups, more than %d", len(u.AdditionalGids), ngroupsMax)
	}
	cfg.Credentials = Credentials(u.UID, u.GID, u.AdditionalGids)
	cfg.Umask = 0o022
	if u.Umask != nil {
		if *u.Umask > 0o777 {
			return fmt.Errorf("process.user.umask: %#o is not a file mode mask", *u.Umask)
		}
		cfg.Umask = *u.Umask
	}
	if p.Capabilities != nil {
		slog.Debug("process.capabilities are not applied: uid 0 holds every capability, other users none")
	}

	limits, err := Limits(p.Rlimits)
	if err != nil {
		return err
	}
	cfg.Limits = limits
	cfg.NoNewPrivileges = p.NoNewPrivileges
	return nil
}

// Credentials returns the credentials of user uid in group gid with the
// supplementary groups: root holds every capability, other users none.
func Credentials(uid, gid uint32, groups []uint32) *vfs.Credentials {
	groups = append([]uint32(nil), groups...)
	if uid != 0 {
		return vfs.UserCredentials(uid, gid, groups...)
	}
	c := vfs.RootCredentials()
	c.RealGID, c.EffectiveGID, c.FSGID = gid, gid, gid
	c.Groups = groups
	return c
}

// hostPath returns the host path of field, given as p: relative paths
// are relative to the bundle, and symlinks are resolved (the Gofer
// refuses a path with a symlink in it).
func hostPath(field, p, bundle string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("%s: missing", field)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("%s: contains a NUL byte", field)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(bundle, p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("%s: %s: %w", field, abs, err)
	}
	return resolved, nil
}

// checkDir fails unless p is a directory.
func checkDir(field, p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: %s is not a directory", field, p)
	}
	return nil
}

// CheckTerminal checks process.terminal for a run without a console
// socket: the terminal is then runsc's own, passed through as the
// container's stdio, so runsc needs one.
func CheckTerminal(spec *specs.Spec, stdioIsTerminal bool) error {
	if spec.Process != nil && spec.Process.Terminal && !stdioIsTerminal {
		return errors.New("process.terminal: true needs runsc's stdin and stdout to be a terminal, or a --console-socket")
	}
	return nil
}

// Limits returns the default limits (kernel.DefaultLimits) with the
// spec's rlimits applied. A type may appear once; its soft limit may not
// exceed its hard limit.
func Limits(rlimits []specs.POSIXRlimit) (*kernel.LimitSet, error) {
	limits := kernel.DefaultLimits()
	seen := make(map[int]bool)
	for i, rl := range rlimits {
		r, ok := rlimitNames[rl.Type]
		if !ok {
			return nil, fmt.Errorf("process.rlimits[%d]: unknown type %q", i, rl.Type)
		}
		if seen[r] {
			return nil, fmt.Errorf("process.rlimits[%d]: %s given twice", i, rl.Type)
		}
		seen[r] = true
		if rl.Soft > rl.Hard {
			return nil, fmt.Errorf("process.rlimits[%d]: %s soft limit %d is above the hard limit %d", i, rl.Type, rl.Soft, rl.Hard)
		}
		if r == linux.RLIMIT_NOFILE && rl.Hard > linux.NrOpen {
			return nil, fmt.Errorf("process.rlimits[%d]: RLIMIT_NOFILE hard limit %d is above nr_open (%d)", i, rl.Hard, linux.NrOpen)
		}
		if _, err := limits.Set(r, kernel.Limit{Cur: rl.Soft, Max: rl.Hard}, true); err != nil {
			return nil, fmt.Errorf("process.rlimits[%d]: %s: %w", i, rl.Type, err)
		}
	}
	return limits, nil
}

// rlimitNames maps the spec's rlimit types to resources.
var rlimitNames = map[string]int{
	"RLIMIT_CPU":        linux.RLIMIT_CPU,
	"RLIMIT_FSIZE":      linux.RLIMIT_FSIZE,
	"RLIMIT_DATA":       linux.RLIMIT_DATA,
	"RLIMIT_STACK":      linux.RLIMIT_STACK,
	"RLIMIT_CORE":       linux.RLIMIT_CORE,
	"RLIMIT_RSS":        linux.RLIMIT_RSS,
	"RLIMIT_NPROC":      linux.RLIMIT_NPROC,
	"RLIMIT_NOFILE":     linux.RLIMIT_NOFILE,
	"RLIMIT_MEMLOCK":    linux.RLIMIT_MEMLOCK,
	"RLIMIT_AS":         linux.RLIMIT_AS,
	"RLIMIT_LOCKS":      linux.RLIMIT_LOCKS,
	"RLIMIT_SIGPENDING": linux.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE":   linux.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       linux.RLIMIT_NICE,
	"RLIMIT_RTPRIO":     linux.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     linux.RLIMIT_RTTIME,
}
