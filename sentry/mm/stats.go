package mm

// SetArgvEnv records where the initial process's argument strings
// [argvStart, argvEnd) and environment strings [envStart, envEnd) are in
// guest memory (the loader knows after building the stack). /proc/PID/cmdline
// and environ read them; fork copies them.
func (mm *MemoryManager) SetArgvEnv(argvStart, argvEnd, envStart, envEnd uintptr) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.argvStart, mm.argvEnd = argvStart, argvEnd
	mm.envStart, mm.envEnd = envStart, envEnd
}

// ArgvRange returns the range recorded by SetArgvEnv for the arguments.
func (mm *MemoryManager) ArgvRange() (start, end uintptr) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.argvStart, mm.argvEnd
}

// EnvRange returns the range recorded by SetArgvEnv for the environment.
func (mm *MemoryManager) EnvRange() (start, end uintptr) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.envStart, mm.envEnd
}

// VirtualSize returns the total size of the address space's areas in
// bytes (VmSize).
func (mm *MemoryManager) VirtualSize() uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var n uint64
	for _, v := range mm.vmas {
		n += uint64(v.end - v.start)
	}
	return n
}

// ResidentSize returns the number of bytes of guest memory that have
// backing pages (VmRSS): pages shared with another address space count in
// both.
func (mm *MemoryManager) ResidentSize() uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var n uint64
	for _, p := range mm.pmas {
		n += uint64(p.end - p.start)
	}
	return n
}

// LockedSize returns the size in bytes of the mlocked areas (VmLck).
func (mm *MemoryManager) LockedSize() uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var n uint64
	for _, v := range mm.vmas {
		if v.locked {
			n += uint64(v.end - v.start)
		}
	}
	return n
}
