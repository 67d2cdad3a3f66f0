package gofer

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/palisade-sandbox/palisade/p9"
	"github.com/palisade-sandbox/palisade/seccomp"
	"golang.org/x/sys/unix"
)

// Mount is one bind mount served as its own tree.
type Mount struct {
	// Path is the host directory. Neither it nor any of its components
	// may be a symlink: the Gofer refuses such a source rather than
	// follow it (resolve trusted host paths before, e.g. with
	// filepath.EvalSymlinks, and paths inside a container rootfs with
	// openat2 RESOLVE_IN_ROOT).
	Path     string
	ReadOnly bool
}

// Options say what a Gofer serves. Tree i is served on IOFDs[i]: the
// root first, then Mounts in order.
type Options struct {
	Root         string
	RootReadOnly bool
	Mounts       []Mount
	// IOFDs are connected SOCK_SEQPACKET unix sockets inherited from the
	// parent, one per tree.
	IOFDs []int
}

// mountList is the repeated --mount=HOSTDIR:ro|rw flag.
type mountList struct{ m *[]Mount }

func (l mountList) String() string {
	if l.m == nil {
		return ""
	}
	var s []string
	for _, m := range *l.m {
		s = append(s, m.arg())
	}
	return strings.Join(s, ",")
}

func (l mountList) Set(v string) error {
	i := strings.LastIndexByte(v, ':')
	if i <= 0 {
		return fmt.Errorf("--mount %q: want HOSTDIR:ro or HOSTDIR:rw", v)
	}
	m := Mount{Path: v[:i]}
	switch v[i+1:] {
	case "ro":
		m.ReadOnly = true
	case "rw":
	default:
		return fmt.Errorf("--mount %q: mode %q is not ro or rw", v, v[i+1:])
	}
	*l.m = append(*l.m, m)
	return nil
}

func (m Mount) arg() string {
	if m.ReadOnly {
		return m.Path + ":ro"
	}
	return m.Path + ":rw"
}

// fdList is the --io-fds=3,4,... flag.
type fdList struct{ fds *[]int }

func (l fdList) String() string {
	if l.fds == nil {
		return ""
	}
	var s []string
	for _, fd := range *l.fds {
		s = append(s, strconv.Itoa(fd))
	}
	return strings.Join(s, ",")
}

func (l fdList) Set(v string) error {
	*l.fds = (*l.fds)[:0]
	for _, f := range strings.Split(v, ",") {
		fd, err := strconv.Atoi(f)
		if err != nil || fd < 3 || fd > 1<<20 {
			return fmt.Errorf("--io-fds: %q is not a descriptor number >= 3", f)
		}
		*l.fds = append(*l.fds, fd)
	}
	return nil
}

// RegisterFlags defines the gofer command-line flags on fs, filling o.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Root, "root", "", "container root filesystem directory (no symlinks in the path)")
	fs.BoolVar(&o.RootReadOnly, "read-only", false, "serve the root filesystem read-only")
	fs.Var(mountList{&o.Mounts}, "mount", "bind mount HOSTDIR:ro|rw, served as its own tree (repeatable)")
	fs.Var(fdList{&o.IOFDs}, "io-fds", "comma-separated connected unix sockets, one per tree (root first)")
}

// Args returns the command-line flags that make a Gofer with options o.
func (o *Options) Args() []string {
	args := []string{"--root=" + o.Root}
	if o.RootReadOnly {
		args = append(args, "--read-only")
	}
	for _, m := range o.Mounts {
		args = append(args, "--mount="+m.arg())
	}
	if len(o.IOFDs) > 0 {
		args = append(args, "--io-fds="+fdList{&o.IOFDs}.String())
	}
	return args
}

// Main is the body of `runsc gofer`: it parses args (the flags after the
// subcommand name), runs the Gofer and returns the exit status, printing
// one error line to stderr on failure.
func Main(args []string) int {
	fs := flag.NewFlagSet("gofer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o Options
	o.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "runsc gofer: %v\n", err)
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "runsc gofer: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := Run(o); err != nil {
		fmt.Fprintf(os.Stderr, "runsc gofer: %v\n", err)
		return 1
	}
	return 0
}

// treeSpec is one tree to serve.
type treeSpec struct {
	path     string
	readOnly bool
}

// Run runs a Gofer: it checks the sockets, opens the trees, confines the
// process (mount namespace with only the trees, seccomp) and serves every
// socket until all connections close.
func Run(o Options) error {
	if o.Root == "" {
		return errors.New("--root is required")
	}
	specs := []treeSpec{{o.Root, o.RootReadOnly}}
	for _, m := range o.Mounts {
		if m.Path == "" {
			return errors.New("--mount: empty path")
		}
		specs = append(specs, treeSpec{m.Path, m.ReadOnly})
	}
	if len(o.IOFDs) != len(specs) {
		return fmt.Errorf("--io-fds: got %d descriptors for %d trees (root + mounts)", len(o.IOFDs), len(specs))
	}
	seen := map[int]bool{}
	for _, fd := range o.IOFDs {
		if seen[fd] {
			return fmt.Errorf("--io-fds: descriptor %d given twice", fd)
		}
		seen[fd] = true
		if err := checkSocket(fd); err != nil {
			return fmt.Errorf("--io-fds: %w", err)
		}
	}
	roots := make([]int, 0, len(specs))
	defer func() {
		for _, fd := range roots {
			unix.Close(fd)
		}
	}()
	for _, s := range specs {
		fd, err := openNoSymlinks(s.path)
		if err != nil {
			return fmt.Errorf("tree %s: %w", s.path, err)
		}
		roots = append(roots, fd)
	}

	trees, err := confine(specs, roots)
	roots = nil // confine closed them
	if err != nil {
		return err
	}
	return serve(trees, o.IOFDs)
}

// checkSocket verifies that fd is a unix SOCK_SEQPACKET socket.
func checkSocket(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("descriptor %d: %w", fd, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("descriptor %d is not a socket", fd)
	}
	dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return fmt.Errorf("descriptor %d: %w", fd, err)
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("descriptor %d: %w", fd, err)
	}
	if dom != unix.AF_UNIX || typ != unix.SOCK_SEQPACKET {
		return fmt.Errorf("descriptor %d is not a unix SOCK_SEQPACKET socket", fd)
	}
	return nil
}

// confine moves the process into a root that holds only the trees and
// installs the seccomp filter. It closes roots (descriptors of the
// trees' directories in the host's view) and returns the trees opened in
// the new root.
//
// The process must already be alone in its mount namespace (Start clones
// it with CLONE_NEWNS); confine refuses to run in its parent's namespace,
// where changing propagation or the root would affect the host.
//
// Steps: make every mount private; clone each tree's mount subtree from
// its descriptor (open_tree, so no path is resolved again) and make the
// clone read-only where asked, nosuid and nodev; create a tmpfs, attach
// it, create /0, /1, ... in it and move each clone there; pivot_root into
// the tmpfs and detach the old root; remount the tmpfs read-only.
func confine(specs []treeSpec, roots []int) ([]*Tree, error) {
	closeRoots := func() {
		for _, fd := range roots {
			unix.Close(fd)
		}
	}
	if err := checkOwnMountNS(); err != nil {
		closeRoots()
		return nil, err
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		closeRoots()
		return nil, fmt.Errorf("making mounts private: %w", err)
	}
	clones := make([]int, 0, len(roots))
	defer func() {
		for _, fd := range clones {
			unix.Close(fd)
		}
	}()
	for i, fd := range roots {
		// Not AT_RECURSIVE: a tree is the one filesystem its directory is
		// on. Mounts below it on the host (/proc, /sys, /dev of a host
		// root) would hand the sandbox host kernel state through the
		// Gofer; whatever else it needs is named as a mount of its own.
		c, err := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
		if err != nil {
			closeRoots()
			return nil, fmt.Errorf("cloning mount of %s: %w", specs[i].path, err)
		}
		clones = append(clones, c)
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
		if specs[i].readOnly {
			attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
		}
		if err := unix.MountSetattr(c, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			closeRoots()
			return nil, fmt.Errorf("setting mount attributes of %s: %w", specs[i].path, err)
		}
	}
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		closeRoots()
		return nil, fmt.Errorf("creating tmpfs: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "mode", "0755"); err != nil {
		closeRoots()
		return nil, fmt.Errorf("configuring tmpfs: %w", err)
	}
	if err := unix.FsconfigSetString(fsfd, "size", "64k"); err != nil {
		closeRoots()
		return nil, fmt.Errorf("configuring tmpfs: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		closeRoots()
		return nil, fmt.Errorf("creating tmpfs: %w", err)
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		closeRoots()
		return nil, fmt.Errorf("mounting tmpfs: %w", err)
	}
	defer unix.Close(mnt)
	// Attach the tmpfs over the first tree's directory: in this private
	// namespace that only hides the original, which is already cloned.
	err = unix.MoveMount(mnt, "", roots[0], "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	closeRoots()
	if err != nil {
		return nil, fmt.Errorf("attaching tmpfs: %w", err)
	}
	for i, c := range clones {
		name := strconv.Itoa(i)
		if err := unix.Mkdirat(mnt, name, 0o755); err != nil {
			return nil, fmt.Errorf("creating mount point /%s: %w", name, err)
		}
		if err := unix.MoveMount(c, "", mnt, name, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return nil, fmt.Errorf("attaching %s at /%s: %w", specs[i].path, name, err)
		}
	}
	if err := unix.Fchdir(mnt); err != nil {
		return nil, fmt.Errorf("entering new root: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return nil, fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return nil, fmt.Errorf("detaching old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return nil, fmt.Errorf("chdir /: %w", err)
	}
	ro := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", 0, &ro); err != nil {
		return nil, fmt.Errorf("making new root read-only: %w", err)
	}
	var trees []*Tree
	for i, s := range specs {
		fd, err := unix.Open("/"+strconv.Itoa(i), unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("opening tree %s: %w", s.path, err)
		}
		t, err := NewTree(fd, s.readOnly)
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("tree %s: %w", s.path, err)
		}
		trees = append(trees, t)
	}
	filter, err := seccomp.GoferFilter().BPF()
	if err != nil {
		return nil, err
	}
	prog, err := seccomp.NewProgram(filter)
	if err != nil {
		return nil, err
	}
	if err := prog.Install(); err != nil {
		return nil, err
	}
	return trees, nil
}

// checkOwnMountNS fails unless the process's mount namespace differs from
// its parent's.
func checkOwnMountNS() error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("reading mount namespace: %w", err)
	}
	parent, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", os.Getppid()))
	if err != nil {
		return fmt.Errorf("reading parent's mount namespace: %w", err)
	}
	if self == parent {
		return errors.New("the gofer must run in its own mount namespace (start it with gofer.Start)")
	}
	return nil
}

// serve serves trees[i] on socket fds[i] and returns when every
// connection has closed.
func serve(trees []*Tree, fds []int) error {
	var wg sync.WaitGroup
	errs := make([]error, len(trees))
	for i := range trees {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := p9.NewServer(NewAttacher(trees[i]), p9.WithLogger(slog.Default()))
			errs[i] = srv.Serve(fds[i])
			trees[i].Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// StartOptions describe how to launch a Gofer process.
type StartOptions struct {
	// Path and Args are the program and its arguments before the gofer
	// flags; the default is /proc/self/exe with Args ["runsc", "gofer"].
	Path string
	Args []string
	Env  []string
	// Options are the trees to serve; IOFDs is filled by Start.
	Options Options
	// Sockets are the Gofer's ends of the connections, one per tree
	// (see NewSocketPair). The caller closes its copies after Start.
	Sockets []*os.File
	Stdout  io.Writer
	Stderr  io.Writer
}

// Start launches a Gofer in new mount, network, IPC and UTS namespaces
// (so it holds only its trees and cannot reach any network), with
// SIGKILL as its parent-death signal. Note that Linux sends the
// parent-death signal when the thread that started the child exits; a
// caller that must not outlive it should start it from a locked thread.
func Start(so StartOptions) (*exec.Cmd, error) {
	path, args := so.Path, so.Args
	if path == "" {
		path = "/proc/self/exe"
	}
	if len(args) == 0 {
		args = []string{"runsc", "gofer"}
	}
	o := so.Options
	o.IOFDs = nil
	for i := range so.Sockets {
		o.IOFDs = append(o.IOFDs, 3+i)
	}
	cmd := &exec.Cmd{
		Path:       path,
		Args:       append(append([]string(nil), args...), o.Args()...),
		Env:        so.Env,
		ExtraFiles: so.Sockets,
		Stdout:     so.Stdout,
		Stderr:     so.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
			Pdeathsig:  syscall.SIGKILL,
		},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting gofer: %w", err)
	}
	return cmd, nil
}

// NewSocketPair returns a connected SOCK_SEQPACKET pair: the Gofer's end
// as a file for StartOptions.Sockets and the client's end as a raw
// descriptor for p9.NewClient. Both are close-on-exec. (The p9 package
// sizes the send buffers when it takes a socket over.)
func NewSocketPair() (*os.File, int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, -1, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "gofer-io"), fds[1], nil
}
