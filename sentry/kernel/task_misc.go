package kernel

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// SetRobustList records set_robust_list(2)'s head.
func (t *Task) SetRobustList(head uintptr) { t.robustList = head }

// RobustList returns the robust list head.
func (t *Task) RobustList() uintptr { return t.robustList }

// Executable returns the path of the program the task runs.
func (t *Task) Executable() string {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.exe
}

// SetParentDeathSignal sets prctl(PR_SET_PDEATHSIG).
func (t *Task) SetParentDeathSignal(sig linux.Signal) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.pdeathSignal = sig
}

// ParentDeathSignal returns prctl(PR_GET_PDEATHSIG).
func (t *Task) ParentDeathSignal() linux.Signal {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.pdeathSignal
}

// SetChildSubreaper sets prctl(PR_SET_CHILD_SUBREAPER).
func (t *Task) SetChildSubreaper(on bool) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.subreaper = on
}

// ChildSubreaper returns prctl(PR_GET_CHILD_SUBREAPER).
func (t *Task) ChildSubreaper() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.subreaper
}

// SetNoNewPrivs sets prctl(PR_SET_NO_NEW_PRIVS); it cannot be cleared.
func (t *Task) SetNoNewPrivs() {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.noNewPrivs = true
}

// NoNewPrivs returns prctl(PR_GET_NO_NEW_PRIVS).
func (t *Task) NoNewPrivs() bool {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.noNewPrivs
}

// SetDumpable sets prctl(PR_SET_DUMPABLE).
func (t *Task) SetDumpable(d int32) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	t.tg.dumpable = d
}

// Dumpable returns prctl(PR_GET_DUMPABLE).
func (t *Task) Dumpable() int32 {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.tg.dumpable
}

// SetNoNewPrivsForProcess marks a process created by runsc with
// noNewPrivileges.
func (tg *ThreadGroup) SetNoNewPrivs() {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	tg.noNewPrivs = true
}

// UnshareFiles gives the task a private copy of its fd table
// (unshare(CLONE_FILES)).
func (t *Task) UnshareFiles() {
	if !t.fdTable.Shared() {
		return
	}
	limits := t.tg.limits
	n := t.fdTable.Fork(func() uint64 { return limits.Cur(linux.RLIMIT_NOFILE) })
	t.SetFDTable(n)
}

// SetFDTable replaces the task's fd table (the caller's reference moves
// to the task) and drops the old one.
func (t *Task) SetFDTable(n *vfs.FDTable) {
	t.k.mu.Lock()
	old := t.fdTable
	t.fdTable = n
	t.k.mu.Unlock()
	if old != n {
		old.DecUsers(t.Ctx())
	}
}

// UnshareFS gives the task a private copy of its fs context
// (unshare(CLONE_FS)).
func (t *Task) UnshareFS() {
	if t.fsc.users.Load() <= 1 {
		return
	}
	n := t.fsc.Fork()
	t.k.mu.Lock()
	old := t.fsc
	t.fsc = n
	t.k.mu.Unlock()
	old.decUsers()
}

// addrNoRandomize is personality(2)'s ADDR_NO_RANDOMIZE: exec lays the
// address space out without randomization (setarch -R).
const addrNoRandomize = 0x0040000

// Personality returns personality(2)'s value.
func (t *Task) Personality() uint32 { return t.personality }

// SetPersonality sets personality(2)'s value and returns the old one.
func (t *Task) SetPersonality(p uint32) uint32 {
	old := t.personality
	t.personality = p
	return old
}
