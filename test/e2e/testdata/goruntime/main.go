//go:build ignore

// goruntime exercises what the Go runtime needs from a kernel: threads
// (goroutines spread over several), futexes, signals (a nil dereference
// recovered through SIGSEGV, os/signal delivery), timers, epoll (the
// netpoller behind os/exec's pipes) and fork/exec.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

type point struct{ x int }

func deref(p *point) (v int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered: %v", r)
		}
	}()
	return p.x, nil
}

func main() {
	runtime.GOMAXPROCS(4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sum := 0
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			x := 0
			for j := 0; j < 200000; j++ {
				x += j % (i + 1)
			}
			mu.Lock()
			sum += x
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	fmt.Println("sum", sum)

	_, err := deref(nil)
	fmt.Println(err)

	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case s := <-c:
		fmt.Println("signal", s)
	case <-time.After(30 * time.Second):
		fmt.Println("no signal")
	}

	out, err := exec.Command("/bin/echo", "from a child").Output()
	fmt.Printf("exec %q %v\n", out, err)

	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Println("slept at least 20ms:", time.Since(start) >= 20*time.Millisecond)
}
