package kernel

import (
	"fmt"
	"io"
	"time"

	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/loader"
	"github.com/palisade-sandbox/palisade/sentry/mm"
)

// CreateProcessArgs describes the first process of a sandbox.
type CreateProcessArgs struct {
	// File is the executable, Size its length.
	File io.ReaderAt
	Size int64
	// Filename is the path it was found at (AT_EXECFN, argv[0] default).
	Filename string
	Argv     []string
	Envv     []string
}

// CreateProcess loads a program into a new address space and returns its
// thread group with one task, not yet started (see Task.Start). Its parent
// is outside the sandbox.
func (k *Kernel) CreateProcess(args CreateProcessArgs) (*ThreadGroup, error) {
	p := k.platform
	as, err := p.NewAddressSpace()
	if err != nil {
		return nil, fmt.Errorf("creating address space: %w", err)
	}
	m := mm.New(k.mf, as, p.MinUserAddress(), p.MaxUserAddress())
	res, err := loader.Load(loader.LoadArgs{
		File:        args.File,
		Size:        args.Size,
		Filename:    args.Filename,
		Argv:        args.Argv,
		Envv:        args.Envv,
		MM:          m,
		FPStateSize: p.FPStateSize(),
		HWCap:       arch.HWCap(),
		HWCap2:      arch.HWCap2(),
		Randomize:   k.randomize,
	})
	if err != nil {
		m.DecUsers()
		return nil, err
	}
	ctx, err := p.NewContext()
	if err != nil {
		m.DecUsers()
		return nil, fmt.Errorf("creating platform context: %w", err)
	}
	ac := arch.NewContext(p.InitialFPState())
	ac.SetInitialRegs(res.Entry, res.StackPointer)

	tg := &ThreadGroup{k: k, start: time.Now(), done: make(chan struct{})}
	t := &Task{k: k, tg: tg, mm: m, ctx: ctx, arch: ac}
	tid, err := k.allocTID(t)
	if err != nil {
		ctx.Release()
		m.DecUsers()
		return nil, err
	}
	t.tid = tid
	tg.pid = tid
	tg.leader = t
	tg.tasks = []*Task{t}
	k.mu.Lock()
	k.threadGroups[tg.pid] = tg
	k.mu.Unlock()
	return tg, nil
}

// Start starts every task of the group.
func (tg *ThreadGroup) Start() {
	tg.mu.Lock()
	tasks := append([]*Task(nil), tg.tasks...)
	tg.mu.Unlock()
	for _, t := range tasks {
		t.Start()
	}
}
