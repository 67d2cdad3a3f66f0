package boot

import (
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

// forwardedSignals are the signals that would end runsc: while a sandbox
// runs they go to its first process instead (kernel.SendHostSignal: a
// handler it installed runs, otherwise the default action ends it, PID 1
// or not), and runsc exits with its status after cleaning up.
var forwardedSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT}

// signalForwarder catches forwardedSignals from before the sandbox's
// process exists until it has ended.
type signalForwarder struct {
	ch chan os.Signal
	// mu guards tg and pending.
	mu sync.Mutex
	// tg is the process signals go to, once set.
	tg *kernel.ThreadGroup
	// pending is the first signal that arrived before tg was set.
	pending linux.Signal
	done    chan struct{}
}

func newSignalForwarder() *signalForwarder {
	f := &signalForwarder{ch: make(chan os.Signal, 1), done: make(chan struct{})}
	signal.Notify(f.ch, forwardedSignals...)
	go func() {
		defer close(f.done)
		for s := range f.ch {
			us, ok := s.(unix.Signal)
			if !ok {
				continue
			}
			f.mu.Lock()
			if f.tg != nil {
				f.tg.SendHostSignal(linux.Signal(us))
			} else if f.pending == 0 {
				f.pending = linux.Signal(us)
			}
			f.mu.Unlock()
		}
	}()
	return f
}

// setTarget makes later signals end tg. It returns the signal that
// arrived before, if any: the caller then does not start tg and reports
// that signal as its end.
func (f *signalForwarder) setTarget(tg *kernel.ThreadGroup) linux.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending != 0 {
		return f.pending
	}
	f.tg = tg
	return 0
}

// stop stops catching signals.
func (f *signalForwarder) stop() {
	signal.Stop(f.ch)
	close(f.ch)
	<-f.done
}
