// Package gofer is the Sentry's filesystem backed by a Gofer over 9P2000.L:
// the container's root (below the overlay) and its bind mounts.
//
// Every inode holds one unopened fid (a p9.ClientFile) for its file and a
// cache of the file's attributes. Inodes are keyed by QID path, which the
// Gofer derives from the host (device, inode) pair, so two names of one
// file (hard links, or a file looked up again after the VFS evicted its
// dentry while a description kept the inode alive) share one inode, one
// attribute cache and one set of advisory locks. The VFS has no "dentry
// destroyed" hook, so an inode's fid is clunked by a runtime cleanup once
// the inode is unreachable (see Filesystem.forget); the clunks run on one
// background goroutine. A lookup is one Twalkgetattr of one name: the new
// fid and the child's attributes in one round trip.
//
// Batched lookups. The VFS asks for one component at a time (Lookup), so
// a cold path of n components costs n round trips. Directory inodes also
// offer LookupPath, which walks up to p9.MaxWalkNames components in one
// Twalkgetattr and returns an inode per component; since 9P returns a fid
// only for the last step, the inodes of the intermediate steps remember
// their parent and name and get a fid when first needed (getFile: one
// Twalk from the nearest ancestor that has one, with every step's QID
// checked so a replaced name fails with ESTALE). The VFS does not call
// LookupPath yet; the resolver change it needs is a small optional
// interface (a MultiLookuper tried by the walk loop when several
// consecutive components are uncached).
//
// Caching policy. In the default configuration the Gofer's tree is
// read-only or is written only through this Sentry (the overlay's lower
// layer), so the Sentry is the only writer: attributes returned by a walk
// are kept until a local mutation invalidates them, and names a lookup
// found missing are remembered per directory (a bounded negative cache),
// as are symlink targets. Positive directory entries are the VFS's
// dentry cache. Every local mutation invalidates what it changes: a write,
// truncate, fallocate, setattr or xattr change marks the inode stale (the
// next stat re-reads its attributes with one Tgetattr, so size, blocks and
// times are the host's exactly), mode/uid/gid are updated in place at once
// (the VFS checks permissions with them); create, mkdir, mknod, symlink,
// link, unlink, rmdir and rename mark the directories involved and the
// files whose link count or ctime change stale, add removed names to and
// drop created names from the negative caches. Reads do not invalidate, so
// a cached atime can lag the host's. With Options.Revalidate (for trees
// that change behind the Sentry's back) the negative cache is off and every
// stat re-reads the attributes; dentries the VFS has cached are still used
// without asking the filesystem, so a name removed or replaced on the host
// is only noticed once its dentry is evicted (that needs a revalidation
// hook in the VFS's lookupChild).
//
// Files. Opening clones the inode's fid and sends Tlopen; for a regular
// file the Gofer donates its host descriptor with the reply, and reads and
// writes are then plain pread(2)/pwrite(2) on it with no 9P traffic. When
// nothing was donated they go through Tread/Twrite. A file made by an
// O_CREAT open is created with Tlcreate on a clone of the directory's fid,
// and that opened fid (with its donated descriptor) is kept for the open
// that follows. Directories are read with Treaddir; a directory offset is
// the Gofer's cookie (the host's d_off), so offsets stay valid across
// getdents calls and lseek. Errors from the Gofer (Rlerror) are the Linux
// errno and are returned unchanged; a dead connection or a malformed reply
// is EIO.
package gofer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/p9"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// DefaultNegativeCacheSize is how many missing names a directory inode
// remembers when Options.NegativeCacheSize is 0.
const DefaultNegativeCacheSize = 1024

// attrMask is what every walk and getattr asks for: everything stat(2)
// reports.
const attrMask = p9.AttrBasic

// Options configure a gofer filesystem.
type Options struct {
	// AName is the attach name ("" or "/" for the Gofer's root tree).
	AName string
	// AttachUID is the user the fids are attached as; the Gofer gives
	// files it creates this owner, and the filesystem changes the owner
	// afterwards (one more Tsetattr) when the creating credentials have
	// another fsuid. 0 (root) is the Sentry's normal choice.
	AttachUID p9.UID
	// Revalidate makes every stat re-read the attributes from the Gofer
	// and turns off the negative lookup cache and the sharing of one
	// inode by all names of a file (a walk's fid is then always used, as
	// a host inode number may have been reused): for trees that may
	// change outside the Sentry.
	Revalidate bool
	// NegativeCacheSize bounds the missing names cached per directory: 0
	// means DefaultNegativeCacheSize, negative disables the cache.
	NegativeCacheSize int
}

// Filesystem is one gofer-backed filesystem: one attached tree of one 9P
// connection. It implements vfs.FilesystemImpl.
type Filesystem struct {
	client *p9.Client
	opts   Options
	negMax int
	root   *inode

	// mu guards inodes, the QID path → inode table used to give each
	// file a single inode.
	mu     sync.Mutex
	inodes map[uint64]weak.Pointer[inode]

	// clunkMu guards clunks and clunking: fids waiting to be clunked by
	// the background goroutine, and whether it runs.
	clunkMu  sync.Mutex
	clunks   []*p9.ClientFile
	clunking bool
}

var _ vfs.FilesystemImpl = (*Filesystem)(nil)

// New attaches to the tree opts.AName on client and returns the
// filesystem; register it with vfs.VirtualFilesystem.NewFilesystem. The
// caller keeps ownership of client (closing it ends every fid).
func New(client *p9.Client, opts Options) (*Filesystem, error) {
	root, _, err := client.Attach(opts.AName, opts.AttachUID)
	if err != nil {
		return nil, fmt.Errorf("gofer: attaching %q: %w", opts.AName, err)
	}
	qa, err := root.GetAttr(attrMask)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("gofer: getattr of the root of %q: %w", opts.AName, err)
	}
	if qa.Valid&p9.AttrMode == 0 || qa.Attr.Mode.FileType() != p9.ModeDirectory {
		root.Close()
		return nil, fmt.Errorf("gofer: root of %q is not a directory: %w", opts.AName, unix.ENOTDIR)
	}
	fs := &Filesystem{client: client, opts: opts, inodes: make(map[uint64]weak.Pointer[inode])}
	switch {
	case opts.Revalidate || opts.NegativeCacheSize < 0:
		fs.negMax = 0
	case opts.NegativeCacheSize == 0:
		fs.negMax = DefaultNegativeCacheSize
	default:
		fs.negMax = opts.NegativeCacheSize
	}
	fs.root = newInode(fs, root, qa)
	fs.inodes[qa.QID.Path] = weak.Make(fs.root)
	return fs, nil
}

// Client returns the filesystem's 9P client.
func (fs *Filesystem) Client() *p9.Client { return fs.client }

// Root implements vfs.FilesystemImpl.Root.
func (fs *Filesystem) Root() vfs.Inode { return fs.root }

// StatFS implements vfs.FilesystemImpl.StatFS with one Tstatfs: the
// Gofer reports the host filesystem's numbers.
func (fs *Filesystem) StatFS(context.Context) (linux.Statfs, error) {
	st, err := fs.root.fid.p.Load().StatFS()
	if err != nil {
		return linux.Statfs{}, errno(err)
	}
	return linux.Statfs{
		Type:            int64(st.Type),
		BlockSize:       int64(st.BlockSize),
		Blocks:          st.Blocks,
		BlocksFree:      st.BlocksFree,
		BlocksAvailable: st.BlocksAvailable,
		Files:           st.Files,
		FilesFree:       st.FilesFree,
		FSID:            [2]int32{int32(uint32(st.FSID)), int32(uint32(st.FSID >> 32))},
		NameLength:      int64(st.NameLength),
		FragmentSize:    int64(st.BlockSize),
	}, nil
}

// Release implements vfs.FilesystemImpl.Release: the root fid is clunked.
// Fids of inodes still alive are clunked when they become unreachable (or
// released with the connection).
func (fs *Filesystem) Release(context.Context) {
	fs.queueClunk(fs.root.fid.p.Load())
}

// inodeFor returns the inode for the file a walk just reached: qa is its
// QID and attributes, f a new fid for it (which the inode takes over, or
// which is clunked if the file already has an inode with a fid). f is nil
// for the intermediate steps of a multi-name walk: the inode then gets its
// fid when first needed, by walking name from parent (see getFile).
func (fs *Filesystem) inodeFor(qa p9.QIDAttr, f *p9.ClientFile, parent *inode, name string) *inode {
	fs.mu.Lock()
	// With Revalidate the tree may change behind the Sentry's back, so an
	// inode found by QID path may hold a fid of a removed file whose host
	// inode number was reused: every walk then makes a new inode.
	if wp, ok := fs.inodes[qa.QID.Path]; ok && !fs.opts.Revalidate {
		if old := wp.Value(); old != nil && old.sameType(qa) {
			fs.mu.Unlock()
			if f != nil && !old.fid.p.CompareAndSwap(nil, f) {
				fs.queueClunk(f)
			}
			old.updateFromWalk(qa)
			return old
		}
	}
	i := newInode(fs, f, qa)
	if f == nil {
		i.parent, i.name = parent, name
	}
	wp := weak.Make(i)
	fs.inodes[qa.QID.Path] = wp
	fs.mu.Unlock()
	runtime.AddCleanup(i, fs.forget, inodeRef{fid: i.fid, path: qa.QID.Path, wp: wp, pending: i.pending})
	return i
}

// untrack removes i from the QID table (the file was removed).
func (fs *Filesystem) untrack(i *inode) {
	fs.mu.Lock()
	if wp, ok := fs.inodes[i.qid.Path]; ok && wp.Value() == i {
		delete(fs.inodes, i.qid.Path)
	}
	fs.mu.Unlock()
}

// inodeRef is what the cleanup of an unreachable inode needs: nothing in
// it refers to the inode itself.
type inodeRef struct {
	fid     *fidBox
	path    uint64
	wp      weak.Pointer[inode]
	pending *openBox
}

// forget runs once an inode is unreachable: it drops its table entry
// (unless another inode took the QID path meanwhile) and clunks its fids.
func (fs *Filesystem) forget(r inodeRef) {
	fs.mu.Lock()
	if fs.inodes[r.path] == r.wp {
		delete(fs.inodes, r.path)
	}
	fs.mu.Unlock()
	if of := r.pending.take(); of != nil {
		of.close(fs)
	}
	if f := r.fid.p.Load(); f != nil {
		fs.queueClunk(f)
	}
}

// queueClunk clunks f on the background goroutine, which is started when
// needed and exits when the queue is empty, so the callers (cleanups,
// Release paths) never wait for a round trip.
func (fs *Filesystem) queueClunk(f *p9.ClientFile) {
	fs.clunkMu.Lock()
	fs.clunks = append(fs.clunks, f)
	start := !fs.clunking
	fs.clunking = true
	fs.clunkMu.Unlock()
	if start {
		go fs.clunkLoop()
	}
}

func (fs *Filesystem) clunkLoop() {
	for {
		fs.clunkMu.Lock()
		batch := fs.clunks
		fs.clunks = nil
		if len(batch) == 0 {
			fs.clunking = false
			fs.clunkMu.Unlock()
			return
		}
		fs.clunkMu.Unlock()
		for _, f := range batch {
			if err := f.Close(); err != nil {
				slog.Debug("gofer: clunk", "fid", f.FID(), "err", err)
			}
		}
	}
}

// FlushClunks waits until every queued clunk has been sent and answered
// (tests and orderly shutdown).
func (fs *Filesystem) FlushClunks() {
	for {
		fs.clunkMu.Lock()
		idle := !fs.clunking
		fs.clunkMu.Unlock()
		if idle {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// fidBox holds an inode's unopened fid, set once (at creation, or by the
// first getFile of an inode made by a multi-name walk). The cleanup of the
// inode shares it.
type fidBox struct {
	p atomic.Pointer[p9.ClientFile]
}

// openedFile is an opened fid with the host file the Gofer donated for it
// (nil if none).
type openedFile struct {
	file *p9.ClientFile
	host *os.File
}

func (of *openedFile) close(fs *Filesystem) {
	if of.host != nil {
		of.host.Close()
	}
	fs.queueClunk(of.file)
}

// openBox holds the file an O_CREAT open created until the open that
// follows takes it.
type openBox struct {
	mu sync.Mutex // guards of
	of *openedFile
}

func (b *openBox) put(fs *Filesystem, of *openedFile) {
	b.mu.Lock()
	old := b.of
	b.of = of
	b.mu.Unlock()
	if old != nil {
		old.close(fs)
	}
}

func (b *openBox) take() *openedFile {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	of := b.of
	b.of = nil
	return of
}

// errno converts an error from the client into what the VFS returns: the
// errno of an Rlerror unchanged, EIO for anything else (a dead connection,
// a malformed reply).
func errno(err error) error {
	if err == nil {
		return nil
	}
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	slog.Debug("gofer: 9P error", "err", err)
	return unix.EIO
}

// FSType implements vfs.FilesystemTyper.
func (fs *Filesystem) FSType() string { return "9p" }
