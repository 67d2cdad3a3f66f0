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
func buildStack(top, stackSize uintptr, argv, envv []string, execfn string, random [linux.ATRandomSize]byte, auxv []AuxEntry, alignPad uintptr) ([]byte, uintptr, error) {
	if len(argv) > maxArgs || len(envv) > maxArgs {
		return nil, 0, unix.E2BIG
	}
	var strBytes uintptr
	for _, list := range [][]string{argv, envv, {execfn}} {
		for _, s := range list {
			if len(s)+1 > maxArgStrlen {
				return nil, 0, unix.E2BIG
			}
			strBytes += uintptr(len(s)) + 1
		}
	}
	ptrBytes := uintptr(len(argv)+len(envv)+2) * 8
	if strBytes+ptrBytes > stackSize/4 {
		return nil, 0, unix.E2BIG
	}

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
	return img, sp, nil
}
