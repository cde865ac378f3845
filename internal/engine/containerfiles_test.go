package engine

import (
	"archive/tar"
	"bytes"
	"errors"
	"testing"

	"github.com/pyship/pyship/internal/testutil"
)

// The archive carries each entry's owner and mode as given, rooted at the container's
// /, in order; a path that is not absolute and clean is refused.
func TestEntriesTar(t *testing.T) {
	b, err := entriesTar([]Entry{
		{Path: "/run/pyship/secrets", Dir: true, Mode: 0o500, UID: 10001, GID: 10001},
		{Path: "/run/pyship/secrets/K", Mode: 0o400, UID: 10001, GID: 10001, Data: []byte("value")},
		{Path: "/x", Mode: 0o400, UID: 1 << 31, GID: 7}, // beyond ustar's 2097151
	})
	if err != nil {
		t.Fatal(err)
	}
	type hdr struct {
		name     string
		typ      byte
		mode     int64
		uid, gid int
		data     string
	}
	var got []hdr
	for _, e := range testutil.ReadTar(t, bytes.NewReader(b)) {
		got = append(got, hdr{e.Name, e.Typeflag, e.Mode, e.Uid, e.Gid, e.Body})
	}
	want := []hdr{
		{"run/pyship/secrets/", tar.TypeDir, 0o500, 10001, 10001, ""},
		{"run/pyship/secrets/K", tar.TypeReg, 0o400, 10001, 10001, "value"},
		{"x", tar.TypeReg, 0o400, 1 << 31, 7, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("headers %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("header %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"run/x", "/run/../etc/x", "/run/x/", "/", "", "/a//b"} {
		var ie *InvalidEntryError
		if _, err := entriesTar([]Entry{{Path: bad}}); !errors.As(err, &ie) {
			t.Errorf("path %q: %v", bad, err)
		}
	}
}
