package loader

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/arch"
	"github.com/palisade-sandbox/palisade/sentry/mm"
	"golang.org/x/sys/unix"
)

// Credentials are the IDs reported in the auxiliary vector.
type Credentials struct {
	UID, EUID, GID, EGID uint32
}

// LoadArgs says what to load and into what.
type LoadArgs struct {
	// File is the executable, Size its length in bytes. If File is nil,
	// the loader opens Filename with Opener (execve's case).
	File io.ReaderAt
	Size int64
	// Filename is the path as given to exec (AT_EXECFN, and the script
	// path an interpreter script's interpreter is given).
	Filename string
	// Opener opens Filename when File is nil, a script's interpreter and
	// an ELF program's interpreter (PT_INTERP). Without one, only static
	// ELF programs given as File can be loaded.
	Opener FileOpener
	// Argv and Envv are the argument and environment strings. An empty
	// Argv is taken as {""}, as Linux does since 5.18.
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
	// A quarter of it bounds the argument and environment strings.
	StackSize uintptr
	// Randomize enables address-space layout randomization (stack top,
	// mmap base, PIE base, break).
	Randomize bool
	// Rand supplies randomness (AT_RANDOM and layout); nil means
	// crypto/rand.
	Rand io.Reader
}

// Result describes a loaded program.
type Result struct {
	// Entry is the initial instruction pointer: the ELF interpreter's
	// entry point if there is one, else the program's.
	Entry uintptr
	// StackPointer is the initial rsp (argc is stored there).
	StackPointer uintptr
	// ArgvStart and ArgvEnd bound the argument strings on the stack,
	// EnvvStart and EnvvEnd the environment strings (/proc/PID/cmdline
	// and environ read them).
	ArgvStart, ArgvEnd uintptr
	EnvvStart, EnvvEnd uintptr
	// StackTop is the top of the stack area.
	StackTop uintptr
	// Bias is what was added to the program's addresses (non-zero for
	// PIE and static-PIE).
	Bias uintptr
	// BrkStart is the initial program break.
	BrkStart uintptr
	// Auxv is the auxiliary vector placed on the stack.
	Auxv []AuxEntry
	// Argv is the argument vector placed on the stack: LoadArgs.Argv,
	// rewritten by any interpreter scripts.
	Argv []string
	// Executable is the path of the ELF program loaded: Filename, or the
	// interpreter the last script named (what /proc/PID/exe shows).
	Executable string
	// Interpreter is the ELF interpreter's path (PT_INTERP), or "".
	Interpreter string
	// InterpBase is the interpreter's load bias (AT_BASE), or 0.
	InterpBase uintptr
}

// AuxEntry is one auxiliary vector entry.
type AuxEntry struct {
	Key, Value uint64
}

// elfETDynBase is where Linux puts a PIE without ASLR (ELF_ET_DYN_BASE):
// two thirds of the user address space.
func elfETDynBase(maxAddr uintptr) uintptr {
	return (maxAddr / 3 * 2) &^ (linux.PageSize - 1)
}

// Randomization ranges, in pages.
const (
	// pieRandPages is arch_mmap_rnd's range on x86-64 (28 bits), added
	// to ELF_ET_DYN_BASE for a PIE with an interpreter.
	pieRandPages = 1 << 28
	// staticPIERandPages is used for a static PIE placed at
	// ELF_ET_DYN_BASE: 2^20 pages (4 GiB) keeps large programs clear of
	// the mmap area.
	staticPIERandPages = 1 << 20
)

// Load loads the program named by args into args.MM: it follows
// interpreter scripts (up to maxBinfmtDepth of them), loads the ELF
// program and its interpreter, sets up the break and the stack, and
// returns where to start. Errors match (errors.Is) the errno execve(2)
// returns: ENOEXEC for a file that is neither ELF nor a script or is a
// malformed one; ELIBBAD for an ELF interpreter that is not a usable ELF
// file; EIO when the headers point past the end of a file; E2BIG for
// oversized arguments; ELOOP for too many nested scripts; the opener's
// errors (ENOENT, EACCES, ...) for files that cannot be opened; ENOMEM
// when memory runs out. On error, MM may hold partial mappings; the
// caller discards it.
func Load(args LoadArgs) (*Result, error) {
	if args.Rand == nil {
		args.Rand = rand.Reader
	}
	if args.StackSize == 0 {
		args.StackSize = mm.DefaultStackSize
	}
	argv := args.Argv
	if len(argv) == 0 {
		argv = []string{""}
	}

	// As execve does: open the file, then check the arguments.
	var f File
	if args.File != nil {
		f = &callerFile{r: args.File, size: args.Size, name: args.Filename}
	} else {
		var err error
		if f, err = openFile(args.Opener, args.Filename); err != nil {
			return nil, err
		}
	}
	defer func() { f.Close() }()
	limit, err := argLimit(args.StackSize, len(argv), len(args.Envv))
	if err != nil {
		return nil, err
	}
	if err := checkArgs(limit, args.Filename, argv, args.Envv); err != nil {
		return nil, err
	}

	// Follow interpreter scripts to the ELF program.
	path := args.Filename
	for depth := 0; ; depth++ {
		if depth > maxBinfmtDepth {
			return nil, fmt.Errorf("%s: more than %d nested interpreter scripts: %w", args.Filename, maxBinfmtDepth, unix.ELOOP)
		}
		head, err := readHead(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if !isShebang(head) {
			break
		}
		sb, err := parseShebang(head)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		argv = scriptArgv(sb, path, argv)
		if err := checkArgs(limit, args.Filename, argv, args.Envv); err != nil {
			return nil, err
		}
		next, err := openFile(args.Opener, sb.interp)
		if err != nil {
			return nil, fmt.Errorf("interpreter of %s: %w", path, err)
		}
		f.Close()
		f, path = next, sb.interp
	}
	res, err := loadELF(args, f, argv)
	if err != nil {
		return nil, err
	}
	res.Executable = path
	return res, nil
}

// readHead returns up to binprmBufSize bytes from the start of f.
func readHead(f File) ([]byte, error) {
	head := make([]byte, min(int64(binprmBufSize), max(f.Size(), 0)))
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return head[:n], nil
}

// loadELF loads the ELF program f, its interpreter if it has one, the
// break and the initial stack with argv.
func loadELF(args LoadArgs, f File, argv []string) (*Result, error) {
	info, err := ParseELF(f, f.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	var (
		interp     File
		interpInfo *ELFInfo
	)
	if info.HasInterp {
		interp, err = openFile(args.Opener, info.Interp)
		if err != nil {
			return nil, fmt.Errorf("ELF interpreter of %s: %w", f.Name(), err)
		}
		defer interp.Close()
		if interpInfo, err = parseInterpreter(interp, info.Interp); err != nil {
			return nil, err
		}
	}

	m := args.MM
	minAddr, maxAddr := m.MinAddress(), m.MaxAddress()

	// Choose the program's bias.
	lo, hi := info.span()
	var bias uintptr
	switch {
	case info.Type != linux.ET_DYN:
	case info.HasInterp:
		// A PIE: ELF_ET_DYN_BASE plus arch_mmap_rnd, aligned down to
		// the largest p_align, then the first segment's address taken
		// off (load_elf_binary).
		base := elfETDynBase(maxAddr)
		if args.Randomize {
			base += uintptr(randUint64(args.Rand)%pieRandPages) * linux.PageSize
		}
		if align := uintptr(info.MaxAlign); align > linux.PageSize && align <= maxSegmentAlign {
			base &^= align - 1
		}
		bias = (base - uintptr(info.Segments[0].Vaddr)) &^ (linux.PageSize - 1)
	default:
		// A static PIE.
		base := elfETDynBase(maxAddr)
		if args.Randomize {
			base += uintptr(randUint64(args.Rand)%staticPIERandPages) * linux.PageSize
		}
		if align := uintptr(info.MaxAlign); align > linux.PageSize && align <= maxSegmentAlign {
			base = (base + align - 1) &^ (align - 1)
		}
		bias = base - uintptr(lo)
	}
	loAddr, hiAddr := uintptr(lo)+bias, uintptr(hi)+bias
	if hiAddr < loAddr || loAddr < minAddr || hiAddr > maxAddr {
		return nil, fmt.Errorf("%s: %w", f.Name(), formatErr("segments [%#x, %#x) do not fit the address space [%#x, %#x)", loAddr, hiAddr, minAddr, maxAddr))
	}
	progEntry := uintptr(info.Entry) + bias

	// Stack and mmap layout; the stack must fit above the program.
	stackTop := maxAddr
	if args.Randomize {
		// Linux randomizes the stack top by up to 16 GiB; use up to
		// 1 GiB (2^18 pages) to keep room on small address spaces.
		stackTop -= uintptr(randUint64(args.Rand)%(1<<18)) * linux.PageSize
	}
	if stackTop < hiAddr+args.StackSize+mm.StackGuardGap {
		return nil, fmt.Errorf("%s: %w", f.Name(), formatErr("program [%#x, %#x) leaves no room for the stack", loAddr, hiAddr))
	}
	var mmapPad uintptr
	if args.Randomize {
		mmapPad = uintptr(randUint64(args.Rand)%(1<<20)) * linux.PageSize
	}
	m.SetLayout(stackTop, args.StackSize, mmapPad)

	if err := loadSegments(m, f, info, bias); err != nil {
		return nil, fmt.Errorf("loading %s: %w", f.Name(), err)
	}

	entry := progEntry
	var interpBias uintptr
	if interp != nil {
		if interpBias, err = placeInterpreter(m, interpInfo); err != nil {
			return nil, interpErr(info.Interp, err)
		}
		if err := loadSegments(m, interp, interpInfo, interpBias); err != nil {
			return nil, interpErr(info.Interp, err)
		}
		entry = uintptr(interpInfo.Entry) + interpBias
	}
	if entry < minAddr || entry >= maxAddr {
		err := formatErr("entry point %#x is outside the address space", entry)
		if interp != nil {
			return nil, interpErr(info.Interp, err)
		}
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}

	// The break follows the program, never the interpreter.
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
		{linux.AT_BASE, uint64(interpBias)},
		{linux.AT_FLAGS, 0},
		{linux.AT_ENTRY, uint64(progEntry)},
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
	img, sp := buildStack(stackTop, argv, args.Envv, args.Filename, random, auxv, alignPad)
	if _, err := m.CopyOut(sp, img); err != nil {
		return nil, fmt.Errorf("writing the initial stack: %w", err)
	}
	// The strings sit just below the exec filename at the top (see
	// buildStack): arguments, then the environment.
	envEnd := stackTop - 8 - uintptr(len(args.Filename)) - 1
	envStart := envEnd
	for _, e := range args.Envv {
		envStart -= uintptr(len(e)) + 1
	}
	argStart := envStart
	for _, a := range argv {
		argStart -= uintptr(len(a)) + 1
	}
	res := &Result{
		ArgvStart:    argStart,
		ArgvEnd:      envStart,
		EnvvStart:    envStart,
		EnvvEnd:      envEnd,
		Entry:        entry,
		StackPointer: sp,
		StackTop:     stackTop,
		Bias:         bias,
		BrkStart:     brk,
		Auxv:         auxv,
		Argv:         argv,
	}
	if interp != nil {
		res.Interpreter = info.Interp
		res.InterpBase = interpBias
	}
	return res, nil
}

// parseInterpreter parses an ELF interpreter. As in Linux, a file too
// short for an ELF header is EIO (a short read), and any format problem
// is ELIBBAD rather than ENOEXEC.
func parseInterpreter(f File, path string) (*ELFInfo, error) {
	if f.Size() < linux.ELF64EhdrSize {
		return nil, fmt.Errorf("ELF interpreter %s: %w", path, truncatedErr("%d bytes is too short for an ELF header", f.Size()))
	}
	info, err := ParseELF(f, f.Size())
	if err != nil {
		return nil, interpErr(path, err)
	}
	return info, nil
}

// interpErr turns a format error about the interpreter at path into an
// *InterpreterError (ELIBBAD); other errors are wrapped with the path.
func interpErr(path string, err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		return &InterpreterError{Path: path, Reason: err.Error()}
	}
	return fmt.Errorf("ELF interpreter %s: %w", path, err)
}

func randUint64(r io.Reader) uint64 {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b[:])
}
