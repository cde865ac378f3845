package wheel

import (
	"bytes"
	"testing"
)

// A wheel whose METADATA names another distribution or version than its file name is
// refused, as pip refuses it: it would install as a second "flask".
func TestIdentity(t *testing.T) {
	withMeta := func(meta string) []member {
		ms := demo()
		ms[6].body = meta
		return ms
	}
	cases := []struct {
		name, meta string
		want       string // "" for accepted
	}{
		{"other name", "Metadata-Version: 2.1\nName: flask\nVersion: 1.0\n", "METADATA says Name: flask, but the file name is for demo"},
		{"other version", "Metadata-Version: 2.1\nName: demo\nVersion: 2.0\n", "METADATA says Version: 2.0, but the file name has 1.0"},
		{"second name", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nName: flask\n", "Name given twice"},
		{"no version", "Metadata-Version: 2.1\nName: demo\n", "has no Name or no Version"},
		{"bad version", "Metadata-Version: 2.1\nName: demo\nVersion: one\n", "Version:"},
		{"normalised forms", "Metadata-Version: 2.1\nName: DEMO\nVersion: 1.0.0\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := build(t, withMeta(c.meta), nil)
			_, err := OpenReader(demoFile, bytes.NewReader(data), int64(len(data)))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, demoFile+": ", c.want)
		})
	}
}
