package loader

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/mm"
)

// Credentials are the IDs reported in the auxiliary vector.
type Credentials struct {
	UID, EUID, GID, EGID uint32
}

// LoadArgs says what to load and into what.
type LoadArgs struct {
	// File is the executable, Size its length in bytes.
	File io.ReaderAt
	Size int64
	// Filename is the path as given to exec (AT_EXECFN).
	Filename string
	// Argv and Envv are the argument and environment strings.
	Argv []string
	Envv []string
	// MM is the empty address space to load into.
	MM *mm.MemoryManager
	// FPStateSize is the platform's FP state size (for AT_MINSIGSTKSZ).
	FPStateSize int
	// HWCap and HWCap2 are AT_HWCAP and AT_HWCAP2.
	HWCap, HWCap2 uint64
	Creds         Credentials
	// StackSize is the stack area's size (RLIMIT_STACK); 0 means 8 MiB.
	StackSize uintptr
	// Randomize enables address-space layout randomization (stack top,
	// mmap base, static-PIE base, break).
	Randomize bool
	// Rand supplies randomness (AT_RANDOM and layout); nil means
	// crypto/rand.
	Rand io.Reader
}

// Result describes a loaded program.
type Result struct {
	// Entry is the initial instruction pointer.
	Entry uintptr
	// StackPointer is the initial rsp (argc is stored there).
	StackPointer uintptr
	// StackTop is the top of the stack area.
	StackTop uintptr
	// Bias is what was added to the file's addresses (non-zero only for
	// static-PIE).
	Bias uintptr
	// BrkStart is the initial program break.
	BrkStart uintptr
	// Auxv is the auxiliary vector placed on the stack.
	Auxv []AuxEntry
}

// AuxEntry is one auxiliary vector entry.
type AuxEntry struct {
	Key, Value uint64
}

// Limits on exec arguments (Linux: MAX_ARG_STRLEN, and a quarter of the
// stack limit for all of them).
const (
	maxArgStrlen = 32 * linux.PageSize
	maxArgs      = 0x7fffffff
)

// elfETDynBase is where Linux puts a PIE without ASLR: two thirds of the
// user address space.
func elfETDynBase(maxAddr uintptr) uintptr {
	return (maxAddr / 3 * 2) &^ (linux.PageSize - 1)
}

// Load loads the executable described by args. Errors are *FormatError
// (ENOEXEC) for a bad or unsupported file, E2BIG for oversized arguments,
// ENOMEM when memory runs out, or I/O errors.
func Load(args LoadArgs) (*Result, error) {
	if args.Rand == nil {
		args.Rand = rand.Reader
	}
	if args.StackSize == 0 {
		args.StackSize = mm.DefaultStackSize
	}
	info, err := ParseELF(args.File, args.Size)
	if err != nil {
		return nil, err
	}
	if info.Interp != "" {
		return nil, formatErr("dynamically linked programs are not supported yet (interpreter %s)", info.Interp)
	}
	m := args.MM
	minAddr, maxAddr := m.MinAddress(), m.MaxAddress()

	// Choose the bias.
	lo, hi := info.span()
	var bias uintptr
	if info.Type == linux.ET_DYN {
		base := elfETDynBase(maxAddr)
		if args.Randomize {
			// Linux uses up to 2^28 pages; 2^20 pages (4 GiB) keeps
			// large programs clear of the mmap area.
			base += uintptr(randUint64(args.Rand)%(1<<20)) * linux.PageSize
		}
		if align := info.MaxAlign; align > linux.PageSize && align <= 1<<30 {
			base = (base + uintptr(align) - 1) &^ (uintptr(align) - 1)
		}
		bias = base - uintptr(lo)
	}
	loAddr, hiAddr := uintptr(lo)+bias, uintptr(hi)+bias
	if hiAddr < loAddr || loAddr < minAddr || hiAddr > maxAddr {
		return nil, formatErr("segments [%#x, %#x) do not fit the address space [%#x, %#x)", loAddr, hiAddr, minAddr, maxAddr)
	}
	entry := uintptr(info.Entry) + bias
	if entry < minAddr || entry >= maxAddr {
		return nil, formatErr("entry point %#x is outside the address space", entry)
	}

	// Stack and mmap layout; the stack must fit above the program.
	stackTop := maxAddr
	if args.Randomize {
		// Linux randomizes the stack top by up to 16 GiB; use up to
		// 1 GiB (2^18 pages) to keep room on small address spaces.
		stackTop -= uintptr(randUint64(args.Rand)%(1<<18)) * linux.PageSize
	}
	if stackTop < hiAddr+args.StackSize+mm.StackGuardGap {
		return nil, formatErr("program [%#x, %#x) leaves no room for the stack", loAddr, hiAddr)
	}
	var mmapPad uintptr
	if args.Randomize {
		mmapPad = uintptr(randUint64(args.Rand)%(1<<20)) * linux.PageSize
	}
	m.SetLayout(stackTop, args.StackSize, mmapPad)

	if err := loadSegments(args, info, bias); err != nil {
		return nil, err
	}

	brk := hiAddr
	if args.Randomize {
		brk += uintptr(randUint64(args.Rand)%0x2000) * linux.PageSize
	}
	m.SetBrkStart(brk)

	// The stack area.
	stackPerms := platform.ReadWrite
	if info.ExecStack {
		stackPerms = platform.AnyAccess
	}
	if _, errno := m.MMap(mm.MMapOpts{
		Length:    args.StackSize,
		Addr:      stackTop - args.StackSize,
		Fixed:     true,
		NoReplace: true,
		Perms:     stackPerms,
		Private:   true,
		GrowsDown: true,
	}); errno != 0 {
		return nil, fmt.Errorf("mapping the stack: %w", errno)
	}

	var random [linux.ATRandomSize]byte
	if _, err := io.ReadFull(args.Rand, random[:]); err != nil {
		return nil, fmt.Errorf("reading AT_RANDOM bytes: %w", err)
	}
	auxv := []AuxEntry{
		{linux.AT_MINSIGSTKSZ, arch.MinSigStackSize(args.FPStateSize)},
		{linux.AT_HWCAP, args.HWCap},
		{linux.AT_PAGESZ, linux.PageSize},
		{linux.AT_CLKTCK, linux.CLK_TCK},
		{linux.AT_PHDR, info.phdrAddr() + uint64(bias)},
		{linux.AT_PHENT, linux.ELF64PhdrSize},
		{linux.AT_PHNUM, uint64(info.Phnum)},
		{linux.AT_BASE, 0},
		{linux.AT_FLAGS, 0},
		{linux.AT_ENTRY, uint64(entry)},
		{linux.AT_UID, uint64(args.Creds.UID)},
		{linux.AT_EUID, uint64(args.Creds.EUID)},
		{linux.AT_GID, uint64(args.Creds.GID)},
		{linux.AT_EGID, uint64(args.Creds.EGID)},
		{linux.AT_SECURE, 0},
		{linux.AT_RANDOM, 0}, // filled in by buildStack
		{linux.AT_HWCAP2, args.HWCap2},
		{linux.AT_EXECFN, 0},   // filled in by buildStack
		{linux.AT_PLATFORM, 0}, // filled in by buildStack
		{linux.AT_NULL, 0},
	}
	var alignPad uintptr
	if args.Randomize {
		// arch_align_stack: up to 8 KiB, 16-byte granular.
		alignPad = uintptr(randUint64(args.Rand)%8192) &^ 15
	}
	img, sp, err := buildStack(stackTop, args.StackSize, args.Argv, args.Envv, args.Filename, random, auxv, alignPad)
	if err != nil {
		return nil, err
	}
	if _, err := m.CopyOut(sp, img); err != nil {
		return nil, fmt.Errorf("writing the initial stack: %w", err)
	}
	return &Result{
		Entry:        entry,
		StackPointer: sp,
		StackTop:     stackTop,
		Bias:         bias,
		BrkStart:     brk,
		Auxv:         auxv,
	}, nil
}

// loadSegments maps every PT_LOAD and copies its file bytes in. A page
// shared by two segments keeps the earlier one's bytes and gets the later
// one's permissions, as Linux's successive mmaps would.
func loadSegments(args LoadArgs, info *ELFInfo, bias uintptr) error {
	m := args.MM
	var prevEnd uintptr
	type prot struct {
		start, end uintptr
		perms      int
	}
	prots := make([]prot, 0, len(info.Segments))
	for _, s := range info.Segments {
		vaddr := uintptr(s.Vaddr) + bias
		start := vaddr &^ (linux.PageSize - 1)
		end := (vaddr + uintptr(s.Memsz) + linux.PageSize - 1) &^ (linux.PageSize - 1)
		mapStart := max(start, prevEnd)
		if mapStart < end {
			if _, errno := m.MMap(mm.MMapOpts{
				Length:  end - mapStart,
				Addr:    mapStart,
				Fixed:   true,
				Perms:   platform.ReadWrite,
				Private: true,
			}); errno != 0 {
				return fmt.Errorf("mapping segment at %#x: %w", vaddr, errno)
			}
		}
		// Copy from the page-aligned file offset unless the first page
		// belongs to the previous segment too.
		fileOff, dst, n := s.Offset, vaddr, s.Filesz
		if start >= prevEnd {
			lead := uint64(vaddr - start)
			fileOff -= lead
			dst = start
			n += lead
		}
		if err := copyFromFile(m, args.File, int64(fileOff), dst, n); err != nil {
			return err
		}
		perms := 0
		if s.Flags&linux.PF_R != 0 {
			perms |= linux.PROT_READ
		}
		if s.Flags&linux.PF_W != 0 {
			perms |= linux.PROT_WRITE
		}
		if s.Flags&linux.PF_X != 0 {
			perms |= linux.PROT_EXEC
		}
		prots = append(prots, prot{start, end, perms})
		prevEnd = end
	}
	for _, p := range prots {
		if errno := m.MProtect(p.start, p.end-p.start, p.perms); errno != 0 {
			return fmt.Errorf("setting permissions of [%#x, %#x): %w", p.start, p.end, errno)
		}
	}
	return nil
}

// copyFromFile copies n bytes at file offset off to guest address dst.
func copyFromFile(m *mm.MemoryManager, f io.ReaderAt, off int64, dst uintptr, n uint64) error {
	if n == 0 {
		return nil
	}
	if n > 1<<40 {
		return formatErr("segment too large")
	}
	done, err := m.CopyOutFrom(dst, int(n), func(b []byte) (int, error) {
		k, err := f.ReadAt(b, off)
		off += int64(k)
		if err == io.EOF && k == len(b) {
			err = nil
		}
		return k, err
	})
	if err != nil {
		return fmt.Errorf("reading segment at %#x: %w", dst, err)
	}
	if uint64(done) != n {
		return formatErr("file shorter than its segments")
	}
	return nil
}

func randUint64(r io.Reader) uint64 {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b[:])
}
