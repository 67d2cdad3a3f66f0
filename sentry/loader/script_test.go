package loader

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"golang.org/x/sys/unix"
)

func TestParseShebang(t *testing.T) {
	long := strings.Repeat("a", 300)
	cases := []struct {
		name   string
		line   string
		interp string
		arg    string
		hasArg bool
		err    bool
	}{
		{"plain", "#!/bin/sh\necho\n", "/bin/sh", "", false, false},
		{"arg", "#!/bin/sh -e\n", "/bin/sh", "-e", true, false},
		{"blanks and spaces in arg", "#!  /usr/bin/env   one two  three \t \nbody", "/usr/bin/env", "one two  three", true, false},
		{"tab separator", "#!/bin/sh\tx\n", "/bin/sh", "x", true, false},
		{"no newline", "#!/bin/sh", "/bin/sh", "", false, false},
		{"no newline with arg", "#!/bin/sh x", "/bin/sh", "x", true, false},
		{"carriage return kept", "#!/bin/sh\r\n", "/bin/sh\r", "", false, false},
		{"relative", "#!sh\n", "sh", "", false, false},
		{"NUL ends arg", "#!/bin/sh a\x00b c\n", "/bin/sh", "a", true, false},
		{"NUL after path", "#!/bin/sh\x00x y\n", "/bin/sh", "", false, false},
		{"NUL first", "#!\x00/bin/sh\n", "", "", false, false},
		{"arg starting with NUL", "#!/bin/sh \x00\n", "/bin/sh", "", true, false},
		// Longer than the buffer: the argument is cut at 255 bytes.
		{"long arg", "#!/bin/sh " + long + "\n", "/bin/sh", long[:255-len("#!/bin/sh ")], true, false},
		{"long arg trailing blanks", "#!/bin/sh " + long[:240] + "     " + long, "/bin/sh", long[:240], true, false},
		{"newline at 255", "#!/bin/sh " + long[:245] + "\n", "/bin/sh", long[:245], true, false},
		// Without a newline, a short file's trailing blanks stay (the
		// NUL padding ends the line); measured on Linux 6.18.
		{"no newline trailing blanks", "#!/bin/sh x  ", "/bin/sh", "x  ", true, false},
		{"no newline blanks only after path", "#!/bin/sh   ", "/bin/sh", "", true, false},
		{"empty", "#!\n", "", "", false, true},
		{"blanks only", "#!   \t\n", "", "", false, true},
		{"all blanks to the end", "#!" + strings.Repeat(" ", 300) + "/bin/sh", "", "", false, true},
		{"long path", "#!/" + long + "\n", "", "", false, true},
		{"not a script", "\x7fELF", "", "", false, true},
		{"one byte", "#", "", "", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sb, err := parseShebang([]byte(c.line))
			if c.err {
				if !errors.Is(err, unix.ENOEXEC) {
					t.Errorf("parseShebang = %+v, %v; want ENOEXEC", sb, err)
				}
				return
			}
			if err != nil || sb.interp != c.interp || sb.arg != c.arg || sb.hasArg != c.hasArg {
				t.Errorf("parseShebang = %+v, %v; want interp %q arg %q (%v)", sb, err, c.interp, c.arg, c.hasArg)
			}
		})
	}
}

func FuzzParseShebang(f *testing.F) {
	f.Add([]byte("#!/bin/sh -e\n"))
	f.Add([]byte("#! /usr/bin/env python3  \t\nprint()"))
	f.Add([]byte("#!" + strings.Repeat("x", 300)))
	f.Add([]byte("#!/a\x00b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sb, err := parseShebang(b)
		if err != nil {
			if !errors.Is(err, unix.ENOEXEC) {
				t.Fatalf("error %v is not ENOEXEC", err)
			}
			return
		}
		if !isShebang(b) {
			t.Fatalf("accepted a file not starting with #!")
		}
		if strings.ContainsAny(sb.interp, " \t\x00\n") {
			t.Fatalf("interpreter %q holds a blank, NUL or newline", sb.interp)
		}
		if strings.ContainsAny(sb.arg, "\x00\n") || strings.HasPrefix(sb.arg, " ") || strings.HasPrefix(sb.arg, "\t") {
			t.Fatalf("argument %q holds a NUL or newline, or has leading blanks", sb.arg)
		}
		// Trailing blanks are dropped from a NUL-free line that ends
		// in a newline or fills the buffer. (Otherwise a NUL, or the
		// zero padding of a short file, ends the argument and blanks
		// before it stay, on Linux too.)
		head := b[:min(len(b), binprmBufSize)]
		if bytes.IndexByte(head, 0) < 0 && (bytes.IndexByte(head, '\n') >= 0 || len(b) >= binprmBufSize-1) && (strings.HasSuffix(sb.arg, " ") || strings.HasSuffix(sb.arg, "\t")) {
			t.Fatalf("argument %q has trailing blanks", sb.arg)
		}
		if sb.arg != "" && !sb.hasArg {
			t.Fatalf("argument %q without hasArg", sb.arg)
		}
		if len(sb.interp)+len(sb.arg) > binprmBufSize-3 {
			t.Fatalf("interpreter and argument longer than the buffer: %d+%d", len(sb.interp), len(sb.arg))
		}
		// Only the first binprmBufSize bytes matter.
		if len(b) > binprmBufSize {
			sb2, err := parseShebang(b[:binprmBufSize])
			if err != nil || sb2 != sb {
				t.Fatalf("result depends on bytes past the buffer: %+v vs %+v (%v)", sb, sb2, err)
			}
		}
		// The path is in the buffer where the parser says.
		if sb.interp != "" && !bytes.Contains(b[:min(len(b), binprmBufSize)], []byte(sb.interp)) {
			t.Fatalf("interpreter %q not in the input", sb.interp)
		}
	})
}

func TestScriptArgv(t *testing.T) {
	got := scriptArgv(shebang{interp: "/bin/sh", arg: "-e x", hasArg: true}, "./s", []string{"s", "1", "2"})
	if strings.Join(got, "|") != "/bin/sh|-e x|./s|1|2" {
		t.Errorf("scriptArgv = %q", got)
	}
	got = scriptArgv(shebang{interp: "/bin/sh"}, "./s", []string{"s"})
	if strings.Join(got, "|") != "/bin/sh|./s" {
		t.Errorf("scriptArgv = %q", got)
	}
}

// writeFile writes an executable (mode) file in dir.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadPath loads path through the HostOpener, as execve would.
func loadPath(t *testing.T, path string, argv []string) (*Result, decodedStack, error) {
	t.Helper()
	m := newMM(t)
	res, err := Load(LoadArgs{Filename: path, Opener: HostOpener{}, Argv: argv, Envv: []string{"E=1"}, MM: m})
	if err != nil {
		return nil, decodedStack{}, err
	}
	return res, decodeStack(t, m, res.StackPointer), nil
}

func TestLoadScripts(t *testing.T) {
	dir := t.TempDir()
	prog := writeFile(t, dir, "prog", string(goodELF()), 0o755)
	s1 := writeFile(t, dir, "s1", "#!"+prog+"  one two \t\nbody\n", 0o755)
	res, d, err := loadPath(t, s1, []string{"s1", "x", "y"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{prog, "one two", s1, "x", "y"}
	if strings.Join(d.argv, "|") != strings.Join(want, "|") || strings.Join(res.Argv, "|") != strings.Join(want, "|") {
		t.Errorf("argv = %q (result %q), want %q", d.argv, res.Argv, want)
	}
	if res.Executable != prog || res.Entry != 0x400100 || res.Interpreter != "" {
		t.Errorf("result %+v", res)
	}
	m := newMM(t)
	res, err = Load(LoadArgs{Filename: s1, Opener: HostOpener{}, Argv: []string{"s1"}, MM: m})
	if err != nil {
		t.Fatal(err)
	}
	execfn, _ := m.CopyInString(uintptr(decodeStack(t, m, res.StackPointer).auxv[linux.AT_EXECFN]), 256)
	if execfn != s1 {
		t.Errorf("AT_EXECFN = %q, want the script %q", execfn, s1)
	}

	// Five nested scripts run; a sixth is ELOOP, as on Linux.
	prev := prog
	var chain []string
	for i := 1; i <= 6; i++ {
		prev = writeFile(t, dir, "n"+string(rune('0'+i)), "#!"+prev+" a"+string(rune('0'+i))+"\n", 0o755)
		chain = append(chain, prev)
	}
	res, d, err = loadPath(t, chain[4], []string{"n5", "z"})
	if err != nil {
		t.Fatalf("five nested scripts: %v", err)
	}
	wantArgv := []string{prog, "a1", chain[0], "a2", chain[1], "a3", chain[2], "a4", chain[3], "a5", chain[4], "z"}
	if strings.Join(d.argv, "|") != strings.Join(wantArgv, "|") || res.Executable != prog {
		t.Errorf("nested argv = %q\nwant %q; executable %q", d.argv, wantArgv, res.Executable)
	}
	if _, _, err := loadPath(t, chain[5], []string{"n6"}); !errors.Is(err, unix.ELOOP) {
		t.Errorf("six nested scripts: %v, want ELOOP", err)
	}
	// A script that names itself loops.
	self := filepath.Join(dir, "self")
	writeFile(t, dir, "self", "#!"+self+"\n", 0o755)
	if _, _, err := loadPath(t, self, nil); !errors.Is(err, unix.ELOOP) {
		t.Errorf("self-interpreting script: %v, want ELOOP", err)
	}

	noexec := writeFile(t, dir, "noexec", "#!"+prog+"\n", 0o644)
	junk := writeFile(t, dir, "junk", "just some text that is not a program\n", 0o755)
	empty := writeFile(t, dir, "empty", "", 0o755)
	errCases := []struct {
		name    string
		content string
		want    error
	}{
		{"missing interpreter", "#!" + filepath.Join(dir, "nonexistent") + "\n", unix.ENOENT},
		{"carriage return", "#!" + prog + "\r\n", unix.ENOENT},
		{"interpreter without x", "#!" + noexec + "\n", unix.EACCES},
		{"interpreter is a directory", "#!" + dir + "\n", unix.EACCES},
		{"interpreter is text", "#!" + junk + "\n", unix.ENOEXEC},
		{"interpreter is empty", "#!" + empty + "\n", unix.ENOEXEC},
		{"no interpreter", "#!   \n", unix.ENOEXEC},
		{"path too long", "#!/" + strings.Repeat("p", 300) + "\n", unix.ENOEXEC},
		{"argument too long", "#!" + prog + " " + strings.Repeat("a", maxArgStrlen) + "\n", nil},
	}
	for i, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, "e"+string(rune('a'+i)), c.content, 0o755)
			_, _, err := loadPath(t, p, []string{"e"})
			if c.want == nil {
				// The argument is cut to the 256-byte buffer, so
				// this loads.
				if err != nil {
					t.Errorf("Load: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Errorf("Load = %v, want %v", err, c.want)
			}
		})
	}
	for _, c := range []struct {
		path string
		want error
	}{
		{noexec, unix.EACCES}, {dir, unix.EACCES}, {junk, unix.ENOEXEC}, {empty, unix.ENOEXEC},
		{filepath.Join(dir, "nonexistent"), unix.ENOENT}, {filepath.Join(junk, "x"), unix.ENOTDIR}, {"", unix.ENOENT},
	} {
		if _, _, err := loadPath(t, c.path, []string{"x"}); !errors.Is(err, c.want) {
			t.Errorf("Load(%q) = %v, want %v", c.path, err, c.want)
		}
	}
	// A script's rewritten argv counts against the limit: an argv that
	// fits alone, one byte short of the limit, but not with the
	// interpreter, its argument and the script path added.
	base := uintptr(len(s1)+1) + uintptr(len("E=1")+1) + uintptr(len("s1")+1)
	var argv []string
	for n := 0; ; n++ {
		limit, _ := argLimit(8<<20, n+2, 1)
		rem := limit - base - uintptr(n)*maxArgStrlen
		if rem <= maxArgStrlen {
			argv = []string{"s1"}
			for range n {
				argv = append(argv, strings.Repeat("f", maxArgStrlen-1))
			}
			argv = append(argv, strings.Repeat("g", int(rem)-2))
			if err := checkArgs(limit, s1, argv, []string{"E=1"}); err != nil {
				t.Fatalf("argv built to fit does not: %v", err)
			}
			break
		}
	}
	if _, _, err := loadPath(t, s1, argv); !errors.Is(err, unix.E2BIG) {
		t.Errorf("script growing argv past the limit: %v, want E2BIG", err)
	}
}

func TestMayExec(t *testing.T) {
	cases := []struct {
		mode, uid, gid, euid, egid uint32
		groups                     []int
		want                       bool
	}{
		{0o644, 5, 5, 0, 0, nil, false},
		{0o001, 5, 5, 0, 0, nil, true},
		{0o700, 5, 5, 5, 9, nil, true},
		{0o070, 5, 5, 5, 5, nil, false}, // owner bits apply to the owner
		{0o070, 5, 7, 6, 7, nil, true},
		{0o070, 5, 7, 6, 8, []int{3, 7}, true},
		{0o007, 5, 7, 6, 7, nil, false},
		{0o001, 5, 7, 6, 8, nil, true},
	}
	for _, c := range cases {
		if got := mayExec(c.mode, c.uid, c.gid, c.euid, c.egid, c.groups); got != c.want {
			t.Errorf("mayExec(%+v) = %v", c, got)
		}
	}
}
