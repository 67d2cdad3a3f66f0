package kernel

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// Sessions and process groups are IDs on each thread group (pgid, sid),
// checked against each other under the kernel's mu with Linux's rules.

// lookupGroupLocked returns the process pid names from t's view (0: t's
// own).
func (t *Task) lookupGroupLocked(pid int32) *ThreadGroup {
	if pid == 0 {
		return t.tg
	}
	tg := t.k.threadGroups[pid]
	if tg == nil || tg.reaped {
		return nil
	}
	return tg
}

// groupIDs returns the process group and session of process pid (0: the
// caller's), ESRCH if there is none.
func (t *Task) groupIDs(pid int32) (pgid, sid int32, errno linux.Errno) {
	if pid < 0 {
		return 0, 0, unix.ESRCH
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	tg := t.lookupGroupLocked(pid)
	if tg == nil {
		return 0, 0, unix.ESRCH
	}
	return tg.pgid, tg.sid, 0
}

// GetProcessGroupID implements getpgid(2).
func (t *Task) GetProcessGroupID(pid int32) (int32, linux.Errno) {
	pgid, _, errno := t.groupIDs(pid)
	return pgid, errno
}

// GetSessionID implements getsid(2).
func (t *Task) GetSessionID(pid int32) (int32, linux.Errno) {
	_, sid, errno := t.groupIDs(pid)
	return sid, errno
}

// SetProcessGroupID implements setpgid(2).
func (t *Task) SetProcessGroupID(pid, pgid int32) linux.Errno {
	if pgid < 0 {
		return unix.EINVAL
	}
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	target := t.tg
	if pid != 0 && pid != t.tg.pid {
		target = k.threadGroups[pid]
		if target == nil || target.reaped || target.parent != t.tg {
			return unix.ESRCH
		}
		if target.didExec {
			return unix.EACCES
		}
	}
	if pgid == 0 {
		pgid = target.pid
	}
	if target.sid == target.pid {
		// A session leader cannot move.
		return unix.EPERM
	}
	if target.sid != t.tg.sid {
		return unix.EPERM
	}
	if pgid != target.pid {
		found := false
		for _, tg := range k.threadGroups {
			if tg.pgid == pgid && tg.sid == t.tg.sid && !tg.zombie {
				found = true
				break
			}
		}
		if !found {
			return unix.EPERM
		}
	}
	target.pgid = pgid
	return 0
}

// SetSessionID implements setsid(2): a process that leads no process
// group becomes the leader of a new session and process group.
func (t *Task) SetSessionID() (int32, linux.Errno) {
	k := t.k
	k.mu.Lock()
	defer k.mu.Unlock()
	pid := t.tg.pid
	for _, tg := range k.threadGroups {
		if tg.pgid == pid {
			return 0, unix.EPERM
		}
	}
	t.tg.pgid, t.tg.sid = pid, pid
	return pid, 0
}

// mayKillLocked reports whether t may send sig to tg: with CAP_KILL, or
// when its real or effective UID is the target's real or saved UID, or for
// SIGCONT within one session.
func (t *Task) mayKillLocked(tg *ThreadGroup, sig linux.Signal) bool {
	c := t.Credentials()
	if c.HasCapability(unix.CAP_KILL) || tg == t.tg {
		return true
	}
	if sig == linux.SIGCONT && tg.sid == t.tg.sid {
		return true
	}
	// The target's credentials are its leader's (any live task's).
	if len(tg.tasks) == 0 {
		return true
	}
	tc := tg.tasks[0].Credentials()
	return c.EffectiveUID == tc.RealUID || c.EffectiveUID == tc.SavedUID ||
		c.RealUID == tc.RealUID || c.RealUID == tc.SavedUID
}

// Kill implements kill(2) with info as the signal to send.
func (t *Task) Kill(pid int32, info *linux.SignalInfo) linux.Errno {
	k := t.k
	sig := linux.Signal(info.Signo)
	if sig != 0 && !sig.Valid() {
		return unix.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var targets []*ThreadGroup
	switch {
	case pid > 0:
		tg := k.threadGroups[pid]
		if tg == nil || tg.reaped {
			return unix.ESRCH
		}
		targets = append(targets, tg)
	case pid == -1:
		for _, tg := range k.threadGroups {
			if tg.isInit() || tg == t.tg || tg.reaped {
				continue
			}
			targets = append(targets, tg)
		}
	default:
		pgid := -pid
		if pid == 0 {
			pgid = t.tg.pgid
		}
		for _, tg := range k.threadGroups {
			if tg.pgid == pgid && !tg.reaped {
				targets = append(targets, tg)
			}
		}
	}
	if len(targets) == 0 {
		return unix.ESRCH
	}
	sent := false
	var lastErr linux.Errno = unix.EPERM
	for _, tg := range targets {
		if !t.mayKillLocked(tg, sig) {
			continue
		}
		if err := k.sendSignalLocked(info, tg, nil); err != nil {
			lastErr = errnoOfErr(err)
			continue
		}
		sent = true
	}
	if !sent {
		return lastErr
	}
	return 0
}

// Tgkill implements tgkill(2) (and tkill(2) with tgid 0).
func (t *Task) Tgkill(tgid, tid int32, info *linux.SignalInfo) linux.Errno {
	k := t.k
	sig := linux.Signal(info.Signo)
	if tid <= 0 || tgid < 0 || (sig != 0 && !sig.Valid()) {
		return unix.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	target := k.tasks[tid]
	if target == nil || target.tg.zombie || (tgid != 0 && target.tg.pid != tgid) {
		return unix.ESRCH
	}
	if !t.mayKillLocked(target.tg, sig) {
		return unix.EPERM
	}
	if err := k.sendSignalLocked(info, target.tg, target); err != nil {
		return errnoOfErr(err)
	}
	return 0
}

// errnoOfErr returns err's errno (EINVAL if it has none).
func errnoOfErr(err error) linux.Errno {
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.EINVAL
}

// NewSignalInfo returns the siginfo kill(2)-like calls from t send.
func (t *Task) NewSignalInfo(sig linux.Signal, code int32) *linux.SignalInfo {
	return signalInfoFrom(sig, code, t)
}
