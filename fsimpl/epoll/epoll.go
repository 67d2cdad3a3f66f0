// Package epoll implements epoll(7) instances. An EventPoll keeps an
// interest list of (file description, fd number) items, as Linux does:
// an item stays while the description lives, even if the fd used to add
// it is closed. The epoll holds no reference on the description, so it
// never keeps a pipe end or a host fd open; an item whose description was
// released is dropped lazily, when it comes up on the ready list or in a
// sweep of the whole list that Add runs each time the list doubles.
//
// Each item registers a function entry on its file's waiter.Queue; when
// the file notifies an event the item is put on the ready list and the
// instance's own queue is notified, which wakes epoll_wait callers and
// the poll, select or outer epoll instances watching this one (nesting).
// Collecting events takes the ready list, asks each item's file for its
// current readiness and reports those with events: level-triggered items
// go back on the list (so they are reported again while they stay
// ready), EPOLLET items wait for the next notification, and EPOLLONESHOT
// items are disabled until EPOLL_CTL_MOD re-arms them. EPOLLEXCLUSIVE is
// checked as Linux does but every waiter is woken, and EPOLLWAKEUP is
// ignored.
//
// Locking: ctlMu serializes changes to the interest list and is held
// while entries are registered on files; readyMu guards the ready list and
// the items' event masks and flags, and is taken by the entries'
// callbacks, which run under the files' queue locks. readyMu is never held
// while calling into a file (Readiness, EventRegister, DecRef), so the
// files' own locks never nest inside it. Adding an epoll instance to
// another one holds the package's nestMu, which guards the graph of
// epoll-in-epoll links used to refuse loops and deep nesting (ELOOP).
package epoll

import (
	"context"
	"github.com/palisade-sandbox/palisade/fsimpl/anon"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// epoll_ctl operations and event flags (include/uapi/linux/eventpoll.h).
const (
	EPOLL_CTL_ADD = 1
	EPOLL_CTL_DEL = 2
	EPOLL_CTL_MOD = 3

	EPOLLEXCLUSIVE waiter.EventMask = 1 << 28
	EPOLLWAKEUP    waiter.EventMask = 1 << 29
	EPOLLONESHOT   waiter.EventMask = 1 << 30
	EPOLLET        waiter.EventMask = 1 << 31

	// EPOLL_CLOEXEC is epoll_create1's only flag.
	EPOLL_CLOEXEC = linux.O_CLOEXEC

	// maxNests is EP_MAX_NESTS, the deepest chain of nested instances.
	maxNests = 4

	// exclusiveOK are the bits EPOLLEXCLUSIVE may be combined with.
	exclusiveOK = waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp |
		EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
)

// Event is one event reported by epoll_wait: the ready events and the
// item's user data.
type Event struct {
	Events waiter.EventMask
	Data   uint64
}

// key identifies an item: the description and the fd it was added with.
type key struct {
	file *vfs.FileDescription
	fd   int32
}

// item is one entry of the interest list.
type item struct {
	ep    *EventPoll
	key   key
	w     waiter.Waitable
	entry *waiter.Entry
	// child is the target when it is itself an epoll instance.
	child *EventPoll

	// The fields below are guarded by ep.readyMu.
	events   waiter.EventMask
	data     uint64
	onReady  bool
	disabled bool
	removed  bool
}

// interest returns the readiness events an item with events asks for.
func interest(events waiter.EventMask) waiter.EventMask {
	return events&waiter.AllEvents | waiter.AlwaysReported
}

// EventPoll is an epoll instance: the implementation of its file
// description.
type EventPoll struct {
	vfs.FileDescriptionDefaultImpl
	queue waiter.Queue

	// ctlMu serializes interest-list changes and guards items.
	ctlMu sync.Mutex
	items map[key]*item

	// readyMu guards ready and the per-item fields documented there.
	readyMu sync.Mutex
	ready   []*item

	// parents counts, per instance, the items of that instance that
	// refer to this one; guarded by nestMu.
	parents map[*EventPoll]int

	// sweepAt is the interest-list size at which Add next looks for
	// items whose descriptions were released; guarded by ctlMu.
	sweepAt int
}

// minSweep is the smallest interest list that is swept.
const minSweep = 64

// nestMu guards every instance's parents and keeps the epoll-in-epoll
// graph still while a new link is checked.
var nestMu sync.Mutex

// New implements epoll_create1(2): flags may hold EPOLL_CLOEXEC (which
// belongs to the caller's fd table and is ignored here), nothing else.
func New(v *vfs.VirtualFilesystem, creds *vfs.Credentials, flags uint32) (*vfs.FileDescription, error) {
	if flags&^uint32(EPOLL_CLOEXEC) != 0 {
		return nil, unix.EINVAL
	}
	vd := anon.NewVD(v, creds, "[eventpoll]")
	defer vd.DecRef()
	ep := &EventPoll{items: make(map[key]*item)}
	return vfs.NewFileDescription(ep, linux.O_RDWR, vd, vfs.FileDescriptionOptions{Stream: true}), nil
}

// FromFile returns the instance a description implements, or nil.
func FromFile(f *vfs.FileDescription) *EventPoll {
	ep, _ := f.Impl().(*EventPoll)
	return ep
}

// Release implements vfs.FileDescriptionImpl.Release: every item is
// unregistered from its file.
func (ep *EventPoll) Release(context.Context) {
	nestMu.Lock()
	ep.ctlMu.Lock()
	items := ep.items
	ep.items = make(map[key]*item)
	for _, it := range items {
		if it.child != nil {
			it.child.dropParentLocked(ep)
		}
	}
	ep.ctlMu.Unlock()
	nestMu.Unlock()
	for _, it := range items {
		it.w.EventUnregister(it.entry)
	}
	ep.readyMu.Lock()
	for _, it := range items {
		it.removed = true
	}
	ep.ready = nil
	ep.readyMu.Unlock()
}

func (ep *EventPoll) dropParentLocked(parent *EventPoll) {
	if ep.parents[parent]--; ep.parents[parent] <= 0 {
		delete(ep.parents, parent)
	}
}

// callback is an item's entry function: it queues the item and wakes the
// instance's waiters.
func (it *item) callback(waiter.EventMask) {
	ep := it.ep
	ep.readyMu.Lock()
	if it.removed || it.disabled || it.onReady {
		ep.readyMu.Unlock()
		return
	}
	it.onReady = true
	ep.ready = append(ep.ready, it)
	ep.readyMu.Unlock()
	ep.queue.Notify(waiter.ReadableEvents)
}

// pollItem returns the item's file's current readiness for events, and
// false if the description has been released.
func pollItem(it *item, events waiter.EventMask) (waiter.EventMask, bool) {
	f := it.key.file
	if !f.TryIncRef() {
		return 0, false
	}
	m := interest(events)
	r := it.w.Readiness(m) & m
	f.DecRef(context.Background())
	return r, true
}

// enqueue puts it on the ready list and wakes waiters, unless it is
// already there or gone. readyMu must not be held.
func (ep *EventPoll) enqueue(it *item) {
	ep.readyMu.Lock()
	if it.removed || it.disabled || it.onReady {
		ep.readyMu.Unlock()
		return
	}
	it.onReady = true
	ep.ready = append(ep.ready, it)
	ep.readyMu.Unlock()
	ep.queue.Notify(waiter.ReadableEvents)
}

// checkExclusive applies epoll_ctl's EPOLLEXCLUSIVE rules.
func checkExclusive(events waiter.EventMask, target *EventPoll) error {
	if events&EPOLLEXCLUSIVE == 0 {
		return nil
	}
	if events&^exclusiveOK != 0 || target != nil {
		return unix.EINVAL
	}
	return nil
}

// Add implements EPOLL_CTL_ADD of file (open at fd) with events and the
// user's data. A file that is not waiter.Waitable (a regular file, a
// directory) cannot be watched: EPERM, as Linux. Adding the instance to
// itself is EINVAL; a loop of instances or a chain deeper than
// EP_MAX_NESTS is ELOOP.
func (ep *EventPoll) Add(file *vfs.FileDescription, fd int32, events waiter.EventMask, data uint64) error {
	w, ok := file.Impl().(waiter.Waitable)
	if !ok {
		return unix.EPERM
	}
	child, _ := w.(*EventPoll)
	if child == ep {
		return unix.EINVAL
	}
	if err := checkExclusive(events, child); err != nil {
		return err
	}
	events |= waiter.AlwaysReported
	if child != nil {
		// nestMu stays held until the link is in place, so that no
		// other link can make a loop meanwhile.
		nestMu.Lock()
		d := child.depthBelow(ep, 0, make(map[*EventPoll]int))
		if d < 0 || d+1+ep.depthAbove(0, make(map[*EventPoll]int)) > maxNests {
			nestMu.Unlock()
			return unix.ELOOP
		}
	}
	ep.ctlMu.Lock()
	k := key{file, fd}
	if _, ok := ep.items[k]; ok {
		ep.ctlMu.Unlock()
		if child != nil {
			nestMu.Unlock()
		}
		return unix.EEXIST
	}
	it := &item{ep: ep, key: k, w: w, child: child, events: events, data: data}
	it.entry = waiter.NewFunctionEntry(interest(events), it.callback)
	ep.items[k] = it
	if child != nil {
		if child.parents == nil {
			child.parents = make(map[*EventPoll]int)
		}
		child.parents[ep]++
	}
	w.EventRegister(it.entry)
	var sweep []*item
	if len(ep.items) >= max(ep.sweepAt, minSweep) {
		sweep = make([]*item, 0, len(ep.items))
		for _, x := range ep.items {
			sweep = append(sweep, x)
		}
	}
	ep.ctlMu.Unlock()
	if child != nil {
		nestMu.Unlock()
	}
	if sweep != nil {
		ep.sweep(sweep)
	}
	if r, ok := pollItem(it, events); ok && r != 0 {
		ep.enqueue(it)
	}
	return nil
}

// depthBelow returns how deep the chain of instances under ep goes (0 if
// it watches none), or -1 if target is among them (a loop) or the chain
// is too deep to matter. memo holds the instances already measured, so
// that each is visited once however many paths lead to it. nestMu must be
// held.
func (ep *EventPoll) depthBelow(target *EventPoll, level int, memo map[*EventPoll]int) int {
	if d, ok := memo[ep]; ok {
		return d
	}
	if level > maxNests {
		return -1
	}
	ep.ctlMu.Lock()
	var children []*EventPoll
	for _, it := range ep.items {
		if it.child != nil {
			children = append(children, it.child)
		}
	}
	ep.ctlMu.Unlock()
	d := 0
	for _, c := range children {
		if c == target {
			return -1
		}
		cd := c.depthBelow(target, level+1, memo)
		if cd < 0 {
			memo[ep] = -1
			return -1
		}
		d = max(d, cd+1)
	}
	memo[ep] = d
	return d
}

// depthAbove returns how deep ep is nested in other instances (memo as
// for depthBelow). nestMu must be held.
func (ep *EventPoll) depthAbove(level int, memo map[*EventPoll]int) int {
	if d, ok := memo[ep]; ok {
		return d
	}
	if level > maxNests {
		return level
	}
	d := 0
	for p := range ep.parents {
		d = max(d, p.depthAbove(level+1, memo)+1)
	}
	memo[ep] = d
	return d
}

// Modify implements EPOLL_CTL_MOD: new events and data for the item of
// (file, fd), re-arming an EPOLLONESHOT item. EPOLLEXCLUSIVE items cannot
// be modified, nor can EPOLLEXCLUSIVE be set (EINVAL).
func (ep *EventPoll) Modify(file *vfs.FileDescription, fd int32, events waiter.EventMask, data uint64) error {
	if _, ok := file.Impl().(waiter.Waitable); !ok {
		return unix.EPERM
	}
	if FromFile(file) == ep {
		return unix.EINVAL
	}
	if events&EPOLLEXCLUSIVE != 0 {
		return unix.EINVAL
	}
	ep.ctlMu.Lock()
	it, ok := ep.items[key{file, fd}]
	if !ok {
		ep.ctlMu.Unlock()
		return unix.ENOENT
	}
	ep.readyMu.Lock()
	if it.events&EPOLLEXCLUSIVE != 0 {
		ep.readyMu.Unlock()
		ep.ctlMu.Unlock()
		return unix.EINVAL
	}
	events |= waiter.AlwaysReported
	it.events = events
	it.data = data
	it.disabled = false
	it.entry.SetMask(interest(events))
	ep.readyMu.Unlock()
	ep.ctlMu.Unlock()
	if r, ok := pollItem(it, events); ok && r != 0 {
		ep.enqueue(it)
	}
	return nil
}

// Delete implements EPOLL_CTL_DEL of the item of (file, fd).
func (ep *EventPoll) Delete(file *vfs.FileDescription, fd int32) error {
	if _, ok := file.Impl().(waiter.Waitable); !ok {
		return unix.EPERM
	}
	if FromFile(file) == ep {
		return unix.EINVAL
	}
	nestMu.Lock()
	ep.ctlMu.Lock()
	k := key{file, fd}
	it, ok := ep.items[k]
	if ok {
		delete(ep.items, k)
		if it.child != nil {
			it.child.dropParentLocked(ep)
		}
	}
	ep.ctlMu.Unlock()
	nestMu.Unlock()
	if !ok {
		return unix.ENOENT
	}
	ep.remove(it)
	return nil
}

// remove unregisters a deleted item and drops it from the ready list.
func (ep *EventPoll) remove(it *item) {
	it.w.EventUnregister(it.entry)
	ep.readyMu.Lock()
	it.removed = true
	if it.onReady {
		for i, x := range ep.ready {
			if x == it {
				ep.ready = append(ep.ready[:i], ep.ready[i+1:]...)
				break
			}
		}
		it.onReady = false
	}
	ep.readyMu.Unlock()
}

// sweep drops the items of list whose descriptions were released, and
// sets the next sweep at twice the size left, so that an instance whose
// users close fds without EPOLL_CTL_DEL does not grow without bound
// while each Add costs amortized constant time. (Linux removes an item
// when its file is released; the VFS has no such hook yet.)
func (ep *EventPoll) sweep(list []*item) {
	var stale []*item
	for _, it := range list {
		if !it.key.file.TryIncRef() {
			stale = append(stale, it)
			continue
		}
		it.key.file.DecRef(context.Background())
	}
	if len(stale) > 0 {
		ep.dropStale(stale)
	}
	ep.ctlMu.Lock()
	ep.sweepAt = 2 * len(ep.items)
	ep.ctlMu.Unlock()
}

// dropStale removes items whose descriptions were released.
func (ep *EventPoll) dropStale(stale []*item) {
	nestMu.Lock()
	ep.ctlMu.Lock()
	var gone []*item
	for _, it := range stale {
		if ep.items[it.key] == it {
			delete(ep.items, it.key)
			if it.child != nil {
				it.child.dropParentLocked(ep)
			}
			gone = append(gone, it)
		}
	}
	ep.ctlMu.Unlock()
	nestMu.Unlock()
	for _, it := range gone {
		ep.remove(it)
	}
}

// ReadEvents collects up to max ready events without blocking.
func (ep *EventPoll) ReadEvents(max int) []Event {
	ep.readyMu.Lock()
	batch := ep.ready
	ep.ready = nil
	for _, it := range batch {
		it.onReady = false
	}
	ep.readyMu.Unlock()
	if len(batch) == 0 {
		return nil
	}

	var (
		out      []Event
		requeue  []*item
		leftover []*item
		stale    []*item
	)
	for i, it := range batch {
		if len(out) == max {
			leftover = batch[i:]
			break
		}
		ep.readyMu.Lock()
		skip := it.removed || it.disabled
		events := it.events
		ep.readyMu.Unlock()
		if skip {
			continue
		}
		r, ok := pollItem(it, events)
		if !ok {
			stale = append(stale, it)
			continue
		}
		if r == 0 {
			continue
		}
		ep.readyMu.Lock()
		if it.removed || it.disabled {
			ep.readyMu.Unlock()
			continue
		}
		out = append(out, Event{Events: r, Data: it.data})
		switch {
		case it.events&EPOLLONESHOT != 0:
			it.disabled = true
		case it.events&EPOLLET == 0:
			requeue = append(requeue, it)
		}
		ep.readyMu.Unlock()
	}

	ep.readyMu.Lock()
	var list []*item
	add := func(it *item) {
		if !it.onReady && !it.removed && !it.disabled {
			it.onReady = true
			list = append(list, it)
		}
	}
	for _, it := range leftover {
		add(it)
	}
	cur := ep.ready
	ep.ready = nil
	for _, it := range cur {
		it.onReady = false
		add(it)
	}
	for _, it := range requeue {
		add(it)
	}
	ep.ready = list
	more := len(list) > 0
	ep.readyMu.Unlock()
	if len(stale) > 0 {
		ep.dropStale(stale)
	}
	if more {
		// Other waiters may take what this one left, as Linux wakes
		// them after a scan that leaves the list non-empty.
		ep.queue.Notify(waiter.ReadableEvents)
	}
	return out
}

// Wait implements epoll_wait's wait: it returns up to max events, waiting
// for the first one at most timeout (forever if negative). It returns
// EINTR when ctx's Done channel (the task's interrupt) closes first, and
// no events (no error) on timeout.
func (ep *EventPoll) Wait(ctx context.Context, max int, timeout time.Duration) ([]Event, error) {
	if evs := ep.ReadEvents(max); len(evs) > 0 || timeout == 0 {
		return evs, nil
	}
	e, ch := waiter.NewEntry(waiter.ReadableEvents)
	ep.queue.EventRegister(e)
	defer ep.queue.EventUnregister(e)
	var expired <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		expired = tm.C
	}
	for {
		if evs := ep.ReadEvents(max); len(evs) > 0 {
			return evs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, unix.EINTR
		case <-expired:
			return ep.ReadEvents(max), nil
		}
	}
}

// Readiness implements waiter.Waitable.Readiness: the instance is
// readable when some item on its ready list has events.
func (ep *EventPoll) Readiness(mask waiter.EventMask) waiter.EventMask {
	ep.readyMu.Lock()
	type snap struct {
		it     *item
		events waiter.EventMask
	}
	var list []snap
	for _, it := range ep.ready {
		if !it.removed && !it.disabled {
			list = append(list, snap{it, it.events})
		}
	}
	ep.readyMu.Unlock()
	for _, s := range list {
		if r, ok := pollItem(s.it, s.events); ok && r != 0 {
			return waiter.ReadableEvents & mask
		}
	}
	return 0
}

// EventRegister implements waiter.Waitable.EventRegister.
func (ep *EventPoll) EventRegister(e *waiter.Entry) { ep.queue.EventRegister(e) }

// EventUnregister implements waiter.Waitable.EventUnregister.
func (ep *EventPoll) EventUnregister(e *waiter.Entry) { ep.queue.EventUnregister(e) }

// EventPoll is pollable (and can be nested).
var _ waiter.Waitable = (*EventPoll)(nil)
