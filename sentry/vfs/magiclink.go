package vfs

import (
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// jumpMagicLink moves the walk to the destination of the magic link ml
// (the resolver's current dentry), applying Linux's rules for jumps
// (nd_jump_link): RESOLVE_NO_MAGICLINKS refuses them with ELOOP;
// RESOLVE_NO_XDEV refuses a jump to another mount with EXDEV; and the
// scoped resolutions RESOLVE_BENEATH and RESOLVE_IN_ROOT refuse every
// jump with EXDEV, since a magic link can lead anywhere. The rest of the
// path, if any, continues from the destination.
func (r *resolver) jumpMagicLink(ml MagicLinkInode) error {
	if r.resolve&linux.RESOLVE_NO_MAGICLINKS != 0 {
		return unix.ELOOP
	}
	vd, err := ml.MagicLink(r.ctx)
	if err != nil {
		return err
	}
	if (r.resolve&linux.RESOLVE_NO_XDEV != 0 && vd.Mount != r.cur.Mount) ||
		r.resolve&(linux.RESOLVE_BENEATH|linux.RESOLVE_IN_ROOT) != 0 {
		vd.Dentry.DecRef()
		return unix.EXDEV
	}
	r.setCur(vd)
	return nil
}
