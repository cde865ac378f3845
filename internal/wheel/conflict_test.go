package wheel

import (
	"bytes"
	"testing"

	"github.com/pyship/pyship/internal/layer"
)

// A file and a directory at one path in one wheel, or a .data directory as a file,
// would give the engine an invalid layer.
func TestFileDirectoryConflictInOneWheel(t *testing.T) {
	cases := map[string]struct {
		m    member
		want []string
	}{
		"file and directory": {member{name: "demo/__init__.py/x.py", body: "x"}, []string{"/opt/venv/lib/python3.11/site-packages/demo/__init__.py: ", demoFile + " has a file here and also needs a directory"}},
		"data dir as a file": {member{name: "demo-1.0.data/scripts", body: "x"}, []string{demoFile + ": demo-1.0.data/scripts: a file where the wheel format has the .data/scripts directory"}},
		"purelib as a file":  {member{name: "demo-1.0.data/purelib", body: "x"}, []string{"a file where the wheel format has the .data/purelib directory"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := install(t, build(t, append(demo(), c.m), nil))
			wantErr(t, err, c.want...)
		})
	}
	// Across wheels in one tree, the conflict names both.
	tree := layer.NewTree()
	data := build(t, demo(), nil)
	w, _ := OpenReader(demoFile, bytes.NewReader(data), int64(len(data)))
	if err := w.Install(tree, scheme); err != nil {
		t.Fatal(err)
	}
	other := build(t, []member{
		{name: "other/__init__.py", body: ""},
		{name: "other-2.0.data/purelib/demo/__init__.py/evil.py", body: "x"},
		{name: "other-2.0.dist-info/METADATA", body: "Name: other\nVersion: 2.0\n"},
		{name: "other-2.0.dist-info/WHEEL", body: "Wheel-Version: 1.0\n"},
	}, nil)
	o, err := OpenReader("other-2.0-py3-none-any.whl", bytes.NewReader(other), int64(len(other)))
	if err != nil {
		t.Fatal(err)
	}
	err = o.Install(tree, scheme)
	wantErr(t, err, demoFile+" installs a file here, but other-2.0-py3-none-any.whl needs a directory here")
}
