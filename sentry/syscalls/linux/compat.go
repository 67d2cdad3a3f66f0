package linux

import (
	"fmt"
	"strings"

	"github.com/palisade-sandbox/palisade/sentry/kernel"
)

// CompatibilityMarkdown renders the table as the Markdown page
// docs/compatibility.md: every amd64 syscall with its support level and
// note. A test keeps the committed page equal to this output.
func CompatibilityMarkdown() string {
	var b strings.Builder
	counts := map[kernel.SupportLevel]int{}
	for nr := range AMD64.Table {
		if AMD64.Table[nr].Name != "" && !strings.HasPrefix(AMD64.Table[nr].Name, "syscall_") {
			counts[AMD64.Table[nr].Support]++
		}
	}
	b.WriteString("# Syscall compatibility (amd64)\n\n")
	b.WriteString("Generated from the Sentry's syscall table by `go run ./runsc syscalls --markdown > docs/compatibility.md`;\n")
	b.WriteString("do not edit by hand. Unsupported calls return `ENOSYS` unless the note says otherwise.\n")
	b.WriteString("The conformance suite's results under runsc are in `test/syscalls` (see its README).\n\n")
	fmt.Fprintf(&b, "Supported: %d. Partial: %d. Unsupported: %d.\n\n",
		counts[kernel.Supported], counts[kernel.Partial], counts[kernel.Unsupported])
	b.WriteString("| nr | name | support | note |\n|---:|---|---|---|\n")
	for nr := range AMD64.Table {
		e := &AMD64.Table[nr]
		if e.Name == "" || strings.HasPrefix(e.Name, "syscall_") {
			continue
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", nr, e.Name, e.Support, strings.ReplaceAll(e.Note, "|", "\\|"))
	}
	return b.String()
}
