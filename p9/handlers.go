package p9

import (
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// dispatch serves one request (other than Tversion) and returns the reply,
// an fd to donate with it (Rlopen/Rlcreate only), and a function to call
// after the reply is sent (or nil).
func (c *conn) dispatch(tag Tag, m message) (message, *os.File, func()) {
	switch m := m.(type) {
	case *tauth:
		// No authentication: attach with afid = NOFID.
		return lerror(unix.ENOSYS), nil, nil
	case *tattach:
		return c.attach(m), nil, nil
	case *tflush:
		return c.flush(tag, m), nil, nil
	case *twalk:
		return c.walk(m), nil, nil
	case *twalkgetattr:
		return c.walkGetAttr(m), nil, nil
	case *tread:
		return c.read(m)
	case *twriteOwned:
		return c.write(&m.twrite), nil, nil
	case *fidMsg:
		switch m.t {
		case MsgTclunk:
			return c.clunk(m.fid), nil, nil
		case MsgTremove:
			return c.remove(m.fid), nil, nil
		case MsgTstatfs:
			return c.statfs(m.fid), nil, nil
		case MsgTreadlink:
			return c.readlink(m.fid), nil, nil
		}
	case *tlopen:
		return c.lopen(m)
	case *tlcreate:
		return c.lcreate(m)
	case *tgetattr:
		return c.getattr(m), nil, nil
	case *tsetattr:
		return c.setattr(m), nil, nil
	case *treaddir:
		return c.readdir(m), nil, nil
	case *treaddirattr:
		return c.readdirAttr(m), nil, nil
	case *tmkdir:
		return c.mkdir(m), nil, nil
	case *tsymlink:
		return c.symlink(m), nil, nil
	case *tmknod:
		return c.mknod(m), nil, nil
	case *tlink:
		return c.link(m), nil, nil
	case *trename:
		return c.rename(m), nil, nil
	case *trenameat:
		return c.renameat(m), nil, nil
	case *tunlinkat:
		return c.unlinkat(m), nil, nil
	case *tfsync:
		return c.fsync(m), nil, nil
	case *tlock:
		return c.lock(m), nil, nil
	case *tgetlock:
		return c.getlock(m), nil, nil
	case *txattrwalk:
		return c.xattrwalk(m), nil, nil
	case *txattrcreate:
		return c.xattrcreate(m), nil, nil
	}
	return lerror(unix.ENOSYS), nil, nil
}

// fileFid looks up fid and checks that it names a file (not an xattr fid).
// On success the caller must drop the reference.
func (c *conn) fileFid(fid FID) (*fidRef, fidState, error) {
	r, err := c.lookup(fid)
	if err != nil {
		return nil, fidState{}, err
	}
	st := r.state()
	if st.kind != fidFile || st.file == nil {
		r.decRef()
		return nil, fidState{}, unix.EINVAL
	}
	return r, st, nil
}

// dirFid is fileFid that also requires an unopened directory.
func (c *conn) dirFid(fid FID) (*fidRef, fidState, error) {
	r, st, err := c.fileFid(fid)
	if err != nil {
		return nil, st, err
	}
	if !st.isDir {
		r.decRef()
		return nil, st, unix.ENOTDIR
	}
	return r, st, nil
}

// openFid is fileFid that also requires an opened fid.
func (c *conn) openFid(fid FID) (*fidRef, fidState, error) {
	r, st, err := c.fileFid(fid)
	if err != nil {
		return nil, st, err
	}
	if !st.opened {
		r.decRef()
		return nil, st, unix.EBADF
	}
	return r, st, nil
}

func ok(t MsgType) message { return &emptyMsg{t: t} }

// attach implements Tattach.
func (c *conn) attach(m *tattach) message {
	if m.afid != NoFID {
		return lerror(unix.EBADF)
	}
	if err := c.fidFree(m.fid); err != nil {
		return lerror(err)
	}
	f, err := c.srv.attacher.Attach(m.aname, m.nuname)
	if err != nil {
		return lerror(err)
	}
	if f == nil {
		return lerror(unix.EIO)
	}
	qid, _, _, err := f.GetAttr(AttrMode)
	if err != nil {
		f.Close()
		return lerror(err)
	}
	if err := c.insert(m.fid, newFidRef(f, qid.Type&QIDTypeDir != 0, m.nuname)); err != nil {
		f.Close()
		return lerror(err)
	}
	return &rattach{qid: qid}
}

// flush implements Tflush: it replies only after the flushed request's
// reply (if any) has been sent.
func (c *conn) flush(tag Tag, m *tflush) message {
	if m.oldtag != tag {
		c.mu.Lock()
		req := c.inflight[m.oldtag]
		c.mu.Unlock()
		if req != nil {
			<-req.done
		}
	}
	return &rflush{}
}

// walkPrep checks a walk's fids and names. It returns the source fid's
// entry (with a reference) and its state.
func (c *conn) walkPrep(fid, newfid FID, names []string) (*fidRef, fidState, error) {
	r, st, err := c.fileFid(fid)
	if err != nil {
		return nil, st, err
	}
	if st.opened {
		r.decRef()
		return nil, st, unix.EBUSY
	}
	if len(names) > 0 && !st.isDir {
		r.decRef()
		return nil, st, unix.ENOTDIR
	}
	for _, n := range names {
		if err := checkName(n); err != nil {
			r.decRef()
			return nil, st, err
		}
	}
	if newfid != fid {
		if err := c.fidFree(newfid); err != nil {
			r.decRef()
			return nil, st, err
		}
	}
	return r, st, nil
}

// bindNewfid puts f on newfid (which may be fid itself, replacing its File).
func (c *conn) bindNewfid(r *fidRef, fid, newfid FID, f File, isDir bool) error {
	if newfid == fid {
		r.replaceFile(f, isDir)
		return nil
	}
	if err := c.insert(newfid, newFidRef(f, isDir, r.uid)); err != nil {
		f.Close()
		return err
	}
	return nil
}

// walk implements Twalk.
func (c *conn) walk(m *twalk) message {
	r, st, err := c.walkPrep(m.fid, m.newfid, m.names)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	if len(m.names) == 0 {
		if m.newfid == m.fid {
			return &rwalk{}
		}
		nf, err := st.file.Clone()
		if err != nil {
			return lerror(err)
		}
		if nf == nil {
			return lerror(unix.EIO)
		}
		if err := c.bindNewfid(r, m.fid, m.newfid, nf, st.isDir); err != nil {
			return lerror(err)
		}
		return &rwalk{}
	}
	qids, nf, err := st.file.Walk(m.names)
	if len(qids) > len(m.names) {
		qids = qids[:len(m.names)]
	}
	if len(qids) == 0 {
		if nf != nil {
			nf.Close()
		}
		if err == nil {
			err = unix.ENOENT
		}
		return lerror(err)
	}
	if len(qids) < len(m.names) || nf == nil {
		if nf != nil {
			nf.Close()
		}
		return &rwalk{qids: qids}
	}
	if err := c.bindNewfid(r, m.fid, m.newfid, nf, qids[len(qids)-1].Type&QIDTypeDir != 0); err != nil {
		return lerror(err)
	}
	return &rwalk{qids: qids}
}

// walkGetAttr implements the Twalkgetattr extension. With no names it
// clones the fid and returns one step: the fid's own attributes.
func (c *conn) walkGetAttr(m *twalkgetattr) message {
	r, st, err := c.walkPrep(m.fid, m.newfid, m.names)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	if len(m.names) == 0 {
		qid, valid, attr, err := st.file.GetAttr(m.mask)
		if err != nil {
			return lerror(err)
		}
		steps := []QIDAttr{{QID: qid, Valid: valid, Attr: attr}}
		if m.newfid == m.fid {
			return &rwalkgetattr{steps: steps}
		}
		nf, err := st.file.Clone()
		if err != nil {
			return lerror(err)
		}
		if nf == nil {
			return lerror(unix.EIO)
		}
		if err := c.bindNewfid(r, m.fid, m.newfid, nf, st.isDir); err != nil {
			return lerror(err)
		}
		return &rwalkgetattr{steps: steps}
	}
	var steps []QIDAttr
	var nf File
	if wg, ok := st.file.(WalkGetAttrer); ok {
		steps, nf, err = wg.WalkGetAttr(m.names, m.mask)
		if len(steps) > len(m.names) {
			steps = steps[:len(m.names)]
		}
	} else {
		steps, nf, err = walkGetAttrSteps(st.file, m.names, m.mask)
	}
	if len(steps) == 0 {
		if nf != nil {
			nf.Close()
		}
		if err == nil {
			err = unix.ENOENT
		}
		return lerror(err)
	}
	if len(steps) < len(m.names) || nf == nil {
		if nf != nil {
			nf.Close()
		}
		return &rwalkgetattr{steps: steps}
	}
	if err := c.bindNewfid(r, m.fid, m.newfid, nf, steps[len(steps)-1].QID.Type&QIDTypeDir != 0); err != nil {
		return lerror(err)
	}
	return &rwalkgetattr{steps: steps}
}

// walkGetAttrSteps is Twalkgetattr for Files without WalkGetAttrer: walk
// one name at a time and GetAttr each step.
func walkGetAttrSteps(start File, names []string, mask AttrMask) ([]QIDAttr, File, error) {
	steps := make([]QIDAttr, 0, len(names))
	cur := start
	closeCur := func() {
		if cur != start {
			cur.Close()
		}
	}
	for i, name := range names {
		qids, nf, err := cur.Walk([]string{name})
		if len(qids) != 1 || nf == nil || err != nil {
			if nf != nil {
				nf.Close()
			}
			closeCur()
			if err == nil {
				err = unix.ENOENT
			}
			return steps, nil, err
		}
		qid, valid, attr, err := nf.GetAttr(mask)
		if err != nil {
			nf.Close()
			closeCur()
			return steps, nil, err
		}
		steps = append(steps, QIDAttr{QID: qid, Valid: valid, Attr: attr})
		closeCur()
		cur = nf
		if i < len(names)-1 && qid.Type&QIDTypeDir == 0 {
			cur.Close()
			return steps, nil, unix.ENOTDIR
		}
	}
	return steps, cur, nil
}

// getattr implements Tgetattr.
func (c *conn) getattr(m *tgetattr) message {
	r, st, err := c.fileFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	qid, valid, attr, err := st.file.GetAttr(m.mask)
	if err != nil {
		return lerror(err)
	}
	return &rgetattr{a: QIDAttr{QID: qid, Valid: valid, Attr: attr}}
}

// setattr implements Tsetattr.
func (c *conn) setattr(m *tsetattr) message {
	r, st, err := c.fileFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	if err := st.file.SetAttr(m.valid, m.attr); err != nil {
		return lerror(err)
	}
	return ok(MsgRsetattr)
}

// beginOpen marks r as being opened; it fails if r is not an unopened file.
func (r *fidRef) beginOpen() (File, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kind != fidFile || r.file == nil {
		return nil, false, unix.EINVAL
	}
	if r.opened || r.opening {
		return nil, false, unix.EINVAL
	}
	r.opening = true
	return r.file, r.isDir, nil
}

// endOpen finishes beginOpen. If f is non-nil it replaces the fid's File.
func (r *fidRef) endOpen(success bool, flags OpenFlags, f File, isDir bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opening = false
	if !success {
		return
	}
	if f != nil {
		r.retired = append(r.retired, r.file)
		r.file, r.isDir = f, isDir
	}
	r.opened = true
	r.flags = flags
}

// lopen implements Tlopen.
func (c *conn) lopen(m *tlopen) (message, *os.File, func()) {
	r, err := c.lookup(m.fid)
	if err != nil {
		return lerror(err), nil, nil
	}
	defer r.decRef()
	f, isDir, err := r.beginOpen()
	if err != nil {
		return lerror(err), nil, nil
	}
	if isDir && m.flags&OpenFlagsMode != ReadOnly {
		r.endOpen(false, 0, nil, false)
		return lerror(unix.EISDIR), nil, nil
	}
	qid, iounit, donate, err := f.Open(m.flags)
	r.endOpen(err == nil, m.flags, nil, false)
	if err != nil {
		if donate != nil {
			donate.Close()
		}
		return lerror(err), nil, nil
	}
	return &ropen{t: MsgRlopen, qid: qid, iounit: iounit}, donate, nil
}

// lcreate implements Tlcreate: the fid becomes the new, opened file.
func (c *conn) lcreate(m *tlcreate) (message, *os.File, func()) {
	if err := checkName(m.name); err != nil {
		return lerror(err), nil, nil
	}
	r, err := c.lookup(m.fid)
	if err != nil {
		return lerror(err), nil, nil
	}
	defer r.decRef()
	f, isDir, err := r.beginOpen()
	if err != nil {
		return lerror(err), nil, nil
	}
	if !isDir {
		r.endOpen(false, 0, nil, false)
		return lerror(unix.ENOTDIR), nil, nil
	}
	nf, qid, iounit, donate, err := f.Create(m.name, m.flags, m.mode, r.uid, m.gid)
	if err == nil && nf == nil {
		err = unix.EIO
	}
	if err != nil {
		r.endOpen(false, 0, nil, false)
		if nf != nil {
			nf.Close()
		}
		if donate != nil {
			donate.Close()
		}
		return lerror(err), nil, nil
	}
	r.endOpen(true, m.flags, nf, qid.Type&QIDTypeDir != 0)
	return &ropen{t: MsgRlcreate, qid: qid, iounit: iounit}, donate, nil
}

// maxIO is the most data bytes one Rread or Rreaddir can carry.
func (c *conn) maxIO() uint32 {
	return c.msize.Load() - rreadHeaderLen
}

// read implements Tread on an opened file or an xattr fid.
func (c *conn) read(m *tread) (message, *os.File, func()) {
	r, err := c.lookup(m.fid)
	if err != nil {
		return lerror(err), nil, nil
	}
	defer r.decRef()
	count := min(m.count, c.maxIO())
	r.mu.Lock()
	if r.kind == fidXattrRead {
		data := r.xattrData
		r.mu.Unlock()
		if m.offset >= uint64(len(data)) {
			return &rread{}, nil, nil
		}
		data = data[m.offset:]
		return &rread{data: data[:min(uint64(len(data)), uint64(count))]}, nil, nil
	}
	st := fidState{file: r.file, isDir: r.isDir, opened: r.opened, flags: r.flags, kind: r.kind}
	r.mu.Unlock()
	if st.kind != fidFile || !st.opened || st.flags&OpenFlagsMode == WriteOnly {
		return lerror(unix.EBADF), nil, nil
	}
	if st.isDir {
		return lerror(unix.EISDIR), nil, nil
	}
	b := getBuf(int(count))
	n, err := st.file.ReadAt(*b, m.offset)
	n = min(max(n, 0), int(count))
	if err != nil && err != io.EOF && n == 0 {
		putBuf(b)
		return lerror(err), nil, nil
	}
	return &rread{data: (*b)[:n]}, nil, func() { putBuf(b) }
}

// write implements Twrite on an opened file or an xattrcreate fid.
func (c *conn) write(m *twrite) message {
	r, err := c.lookup(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	r.mu.Lock()
	if r.kind == fidXattrWrite {
		defer r.mu.Unlock()
		if m.offset != uint64(len(r.xattrData)) || uint64(len(r.xattrData))+uint64(len(m.data)) > r.xattrSize {
			return lerror(unix.EINVAL)
		}
		r.xattrData = append(r.xattrData, m.data...)
		return &rwrite{count: uint32(len(m.data))}
	}
	st := fidState{file: r.file, isDir: r.isDir, opened: r.opened, flags: r.flags, kind: r.kind}
	r.mu.Unlock()
	if st.kind != fidFile || !st.opened || st.flags&OpenFlagsMode == ReadOnly {
		return lerror(unix.EBADF)
	}
	if st.isDir {
		return lerror(unix.EISDIR)
	}
	n, err := st.file.WriteAt(m.data, m.offset)
	n = min(max(n, 0), len(m.data))
	if err != nil && n == 0 {
		return lerror(err)
	}
	return &rwrite{count: uint32(n)}
}

// clunk implements Tclunk. An xattrcreate fid sets (or, for size 0 with
// XattrReplace, removes) its attribute here; the fid is gone either way.
func (c *conn) clunk(fid FID) message {
	r, err := c.removeFid(fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	r.mu.Lock()
	kind, f, name, data, size, flags := r.kind, r.file, r.xattrName, r.xattrData, r.xattrSize, r.xattrFlags
	r.mu.Unlock()
	if kind != fidXattrWrite {
		return ok(MsgRclunk)
	}
	if uint64(len(data)) != size {
		return lerror(unix.EINVAL)
	}
	if size == 0 && flags == XattrReplace {
		err = f.RemoveXattr(name)
	} else {
		err = f.SetXattr(name, data, flags)
	}
	if err != nil {
		return lerror(err)
	}
	return ok(MsgRclunk)
}

// remove implements Tremove: the fid is clunked even if removal fails.
func (c *conn) remove(fid FID) message {
	r, err := c.removeFid(fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	st := r.state()
	rm, isRemover := st.file.(Remover)
	if st.kind != fidFile || !isRemover {
		return lerror(unix.ENOSYS)
	}
	if err := rm.Remove(); err != nil {
		return lerror(err)
	}
	return ok(MsgRremove)
}

// statfs implements Tstatfs.
func (c *conn) statfs(fid FID) message {
	r, st, err := c.fileFid(fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	s, err := st.file.StatFS()
	if err != nil {
		return lerror(err)
	}
	return &rstatfs{st: s}
}

// readlink implements Treadlink.
func (c *conn) readlink(fid FID) message {
	r, st, err := c.fileFid(fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	t, err := st.file.Readlink()
	if err != nil {
		return lerror(err)
	}
	if len(t) > MaxPathLen {
		return lerror(unix.ENAMETOOLONG)
	}
	return &rreadlink{target: t}
}

// readdirFid checks a Treaddir/Treaddirattr fid: an opened directory.
func (c *conn) readdirFid(fid FID) (*fidRef, fidState, error) {
	r, st, err := c.openFid(fid)
	if err != nil {
		return nil, st, err
	}
	if !st.isDir {
		r.decRef()
		return nil, st, unix.ENOTDIR
	}
	return r, st, nil
}

// fitDirents returns how many leading entries fit in count bytes, skipping
// none; entries with over-long names make the reply end before them.
func fitDirents(n int, size func(i int) int, name func(i int) string, count uint32) int {
	total := 0
	for i := 0; i < n; i++ {
		if len(name(i)) > MaxNameLen {
			return i
		}
		l := size(i)
		if total+l > int(count) {
			return i
		}
		total += l
	}
	return n
}

// readdir implements Treaddir.
func (c *conn) readdir(m *treaddir) message {
	r, st, err := c.readdirFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	count := min(m.count, c.maxIO())
	ents, err := st.file.Readdir(m.offset, count)
	if err != nil {
		return lerror(err)
	}
	n := fitDirents(len(ents), func(i int) int { return direntLen(&ents[i]) },
		func(i int) string { return ents[i].Name }, count)
	if n == 0 && len(ents) > 0 {
		return lerror(unix.EINVAL)
	}
	return &rreaddir{entries: ents[:n]}
}

// readdirAttr implements the Treaddirattr extension.
func (c *conn) readdirAttr(m *treaddirattr) message {
	r, st, err := c.readdirFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	count := min(m.count, c.maxIO())
	var ents []DirentAttr
	if ra, ok := st.file.(ReaddirAttrer); ok {
		ents, err = ra.ReaddirAttr(m.offset, count, m.mask)
		if err != nil {
			return lerror(err)
		}
	} else {
		des, err := st.file.Readdir(m.offset, count)
		if err != nil {
			return lerror(err)
		}
		n := fitDirents(len(des), func(i int) int { return direntAttrLen(&des[i]) },
			func(i int) string { return des[i].Name }, count)
		ents = make([]DirentAttr, n)
		for i := range ents {
			ents[i].Dirent = des[i]
			name := des[i].Name
			if checkName(name) != nil {
				continue
			}
			qids, f, err := st.file.Walk([]string{name})
			if err != nil || f == nil || len(qids) != 1 {
				if f != nil {
					f.Close()
				}
				continue
			}
			_, valid, attr, err := f.GetAttr(m.mask)
			f.Close()
			if err == nil {
				ents[i].Valid, ents[i].Attr = valid, attr
			}
		}
	}
	n := fitDirents(len(ents), func(i int) int { return direntAttrLen(&ents[i].Dirent) },
		func(i int) string { return ents[i].Dirent.Name }, count)
	if n == 0 && len(ents) > 0 {
		return lerror(unix.EINVAL)
	}
	return &rreaddirattr{entries: ents[:n]}
}

// mkdir implements Tmkdir.
func (c *conn) mkdir(m *tmkdir) message {
	if err := checkName(m.name); err != nil {
		return lerror(err)
	}
	r, st, err := c.dirFid(m.dfid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	qid, err := st.file.Mkdir(m.name, m.mode, r.uid, m.gid)
	if err != nil {
		return lerror(err)
	}
	return &qidMsg{t: MsgRmkdir, qid: qid}
}

// symlink implements Tsymlink.
func (c *conn) symlink(m *tsymlink) message {
	if err := checkName(m.name); err != nil {
		return lerror(err)
	}
	if len(m.target) > MaxPathLen {
		return lerror(unix.ENAMETOOLONG)
	}
	if m.target == "" || strings.IndexByte(m.target, 0) >= 0 {
		return lerror(unix.EINVAL)
	}
	r, st, err := c.dirFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	qid, err := st.file.Symlink(m.target, m.name, r.uid, m.gid)
	if err != nil {
		return lerror(err)
	}
	return &qidMsg{t: MsgRsymlink, qid: qid}
}

// mknod implements Tmknod.
func (c *conn) mknod(m *tmknod) message {
	if err := checkName(m.name); err != nil {
		return lerror(err)
	}
	r, st, err := c.dirFid(m.dfid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	qid, err := st.file.Mknod(m.name, m.mode, m.major, m.minor, r.uid, m.gid)
	if err != nil {
		return lerror(err)
	}
	return &qidMsg{t: MsgRmknod, qid: qid}
}

// link implements Tlink.
func (c *conn) link(m *tlink) message {
	if err := checkName(m.name); err != nil {
		return lerror(err)
	}
	dr, dst, err := c.dirFid(m.dfid)
	if err != nil {
		return lerror(err)
	}
	defer dr.decRef()
	tr, tst, err := c.fileFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer tr.decRef()
	if err := dst.file.Link(tst.file, m.name); err != nil {
		return lerror(err)
	}
	return ok(MsgRlink)
}

// rename implements Trename.
func (c *conn) rename(m *trename) message {
	if err := checkName(m.name); err != nil {
		return lerror(err)
	}
	r, st, err := c.fileFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	dr, dst, err := c.dirFid(m.dfid)
	if err != nil {
		return lerror(err)
	}
	defer dr.decRef()
	if err := st.file.Rename(dst.file, m.name); err != nil {
		return lerror(err)
	}
	return ok(MsgRrename)
}

// renameat implements Trenameat.
func (c *conn) renameat(m *trenameat) message {
	if err := checkName(m.oldname); err != nil {
		return lerror(err)
	}
	if err := checkName(m.newname); err != nil {
		return lerror(err)
	}
	or, ost, err := c.dirFid(m.olddir)
	if err != nil {
		return lerror(err)
	}
	defer or.decRef()
	nr, nst, err := c.dirFid(m.newdir)
	if err != nil {
		return lerror(err)
	}
	defer nr.decRef()
	if err := ost.file.RenameAt(m.oldname, nst.file, m.newname); err != nil {
		return lerror(err)
	}
	return ok(MsgRrenameat)
}

// unlinkat implements Tunlinkat.
func (c *conn) unlinkat(m *tunlinkat) message {
	if err := checkName(m.name); err != nil {
		return lerror(err)
	}
	if m.flags&^UnlinkRemoveDir != 0 {
		return lerror(unix.EINVAL)
	}
	r, st, err := c.dirFid(m.dir)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	if err := st.file.UnlinkAt(m.name, m.flags); err != nil {
		return lerror(err)
	}
	return ok(MsgRunlinkat)
}

// fsync implements Tfsync.
func (c *conn) fsync(m *tfsync) message {
	r, st, err := c.openFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	if err := st.file.FSync(m.datasync != 0); err != nil {
		return lerror(err)
	}
	return ok(MsgRfsync)
}

// lock implements Tlock.
func (c *conn) lock(m *tlock) message {
	if m.lock.Type > LockTypeUnlock || m.flags&^(LockFlagsBlock|LockFlagsReclaim) != 0 {
		return lerror(unix.EINVAL)
	}
	r, st, err := c.openFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	status, err := st.file.Lock(m.lock, m.flags)
	if err != nil {
		return lerror(err)
	}
	return &rlock{status: status}
}

// getlock implements Tgetlock.
func (c *conn) getlock(m *tgetlock) message {
	if m.lock.Type > LockTypeUnlock {
		return lerror(unix.EINVAL)
	}
	r, st, err := c.openFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	l, err := st.file.GetLock(m.lock)
	if err != nil {
		return lerror(err)
	}
	if len(l.ClientID) > MaxNameLen {
		l.ClientID = l.ClientID[:MaxNameLen]
	}
	return &rgetlock{lock: l}
}

// reserveXattr takes n bytes of the connection's xattr budget.
func (c *conn) reserveXattr(n int64) bool {
	if c.xattrBytes.Add(n) > maxXattrBytesPerConn {
		c.xattrBytes.Add(-n)
		return false
	}
	return true
}

// checkXattrName validates an extended attribute name.
func checkXattrName(name string) error {
	if len(name) > MaxXattrNameLen {
		return unix.ERANGE
	}
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return unix.EINVAL
	}
	return nil
}

// xattrwalk implements Txattrwalk: newfid holds the value of name (or, for
// an empty name, the NUL-separated list of names) for Tread.
func (c *conn) xattrwalk(m *txattrwalk) message {
	if m.name != "" {
		if err := checkXattrName(m.name); err != nil {
			return lerror(err)
		}
	}
	r, st, err := c.fileFid(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	if err := c.fidFree(m.newfid); err != nil {
		return lerror(err)
	}
	var data []byte
	if m.name == "" {
		names, err := st.file.ListXattr(MaxXattrSize)
		if err != nil {
			return lerror(err)
		}
		for _, n := range names {
			if checkXattrName(n) != nil {
				continue
			}
			data = append(data, n...)
			data = append(data, 0)
			if len(data) > MaxXattrSize {
				return lerror(unix.E2BIG)
			}
		}
	} else {
		data, err = st.file.GetXattr(m.name, MaxXattrSize)
		if err != nil {
			return lerror(err)
		}
		if len(data) > MaxXattrSize {
			return lerror(unix.E2BIG)
		}
	}
	if !c.reserveXattr(int64(len(data))) {
		return lerror(unix.ENOMEM)
	}
	nr := newFidRef(nil, false, r.uid)
	nr.kind = fidXattrRead
	nr.xattrData = data
	nr.xattrHeld, nr.xattrBudget = int64(len(data)), &c.xattrBytes
	if err := c.insert(m.newfid, nr); err != nil {
		nr.decRef()
		return lerror(err)
	}
	return &rxattrwalk{size: uint64(len(data))}
}

// xattrcreate implements Txattrcreate: fid becomes an xattr fid that
// collects exactly size bytes from Twrite; Tclunk applies it.
func (c *conn) xattrcreate(m *txattrcreate) message {
	if err := checkXattrName(m.name); err != nil {
		return lerror(err)
	}
	if m.size > MaxXattrSize {
		return lerror(unix.E2BIG)
	}
	if m.flags&^(XattrCreate|XattrReplace) != 0 {
		return lerror(unix.EINVAL)
	}
	r, err := c.lookup(m.fid)
	if err != nil {
		return lerror(err)
	}
	defer r.decRef()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kind != fidFile || r.file == nil || r.opened || r.opening {
		return lerror(unix.EINVAL)
	}
	if !c.reserveXattr(int64(m.size)) {
		return lerror(unix.ENOMEM)
	}
	r.xattrHeld, r.xattrBudget = int64(m.size), &c.xattrBytes
	r.kind = fidXattrWrite
	r.xattrName = m.name
	r.xattrSize = m.size
	r.xattrFlags = m.flags
	return ok(MsgRxattrcreate)
}
