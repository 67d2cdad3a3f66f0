package linux

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCompatibilityPageUpToDate keeps docs/compatibility.md equal to what
// the table says.
func TestCompatibilityPageUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "..", "docs", "compatibility.md")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if string(got) != CompatibilityMarkdown() {
		t.Fatalf("%s is out of date: run go run ./runsc syscalls --markdown > docs/compatibility.md", path)
	}
}
