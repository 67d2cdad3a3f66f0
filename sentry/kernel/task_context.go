package kernel

import (
	"context"
	"time"

	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

// taskContext is the context.Context of operations made on a task's
// behalf. Done is the task's current interrupt channel, so a blocking
// filesystem operation gives up when a signal must interrupt the task
// (and returns ERESTARTSYS); Value(taskKey{}) is the task, so that
// filesystems like /proc can tell who is asking.
type taskContext struct {
	t    *Task
	done <-chan struct{}
}

type taskKey struct{}

func (c taskContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c taskContext) Done() <-chan struct{}       { return c.done }

func (c taskContext) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

func (c taskContext) Value(key any) any {
	if _, ok := key.(taskKey); ok {
		return c.t
	}
	return nil
}

// Ctx returns the context for operations made on the task's behalf: it
// carries the task (TaskFromContext) and is done when the task must stop
// blocking.
func (t *Task) Ctx() context.Context { return taskContext{t: t, done: t.Interrupted()} }

// TaskFromContext returns the task a context was made for (Task.Ctx), or
// nil.
func TaskFromContext(ctx context.Context) *Task {
	t, _ := ctx.Value(taskKey{}).(*Task)
	return t
}

// SetCredentials replaces the task's credentials (setuid(2) and family).
// c must not be changed afterwards: other goroutines may hold it.
func (t *Task) SetCredentials(c *vfs.Credentials) {
	t.credsMu.Lock()
	t.creds = c
	t.credsMu.Unlock()
}
