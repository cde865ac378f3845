package wheel

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/layer"
)

// Any first line starting with "#!python" is replaced whole, as pip's fix_script does.
func TestShebangs(t *testing.T) {
	long := Scheme{Prefix: "/opt/venv", SitePackages: "/opt/venv/lib/python3.11/site-packages", PythonMinor: "3.11", Interpreter: "/opt/" + strings.Repeat("v", 130) + "/bin/python"}
	cases := []struct {
		body, want string
		s          Scheme
	}{
		{"#!python\nprint(1)\n", "#!/opt/venv/bin/python\nprint(1)\n", scheme},
		{"#!python3\nprint(1)\n", "#!/opt/venv/bin/python\nprint(1)\n", scheme},
		{"#!python3.11\nprint(1)\n", "#!/opt/venv/bin/python\nprint(1)\n", scheme},
		{"#!python\r\nprint(1)\r\n", "#!/opt/venv/bin/python\nprint(1)\r\n", scheme},
		{"#!pythonw -u\nprint(1)\n", "#!/opt/venv/bin/python\nprint(1)\n", scheme},
		{"#!python -E -s\r\nx", "#!/opt/venv/bin/python\nx", scheme},
		{"#!python", "#!/opt/venv/bin/python\n", scheme},
		{"#!/usr/bin/env python\nprint(1)\n", "#!/usr/bin/env python\nprint(1)\n", scheme},
		{"#!/bin/sh\nexec true\n", "#!/bin/sh\nexec true\n", scheme},
		{"\x7fELF\x02\x01", "\x7fELF\x02\x01", scheme},
		{"#!pyth", "#!pyth", scheme},
		{"#!python3\nx\n", "#!/bin/sh\n'''exec' '" + long.Interpreter + "' \"$0\" \"$@\"\n' '''\nx\n", long},
	}
	for _, c := range cases {
		ms := demo()
		ms[2].body = c.body
		data := build(t, ms, nil)
		w, err := OpenReader(demoFile, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		tree := layer.NewTree()
		if err := w.Install(tree, c.s); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := tree.WriteTar(&out, time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
		got := tarFile(t, out.Bytes(), "opt/venv/bin/demo-tool")
		if got != c.want {
			t.Errorf("%q → %q, want %q", c.body, got, c.want)
		}
	}
}

func tarFile(t *testing.T, tarball []byte, name string) string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the layer: %v", name, err)
		}
		if h.Name == name {
			b, _ := io.ReadAll(tr)
			return string(b)
		}
	}
}
