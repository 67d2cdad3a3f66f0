package futex

import "fmt"

// KeyKind says what a Key's Object and Offset mean.
type KeyKind uint8

// Key kinds. Keys of different kinds never match, so a private futex and
// a shared futex at the same address are different futexes, as in Linux.
const (
	// KindPrivate is a FUTEX_PRIVATE_FLAG futex: Object is the address
	// space, Offset the virtual address. The Manager builds these keys
	// itself from Target.AddressSpaceIdentity.
	KindPrivate KeyKind = iota + 1
	// KindAddressSpace is a shared (non-private) futex operation on a
	// MAP_PRIVATE mapping: the word belongs to one address space, so
	// Object is that address space and Offset the virtual address. It
	// does not match KindPrivate, just as Linux tags such keys apart from
	// private ones.
	KindAddressSpace
	// KindMemoryFile is a futex in MAP_SHARED anonymous or shm memory:
	// Object is nil and Offset is the offset of the word in the memory
	// file, so every address space mapping the page finds the same key.
	KindMemoryFile
	// KindFile is a futex in a MAP_SHARED file mapping: Object identifies
	// the file (its inode, not the open description), Offset is the byte
	// offset of the word in the file. This stays valid when the page
	// cache moves the page within the memory file.
	KindFile
)

// String implements fmt.Stringer.
func (k KeyKind) String() string {
	switch k {
	case KindPrivate:
		return "private"
	case KindAddressSpace:
		return "address-space"
	case KindMemoryFile:
		return "memory-file"
	case KindFile:
		return "file"
	}
	return fmt.Sprintf("KeyKind(%d)", uint8(k))
}

// Key identifies a futex word. Keys are compared with ==, so Object must
// hold a comparable value (a pointer, in practice); a Key holding a
// non-comparable Object makes the Manager panic.
type Key struct {
	Kind   KeyKind
	Object any
	Offset uint64
}

// String implements fmt.Stringer.
func (k Key) String() string {
	return fmt.Sprintf("%v:%p:%#x", k.Kind, k.Object, k.Offset)
}

// AddressSpaceKey returns the key of a shared futex operation on the word
// at addr of a MAP_PRIVATE mapping of address space as.
func AddressSpaceKey(as any, addr uintptr) Key {
	return Key{Kind: KindAddressSpace, Object: as, Offset: uint64(addr)}
}

// MemoryFileKey returns the key of the word at offset off of the memory
// file (MAP_SHARED anonymous or shm memory).
func MemoryFileKey(off uint64) Key {
	return Key{Kind: KindMemoryFile, Offset: off}
}

// FileKey returns the key of the word at offset off of file, which is a
// comparable identity of the file (its inode).
func FileKey(file any, off uint64) Key {
	return Key{Kind: KindFile, Object: file, Offset: off}
}

// Target is the guest memory a futex operation works on: the calling
// task's address space. The kernel implements it.
//
// Addresses passed to Target are always 4-byte aligned: the Manager
// rejects unaligned futex words with EINVAL before calling it. Every
// method returns EFAULT (a linux.Errno) for an address the guest could not
// access in the required way.
//
// The Manager calls LoadUint32 and CompareAndSwapUint32 with one or two
// internal bucket locks held, so they must not call back into the Manager
// and should not block for long; they may take the address space's own
// lock (the lock order is futex bucket, then address space). A Target
// must be safe to use from any goroutine: a PI waiter's Target is used by
// the task that hands the futex over to it (UnlockPI, ExitPI), so it
// should be built on the address space, not on task-goroutine state.
type Target interface {
	// LoadUint32 atomically loads the word at addr. The guest must be
	// able to read it.
	LoadUint32(addr uintptr) (uint32, error)

	// CompareAndSwapUint32 atomically replaces the word at addr with new
	// if it equals old, and returns the value it found (which equals old
	// exactly when the swap happened). The guest must be able to write
	// the word: a copy-on-write page must be broken first so the swap
	// lands in the page the guest sees. It must be a real atomic
	// instruction on the host-mapped word (sync/atomic on the memory
	// file mapping), because guest threads update the same word with
	// their own atomic instructions concurrently.
	CompareAndSwapUint32(addr uintptr, old, new uint32) (uint32, error)

	// AddressSpaceIdentity returns a comparable value identifying the
	// address space (the mm.MemoryManager pointer): tasks that share it
	// (CLONE_VM) share private futexes.
	AddressSpaceIdentity() any

	// GetSharedKey returns the key of a shared (non-private) futex at
	// addr by looking at the mapping that contains it:
	// AddressSpaceKey for MAP_PRIVATE mappings, MemoryFileKey for
	// MAP_SHARED anonymous or shm memory, FileKey for MAP_SHARED file
	// mappings. An unmapped address is EFAULT.
	GetSharedKey(addr uintptr) (Key, error)
}

// RobustTarget is a Target that can also read arbitrary guest memory, to
// walk robust lists.
type RobustTarget interface {
	Target
	// CopyIn copies guest memory at addr into dst and returns how many
	// bytes it copied, with EFAULT if it stopped at an unreadable page.
	CopyIn(addr uintptr, dst []byte) (int, error)
}
