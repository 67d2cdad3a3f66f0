package pipe

import "context"

// interruptKey is the context key of a task's interrupt channel.
type interruptKey struct{}

// WithInterrupt returns a context that carries interrupt, the channel the
// kernel closes when a signal must interrupt the calling task's blocking
// operation. Blocking pipe operations (read, write, FIFO open) give up
// with ERESTARTSYS when it closes, as vfs/lock's blocking calls do with
// their interrupt argument.
func WithInterrupt(ctx context.Context, interrupt <-chan struct{}) context.Context {
	return context.WithValue(ctx, interruptKey{}, interrupt)
}

// Interrupt returns the interrupt channel carried by ctx (WithInterrupt),
// or else ctx.Done(), so that cancelling the context also interrupts.
func Interrupt(ctx context.Context) <-chan struct{} {
	if ch, ok := ctx.Value(interruptKey{}).(<-chan struct{}); ok {
		return ch
	}
	return ctx.Done()
}
