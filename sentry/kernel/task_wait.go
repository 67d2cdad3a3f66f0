package kernel

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// Wait options (include/uapi/linux/wait.h).
const (
	WNOHANG    = 0x00000001
	WUNTRACED  = 0x00000002
	WSTOPPED   = WUNTRACED
	WEXITED    = 0x00000004
	WCONTINUED = 0x00000008
	WNOWAIT    = 0x01000000
	WNOTHREAD  = 0x20000000
	WALL       = 0x40000000
	WCLONE     = 0x80000000
)

// WaitOptions select what wait4(2) and waitid(2) wait for.
type WaitOptions struct {
	// PID > 0 waits for that child; PGID > 0 for any child in that
	// process group; neither for any child.
	PID, PGID int32
	// Events is a mask of WEXITED, WSTOPPED and WCONTINUED.
	Events int
	// NoHang returns at once when no child is ready (WNOHANG).
	NoHang bool
	// NoWait leaves the child waitable (WNOWAIT).
	NoWait bool
	// Clone selects children whose exit signal is not SIGCHLD (__WCLONE);
	// All selects every child (__WALL).
	Clone, All bool
}

// WaitResult describes the child wait found.
type WaitResult struct {
	PID int32
	UID uint32
	// Code is CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED or
	// CLD_CONTINUED; Status the exit code or signal number.
	Code   int32
	Status int32
	// WaitStatus is the status word wait4 stores.
	WaitStatus uint32
	// UserNanos and SysNanos are the child's CPU time (with its reaped
	// children's), for rusage.
	UserNanos, SysNanos int64
}

// Wait implements the common part of wait4(2) and waitid(2). It returns
// ECHILD when no child matches, a zero result with no error when NoHang
// finds none ready, and ERESTARTSYS when a signal interrupts it.
func (t *Task) Wait(opts WaitOptions) (WaitResult, linux.Errno) {
	k := t.k
	for {
		k.mu.Lock()
		res, found, any := t.waitOnceLocked(&opts)
		ch := t.tg.childEvent
		k.mu.Unlock()
		if found {
			return res, 0
		}
		if !any {
			return WaitResult{}, unix.ECHILD
		}
		if opts.NoHang {
			return WaitResult{}, 0
		}
		select {
		case <-ch:
		case <-t.Interrupted():
			return WaitResult{}, linux.ERESTARTSYS
		}
	}
}

// matches reports whether child c is selected by opts.
func (o *WaitOptions) matches(c *ThreadGroup) bool {
	if o.PID > 0 && c.pid != o.PID {
		return false
	}
	if o.PGID > 0 && c.pgid != o.PGID {
		return false
	}
	if o.All {
		return true
	}
	// __WCLONE selects "clone" children, whose exit signal is not
	// SIGCHLD; without it only the others.
	return (c.exitSignal != linux.SIGCHLD) == o.Clone
}

// waitOnceLocked looks for a ready child. any reports whether some child
// matches at all.
func (t *Task) waitOnceLocked(o *WaitOptions) (res WaitResult, found, any bool) {
	for c := range t.tg.children {
		if !o.matches(c) {
			continue
		}
		any = true
		switch {
		case c.zombie && !c.reaped && o.Events&WEXITED != 0:
			res = c.exitResultLocked()
			if !o.NoWait {
				t.k.reapLocked(c)
			}
			return res, true, true
		case c.stopped && c.stopReport && o.Events&WSTOPPED != 0:
			res = WaitResult{PID: c.pid, UID: c.realUIDLocked(), Code: linux.CLD_STOPPED,
				Status: int32(c.stopSignal), WaitStatus: uint32(c.stopSignal)<<8 | 0x7f}
			if !o.NoWait {
				c.stopReport = false
			}
			return res, true, true
		case c.contReport && o.Events&WCONTINUED != 0:
			res = WaitResult{PID: c.pid, UID: c.realUIDLocked(), Code: linux.CLD_CONTINUED,
				Status: int32(linux.SIGCONT), WaitStatus: 0xffff}
			if !o.NoWait {
				c.contReport = false
			}
			return res, true, true
		}
	}
	return WaitResult{}, false, any
}

// exitResultLocked describes a zombie.
func (c *ThreadGroup) exitResultLocked() WaitResult {
	res := WaitResult{PID: c.pid, WaitStatus: c.status.WaitStatus()}
	res.UID = c.realUIDLocked()
	if c.status.Signaled() {
		res.Code, res.Status = linux.CLD_KILLED, int32(c.status.Signal)
		if c.status.CoreDumped {
			res.Code = linux.CLD_DUMPED
		}
	} else {
		res.Code, res.Status = linux.CLD_EXITED, int32(c.status.Code&0xff)
	}
	u, s := c.cpuTimesLocked()
	res.UserNanos, res.SysNanos = u+c.childUser, s+c.childSys
	return res
}
