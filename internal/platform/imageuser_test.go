package platform

import (
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/bash
# a comment
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
app:x:1001:1002::/home/app:/bin/sh
`

const testGroup = `root:x:0:
staff:x:50:
app:x:1002:
`

func TestResolveUser(t *testing.T) {
	for _, c := range []struct {
		spec     string
		uid, gid int
	}{
		{"", 0, 0},
		{"10001:10001", 10001, 10001},
		{"10001", 10001, 0},
		{"www-data", 33, 33},
		{"app", 1001, 1002},
		{"app:staff", 1001, 50},
		{"app:7", 1001, 7},
		{"33:staff", 33, 50},
	} {
		uid, gid, err := resolveUser(c.spec, []byte(testPasswd), []byte(testGroup))
		if err != nil || uid != c.uid || gid != c.gid {
			t.Errorf("USER %q: %d:%d %v, want %d:%d", c.spec, uid, gid, err, c.uid, c.gid)
		}
	}
	for _, bad := range []string{"nobody", "app:wheel", "-5"} {
		if uid, gid, err := resolveUser(bad, []byte(testPasswd), []byte(testGroup)); err == nil {
			t.Errorf("USER %q resolved to %d:%d", bad, uid, gid)
		}
	}
	// An image without /etc/passwd resolves numeric users only.
	if _, _, err := resolveUser("app", nil, nil); err == nil {
		t.Error("a named USER resolved without a passwd file")
	}
	for spec, want := range map[string]bool{"": true, "1000": true, "1000:1000": true, ":5": true, "app": false, "1000:staff": false, "app:5": false} {
		if numericUser(spec) != want {
			t.Errorf("numericUser(%q) = %v", spec, !want)
		}
	}
}

// The image's /etc/passwd and /etc/group are untrusted input.
func FuzzResolveUser(f *testing.F) {
	f.Add("app", []byte(testPasswd), []byte(testGroup))
	f.Add("app:staff", []byte(testPasswd), []byte(testGroup))
	f.Add("x:y", []byte("x:x:99999999999999999999:1::/:/bin/sh\n"), []byte("y:x:-1:\n"))
	f.Add("a", []byte("a:x:4294967295:4294967295::/:\n"), []byte{})
	f.Add("a", []byte("a::::::::::\n\x00\xff"), []byte(":::\n"))
	f.Fuzz(func(t *testing.T, spec string, passwd, group []byte) {
		uid, gid, err := resolveUser(spec, passwd, group)
		if err == nil && (uid < 0 || gid < 0 || int64(uid) >= 1<<32-1 || int64(gid) >= 1<<32-1) {
			t.Fatalf("USER %q resolved to %d:%d", spec, uid, gid)
		}
	})
}
