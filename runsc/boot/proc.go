package boot

import (
	"context"

	"github.com/palisade-sandbox/palisade/fsimpl/proc"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// mountProc mounts a proc filesystem showing k's tasks on target with
// flags (nosuid, nodev and noexec are always added, as Linux's procfs
// does). Every proc mount of a sandbox goes through here.
func mountProc(k *kernel.Kernel, target vfs.VirtualDentry, flags vfs.MountFlags) error {
	v := k.VFS()
	fs := v.NewFilesystem(proc.New(v, k.ProcKernel(), proc.Options{}))
	flags.NoSuid, flags.NoDev, flags.NoExec = true, true, true
	_, err := v.MountAt(context.Background(), vfs.RootCredentials(), fs, target, flags)
	return err
}
