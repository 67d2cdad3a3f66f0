package linux

import "encoding/binary"

// Terminal and generic file ioctl request numbers (amd64; see
// ioctl_tty(2), ioctl_list(2) and include/uapi/asm-generic/ioctls.h).
const (
	TCGETS     = 0x5401
	TCSETS     = 0x5402
	TCSETSW    = 0x5403
	TCSETSF    = 0x5404
	TIOCSCTTY  = 0x540E
	TIOCGPGRP  = 0x540F
	TIOCSPGRP  = 0x5410
	TIOCOUTQ   = 0x5411
	TIOCGWINSZ = 0x5413
	TIOCSWINSZ = 0x5414
	FIONREAD   = 0x541B // also TIOCINQ
	FIONBIO    = 0x5421
	TIOCNOTTY  = 0x5422
	TIOCGSID   = 0x5429
	FIONCLEX   = 0x5450
	FIOCLEX    = 0x5451
	FIOASYNC   = 0x5452
	// TIOCGPTN returns a pseudoterminal master's pty number
	// (_IOR('T', 0x30, unsigned int)).
	TIOCGPTN = 0x80045430
	// TIOCSPTLCK locks or unlocks a pseudoterminal's slave
	// (_IOW('T', 0x31, int)).
	TIOCSPTLCK = 0x40045431
)

// NCCS is the number of control characters in the kernel's struct
// termios (asm-generic/termbits.h), which TCGETS and TCSETS* use.
const NCCS = 19

// Control character indices into Termios.ControlCharacters.
const (
	VINTR    = 0
	VQUIT    = 1
	VERASE   = 2
	VKILL    = 3
	VEOF     = 4
	VTIME    = 5
	VMIN     = 6
	VSWTC    = 7
	VSTART   = 8
	VSTOP    = 9
	VSUSP    = 10
	VEOL     = 11
	VREPRINT = 12
	VDISCARD = 13
	VWERASE  = 14
	VLNEXT   = 15
	VEOL2    = 16
)

// A few termios flag bits (termios(3)).
const (
	// c_iflag
	ICRNL = 0o400
	IXON  = 0o2000
	// c_oflag
	OPOST = 0o1
	ONLCR = 0o4
	// c_lflag
	ISIG   = 0o1
	ICANON = 0o2
	ECHO   = 0o10
	TOSTOP = 0o400
	IEXTEN = 0o100000
)

// SizeofTermios is the size of the kernel's struct termios.
const SizeofTermios = 4*4 + 1 + NCCS

// Termios is the kernel's struct termios (not glibc's, which appends
// speed fields): four flag words, the line discipline and NCCS control
// characters, 36 bytes with no padding.
type Termios struct {
	InputFlags        uint32
	OutputFlags       uint32
	ControlFlags      uint32
	LocalFlags        uint32
	LineDiscipline    uint8
	ControlCharacters [NCCS]uint8
}

// Encode writes t into b, which must hold SizeofTermios bytes.
func (t *Termios) Encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], t.InputFlags)
	le.PutUint32(b[4:], t.OutputFlags)
	le.PutUint32(b[8:], t.ControlFlags)
	le.PutUint32(b[12:], t.LocalFlags)
	b[16] = t.LineDiscipline
	copy(b[17:SizeofTermios], t.ControlCharacters[:])
}

// Decode reads t from b, which must hold SizeofTermios bytes.
func (t *Termios) Decode(b []byte) {
	le := binary.LittleEndian
	t.InputFlags = le.Uint32(b[0:])
	t.OutputFlags = le.Uint32(b[4:])
	t.ControlFlags = le.Uint32(b[8:])
	t.LocalFlags = le.Uint32(b[12:])
	t.LineDiscipline = b[16]
	copy(t.ControlCharacters[:], b[17:SizeofTermios])
}

// SizeofWinsize is the size of struct winsize.
const SizeofWinsize = 8

// Winsize is struct winsize (TIOCGWINSZ, TIOCSWINSZ).
type Winsize struct {
	Row    uint16
	Col    uint16
	XPixel uint16
	YPixel uint16
}

// Encode writes w into b, which must hold SizeofWinsize bytes.
func (w *Winsize) Encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint16(b[0:], w.Row)
	le.PutUint16(b[2:], w.Col)
	le.PutUint16(b[4:], w.XPixel)
	le.PutUint16(b[6:], w.YPixel)
}

// Decode reads w from b, which must hold SizeofWinsize bytes.
func (w *Winsize) Decode(b []byte) {
	le := binary.LittleEndian
	w.Row = le.Uint16(b[0:])
	w.Col = le.Uint16(b[2:])
	w.XPixel = le.Uint16(b[4:])
	w.YPixel = le.Uint16(b[6:])
}
