package vfs

import (
	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
)

// CapabilitySet is a set of capabilities, bit n being capability n
// (unix.CAP_*).
type CapabilitySet uint64

// AllCapabilities is the full capability set, as held by root.
const AllCapabilities = CapabilitySet(1<<(unix.CAP_LAST_CAP+1) - 1)

// CapabilitySetOf returns the set holding caps.
func CapabilitySetOf(caps ...int) CapabilitySet {
	var s CapabilitySet
	for _, c := range caps {
		s |= 1 << uint(c)
	}
	return s
}

// Has reports whether capability c is in s.
func (s CapabilitySet) Has(c int) bool { return c >= 0 && c < 64 && s&(1<<uint(c)) != 0 }

// Credentials are the identity a filesystem operation runs as. The kernel
// builds one from a task's credentials; it is treated as immutable once
// passed to the VFS. User namespaces are not modelled: IDs are global and
// EffectiveCaps are checked as if held in the initial namespace.
type Credentials struct {
	RealUID, EffectiveUID, FSUID uint32
	RealGID, EffectiveGID, FSGID uint32
	// Groups are the supplementary groups.
	Groups []uint32
	// EffectiveCaps is the effective capability set.
	EffectiveCaps CapabilitySet
}

// RootCredentials returns credentials of root with every capability.
func RootCredentials() *Credentials {
	return &Credentials{EffectiveCaps: AllCapabilities}
}

// UserCredentials returns credentials of an unprivileged user.
func UserCredentials(uid, gid uint32, groups ...uint32) *Credentials {
	return &Credentials{
		RealUID: uid, EffectiveUID: uid, FSUID: uid,
		RealGID: gid, EffectiveGID: gid, FSGID: gid,
		Groups: groups,
	}
}

// HasCapability reports whether c holds capability cp.
func (c *Credentials) HasCapability(cp int) bool { return c.EffectiveCaps.Has(cp) }

// InGroup reports whether gid is c's filesystem group or one of its
// supplementary groups.
func (c *Credentials) InGroup(gid uint32) bool {
	if c.FSGID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// AccessTypes is a bitmask of MayRead, MayWrite and MayExec; the values
// are those of access(2)'s R_OK, W_OK and X_OK.
type AccessTypes uint16

// Access types.
const (
	MayExec  AccessTypes = 1
	MayWrite AccessTypes = 2
	MayRead  AccessTypes = 4
)

// AccessTypesForOpenFlags returns the permissions open(2) with flags needs.
func AccessTypesForOpenFlags(flags uint32) AccessTypes {
	var ats AccessTypes
	switch flags & linux.O_ACCMODE {
	case linux.O_RDONLY:
		ats = MayRead
	case linux.O_WRONLY:
		ats = MayWrite
	default:
		ats = MayRead | MayWrite
	}
	if flags&linux.O_TRUNC != 0 {
		ats |= MayWrite
	}
	return ats
}

// GenericCheckPermissions checks whether creds may access a file with the
// given mode (type and permission bits), owner and group, following
// Linux's generic_permission: the owner, group or other bits apply (the
// first class that matches, even if it grants less than a later one);
// failing that, CAP_DAC_OVERRIDE grants everything except execute of a
// non-directory that has no execute bit at all, and CAP_DAC_READ_SEARCH
// grants read of anything and search of directories. It returns EACCES.
func GenericCheckPermissions(creds *Credentials, ats AccessTypes, mode uint32, uid, gid uint32) error {
	ats &= MayRead | MayWrite | MayExec
	perms := AccessTypes(mode & 7)
	if creds.FSUID == uid {
		perms = AccessTypes(mode>>6) & 7
	} else if creds.InGroup(gid) {
		perms = AccessTypes(mode>>3) & 7
	}
	if ats&^perms == 0 {
		return nil
	}
	isDir := mode&linux.S_IFMT == linux.S_IFDIR
	if isDir {
		if ats&MayWrite == 0 && creds.HasCapability(unix.CAP_DAC_READ_SEARCH) {
			return nil
		}
		if creds.HasCapability(unix.CAP_DAC_OVERRIDE) {
			return nil
		}
		return unix.EACCES
	}
	if (ats&MayExec == 0 || mode&0o111 != 0) && creds.HasCapability(unix.CAP_DAC_OVERRIDE) {
		return nil
	}
	if ats == MayRead && creds.HasCapability(unix.CAP_DAC_READ_SEARCH) {
		return nil
	}
	return unix.EACCES
}

// CanActAsOwner reports whether creds may act as the owner uid of a file
// (inode_owner_or_capable): it is the owner or holds CAP_FOWNER.
func CanActAsOwner(creds *Credentials, uid uint32) bool {
	return creds.FSUID == uid || creds.HasCapability(unix.CAP_FOWNER)
}

// CheckDeleteSticky applies the sticky-directory rule to removing or
// replacing a child of a directory: in a sticky directory only the owner
// of the child, the owner of the directory or a CAP_FOWNER holder may do
// it (EPERM).
func CheckDeleteSticky(creds *Credentials, dirMode, dirUID, childUID uint32) error {
	if dirMode&linux.S_ISVTX == 0 {
		return nil
	}
	if creds.FSUID == childUID || creds.FSUID == dirUID || creds.HasCapability(unix.CAP_FOWNER) {
		return nil
	}
	return unix.EPERM
}

// SetStatOptions describes a chmod/chown/truncate/utimes request. Stat.Mask
// says which of Stat's fields to set: STATX_MODE (permission bits only),
// STATX_UID, STATX_GID, STATX_SIZE, STATX_ATIME, STATX_MTIME.
type SetStatOptions struct {
	Stat linux.Statx
	// TimesNow is set by the syscall layer when utimensat sets both times
	// to the current time (NULL times, or UTIME_NOW for both): then write
	// permission suffices instead of ownership.
	TimesNow bool
}

// CheckSetStat checks whether creds may apply opts to a file whose
// current mode, owner and group are given, following Linux's
// notify_change/setattr_prepare rules, and adjusts opts as Linux does:
// chmod by someone outside the file's group without CAP_FSETID drops
// S_ISGID, and chown of a non-directory clears S_ISUID and (if group
// executable) S_ISGID. checkWrite makes a size change require write
// permission (truncate(2)); ftruncate(2) checks the description instead.
func CheckSetStat(creds *Credentials, opts *SetStatOptions, mode, uid, gid uint32, checkWrite bool) error {
	m := opts.Stat.Mask
	if m&^(linux.STATX_MODE|linux.STATX_UID|linux.STATX_GID|linux.STATX_SIZE|linux.STATX_ATIME|linux.STATX_MTIME) != 0 {
		return unix.EPERM
	}
	if m&linux.STATX_SIZE != 0 {
		switch mode & linux.S_IFMT {
		case linux.S_IFDIR:
			return unix.EISDIR
		case linux.S_IFREG:
		default:
			return unix.EINVAL
		}
		if checkWrite {
			if err := GenericCheckPermissions(creds, MayWrite, mode, uid, gid); err != nil {
				return err
			}
		}
	}
	if m&linux.STATX_UID != 0 && opts.Stat.UID != uid {
		if !creds.HasCapability(unix.CAP_CHOWN) {
			return unix.EPERM
		}
	}
	if m&linux.STATX_GID != 0 && opts.Stat.GID != gid {
		if !creds.HasCapability(unix.CAP_CHOWN) && !(creds.FSUID == uid && creds.InGroup(opts.Stat.GID)) {
			return unix.EPERM
		}
	}
	if m&linux.STATX_MODE != 0 {
		if !CanActAsOwner(creds, uid) {
			return unix.EPERM
		}
		newGID := gid
		if m&linux.STATX_GID != 0 {
			newGID = opts.Stat.GID
		}
		if !creds.InGroup(newGID) && !creds.HasCapability(unix.CAP_FSETID) {
			opts.Stat.Mode &^= linux.S_ISGID
		}
	}
	if m&(linux.STATX_ATIME|linux.STATX_MTIME) != 0 && !CanActAsOwner(creds, uid) {
		if !opts.TimesNow {
			return unix.EPERM
		}
		if err := GenericCheckPermissions(creds, MayWrite, mode, uid, gid); err != nil {
			return err
		}
	}
	if m&(linux.STATX_UID|linux.STATX_GID) != 0 && mode&linux.S_IFMT != linux.S_IFDIR {
		newMode := uint16(mode)
		if m&linux.STATX_MODE != 0 {
			newMode = opts.Stat.Mode
		}
		kill := uint16(linux.S_ISUID)
		if newMode&linux.S_IXGRP != 0 {
			kill |= linux.S_ISGID
		}
		if newMode&kill != 0 {
			opts.Stat.Mask |= linux.STATX_MODE
			opts.Stat.Mode = newMode &^ kill
		}
	}
	if m&linux.STATX_MODE != 0 {
		opts.Stat.Mode &= 0o7777
	}
	return nil
}
