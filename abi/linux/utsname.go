package linux

// UTSLen is the size of each field of struct utsname, including the NUL.
const UTSLen = 65

// UtsnameSize is sizeof(struct utsname): six UTSLen-byte fields.
const UtsnameSize = 6 * UTSLen

// Utsname is struct utsname (new_utsname, as uname(2) returns it).
type Utsname struct {
	Sysname    string
	Nodename   string
	Release    string
	Version    string
	Machine    string
	Domainname string
}

// Encode writes u into b (UtsnameSize bytes): each field NUL-padded, and
// truncated to UTSLen-1 bytes so a NUL always terminates it.
func (u *Utsname) Encode(b []byte) {
	_ = b[UtsnameSize-1]
	for i, s := range [6]string{u.Sysname, u.Nodename, u.Release, u.Version, u.Machine, u.Domainname} {
		f := b[i*UTSLen : (i+1)*UTSLen]
		n := copy(f[:UTSLen-1], s)
		clear(f[n:])
	}
}
