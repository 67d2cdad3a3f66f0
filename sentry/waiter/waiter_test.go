package waiter

import (
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func TestBitsMatchLinux(t *testing.T) {
	for _, c := range []struct {
		got  EventMask
		want uint32
	}{
		{EventIn, unix.EPOLLIN}, {EventPri, unix.EPOLLPRI}, {EventOut, unix.EPOLLOUT},
		{EventErr, unix.EPOLLERR}, {EventHUp, unix.EPOLLHUP}, {EventNVal, unix.POLLNVAL},
		{EventRdNorm, unix.EPOLLRDNORM}, {EventRdBand, unix.EPOLLRDBAND},
		{EventWrNorm, unix.EPOLLWRNORM}, {EventWrBand, unix.EPOLLWRBAND},
		{EventMsg, unix.EPOLLMSG}, {EventRdHUp, unix.EPOLLRDHUP},
	} {
		if uint32(c.got) != c.want {
			t.Errorf("event %#x, want %#x", c.got, c.want)
		}
	}
}

func pending(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestChannelEntryMaskAndCoalescing(t *testing.T) {
	var q Queue
	e, ch := NewEntry(EventIn)
	q.EventRegister(e)
	q.Notify(EventOut)
	if pending(ch) {
		t.Fatal("entry for EventIn woken by EventOut")
	}
	q.Notify(EventIn)
	q.Notify(EventIn | EventOut) // coalesces with the first token
	if !pending(ch) {
		t.Fatal("entry not woken by EventIn")
	}
	if pending(ch) {
		t.Fatal("two tokens for one entry")
	}
	e.SetMask(EventOut)
	q.Notify(EventOut)
	if !pending(ch) {
		t.Fatal("SetMask not honoured")
	}
	q.EventUnregister(e)
	q.Notify(AllEvents)
	if pending(ch) {
		t.Fatal("woken after EventUnregister")
	}
	if !q.IsEmpty() {
		t.Fatal("queue not empty")
	}
}

func TestSharedChannelAndEvents(t *testing.T) {
	var q1, q2 Queue
	ch := make(chan struct{}, 1)
	e1 := NewChannelEntry(EventIn, ch)
	e2 := NewChannelEntry(EventOut|EventHUp, ch)
	q1.EventRegister(e1)
	q2.EventRegister(e2)
	if got := q2.Events(); got != EventOut|EventHUp {
		t.Fatalf("Events = %#x", got)
	}
	q2.Notify(EventHUp)
	if !pending(ch) {
		t.Fatal("shared channel not woken")
	}
	q1.EventUnregister(e1)
	q2.EventUnregister(e2)
}

func TestFunctionEntryGetsInterestingEvents(t *testing.T) {
	var q Queue
	var got []EventMask
	e := NewFunctionEntry(EventIn|EventErr, func(m EventMask) { got = append(got, m) })
	q.EventRegister(e)
	q.Notify(EventIn | EventOut | EventErr)
	q.Notify(EventOut)
	q.EventUnregister(e)
	q.Notify(EventIn)
	if len(got) != 1 || got[0] != EventIn|EventErr {
		t.Fatalf("callbacks %v, want one of EventIn|EventErr", got)
	}
}

func TestUnregisterMiddleKeepsOthers(t *testing.T) {
	var q Queue
	var n [3]int
	var es [3]*Entry
	for i := range es {
		es[i] = NewFunctionEntry(EventIn, func(EventMask) { n[i]++ })
		q.EventRegister(es[i])
	}
	q.EventUnregister(es[1])
	q.Notify(EventIn)
	if n != [3]int{1, 0, 1} {
		t.Fatalf("notified %v", n)
	}
}

func TestConcurrentNotifyRegister(t *testing.T) {
	var q Queue
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				q.Notify(EventIn)
			}
		}
	}()
	for i := 0; i < 1000; i++ {
		e, ch := NewEntry(EventIn)
		q.EventRegister(e)
		<-ch // the notifier wakes every registered entry eventually
		q.EventUnregister(e)
	}
	close(stop)
	wg.Wait()
}

func TestAlwaysReportedWakesEveryEntry(t *testing.T) {
	var q Queue
	e, ch := NewEntry(EventIn)
	q.EventRegister(e)
	defer q.EventUnregister(e)
	q.Notify(EventHUp)
	if !pending(ch) {
		t.Fatal("EventHUp did not wake an EventIn entry")
	}
}
