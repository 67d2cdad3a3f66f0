package linux

// The area files register their entries from init functions, which Go
// runs in file-name order after all package variables are set; this file's
// name sorts after every sys_*.go file, so its init builds the table last.
// TestTableHasEveryRegistration fails if a registration comes too late.
func init() { AMD64 = newTable() }
