package linux

import (
	"testing"

	"github.com/palisade-sandbox/palisade/abi/linux"
	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

func TestTableNames(t *testing.T) {
	for nr := range AMD64.Table {
		s := &AMD64.Table[nr]
		if s.Name == "" {
			t.Errorf("syscall %d has no name", nr)
		}
		if s.Fn == nil && s.Support != kernel.Unsupported {
			t.Errorf("%s: no handler but support %v", s.Name, s.Support)
		}
		if s.Fn != nil && s.Support == kernel.Unsupported {
			t.Errorf("%s: handler but marked unsupported", s.Name)
		}
		if s.Support == kernel.Partial && s.Note == "" {
			t.Errorf("%s: partial support without a note", s.Name)
		}
	}
	for nr, name := range map[int]string{linux.SYS_WRITE: "write", linux.SYS_EXIT_GROUP: "exit_group", linux.SYS_GETRANDOM: "getrandom"} {
		if got := AMD64.Table[nr].Name; got != name {
			t.Errorf("syscall %d named %q, want %q", nr, got, name)
		}
		if AMD64.Table[nr].Fn == nil {
			t.Errorf("%s has no handler", name)
		}
	}
	if AMD64.Lookup(linux.MaxSyscall) != nil || AMD64.Lookup(^uintptr(0)) != nil {
		t.Errorf("Lookup out of range returned an entry")
	}
}
