package vfs_test

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sandbox/palisade/sentry/vfs"
)

const none = vfs.NoID

var (
	all      = vfs.AllCapabilities
	fsCaps   = vfs.FSCapabilities
	nonFS    = vfs.AllCapabilities &^ vfs.FSCapabilities
	setuid   = vfs.CapabilitySetOf(unix.CAP_SETUID)
	setgid   = vfs.CapabilitySetOf(unix.CAP_SETGID)
	setpcap  = vfs.CapabilitySetOf(unix.CAP_SETPCAP)
	kill     = vfs.CapabilitySetOf(unix.CAP_KILL)
	netAdmin = vfs.CapabilitySetOf(unix.CAP_NET_ADMIN)
)

// uids returns root credentials (all capabilities) with the user IDs
// replaced.
func uids(r, e, s, fs uint32) *vfs.Credentials {
	c := vfs.RootCredentials()
	c.RealUID, c.EffectiveUID, c.SavedUID, c.FSUID = r, e, s, fs
	return c
}

// user returns capability-less credentials with the given user IDs and
// group 100.
func user(r, e, s, fs uint32) *vfs.Credentials {
	c := vfs.UserCredentials(0, 100)
	c.RealUID, c.EffectiveUID, c.SavedUID, c.FSUID = r, e, s, fs
	return c
}

// groupUser returns capability-less credentials of uid 1000 with the given
// group IDs.
func groupUser(r, e, s, fs uint32) *vfs.Credentials {
	c := vfs.UserCredentials(1000, 0)
	c.RealGID, c.EffectiveGID, c.SavedGID, c.FSGID = r, e, s, fs
	return c
}

// with applies f to a copy of c.
func with(c *vfs.Credentials, f func(*vfs.Credentials)) *vfs.Credentials {
	n := c.Copy()
	f(n)
	return n
}

// caps sets the effective, permitted and ambient sets.
func caps(c *vfs.Credentials, eff, perm, amb vfs.CapabilitySet) *vfs.Credentials {
	return with(c, func(n *vfs.Credentials) {
		n.EffectiveCaps, n.PermittedCaps, n.AmbientCaps = eff, perm, amb
	})
}

// secure sets securebits.
func secure(c *vfs.Credentials, b vfs.SecureBits) *vfs.Credentials {
	return with(c, func(n *vfs.Credentials) { n.SecureBits = b })
}

type transitionCase struct {
	name    string
	start   *vfs.Credentials
	op      func(*vfs.Credentials) (*vfs.Credentials, error)
	want    *vfs.Credentials
	wantErr error
	// same says the result must be start itself (nothing changed).
	same bool
}

func runTransitions(t *testing.T, cases []transitionCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.start.Copy()
			got, err := tc.op(tc.start)
			if !reflect.DeepEqual(tc.start, before) {
				t.Fatalf("receiver changed: %+v, was %+v", tc.start, before)
			}
			if tc.wantErr != nil {
				if err != tc.wantErr {
					t.Fatalf("err = %v, want %v (result %+v)", err, tc.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.same {
				if got != tc.start {
					t.Fatalf("got a new value %+v, want the receiver", got)
				}
				return
			}
			if got == tc.start {
				t.Fatalf("got the receiver back, want a copy")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSetUID(t *testing.T) {
	op := func(id uint32) func(*vfs.Credentials) (*vfs.Credentials, error) {
		return func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetUID(id) }
	}
	runTransitions(t, []transitionCase{
		{name: "root drops everything", start: uids(0, 0, 0, 0), op: op(1000),
			want: caps(uids(1000, 1000, 1000, 1000), 0, 0, 0)},
		{name: "root drop clears ambient", start: caps(uids(0, 0, 0, 0), all, all, kill), op: op(1000),
			want: caps(uids(1000, 1000, 1000, 1000), 0, 0, 0)},
		{name: "keep-caps keeps permitted", start: secure(uids(0, 0, 0, 0), vfs.SecureKeepCaps), op: op(1000),
			want: secure(caps(uids(1000, 1000, 1000, 1000), 0, all, 0), vfs.SecureKeepCaps)},
		{name: "no-setuid-fixup keeps all", start: secure(caps(uids(0, 0, 0, 0), all, all, kill), vfs.SecureNoSetuidFixup), op: op(1000),
			want: secure(caps(uids(1000, 1000, 1000, 1000), all, all, kill), vfs.SecureNoSetuidFixup)},
		{name: "root setuid root", start: uids(0, 0, 0, 0), op: op(0), want: uids(0, 0, 0, 0)},
		{name: "privileged non-root real", start: uids(1000, 0, 0, 0), op: op(2000),
			want: caps(uids(2000, 2000, 2000, 2000), 0, 0, 0)},
		{name: "unprivileged to saved", start: user(1000, 2000, 3000, 2000), op: op(3000),
			want: user(1000, 3000, 3000, 3000)},
		{name: "unprivileged to real", start: user(1000, 2000, 3000, 2000), op: op(1000),
			want: user(1000, 1000, 3000, 1000)},
		{name: "unprivileged to other", start: user(1000, 2000, 3000, 2000), op: op(2000), wantErr: unix.EPERM},
		{name: "unprivileged to root", start: user(1000, 1000, 1000, 1000), op: op(0), wantErr: unix.EPERM},
		{name: "-1 is invalid", start: uids(0, 0, 0, 0), op: op(none), wantErr: unix.EINVAL},
		{name: "setuid without CAP_SETUID keeps real", start: caps(uids(1000, 0, 0, 0), kill, kill, 0), op: op(1000),
			// euid 0 -> 1000 with saved 0 still root: only effective clears.
			want: caps(uids(1000, 1000, 0, 1000), 0, kill, 0)},
	})
}

func TestSetREUID(t *testing.T) {
	op := func(r, e uint32) func(*vfs.Credentials) (*vfs.Credentials, error) {
		return func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetREUID(r, e) }
	}
	u := user(1000, 2000, 3000, 2000)
	runTransitions(t, []transitionCase{
		{name: "real to effective", start: u, op: op(2000, none), want: user(2000, 2000, 2000, 2000)},
		{name: "real to saved refused", start: u, op: op(3000, none), wantErr: unix.EPERM},
		{name: "effective to saved", start: u, op: op(none, 3000), want: user(1000, 3000, 3000, 3000)},
		{name: "effective to real keeps saved", start: u, op: op(none, 1000), want: user(1000, 1000, 3000, 1000)},
		{name: "effective to other refused", start: u, op: op(none, 4000), wantErr: unix.EPERM},
		{name: "swap", start: u, op: op(2000, 1000), want: user(2000, 1000, 1000, 1000)},
		{name: "nothing resets fsuid", start: user(1000, 2000, 3000, 1000), op: op(none, none), want: u},
		{name: "root drops all", start: uids(0, 0, 0, 0), op: op(1000, 1000),
			want: caps(uids(1000, 1000, 1000, 1000), 0, 0, 0)},
		{name: "root effective only", start: uids(0, 0, 0, 0), op: op(none, 1000),
			want: caps(uids(0, 1000, 1000, 1000), 0, all, 0)},
		{name: "effective back to real root restores", start: caps(uids(0, 1000, 1000, 1000), 0, all, 0), op: op(none, 0),
			// The new effective ID is the old real one: saved stays.
			want: uids(0, 0, 1000, 0)},
		{name: "privileged any", start: uids(0, 0, 0, 0), op: op(5, 6),
			want: caps(uids(5, 6, 6, 6), 0, 0, 0)},
	})
}

func TestSetRESUID(t *testing.T) {
	op := func(r, e, s uint32) func(*vfs.Credentials) (*vfs.Credentials, error) {
		return func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetRESUID(r, e, s) }
	}
	u := user(1000, 2000, 3000, 2000)
	runTransitions(t, []transitionCase{
		{name: "no-op", start: u, op: op(none, none, none), same: true},
		{name: "no-op same values", start: u, op: op(1000, 2000, 3000), same: true},
		{name: "no-op keeps differing fsuid", start: user(1000, 2000, 3000, 1000), op: op(none, none, none), same: true},
		{name: "same euid resets fsuid", start: user(1000, 2000, 3000, 1000), op: op(none, 2000, none), want: u},
		{name: "permute", start: u, op: op(3000, 1000, 2000), want: user(3000, 1000, 2000, 1000)},
		{name: "other real refused", start: u, op: op(4000, none, none), wantErr: unix.EPERM},
		{name: "other saved refused", start: u, op: op(none, none, 4000), wantErr: unix.EPERM},
		{name: "root effective drop keeps permitted", start: uids(0, 0, 0, 0), op: op(none, 1000, none),
			want: caps(uids(0, 1000, 0, 1000), 0, all, 0)},
		{name: "root full drop", start: caps(uids(0, 0, 0, 0), all, all, kill), op: op(1000, 1000, 1000),
			want: caps(uids(1000, 1000, 1000, 1000), 0, 0, 0)},
		{name: "keep-caps full drop", start: secure(caps(uids(0, 0, 0, 0), all, all, kill), vfs.SecureKeepCaps), op: op(1000, 1000, 1000),
			want: secure(caps(uids(1000, 1000, 1000, 1000), 0, all, 0), vfs.SecureKeepCaps)},
		{name: "saved root keeps permitted", start: uids(0, 0, 0, 0), op: op(1000, 1000, 0),
			want: caps(uids(1000, 1000, 0, 1000), 0, all, 0)},
		{name: "unprivileged back to saved root", start: caps(uids(1000, 1000, 0, 1000), 0, all, 0), op: op(none, 0, none),
			want: uids(1000, 0, 0, 0)},
		{name: "regain needs no capability", start: caps(user(1000, 1000, 0, 1000), 0, kill, 0), op: op(none, 0, none),
			want: caps(user(1000, 0, 0, 0), kill, kill, 0)},
	})
}

func TestSetFSUID(t *testing.T) {
	op := func(id uint32) func(*vfs.Credentials) (*vfs.Credentials, error) {
		return func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetFSUID(id), nil }
	}
	runTransitions(t, []transitionCase{
		{name: "root to user drops fs caps", start: uids(0, 0, 0, 0), op: op(1000),
			want: caps(uids(0, 0, 0, 1000), nonFS, all, 0)},
		{name: "back to root raises permitted fs caps", start: caps(uids(0, 0, 0, 1000), nonFS, all, 0), op: op(0),
			want: uids(0, 0, 0, 0)},
		{name: "raise only permitted", start: caps(uids(0, 0, 0, 1000), 0, kill|vfs.CapabilitySetOf(unix.CAP_CHOWN), 0), op: op(0),
			want: caps(uids(0, 0, 0, 0), vfs.CapabilitySetOf(unix.CAP_CHOWN), kill|vfs.CapabilitySetOf(unix.CAP_CHOWN), 0)},
		{name: "no fixup", start: secure(uids(0, 0, 0, 0), vfs.SecureNoSetuidFixup), op: op(1000),
			want: secure(uids(0, 0, 0, 1000), vfs.SecureNoSetuidFixup)},
		{name: "unprivileged to saved", start: user(1000, 2000, 3000, 2000), op: op(3000), want: user(1000, 2000, 3000, 3000)},
		{name: "unprivileged to other ignored", start: user(1000, 2000, 3000, 2000), op: op(4000), same: true},
		{name: "unchanged", start: user(1000, 2000, 3000, 2000), op: op(2000), same: true},
		{name: "-1 ignored", start: uids(0, 0, 0, 0), op: op(none), same: true},
		{name: "fs caps outside effective stay out", start: caps(uids(0, 0, 0, 0), kill|setuid, all, 0), op: op(5),
			want: caps(uids(0, 0, 0, 5), kill|setuid, all, 0)},
		{name: "other needs CAP_SETUID", start: caps(uids(0, 0, 0, 0), kill, all, 0), op: op(5), same: true},
	})
	if got := fsCaps.Has(unix.CAP_MKNOD) && fsCaps.Has(unix.CAP_LINUX_IMMUTABLE) && !fsCaps.Has(unix.CAP_SETUID); !got {
		t.Errorf("FSCapabilities = %#x", fsCaps)
	}
}

func TestSetGIDs(t *testing.T) {
	g := groupUser(100, 200, 300, 200)
	runTransitions(t, []transitionCase{
		{name: "setgid privileged", start: uids(0, 0, 0, 0),
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetGID(7) },
			want: with(uids(0, 0, 0, 0), func(n *vfs.Credentials) { n.RealGID, n.EffectiveGID, n.SavedGID, n.FSGID = 7, 7, 7, 7 })},
		{name: "setgid keeps caps", start: caps(uids(1000, 1000, 1000, 1000), setgid, setgid, 0),
			op: func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetGID(7) },
			want: with(caps(uids(1000, 1000, 1000, 1000), setgid, setgid, 0), func(n *vfs.Credentials) {
				n.RealGID, n.EffectiveGID, n.SavedGID, n.FSGID = 7, 7, 7, 7
			})},
		{name: "setgid to saved", start: g,
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetGID(300) },
			want: groupUser(100, 300, 300, 300)},
		{name: "setgid to other", start: g,
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetGID(200) },
			wantErr: unix.EPERM},
		{name: "setgid -1", start: g,
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetGID(none) },
			wantErr: unix.EINVAL},
		{name: "setgid needs CAP_SETGID not CAP_SETUID", start: caps(user(1000, 1000, 1000, 1000), setuid, setuid, 0),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetGID(5) },
			wantErr: unix.EPERM},
		{name: "setregid swap", start: g,
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetREGID(200, 100) },
			want: groupUser(200, 100, 100, 100)},
		{name: "setregid real to saved refused", start: g,
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetREGID(300, none) },
			wantErr: unix.EPERM},
		{name: "setregid effective to real keeps saved", start: g,
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetREGID(none, 100) },
			want: groupUser(100, 100, 300, 100)},
		{name: "setresgid permute", start: g,
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetRESGID(300, 100, 200) },
			want: groupUser(300, 100, 200, 100)},
		{name: "setresgid other refused", start: g,
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetRESGID(none, 5, none) },
			wantErr: unix.EPERM},
		{name: "setresgid no-op", start: g,
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetRESGID(none, none, none) },
			same: true},
		{name: "setfsgid to real", start: g,
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetFSGID(100), nil },
			want: groupUser(100, 200, 300, 100)},
		{name: "setfsgid to other ignored", start: g,
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetFSGID(5), nil },
			same: true},
		{name: "setfsgid root keeps caps", start: uids(0, 0, 0, 0),
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetFSGID(5), nil },
			want: with(uids(0, 0, 0, 0), func(n *vfs.Credentials) { n.FSGID = 5 })},
	})
}

func TestSetGroups(t *testing.T) {
	op := func(gs []uint32) func(*vfs.Credentials) (*vfs.Credentials, error) {
		return func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetGroups(gs) }
	}
	runTransitions(t, []transitionCase{
		{name: "sorted", start: uids(0, 0, 0, 0), op: op([]uint32{5, 3, 1, 3}),
			want: with(uids(0, 0, 0, 0), func(n *vfs.Credentials) { n.Groups = []uint32{1, 3, 3, 5} })},
		{name: "empty", start: with(uids(0, 0, 0, 0), func(n *vfs.Credentials) { n.Groups = []uint32{4} }), op: op(nil),
			want: uids(0, 0, 0, 0)},
		{name: "unprivileged", start: user(1, 1, 1, 1), op: op([]uint32{1}), wantErr: unix.EPERM},
		{name: "too many", start: uids(0, 0, 0, 0), op: op(make([]uint32, vfs.NGroupsMax+1)), wantErr: unix.EINVAL},
		{name: "invalid gid", start: uids(0, 0, 0, 0), op: op([]uint32{1, none}), wantErr: unix.EINVAL},
	})
	max := make([]uint32, vfs.NGroupsMax)
	c, err := vfs.RootCredentials().SetGroups(max)
	if err != nil || len(c.Groups) != vfs.NGroupsMax {
		t.Fatalf("NGROUPS_MAX groups: %v, %d", err, len(c.Groups))
	}
	in := []uint32{9, 8}
	c, _ = vfs.RootCredentials().SetGroups(in)
	in[0] = 1
	if c.Groups[1] != 9 {
		t.Fatalf("groups alias the caller's slice: %v", c.Groups)
	}
}

func TestSetCapabilities(t *testing.T) {
	op := func(e, p, i vfs.CapabilitySet) func(*vfs.Credentials) (*vfs.Credentials, error) {
		return func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetCapabilities(e, p, i) }
	}
	inh := func(c *vfs.Credentials, i vfs.CapabilitySet) *vfs.Credentials {
		return with(c, func(n *vfs.Credentials) { n.InheritableCaps = i })
	}
	bound := func(c *vfs.Credentials, b vfs.CapabilitySet) *vfs.Credentials {
		return with(c, func(n *vfs.Credentials) { n.BoundingCaps = b })
	}
	unpriv := caps(user(1000, 1000, 1000, 1000), kill, kill|netAdmin, 0)
	runTransitions(t, []transitionCase{
		{name: "drop", start: uids(0, 0, 0, 0), op: op(kill, kill|netAdmin, 0),
			want: caps(uids(0, 0, 0, 0), kill, kill|netAdmin, 0)},
		{name: "bits past the last cap ignored", start: uids(0, 0, 0, 0), op: op(^vfs.CapabilitySet(0), ^vfs.CapabilitySet(0), 0),
			want: uids(0, 0, 0, 0)},
		{name: "raise permitted refused", start: unpriv, op: op(kill, kill|setuid, 0), wantErr: unix.EPERM},
		{name: "effective outside new permitted", start: unpriv, op: op(netAdmin, kill, 0), wantErr: unix.EPERM},
		{name: "raise effective from permitted", start: unpriv, op: op(kill|netAdmin, kill|netAdmin, 0),
			want: caps(user(1000, 1000, 1000, 1000), kill|netAdmin, kill|netAdmin, 0)},
		{name: "inheritable from permitted", start: unpriv, op: op(kill, kill|netAdmin, netAdmin),
			want: inh(unpriv, netAdmin)},
		{name: "inheritable beyond permitted needs CAP_SETPCAP", start: unpriv, op: op(kill, kill|netAdmin, setuid), wantErr: unix.EPERM},
		{name: "CAP_SETPCAP inheritable beyond permitted", start: caps(user(1, 1, 1, 1), setpcap, setpcap, 0), op: op(setpcap, setpcap, setuid),
			want: inh(caps(user(1, 1, 1, 1), setpcap, setpcap, 0), setuid)},
		{name: "inheritable outside bounding", start: bound(uids(0, 0, 0, 0), nonFS), op: op(all, all, vfs.CapabilitySetOf(unix.CAP_CHOWN)),
			wantErr: unix.EPERM},
		{name: "inheritable kept outside bounding", start: inh(bound(uids(0, 0, 0, 0), nonFS), fsCaps), op: op(all, all, fsCaps),
			want: inh(bound(uids(0, 0, 0, 0), nonFS), fsCaps)},
		{name: "ambient trimmed", start: inh(caps(uids(0, 0, 0, 0), all, all, kill|netAdmin), kill|netAdmin), op: op(all, all, kill),
			want: inh(caps(uids(0, 0, 0, 0), all, all, kill), kill)},
	})
}

func TestSecureBitsAndAmbient(t *testing.T) {
	runTransitions(t, []transitionCase{
		{name: "set keep-caps", start: uids(0, 0, 0, 0),
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetKeepCaps(true) },
			want: secure(uids(0, 0, 0, 0), vfs.SecureKeepCaps)},
		{name: "clear keep-caps", start: secure(user(1, 1, 1, 1), vfs.SecureKeepCaps|vfs.SecureNoRoot),
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetKeepCaps(false) },
			want: secure(user(1, 1, 1, 1), vfs.SecureNoRoot)},
		{name: "keep-caps locked", start: secure(uids(0, 0, 0, 0), vfs.SecureKeepCapsLocked),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetKeepCaps(true) },
			wantErr: unix.EPERM},
		{name: "securebits set and lock", start: uids(0, 0, 0, 0),
			op: func(c *vfs.Credentials) (*vfs.Credentials, error) {
				return c.SetSecureBits(vfs.SecureNoRoot | vfs.SecureNoRootLocked)
			},
			want: secure(uids(0, 0, 0, 0), vfs.SecureNoRoot|vfs.SecureNoRootLocked)},
		{name: "securebits locked flag", start: secure(uids(0, 0, 0, 0), vfs.SecureNoRoot|vfs.SecureNoRootLocked),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetSecureBits(vfs.SecureNoRootLocked) },
			wantErr: unix.EPERM},
		{name: "securebits unlock", start: secure(uids(0, 0, 0, 0), vfs.SecureNoRootLocked),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetSecureBits(0) },
			wantErr: unix.EPERM},
		{name: "securebits unknown", start: uids(0, 0, 0, 0),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetSecureBits(1 << 8) },
			wantErr: unix.EPERM},
		{name: "securebits unprivileged", start: user(1, 1, 1, 1),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.SetSecureBits(vfs.SecureKeepCaps) },
			wantErr: unix.EPERM},
		{name: "drop bounding", start: uids(0, 0, 0, 0),
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.DropBoundingCapability(unix.CAP_KILL) },
			want: with(uids(0, 0, 0, 0), func(n *vfs.Credentials) { n.BoundingCaps = all &^ kill })},
		{name: "drop bounding unprivileged", start: user(1, 1, 1, 1),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.DropBoundingCapability(unix.CAP_KILL) },
			wantErr: unix.EPERM},
		{name: "drop bounding invalid", start: uids(0, 0, 0, 0),
			op: func(c *vfs.Credentials) (*vfs.Credentials, error) {
				return c.DropBoundingCapability(unix.CAP_LAST_CAP + 1)
			},
			wantErr: unix.EINVAL},
		{name: "ambient raise", start: with(uids(0, 0, 0, 0), func(n *vfs.Credentials) { n.InheritableCaps = kill }),
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.RaiseAmbientCapability(unix.CAP_KILL) },
			want: with(uids(0, 0, 0, 0), func(n *vfs.Credentials) { n.InheritableCaps, n.AmbientCaps = kill, kill })},
		{name: "ambient raise not inheritable", start: uids(0, 0, 0, 0),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.RaiseAmbientCapability(unix.CAP_KILL) },
			wantErr: unix.EPERM},
		{name: "ambient raise locked out", start: secure(with(uids(0, 0, 0, 0), func(n *vfs.Credentials) { n.InheritableCaps = kill }), vfs.SecureNoCapAmbientRaise),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.RaiseAmbientCapability(unix.CAP_KILL) },
			wantErr: unix.EPERM},
		{name: "ambient raise invalid", start: uids(0, 0, 0, 0),
			op:      func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.RaiseAmbientCapability(-1) },
			wantErr: unix.EINVAL},
		{name: "ambient lower", start: caps(uids(0, 0, 0, 0), all, all, kill|netAdmin),
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.LowerAmbientCapability(unix.CAP_KILL) },
			want: caps(uids(0, 0, 0, 0), all, all, netAdmin)},
		{name: "ambient clear", start: caps(uids(0, 0, 0, 0), all, all, kill|netAdmin),
			op:   func(c *vfs.Credentials) (*vfs.Credentials, error) { return c.ClearAmbientCapabilities(), nil },
			want: uids(0, 0, 0, 0)},
	})
}

// TestCopyIsDeep checks that Copy shares no groups with the original.
func TestCopyIsDeep(t *testing.T) {
	c := vfs.UserCredentials(1, 1, 10, 20)
	n := c.Copy()
	n.Groups[0] = 99
	if c.Groups[0] != 10 {
		t.Fatalf("Copy shares Groups")
	}
}

// TestSetuidThenPermissions checks the VFS sees a dropped user: root
// reads a 0600 file of another user, the same credentials after setuid do
// not.
func TestSetuidThenPermissions(t *testing.T) {
	root := vfs.RootCredentials()
	if err := vfs.GenericCheckPermissions(root, vfs.MayRead, 0o100600, 5, 5); err != nil {
		t.Fatalf("root: %v", err)
	}
	u, err := root.SetUID(1000)
	if err != nil {
		t.Fatal(err)
	}
	if err := vfs.GenericCheckPermissions(u, vfs.MayRead, 0o100600, 5, 5); err != unix.EACCES {
		t.Fatalf("after setuid: %v, want EACCES", err)
	}
	fs := root.SetFSUID(1000)
	if err := vfs.GenericCheckPermissions(fs, vfs.MayRead, 0o100600, 5, 5); err != unix.EACCES {
		t.Fatalf("after setfsuid: %v, want EACCES", err)
	}
	if err := vfs.GenericCheckPermissions(fs, vfs.MayRead, 0o100600, 1000, 5); err != nil {
		t.Fatalf("after setfsuid, own file: %v", err)
	}
}

func TestForExec(t *testing.T) {
	const (
		plain   = 0o100755
		suid    = 0o104755
		sgid    = 0o102755
		sgidNoX = 0o102745
	)
	inh := func(c *vfs.Credentials, i vfs.CapabilitySet) *vfs.Credentials {
		return with(c, func(n *vfs.Credentials) { n.InheritableCaps = i })
	}
	gids := func(c *vfs.Credentials, r, e, s, fs uint32) *vfs.Credentials {
		return with(c, func(n *vfs.Credentials) { n.RealGID, n.EffectiveGID, n.SavedGID, n.FSGID = r, e, s, fs })
	}
	bounded := with(uids(0, 0, 0, 0), func(n *vfs.Credentials) { n.BoundingCaps = nonFS })
	for _, tc := range []struct {
		name           string
		start          *vfs.Credentials
		mode, uid, gid uint32
		nosuid         bool
		want           *vfs.Credentials
	}{
		{name: "root keeps all", start: caps(uids(0, 0, 0, 0), kill, kill, 0), mode: plain, uid: 5, gid: 5,
			want: uids(0, 0, 0, 0)},
		{name: "root limited by bounding", start: bounded, mode: plain,
			want: caps(bounded, nonFS, nonFS, 0)},
		{name: "root inheritable outside bounding", start: inh(bounded, kill|vfs.CapabilitySetOf(unix.CAP_CHOWN)), mode: plain,
			want: caps(inh(bounded, kill|vfs.CapabilitySetOf(unix.CAP_CHOWN)), nonFS|vfs.CapabilitySetOf(unix.CAP_CHOWN), nonFS|vfs.CapabilitySetOf(unix.CAP_CHOWN), 0)},
		{name: "user gets nothing", start: user(1000, 1000, 1000, 1000), mode: plain,
			want: user(1000, 1000, 1000, 1000)},
		{name: "user keep-caps cleared and permitted lost", start: secure(caps(user(1000, 1000, 1000, 1000), 0, all, 0), vfs.SecureKeepCaps), mode: plain,
			want: user(1000, 1000, 1000, 1000)},
		{name: "user ambient", start: inh(caps(user(1000, 1000, 1000, 1000), kill, kill, kill), kill), mode: plain,
			want: inh(caps(user(1000, 1000, 1000, 1000), kill, kill, kill), kill)},
		{name: "setuid root from user", start: user(1000, 1000, 1000, 1000), mode: suid, uid: 0,
			want: caps(user(1000, 0, 0, 0), all, all, 0)},
		{name: "setuid root ignored on nosuid", start: user(1000, 1000, 1000, 1000), mode: suid, uid: 0, nosuid: true,
			want: user(1000, 1000, 1000, 1000)},
		{name: "setuid user clears ambient", start: inh(caps(user(1000, 1000, 1000, 1000), kill, kill, kill), kill), mode: suid, uid: 2000,
			want: inh(user(1000, 2000, 2000, 2000), kill)},
		{name: "setuid user from root: real root keeps permitted", start: uids(0, 0, 0, 0), mode: suid, uid: 2000,
			want: caps(uids(0, 2000, 2000, 2000), 0, all, 0)},
		{name: "setgid", start: user(1000, 1000, 1000, 1000), mode: sgid, gid: 50,
			want: gids(user(1000, 1000, 1000, 1000), 100, 50, 50, 50)},
		{name: "setgid without group exec is not setgid", start: user(1000, 1000, 1000, 1000), mode: sgidNoX, gid: 50,
			want: user(1000, 1000, 1000, 1000)},
		{name: "saved and fs follow effective", start: user(1000, 2000, 3000, 4000), mode: plain,
			// A saved set-user-ID program still has differing IDs:
			// effective stays, saved and fs follow it.
			want: user(1000, 2000, 2000, 2000)},
		{name: "noroot", start: secure(uids(0, 0, 0, 0), vfs.SecureNoRoot), mode: plain,
			want: secure(caps(uids(0, 0, 0, 0), 0, 0, 0), vfs.SecureNoRoot)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.start.Copy()
			got := tc.start.ForExec(tc.mode, tc.uid, tc.gid, tc.nosuid)
			if !reflect.DeepEqual(tc.start, before) {
				t.Fatalf("receiver changed")
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
