package specutils

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/palisade-sandbox/palisade/runsc/boot"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// Mount types whose mounts are skipped: Docker adds them to every
// container, and the Sentry has no such filesystem yet (devpts: /dev/pts
// is not served yet; mqueue and cgroup filesystems are not modelled).
var skippedTypes = map[string]bool{
	"devpts":  true,
	"mqueue":  true,
	"cgroup":  true,
	"cgroup2": true,
}

// flagOptions are the mount options that set or clear a mount flag.
var flagOptions = map[string]func(*vfs.MountFlags){
	"ro":       func(f *vfs.MountFlags) { f.ReadOnly = true },
	"rw":       func(f *vfs.MountFlags) { f.ReadOnly = false },
	"nosuid":   func(f *vfs.MountFlags) { f.NoSuid = true },
	"suid":     func(f *vfs.MountFlags) { f.NoSuid = false },
	"nodev":    func(f *vfs.MountFlags) { f.NoDev = true },
	"dev":      func(f *vfs.MountFlags) { f.NoDev = false },
	"noexec":   func(f *vfs.MountFlags) { f.NoExec = true },
	"exec":     func(f *vfs.MountFlags) { f.NoExec = false },
	"defaults": func(*vfs.MountFlags) {},
}

// ignoredOptions are accepted and have no effect in the sandbox: bind
// recursion (a bind tree never includes mounts below its source),
// propagation (the sandbox has one mount namespace) and time and sync
// behaviour (the Sentry's filesystems keep their own).
var ignoredOptions = map[string]bool{
	"bind": true, "rbind": true,
	"private": true, "rprivate": true, "shared": true, "rshared": true,
	"slave": true, "rslave": true, "unbindable": true, "runbindable": true,
	"atime": true, "noatime": true, "relatime": true, "norelatime": true,
	"strictatime": true, "nostrictatime": true, "diratime": true, "nodiratime": true,
	"lazytime": true, "nolazytime": true,
	"sync": true, "async": true, "dirsync": true,
	"mand": true, "nomand": true, "iversion": true, "noiversion": true,
	"silent": true, "loud": true,
}

// convertMount checks m and returns the boot mount it asks for; ok is
// false for a mount that is skipped (logged at debug level).
func convertMount(m *specs.Mount, bundle string) (_ boot.Mount, ok bool, _ error) {
	if m.Destination == "" {
		return boot.Mount{}, false, errors.New("destination: missing")
	}
	if err := boot.CheckDestination(m.Destination); err != nil {
		return boot.Mount{}, false, fmt.Errorf("destination: %w", err)
	}
	dest := path.Clean(m.Destination)
	if len(m.UIDMappings) != 0 || len(m.GIDMappings) != 0 {
		return boot.Mount{}, false, errors.New("uidMappings/gidMappings: ID-mapped mounts are not supported")
	}
	typ := m.Type
	if typ == "" || typ == "none" {
		if !hasOption(m.Options, "bind") && !hasOption(m.Options, "rbind") {
			return boot.Mount{}, false, fmt.Errorf("type: missing, and no bind or rbind option")
		}
		typ = "bind"
	}
	if dest == "/dev" && (typ == "tmpfs" || typ == "devtmpfs" || typ == "bind") {
		slog.Debug("skipping mount: the Sentry serves /dev itself", "destination", dest, "type", typ)
		return boot.Mount{}, false, nil
	}
	if skippedTypes[typ] {
		slog.Debug("skipping mount: filesystem not served by the Sentry yet", "destination", dest, "type", typ)
		return boot.Mount{}, false, nil
	}
	out := boot.Mount{Destination: dest}
	switch typ {
	case "bind":
		out.Kind = boot.MountBind
		src, err := hostPath("source", m.Source, bundle)
		if err != nil {
			return boot.Mount{}, false, err
		}
		st, err := os.Stat(src)
		if err != nil {
			return boot.Mount{}, false, fmt.Errorf("source: %w", err)
		}
		if !st.IsDir() {
			return boot.Mount{}, false, fmt.Errorf("source: %s is not a directory (bind mounts of single files are not supported yet)", src)
		}
		out.Source = src
	case "tmpfs":
		out.Kind = boot.MountTmpfs
	case "proc":
		out.Kind = boot.MountProc
	case "sysfs":
		if dest != "/sys" {
			return boot.Mount{}, false, errors.New("type: sysfs is not available yet (only the default /sys mount is accepted, as an empty read-only tmpfs)")
		}
		out.Kind = boot.MountEmptySysfs
	default:
		return boot.Mount{}, false, fmt.Errorf("type: unknown mount type %q", typ)
	}
	for _, o := range m.Options {
		if err := applyOption(&out, typ, o); err != nil {
			return boot.Mount{}, false, fmt.Errorf("options: %w", err)
		}
	}
	if out.Kind == boot.MountEmptySysfs {
		out.Flags.ReadOnly = true
	}
	return out, true, nil
}

func hasOption(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

// applyOption applies mount option o to m, a mount of type typ.
func applyOption(m *boot.Mount, typ, o string) error {
	if set, ok := flagOptions[o]; ok {
		set(&m.Flags)
		return nil
	}
	if ignoredOptions[o] {
		return nil
	}
	key, value, hasValue := strings.Cut(o, "=")
	if !hasValue || typ != "tmpfs" {
		return fmt.Errorf("option %q is not supported for %s mounts", o, typ)
	}
	var err error
	switch key {
	case "size":
		var n uint64
		if n, err = parseSize(value); err == nil {
			m.Tmpfs.MaxSize = int64(n)
		}
	case "nr_inodes":
		var n uint64
		if n, err = parseSize(value); err == nil {
			m.Tmpfs.MaxInodes = int64(n)
		}
	case "mode":
		var n uint64
		n, err = strconv.ParseUint(value, 8, 32)
		switch {
		case err != nil:
			err = errors.New("not an octal number")
		case n > 0o7777:
			err = errors.New("not a file mode")
		case n == 0:
			err = errors.New("a mode of 0 is not supported")
		}
		m.Tmpfs.RootMode = uint32(n)
	case "uid", "gid":
		var n uint64
		n, err = strconv.ParseUint(value, 10, 32)
		if err != nil || n == math.MaxUint32 {
			err = errors.New("not a user or group ID")
		}
		if key == "uid" {
			m.Tmpfs.RootUID = uint32(n)
		} else {
			m.Tmpfs.RootGID = uint32(n)
		}
	default:
		return fmt.Errorf("option %q is not supported for tmpfs mounts", o)
	}
	if err != nil {
		return fmt.Errorf("option %q: %w", o, err)
	}
	return nil
}

// parseSize parses a tmpfs size: a number with an optional k, m, g or t
// suffix (powers of 1024). Percentages of memory are not supported.
func parseSize(s string) (uint64, error) {
	if strings.HasSuffix(s, "%") {
		return 0, errors.New("sizes in percent of memory are not supported")
	}
	shift := 0
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		case 't', 'T':
			shift = 40
		}
		if shift != 0 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("not a size")
	}
	if n > math.MaxInt64>>shift {
		return 0, errors.New("size too large")
	}
	return n << shift, nil
}
