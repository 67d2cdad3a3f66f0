package vfs

import (
	"slices"

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

// Credentials are a task's identity: its user and group IDs, supplementary
// groups, capability sets and securebits, with the transitions of
// setuid(2) and family, setgroups(2), capset(2) and the prctl(2)
// capability operations as methods (credentials(7), capabilities(7)).
// The VFS checks file access with FSUID, FSGID, Groups and EffectiveCaps.
//
// A Credentials value is immutable once it is shared (installed in a task,
// passed to the VFS): the transition methods return a changed copy and
// leave the receiver alone. User namespaces are not modelled: IDs are
// global and capabilities are checked as if held in the initial namespace.
type Credentials struct {
	RealUID, EffectiveUID, SavedUID, FSUID uint32
	RealGID, EffectiveGID, SavedGID, FSGID uint32
	// Groups are the supplementary groups, sorted once set by SetGroups.
	Groups []uint32
	// EffectiveCaps is the effective capability set: what permission
	// checks consult.
	EffectiveCaps CapabilitySet
	// PermittedCaps limits EffectiveCaps and what capset may raise.
	PermittedCaps CapabilitySet
	// InheritableCaps are kept across execve for programs whose file
	// inheritable set has them.
	InheritableCaps CapabilitySet
	// BoundingCaps limits what execve may grant.
	BoundingCaps CapabilitySet
	// AmbientCaps are kept across execve of unprivileged programs; always
	// a subset of PermittedCaps & InheritableCaps.
	AmbientCaps CapabilitySet
	// SecureBits are the securebits flags (SecureKeepCaps, ...).
	SecureBits SecureBits
}

// RootCredentials returns credentials of root with every capability
// effective, permitted and in the bounding set.
func RootCredentials() *Credentials {
	return &Credentials{
		EffectiveCaps: AllCapabilities,
		PermittedCaps: AllCapabilities,
		BoundingCaps:  AllCapabilities,
	}
}

// UserCredentials returns credentials of an unprivileged user: uid and gid
// as real, effective, saved and filesystem IDs, no capabilities but a full
// bounding set.
func UserCredentials(uid, gid uint32, groups ...uint32) *Credentials {
	return &Credentials{
		RealUID: uid, EffectiveUID: uid, SavedUID: uid, FSUID: uid,
		RealGID: gid, EffectiveGID: gid, SavedGID: gid, FSGID: gid,
		Groups:       groups,
		BoundingCaps: AllCapabilities,
	}
}

// HasCapability reports whether c holds capability cp.
func (c *Credentials) HasCapability(cp int) bool { return c.EffectiveCaps.Has(cp) }

// NoID is (uid_t)-1 / (gid_t)-1: as an argument of the set*id calls it
// leaves that ID unchanged, and it is never a valid ID.
const NoID = ^uint32(0)

// NGroupsMax is NGROUPS_MAX, the most supplementary groups a task may
// have.
const NGroupsMax = 65536

// FSCapabilities are the capabilities that follow the filesystem user ID
// (capabilities(7)): changing the FSUID from 0 to non-zero drops them from
// the effective set, and back to 0 raises the permitted ones again.
const FSCapabilities = CapabilitySet(1<<unix.CAP_CHOWN | 1<<unix.CAP_DAC_OVERRIDE |
	1<<unix.CAP_DAC_READ_SEARCH | 1<<unix.CAP_FOWNER | 1<<unix.CAP_FSETID |
	1<<unix.CAP_LINUX_IMMUTABLE | 1<<unix.CAP_MAC_OVERRIDE | 1<<unix.CAP_MKNOD)

// ValidCapability reports whether cp names a capability.
func ValidCapability(cp int) bool { return cp >= 0 && cp <= unix.CAP_LAST_CAP }

// SecureBits are the securebits flags (prctl(PR_SET_SECUREBITS)): each
// flag has a lock bit just above it that freezes it.
type SecureBits uint32

// Securebits flags and their locks, with Linux's values.
const (
	SecureNoRoot                  SecureBits = 1 << 0
	SecureNoRootLocked            SecureBits = 1 << 1
	SecureNoSetuidFixup           SecureBits = 1 << 2
	SecureNoSetuidFixupLocked     SecureBits = 1 << 3
	SecureKeepCaps                SecureBits = 1 << 4
	SecureKeepCapsLocked          SecureBits = 1 << 5
	SecureNoCapAmbientRaise       SecureBits = 1 << 6
	SecureNoCapAmbientRaiseLocked SecureBits = 1 << 7

	// SecureAllBits are the flags, SecureAllLocks their locks.
	SecureAllBits  = SecureNoRoot | SecureNoSetuidFixup | SecureKeepCaps | SecureNoCapAmbientRaise
	SecureAllLocks = SecureAllBits << 1
)

// Copy returns a copy of c that shares nothing with it.
func (c *Credentials) Copy() *Credentials {
	n := *c
	n.Groups = append([]uint32(nil), c.Groups...)
	return &n
}

// withCopy returns a copy of c sharing c's groups slice, which no
// transition changes in place.
func (c *Credentials) withCopy() *Credentials {
	n := *c
	return &n
}

// hasUID reports whether id is c's real, effective or saved user ID.
func (c *Credentials) hasUID(id uint32) bool {
	return id == c.RealUID || id == c.EffectiveUID || id == c.SavedUID
}

// hasGID reports whether id is c's real, effective or saved group ID.
func (c *Credentials) hasGID(id uint32) bool {
	return id == c.RealGID || id == c.EffectiveGID || id == c.SavedGID
}

// fixSetuidCaps adjusts n's capabilities after a change of real,
// effective or saved user ID from old, as Linux does unless
// SECURE_NO_SETUID_FIXUP is set: when none of the three IDs is 0 any more
// (and one was), the permitted and effective sets are cleared unless
// SECURE_KEEP_CAPS is set, and the ambient set always is; an effective
// UID leaving 0 clears the effective set, and one becoming 0 restores it
// from the permitted set.
func (n *Credentials) fixSetuidCaps(old *Credentials) {
	if old.SecureBits&SecureNoSetuidFixup != 0 {
		return
	}
	wasRoot := old.RealUID == 0 || old.EffectiveUID == 0 || old.SavedUID == 0
	isRoot := n.RealUID == 0 || n.EffectiveUID == 0 || n.SavedUID == 0
	if wasRoot && !isRoot {
		if old.SecureBits&SecureKeepCaps == 0 {
			n.PermittedCaps = 0
			n.EffectiveCaps = 0
		}
		n.AmbientCaps = 0
	}
	if old.EffectiveUID == 0 && n.EffectiveUID != 0 {
		n.EffectiveCaps = 0
	}
	if old.EffectiveUID != 0 && n.EffectiveUID == 0 {
		n.EffectiveCaps = n.PermittedCaps
	}
}

// fixSetfsuidCaps adjusts n's effective set after a change of filesystem
// user ID from old (unless SECURE_NO_SETUID_FIXUP is set): leaving 0 drops
// FSCapabilities, becoming 0 raises the permitted ones among them.
func (n *Credentials) fixSetfsuidCaps(old *Credentials) {
	if old.SecureBits&SecureNoSetuidFixup != 0 {
		return
	}
	if old.FSUID == 0 && n.FSUID != 0 {
		n.EffectiveCaps &^= FSCapabilities
	}
	if old.FSUID != 0 && n.FSUID == 0 {
		n.EffectiveCaps |= n.PermittedCaps & FSCapabilities
	}
}

// SetUID returns c changed as setuid(2) changes it: with CAP_SETUID the
// real, effective, saved and filesystem user IDs all become uid;
// otherwise uid must be the real or saved user ID (EPERM) and only the
// effective and filesystem IDs change. NoID is EINVAL.
func (c *Credentials) SetUID(uid uint32) (*Credentials, error) {
	if uid == NoID {
		return nil, unix.EINVAL
	}
	n := c.withCopy()
	if c.HasCapability(unix.CAP_SETUID) {
		n.RealUID, n.SavedUID = uid, uid
	} else if uid != c.RealUID && uid != c.SavedUID {
		return nil, unix.EPERM
	}
	n.EffectiveUID, n.FSUID = uid, uid
	n.fixSetuidCaps(c)
	return n, nil
}

// SetREUID returns c changed as setreuid(2) changes it (NoID leaves an ID
// alone). Without CAP_SETUID the new real ID must be the old real or
// effective one, and the new effective ID the old real, effective or
// saved one (EPERM). The saved ID becomes the new effective ID when the
// real ID is set or the effective ID is set to something other than the
// old real ID; the filesystem ID follows the effective ID.
func (c *Credentials) SetREUID(r, e uint32) (*Credentials, error) {
	priv := c.HasCapability(unix.CAP_SETUID)
	n := c.withCopy()
	if r != NoID {
		if r != c.RealUID && r != c.EffectiveUID && !priv {
			return nil, unix.EPERM
		}
		n.RealUID = r
	}
	if e != NoID {
		if !c.hasUID(e) && !priv {
			return nil, unix.EPERM
		}
		n.EffectiveUID = e
	}
	if r != NoID || (e != NoID && e != c.RealUID) {
		n.SavedUID = n.EffectiveUID
	}
	n.FSUID = n.EffectiveUID
	n.fixSetuidCaps(c)
	return n, nil
}

// SetRESUID returns c changed as setresuid(2) changes it (NoID leaves an
// ID alone). Without CAP_SETUID each new ID must be one of the old real,
// effective and saved IDs (EPERM). The filesystem ID follows the
// effective ID, except that a call changing nothing (every ID NoID or
// already set, and the filesystem ID equal to the effective one when e is
// given) returns c itself, as Linux returns early.
func (c *Credentials) SetRESUID(r, e, s uint32) (*Credentials, error) {
	if (r == NoID || r == c.RealUID) &&
		(e == NoID || (e == c.EffectiveUID && e == c.FSUID)) &&
		(s == NoID || s == c.SavedUID) {
		return c, nil
	}
	if !c.HasCapability(unix.CAP_SETUID) {
		for _, id := range [...]uint32{r, e, s} {
			if id != NoID && !c.hasUID(id) {
				return nil, unix.EPERM
			}
		}
	}
	n := c.withCopy()
	if r != NoID {
		n.RealUID = r
	}
	if e != NoID {
		n.EffectiveUID = e
	}
	if s != NoID {
		n.SavedUID = s
	}
	n.FSUID = n.EffectiveUID
	n.fixSetuidCaps(c)
	return n, nil
}

// SetFSUID returns c changed as setfsuid(2) changes it: the filesystem
// user ID becomes fsuid if that is the real, effective, saved or current
// filesystem ID, or c holds CAP_SETUID; the effective capabilities follow
// (fixSetfsuidCaps). Otherwise, or for NoID, it returns c itself:
// setfsuid reports no errors.
func (c *Credentials) SetFSUID(fsuid uint32) *Credentials {
	if fsuid == NoID || fsuid == c.FSUID {
		return c
	}
	if !c.hasUID(fsuid) && !c.HasCapability(unix.CAP_SETUID) {
		return c
	}
	n := c.withCopy()
	n.FSUID = fsuid
	n.fixSetfsuidCaps(c)
	return n
}

// SetGID returns c changed as setgid(2) changes it: with CAP_SETGID the
// real, effective, saved and filesystem group IDs all become gid;
// otherwise gid must be the real or saved group ID (EPERM) and only the
// effective and filesystem IDs change. NoID is EINVAL.
func (c *Credentials) SetGID(gid uint32) (*Credentials, error) {
	if gid == NoID {
		return nil, unix.EINVAL
	}
	n := c.withCopy()
	if c.HasCapability(unix.CAP_SETGID) {
		n.RealGID, n.SavedGID = gid, gid
	} else if gid != c.RealGID && gid != c.SavedGID {
		return nil, unix.EPERM
	}
	n.EffectiveGID, n.FSGID = gid, gid
	return n, nil
}

// SetREGID is SetREUID for group IDs (setregid(2)), with CAP_SETGID.
// Group changes leave capabilities alone.
func (c *Credentials) SetREGID(r, e uint32) (*Credentials, error) {
	priv := c.HasCapability(unix.CAP_SETGID)
	n := c.withCopy()
	if r != NoID {
		if r != c.RealGID && r != c.EffectiveGID && !priv {
			return nil, unix.EPERM
		}
		n.RealGID = r
	}
	if e != NoID {
		if !c.hasGID(e) && !priv {
			return nil, unix.EPERM
		}
		n.EffectiveGID = e
	}
	if r != NoID || (e != NoID && e != c.RealGID) {
		n.SavedGID = n.EffectiveGID
	}
	n.FSGID = n.EffectiveGID
	return n, nil
}

// SetRESGID is SetRESUID for group IDs (setresgid(2)), with CAP_SETGID.
func (c *Credentials) SetRESGID(r, e, s uint32) (*Credentials, error) {
	if (r == NoID || r == c.RealGID) &&
		(e == NoID || (e == c.EffectiveGID && e == c.FSGID)) &&
		(s == NoID || s == c.SavedGID) {
		return c, nil
	}
	if !c.HasCapability(unix.CAP_SETGID) {
		for _, id := range [...]uint32{r, e, s} {
			if id != NoID && !c.hasGID(id) {
				return nil, unix.EPERM
			}
		}
	}
	n := c.withCopy()
	if r != NoID {
		n.RealGID = r
	}
	if e != NoID {
		n.EffectiveGID = e
	}
	if s != NoID {
		n.SavedGID = s
	}
	n.FSGID = n.EffectiveGID
	return n, nil
}

// SetFSGID is SetFSUID for the filesystem group ID (setfsgid(2)), with
// CAP_SETGID; capabilities are left alone.
func (c *Credentials) SetFSGID(fsgid uint32) *Credentials {
	if fsgid == NoID || fsgid == c.FSGID {
		return c
	}
	if !c.hasGID(fsgid) && !c.HasCapability(unix.CAP_SETGID) {
		return c
	}
	n := c.withCopy()
	n.FSGID = fsgid
	return n
}

// SetGroups returns c with the supplementary groups replaced by a sorted
// copy of groups (setgroups(2)). It needs CAP_SETGID (EPERM); more than
// NGroupsMax groups or NoID among them is EINVAL.
func (c *Credentials) SetGroups(groups []uint32) (*Credentials, error) {
	if !c.HasCapability(unix.CAP_SETGID) {
		return nil, unix.EPERM
	}
	if len(groups) > NGroupsMax {
		return nil, unix.EINVAL
	}
	for _, g := range groups {
		if g == NoID {
			return nil, unix.EINVAL
		}
	}
	n := c.withCopy()
	n.Groups = append([]uint32(nil), groups...)
	slices.Sort(n.Groups)
	return n, nil
}

// SetCapabilities returns c with the effective, permitted and inheritable
// sets replaced as capset(2) does (bits above the last capability are
// ignored). The new permitted set must be a subset of the old one, the new
// effective set of the new permitted one, and the new inheritable set of
// the old inheritable and bounding sets, and (without CAP_SETPCAP) of the
// old inheritable and permitted sets: otherwise EPERM. Ambient
// capabilities that are no longer permitted and inheritable are dropped.
func (c *Credentials) SetCapabilities(effective, permitted, inheritable CapabilitySet) (*Credentials, error) {
	effective &= AllCapabilities
	permitted &= AllCapabilities
	inheritable &= AllCapabilities
	if !c.HasCapability(unix.CAP_SETPCAP) && inheritable&^(c.InheritableCaps|c.PermittedCaps) != 0 {
		return nil, unix.EPERM
	}
	if inheritable&^(c.InheritableCaps|c.BoundingCaps) != 0 {
		return nil, unix.EPERM
	}
	if permitted&^c.PermittedCaps != 0 || effective&^permitted != 0 {
		return nil, unix.EPERM
	}
	n := c.withCopy()
	n.EffectiveCaps, n.PermittedCaps, n.InheritableCaps = effective, permitted, inheritable
	n.AmbientCaps &= permitted & inheritable
	return n, nil
}

// SetSecureBits returns c with its securebits replaced
// (prctl(PR_SET_SECUREBITS)). It needs CAP_SETPCAP, may not change a
// locked flag, unlock a lock, or set an unknown bit: otherwise EPERM.
func (c *Credentials) SetSecureBits(bits SecureBits) (*Credentials, error) {
	old := c.SecureBits
	if (old&SecureAllLocks)>>1&(old^bits) != 0 ||
		old&SecureAllLocks&^bits != 0 ||
		bits&^(SecureAllBits|SecureAllLocks) != 0 ||
		!c.HasCapability(unix.CAP_SETPCAP) {
		return nil, unix.EPERM
	}
	n := c.withCopy()
	n.SecureBits = bits
	return n, nil
}

// SetKeepCaps returns c with SECURE_KEEP_CAPS set or cleared
// (prctl(PR_SET_KEEPCAPS)); EPERM if the flag is locked.
func (c *Credentials) SetKeepCaps(keep bool) (*Credentials, error) {
	if c.SecureBits&SecureKeepCapsLocked != 0 {
		return nil, unix.EPERM
	}
	n := c.withCopy()
	if keep {
		n.SecureBits |= SecureKeepCaps
	} else {
		n.SecureBits &^= SecureKeepCaps
	}
	return n, nil
}

// DropBoundingCapability returns c without cp in its bounding set
// (prctl(PR_CAPBSET_DROP)): EINVAL for an unknown capability, EPERM
// without CAP_SETPCAP.
func (c *Credentials) DropBoundingCapability(cp int) (*Credentials, error) {
	if !ValidCapability(cp) {
		return nil, unix.EINVAL
	}
	if !c.HasCapability(unix.CAP_SETPCAP) {
		return nil, unix.EPERM
	}
	n := c.withCopy()
	n.BoundingCaps &^= CapabilitySetOf(cp)
	return n, nil
}

// RaiseAmbientCapability returns c with cp in its ambient set
// (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE)): EINVAL for an unknown
// capability, EPERM unless cp is permitted and inheritable and
// SECURE_NO_CAP_AMBIENT_RAISE is clear.
func (c *Credentials) RaiseAmbientCapability(cp int) (*Credentials, error) {
	if !ValidCapability(cp) {
		return nil, unix.EINVAL
	}
	if !c.PermittedCaps.Has(cp) || !c.InheritableCaps.Has(cp) || c.SecureBits&SecureNoCapAmbientRaise != 0 {
		return nil, unix.EPERM
	}
	n := c.withCopy()
	n.AmbientCaps |= CapabilitySetOf(cp)
	return n, nil
}

// LowerAmbientCapability returns c without cp in its ambient set
// (PR_CAP_AMBIENT_LOWER); EINVAL for an unknown capability.
func (c *Credentials) LowerAmbientCapability(cp int) (*Credentials, error) {
	if !ValidCapability(cp) {
		return nil, unix.EINVAL
	}
	n := c.withCopy()
	n.AmbientCaps &^= CapabilitySetOf(cp)
	return n, nil
}

// ClearAmbientCapabilities returns c with an empty ambient set
// (PR_CAP_AMBIENT_CLEAR_ALL).
func (c *Credentials) ClearAmbientCapabilities() *Credentials {
	n := c.withCopy()
	n.AmbientCaps = 0
	return n
}

// ForExec returns the credentials a task with credentials c has after
// execve(2) of a file with the given mode, owner and group
// (capabilities(7), "Transformation of capabilities during execve()").
// noSuid says the file's mount ignores set-user-ID and set-group-ID bits
// (MS_NOSUID). File capabilities (security.capability) are not modelled:
// files have none. Without SECURE_NOROOT, a program run with real or
// effective user ID 0 gets the bounding and inheritable sets as permitted
// capabilities, and with effective ID 0 also as effective ones. A
// set-user-ID or set-group-ID change clears the ambient set; the ambient
// set is otherwise added to the permitted set and is the effective set of
// an unprivileged program. The saved and filesystem IDs become the
// effective ones, and SECURE_KEEP_CAPS is cleared. The no_new_privs and
// ptrace downgrades are not applied here.
func (c *Credentials) ForExec(mode, fileUID, fileGID uint32, noSuid bool) *Credentials {
	n := c.withCopy()
	if !noSuid {
		if mode&linux.S_ISUID != 0 {
			n.EffectiveUID = fileUID
		}
		if mode&(linux.S_ISGID|linux.S_IXGRP) == linux.S_ISGID|linux.S_IXGRP {
			n.EffectiveGID = fileGID
		}
	}
	isSetid := n.EffectiveUID != c.RealUID || n.EffectiveGID != c.RealGID
	effective := false
	n.PermittedCaps = 0
	if c.SecureBits&SecureNoRoot == 0 {
		if n.EffectiveUID == 0 || n.RealUID == 0 {
			n.PermittedCaps = c.BoundingCaps | c.InheritableCaps
		}
		effective = n.EffectiveUID == 0
	}
	n.SavedUID, n.FSUID = n.EffectiveUID, n.EffectiveUID
	n.SavedGID, n.FSGID = n.EffectiveGID, n.EffectiveGID
	if isSetid {
		n.AmbientCaps = 0
	}
	n.PermittedCaps |= n.AmbientCaps
	if effective {
		n.EffectiveCaps = n.PermittedCaps
	} else {
		n.EffectiveCaps = n.AmbientCaps
	}
	n.SecureBits &^= SecureKeepCaps
	return n
}

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
