package kernel

import (
	"github.com/palisade-sandbox/palisade/abi/linux"
)

// SchedAttr is what a task's scheduling calls set (nice, policy,
// affinity). The host schedules the thread behind the task as it likes;
// the values are kept so the guest reads back what it set, and children
// inherit them as on Linux.
type SchedAttr struct {
	Nice   int32
	Policy int32
	// ResetOnFork is SCHED_RESET_ON_FORK.
	ResetOnFork bool
	// Affinity is the CPU mask; nil means every CPU.
	Affinity []byte
}

// Scheduling policies whose reset on fork matters.
const (
	schedOther = 0
	schedFIFO  = 1
	schedRR    = 2
)

// forChild returns the attributes a child starts with: the parent's,
// except that SCHED_RESET_ON_FORK turns a real-time policy into
// SCHED_OTHER, a negative nice into 0, and is itself cleared.
func (a SchedAttr) forChild() SchedAttr {
	c := a
	c.Affinity = append([]byte(nil), a.Affinity...)
	if len(a.Affinity) == 0 {
		c.Affinity = nil
	}
	if a.ResetOnFork {
		if c.Policy == schedFIFO || c.Policy == schedRR {
			c.Policy = schedOther
		}
		c.Nice = max(c.Nice, 0)
		c.ResetOnFork = false
	}
	return c
}

// SchedAttr returns the task's scheduling attributes.
func (t *Task) SchedAttr() SchedAttr {
	t.schedMu.Lock()
	defer t.schedMu.Unlock()
	return t.sched
}

// UpdateSchedAttr changes the task's scheduling attributes with f, which
// returns 0 to keep the change or an errno to drop it; f must not block.
func (t *Task) UpdateSchedAttr(f func(*SchedAttr) linux.Errno) linux.Errno {
	t.schedMu.Lock()
	defer t.schedMu.Unlock()
	s := t.sched
	if errno := f(&s); errno != 0 {
		return errno
	}
	t.sched = s
	return 0
}
