package linux

import "testing"

// TestTableHasEveryRegistration checks that AMD64 was built after every
// area file registered: a table built now must be the same.
func TestTableHasEveryRegistration(t *testing.T) {
	fresh := newTable()
	for nr := range fresh.Table {
		got, want := AMD64.Table[nr], fresh.Table[nr]
		if (got.Fn == nil) != (want.Fn == nil) || got.Support != want.Support || got.Note != want.Note {
			t.Errorf("syscall %d (%s): AMD64 has support %v, a fresh table %v: a registration ran after the table was built", nr, want.Name, got.Support, want.Support)
		}
	}
}
