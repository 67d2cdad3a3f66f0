package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// SearchPath is the PATH the program tests give their commands, native
// and sandboxed alike.
const SearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// LookPath finds name in SearchPath (not the test's own PATH, which may
// hold wrappers such as pyenv shims) and returns its absolute path.
func LookPath(name string) (string, bool) {
	for _, dir := range filepath.SplitList(SearchPath) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// RequirePrograms skips the test unless every name is in SearchPath.
func RequirePrograms(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, ok := LookPath(n); !ok {
			t.Skipf("%s not installed (not in %s)", n, SearchPath)
		}
	}
}

// DirEntries returns the names in dir, failing the test if it cannot be
// read.
func DirEntries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
