package kernel

import (
	"context"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// Exit
//
// A task exits on its own goroutine (exitTask): it releases its futexes
// (robust list, clear_child_tid wake), its platform context, its address
// space, files and fs context, and leaves its thread group. When the last
// task leaves, the group becomes a zombie: its children are handed to the
// nearest subreaper or to init, its parent gets the exit signal (SIGCHLD)
// and its wait(2) callers wake up; a parent that ignores SIGCHLD (or set
// SA_NOCLDWAIT), or no parent at all, reaps it at once. When init (PID 1)
// exits, every other task of the sandbox is killed, as Linux does when a
// PID namespace's init dies, and init's Done closes only once they are all
// gone, so runsc can return knowing nothing of the sandbox runs.

// robustTarget adds CopyIn to futexTarget for robust-list walks.
type robustTarget struct{ futexTarget }

// CopyIn implements futex.RobustTarget.CopyIn.
func (r robustTarget) CopyIn(addr uintptr, dst []byte) (int, error) { return r.mm.CopyIn(addr, dst) }

// releaseFutexes does the futex work of a thread leaving its address
// space (exit, or exec): robust futexes marked owner-died, PI futexes
// handed on, and the clear_child_tid word zeroed and woken, which is how
// pthread_join learns the thread is gone.
func (t *Task) releaseFutexes() {
	m := t.k.futexes
	if t.robustList != 0 {
		m.HandleRobustList(robustTarget{futexTarget{mm: t.mm}}, t.robustList, t.tid)
		t.robustList = 0
	}
	m.ExitPI(t.tid)
	if t.clearTID != 0 {
		var zero [4]byte
		if _, err := t.mm.CopyOut(t.clearTID, zero[:]); err == nil {
			_, _ = m.Wake(futexTarget{mm: t.mm}, t.clearTID, false, linux.FUTEX_BITSET_MATCH_ANY, 1)
		}
		t.clearTID = 0
	}
}

// exitTask releases the task's resources on its own OS thread.
func (t *Task) exitTask() {
	t.futexExited.Store(true)
	t.releaseFutexes()
	t.ctx.Release()
	if t.vforkDone != nil {
		close(t.vforkDone)
		t.vforkDone = nil
	}

	k := t.k
	k.mu.Lock()
	m, fdTable, fsc := t.mm, t.fdTable, t.fsc
	k.mu.Unlock()
	m.DecUsers()
	fdTable.DecUsers(context.Background())
	fsc.decUsers()

	// References the VFS owns are dropped after k.mu is released: the
	// VFS calls into the kernel (/proc) while holding its own locks.
	var exe vfs.VirtualDentry
	defer func() {
		if exe.Ok() {
			exe.DecRef()
		}
	}()
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := t.tg
	for i, x := range tg.tasks {
		if x == t {
			tg.tasks = append(tg.tasks[:i], tg.tasks[i+1:]...)
			break
		}
	}
	tg.userNanos += t.userNanos.Load()
	tg.sysNanos += t.sysNanos.Load()
	if t != tg.leader {
		delete(k.tasks, t.tid)
	}
	if tg.execing != nil {
		// The exec'ing task waits for the others to be gone.
		tg.notifyChildEventLocked()
	}
	if len(tg.tasks) > 0 {
		return
	}
	if !tg.exiting {
		tg.exiting = true
		tg.status = ExitStatus{Code: t.exitCode}
	}
	exe, tg.exe = tg.exe, vfs.VirtualDentry{}
	tg.timers.Release()
	k.threadGroupExitedLocked(tg)
}

// threadGroupExitedLocked turns tg into a zombie and tells its parent.
func (k *Kernel) threadGroupExitedLocked(tg *ThreadGroup) {
	tg.zombie = true
	if tg.stopped {
		tg.stopped = false
		close(tg.continueCh)
		tg.continueCh = nil
	}
	k.reparentChildrenLocked(tg)
	if tg.isInit() {
		// The sandbox ends with its init.
		for _, other := range k.tasks {
			if other.tg != tg {
				other.kill()
			}
		}
	}
	p := tg.parent
	if p == nil {
		k.reapLocked(tg)
		return
	}
	act := p.handlers.action(linux.SIGCHLD)
	autoReap := tg.exitSignal == linux.SIGCHLD &&
		(act.Handler == linux.SIG_IGN || act.Flags&linux.SA_NOCLDWAIT != 0)
	if tg.exitSignal != 0 && !(autoReap && act.Handler == linux.SIG_IGN) {
		code, status := int32(linux.CLD_EXITED), int32(tg.status.Code&0xff)
		if tg.status.Signaled() {
			code, status = linux.CLD_KILLED, int32(tg.status.Signal)
			if tg.status.CoreDumped {
				code = linux.CLD_DUMPED
			}
		}
		info := &linux.SignalInfo{Signo: int32(tg.exitSignal), Code: code}
		info.SetPID(tg.pid)
		info.SetUID(tg.realUIDLocked())
		info.SetStatus(status)
		user, sys := tg.cpuTimesLocked()
		info.SetUtime(user / 10_000_000)
		info.SetStime(sys / 10_000_000)
		_ = k.sendSignalLocked(info, p, nil)
	}
	p.notifyChildEventLocked()
	if autoReap {
		k.reapLocked(tg)
	}
}

// reparentChildrenLocked hands tg's children to the nearest ancestor that
// is a child subreaper, else to init; their parent-death signals fire.
func (k *Kernel) reparentChildrenLocked(tg *ThreadGroup) {
	if len(tg.children) == 0 {
		return
	}
	var reaper *ThreadGroup
	for a := tg.parent; a != nil; a = a.parent {
		if a.subreaper && !a.zombie {
			reaper = a
			break
		}
	}
	if reaper == nil {
		if init := k.threadGroups[1]; init != nil && init != tg && !init.zombie {
			reaper = init
		}
	}
	for c := range tg.children {
		delete(tg.children, c)
		c.parent = reaper
		if c.pdeathSignal != 0 {
			_ = k.sendSignalLocked(&linux.SignalInfo{Signo: int32(c.pdeathSignal), Code: linux.SI_USER}, c, nil)
		}
		if reaper == nil {
			if c.zombie {
				k.reapLocked(c)
			}
			continue
		}
		reaper.children[c] = struct{}{}
		if c.zombie {
			reaper.notifyChildEventLocked()
			act := reaper.handlers.action(linux.SIGCHLD)
			if act.Handler == linux.SIG_IGN || act.Flags&linux.SA_NOCLDWAIT != 0 {
				k.reapLocked(c)
			}
		}
	}
}

// reapLocked removes a zombie for good: its PID is free again and its
// CPU time is added to its parent's children's time.
func (k *Kernel) reapLocked(tg *ThreadGroup) {
	if tg.reaped {
		return
	}
	tg.reaped = true
	if p := tg.parent; p != nil {
		delete(p.children, tg)
		u, s := tg.cpuTimesLocked()
		p.childUser += u + tg.childUser
		p.childSys += s + tg.childSys
	}
	if k.threadGroups[tg.pid] == tg {
		delete(k.threadGroups, tg.pid)
	}
	if k.tasks[tg.pid] != nil && k.tasks[tg.pid].tg == tg {
		delete(k.tasks, tg.pid)
	}
	if tg.isInit() {
		// init's Done waits for the rest of the sandbox.
		k.initReaped = tg
		k.maybeFinishInitLocked()
		return
	}
	close(tg.done)
	k.maybeFinishInitLocked()
}

// maybeFinishInitLocked closes a reaped init's Done once no task is left.
func (k *Kernel) maybeFinishInitLocked() {
	if k.initReaped == nil || len(k.tasks) != 0 {
		return
	}
	tg := k.initReaped
	k.initReaped = nil
	close(tg.done)
}
