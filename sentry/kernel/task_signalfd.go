package kernel

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/waiter"
)

// Signal files (signalfd) read a task's pending signals instead of having
// them delivered; these are the kernel's side of them.

// DequeueSignalIn takes the first pending signal in set for the task (its
// own queue first, then its process's), as a signalfd read does.
func (t *Task) DequeueSignalIn(set linux.SignalSet) (linux.SignalInfo, bool) {
	set &^= unblockable
	k := t.k
	for {
		k.mu.Lock()
		var info linux.SignalInfo
		if sig := t.pending.pick(^set); sig != 0 {
			info = t.pending.take(sig)
		} else if sig := t.tg.pending.pick(^set); sig != 0 {
			info = t.tg.pending.take(sig)
		} else {
			k.mu.Unlock()
			return linux.SignalInfo{}, false
		}
		k.mu.Unlock()
		if info.Code != linux.SI_TIMER || t.tg.timers.TimerSignalDequeued(&info) {
			return info, true
		}
	}
}

// HasPendingIn reports whether a signal in set is pending for the task.
func (t *Task) HasPendingIn(set linux.SignalSet) bool {
	set &^= unblockable
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return (t.pending.set|t.tg.pending.set)&set != 0
}

// SignalQueue is notified (EventIn) whenever a signal is queued for the
// process or one of its threads, which is when a signalfd may become
// readable.
func (tg *ThreadGroup) SignalQueue() *waiter.Queue { return &tg.signalQueue }
