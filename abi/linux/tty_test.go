package linux

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestTTYIoctlNumbers(t *testing.T) {
	for _, c := range []struct {
		name      string
		ours, got uint64
	}{
		{"TCGETS", TCGETS, unix.TCGETS},
		{"TCSETS", TCSETS, unix.TCSETS},
		{"TCSETSW", TCSETSW, unix.TCSETSW},
		{"TCSETSF", TCSETSF, unix.TCSETSF},
		{"TIOCSCTTY", TIOCSCTTY, unix.TIOCSCTTY},
		{"TIOCGPGRP", TIOCGPGRP, unix.TIOCGPGRP},
		{"TIOCSPGRP", TIOCSPGRP, unix.TIOCSPGRP},
		{"TIOCOUTQ", TIOCOUTQ, unix.TIOCOUTQ},
		{"TIOCGWINSZ", TIOCGWINSZ, unix.TIOCGWINSZ},
		{"TIOCSWINSZ", TIOCSWINSZ, unix.TIOCSWINSZ},
		{"TIOCNOTTY", TIOCNOTTY, unix.TIOCNOTTY},
		{"TIOCGSID", TIOCGSID, unix.TIOCGSID},
		{"TIOCGPTN", TIOCGPTN, unix.TIOCGPTN},
		{"TIOCSPTLCK", TIOCSPTLCK, unix.TIOCSPTLCK},
		{"ICANON", ICANON, unix.ICANON},
		{"ECHO", ECHO, unix.ECHO},
		{"ISIG", ISIG, unix.ISIG},
		{"TOSTOP", TOSTOP, unix.TOSTOP},
		{"IEXTEN", IEXTEN, unix.IEXTEN},
		{"ICRNL", ICRNL, unix.ICRNL},
		{"IXON", IXON, unix.IXON},
		{"OPOST", OPOST, unix.OPOST},
		{"ONLCR", ONLCR, unix.ONLCR},
		{"VMIN", VMIN, unix.VMIN},
		{"VEOL2", VEOL2, unix.VEOL2},
	} {
		if c.ours != c.got {
			t.Errorf("%s = %#x, host says %#x", c.name, c.ours, c.got)
		}
	}
}

// The kernel's struct termios is x/sys/unix's Termios without its two
// trailing speed words.
func TestTermiosLayout(t *testing.T) {
	h := unix.Termios{Iflag: 0x01020304, Oflag: 0x05060708, Cflag: 0x090a0b0c, Lflag: 0x0d0e0f10, Line: 7}
	for i := range h.Cc {
		h.Cc[i] = uint8(0x40 + i)
	}
	want := hostBytes(t, &h, SizeofTermios+8)[:SizeofTermios]
	var ours Termios
	ours.Decode(want)
	b := make([]byte, SizeofTermios)
	ours.Encode(b)
	if string(b) != string(want) {
		t.Fatalf("termios encoding %x, want %x", b, want)
	}
	if ours.LocalFlags != h.Lflag || ours.LineDiscipline != 7 || ours.ControlCharacters[VEOL2] != 0x40+VEOL2 {
		t.Fatalf("decoded %+v", ours)
	}
	w := unix.Winsize{Row: 24, Col: 80, Xpixel: 3, Ypixel: 4}
	wb := hostBytes(t, &w, SizeofWinsize)
	var ws Winsize
	ws.Decode(wb)
	if ws != (Winsize{24, 80, 3, 4}) {
		t.Fatalf("winsize %+v", ws)
	}
	ws.Encode(b[:SizeofWinsize])
	if string(b[:SizeofWinsize]) != string(wb) {
		t.Fatalf("winsize encoding %x, want %x", b[:8], wb)
	}
}
