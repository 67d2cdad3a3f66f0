package loader

import (
	"encoding/binary"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

// platformString is AT_PLATFORM on x86-64.
const platformString = "x86_64"

// buildStack lays out the initial stack below top as Linux's exec and
// create_elf_tables do, from the top down:
//
//	8 zero bytes (the end marker)
//	the exec filename (AT_EXECFN)
//	environment strings, then argument strings below them
//	alignPad bytes, then down to 16-byte alignment (arch_align_stack)
//	the platform string (AT_PLATFORM)
//	16 random bytes (AT_RANDOM)
//	auxv pairs, envp[] + NULL, argv[] + NULL, argc, with argc's address
//	16-byte aligned
//
// auxv's AT_RANDOM, AT_EXECFN and AT_PLATFORM values are filled in. It
// returns the bytes from the stack pointer to top and the stack pointer.
// The strings must have passed checkArgs, which bounds the image.
func buildStack(top uintptr, argv, envv []string, execfn string, random [linux.ATRandomSize]byte, auxv []AuxEntry, alignPad uintptr) ([]byte, uintptr) {
	p := top - 8
	p -= uintptr(len(execfn)) + 1
	execfnAddr := p
	var envBytes, argBytes uintptr
	for _, s := range envv {
		envBytes += uintptr(len(s)) + 1
	}
	for _, s := range argv {
		argBytes += uintptr(len(s)) + 1
	}
	p -= envBytes
	envStart := p
	p -= argBytes
	argStart := p
	p -= alignPad
	p &^= 15
	p -= uintptr(len(platformString)) + 1
	platformAddr := p
	p -= linux.ATRandomSize
	randomAddr := p

	for i := range auxv {
		switch auxv[i].Key {
		case linux.AT_RANDOM:
			auxv[i].Value = uint64(randomAddr)
		case linux.AT_EXECFN:
			auxv[i].Value = uint64(execfnAddr)
		case linux.AT_PLATFORM:
			auxv[i].Value = uint64(platformAddr)
		}
	}
	items := uintptr(len(argv)+1+len(envv)+1+1) + uintptr(len(auxv))*2
	sp := (p - items*8) &^ 15

	img := make([]byte, top-sp)
	at := func(addr uintptr) []byte { return img[addr-sp:] }
	le := binary.LittleEndian

	// Strings.
	a := argStart
	argPtrs := make([]uintptr, len(argv))
	for i, s := range argv {
		argPtrs[i] = a
		copy(at(a), s)
		a += uintptr(len(s)) + 1
	}
	a = envStart
	envPtrs := make([]uintptr, len(envv))
	for i, s := range envv {
		envPtrs[i] = a
		copy(at(a), s)
		a += uintptr(len(s)) + 1
	}
	copy(at(execfnAddr), execfn)
	copy(at(platformAddr), platformString)
	copy(at(randomAddr), random[:])

	// argc, argv, envp, auxv.
	w := sp
	put := func(v uint64) {
		le.PutUint64(at(w), v)
		w += 8
	}
	put(uint64(len(argv)))
	for _, ptr := range argPtrs {
		put(uint64(ptr))
	}
	put(0)
	for _, ptr := range envPtrs {
		put(uint64(ptr))
	}
	put(0)
	for _, e := range auxv {
		put(e.Key)
		put(e.Value)
	}
	return img, sp
}

// Limits on exec's argument and environment strings (Linux's
// MAX_ARG_STRLEN, MAX_ARG_STRINGS, ARG_MAX and _STK_LIM).
const (
	maxArgStrlen  = 32 * linux.PageSize
	maxArgStrings = 0x7fffffff
	argMax        = 32 * linux.PageSize
	stkLim        = 8 << 20
)

// argLimit returns how many bytes of strings exec accepts for argc
// arguments and envc environment strings with a stack limit of
// stackSize, as Linux's bprm_stack_limits computes it: a quarter of the
// stack limit, at most three quarters of _STK_LIM, at least ARG_MAX, less
// room for the pointer arrays (argc counted as at least 1).
func argLimit(stackSize uintptr, argc, envc int) (uintptr, error) {
	if argc > maxArgStrings || envc > maxArgStrings {
		return 0, unix.E2BIG
	}
	limit := max(min(stkLim/4*3, stackSize/4), argMax)
	ptrs := uintptr(max(argc, 1)+envc) * 8
	if limit <= ptrs {
		return 0, unix.E2BIG
	}
	return limit - ptrs, nil
}

// checkArgs fails with E2BIG if any of filename, argv and envv is longer
// than MAX_ARG_STRLEN with its NUL, or all of them together exceed limit
// (from argLimit).
func checkArgs(limit uintptr, filename string, argv, envv []string) error {
	if len(argv) > maxArgStrings || len(envv) > maxArgStrings {
		return unix.E2BIG
	}
	total := uintptr(len(filename)) + 1
	if total > maxArgStrlen {
		return unix.E2BIG
	}
	for _, list := range [][]string{argv, envv} {
		for _, s := range list {
			n := uintptr(len(s)) + 1
			if n > maxArgStrlen {
				return unix.E2BIG
			}
			total += n
			if total > limit {
				return unix.E2BIG
			}
		}
	}
	if total > limit {
		return unix.E2BIG
	}
	return nil
}
