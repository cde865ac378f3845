package wheel

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/layer"
	"github.com/pyship/pyship/internal/pep440"
	"github.com/pyship/pyship/internal/pyproject"
)

type member struct {
	name string
	body string
	mode os.FileMode
	// declared, when set, is the uncompressed size the archive claims, whatever body's
	// is (the member is written raw, deflated).
	declared uint64
	store    bool // no compression
}

// build makes a wheel; RECORD is generated unless one is given, and tamper edits the
// RECORD rows before they are written.
func build(t testing.TB, members []member, tamper func(rows []string) []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var rows []string
	distInfo := ""
	for _, m := range members {
		if strings.HasSuffix(strings.SplitN(m.name, "/", 2)[0], ".dist-info") {
			distInfo = strings.SplitN(m.name, "/", 2)[0]
		}
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		if m.store {
			h.Method = zip.Store
		}
		mode := m.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		if m.declared != 0 {
			var comp bytes.Buffer
			fw, _ := flate.NewWriter(&comp, flate.BestCompression)
			io.WriteString(fw, m.body)
			fw.Close()
			h.CRC32 = crc32.ChecksumIEEE([]byte(m.body))
			h.CompressedSize64, h.UncompressedSize64 = uint64(comp.Len()), m.declared
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(comp.Bytes())
		} else {
			w, err := zw.CreateHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, m.body)
		}
		sum := sha256.Sum256([]byte(m.body))
		rows = append(rows, fmt.Sprintf("%s,sha256=%s,%d", m.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(m.body)))
	}
	rows = append(rows, distInfo+"/RECORD,,")
	if tamper != nil {
		rows = tamper(rows)
	}
	w, _ := zw.Create(distInfo + "/RECORD")
	io.WriteString(w, strings.Join(rows, "\n")+"\n")
	zw.Close()
	return buf.Bytes()
}

func demo() []member {
	return []member{
		{name: "demo/__init__.py", body: "def main():\n    return 0\n"},
		{name: "demo/_speed.so", body: "ELF", mode: 0o755},
		{name: "demo-1.0.data/scripts/demo-tool", body: "#!python\nprint('hi')\n"},
		{name: "demo-1.0.data/scripts/demo", body: "#!python\nshadowed\n"},
		{name: "demo-1.0.data/data/share/demo/x.txt", body: "x"},
		{name: "demo-1.0.data/headers/demo.h", body: "int x;"},
		{name: "demo-1.0.dist-info/METADATA", body: "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Python: >=3.8\nRequires-Dist: click (>=8.0)\nRequires-Dist: rich ; extra == 'color'\nProvides-Extra: color\n\nLong description\nRequires-Dist: not-a-header\n"},
		{name: "demo-1.0.dist-info/WHEEL", body: "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{name: "demo-1.0.dist-info/entry_points.txt", body: "[console_scripts]\ndemo = demo:main\n[demo.plugins]\nx = y\n"},
	}
}

var scheme = Scheme{Prefix: "/opt/venv", SitePackages: "/opt/venv/lib/python3.11/site-packages", PythonMinor: "3.11", Interpreter: "/opt/venv/bin/python"}

func install(t *testing.T, data []byte) (map[string]string, map[string]int64, error) {
	t.Helper()
	w, err := OpenReader("demo-1.0-py3-none-any.whl", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, err
	}
	tree := layer.NewTree()
	if err := w.Install(tree, scheme); err != nil {
		return nil, nil, err
	}
	var out bytes.Buffer
	if err := tree.WriteTar(&out, time.Unix(1, 0)); err != nil {
		return nil, nil, err
	}
	files, modes := map[string]string{}, map[string]int64{}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
		modes[h.Name] = h.Mode
		if h.Uid != 0 || h.Uname != "" || h.ModTime.Unix() != 1 {
			t.Errorf("%s: owner %d/%q mtime %v", h.Name, h.Uid, h.Uname, h.ModTime)
		}
	}
	return files, modes, nil
}

func TestInstall(t *testing.T) {
	files, modes, err := install(t, build(t, demo(), nil))
	if err != nil {
		t.Fatal(err)
	}
	sp := "opt/venv/lib/python3.11/site-packages/"
	want := map[string]string{
		sp + "demo/__init__.py":                        "def main():\n    return 0\n",
		"opt/venv/bin/demo-tool":                       "#!/opt/venv/bin/python\nprint('hi')\n",
		"opt/venv/share/demo/x.txt":                    "x",
		"opt/venv/include/site/python3.11/demo/demo.h": "int x;",
		sp + "demo-1.0.dist-info/INSTALLER":            "pyship\n",
	}
	for p, body := range want {
		if files[p] != body {
			t.Errorf("%s = %q, want %q", p, files[p], body)
		}
	}
	if !strings.HasPrefix(files["opt/venv/bin/demo"], "#!/opt/venv/bin/python\n") || !strings.Contains(files["opt/venv/bin/demo"], "from demo import main") {
		t.Errorf("console script launcher:\n%s", files["opt/venv/bin/demo"])
	}
	if modes["opt/venv/bin/demo"] != 0o755 || modes["opt/venv/bin/demo-tool"] != 0o755 || modes[sp+"demo/_speed.so"] != 0o755 || modes[sp+"demo/__init__.py"] != 0o644 {
		t.Errorf("modes: %v", modes)
	}
	rec := files[sp+"demo-1.0.dist-info/RECORD"]
	for _, line := range []string{"../../../bin/demo,sha256=", "demo/__init__.py,sha256=", "demo-1.0.dist-info/RECORD,,", "../../../share/demo/x.txt,"} {
		if !strings.Contains(rec, line) {
			t.Errorf("RECORD lacks %q:\n%s", line, rec)
		}
	}
	if _, ok := files["opt/venv/"]; !ok {
		var names []string
		for n := range files {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Errorf("parent directories missing: %v", names)
	}
}

func TestMetadata(t *testing.T) {
	data := build(t, demo(), nil)
	w, err := OpenReader("demo-1.0-py3-none-any.whl", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := w.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "demo" || m.RequiresPython != ">=3.8" || len(m.RequiresDist) != 2 || m.RequiresDist[0].Specifier != ">=8.0" || m.RequiresDist[1].Marker != "extra == 'color'" || len(m.ProvidesExtra) != 1 {
		t.Errorf("%+v", m)
	}
}

func TestRejects(t *testing.T) {
	cases := map[string]struct {
		members []member
		tamper  func([]string) []string
		want    string
	}{
		"escaping path":   {append(demo(), member{name: "../evil.py", body: "x"}), nil, "unsafe path"},
		"absolute path":   {append(demo(), member{name: "/etc/passwd", body: "x"}), nil, "unsafe path"},
		"whiteout":        {append(demo(), member{name: "demo/.wh.secret", body: ""}), nil, "whiteout"},
		"symlink":         {append(demo(), member{name: "demo/link", body: "/etc/shadow", mode: os.ModeSymlink | 0o777}), nil, "only regular files"},
		"duplicate":       {append(demo(), member{name: "demo/__init__.py", body: "evil"}), nil, "twice"},
		"record mismatch": {demo(), func(r []string) []string { r[0] = strings.Replace(r[0], "sha256=", "sha256=AAAA", 1); return r }, "RECORD hash"},
		"not in record":   {demo(), func(r []string) []string { return r[1:] }, "not in RECORD"},
		"md5":             {demo(), func(r []string) []string { r[0] = "demo/__init__.py,md5=abc,3"; return r }, "not allowed"},
		"bad data dir":    {append(demo(), member{name: "demo-1.0.data/elsewhere/x", body: "x"}), nil, "unknown .data"},
		"wheel version":   {append(demo()[:7], member{name: "demo-1.0.dist-info/WHEEL", body: "Wheel-Version: 2.0\n"}), nil, "not supported"},
		"two dist-infos":  {append(demo(), member{name: "other-1.0.dist-info/METADATA", body: "x"}), nil, "one .dist-info"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := install(t, build(t, c.members, c.tamper))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestParseName(t *testing.T) {
	n, err := ParseName("MarkupSafe-2.1.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
	if err != nil {
		t.Fatal(err)
	}
	if n.Dist != "markupsafe" || n.Version.String() != "2.1.2" || len(n.Tags) != 2 || n.Tags[1].Platform != "manylinux2014_x86_64" {
		t.Errorf("%+v", n)
	}
	n, err = ParseName("pkg-1.0-b2-py2.py3-none-any.whl")
	if err == nil {
		t.Errorf("build tag must start with a digit: %+v", n)
	}
	for _, bad := range []string{"pkg-1.0.whl", "pkg-1.0-py3-none-any.zip", "pkg-x.y-py3-none-any.whl"} {
		if _, err := ParseName(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(build(f, demo(), nil))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	// The hostile shapes of the tests, small: a member longer and one shorter than it
	// declares, METADATA naming another project, scripts to rewrite, a file where a
	// directory must be, entry points in odd sections, a RECORD size that disagrees.
	long := strings.Repeat("x = 1\n", 50)
	f.Add(build(f, append(demo(), member{name: "demo/a.py", body: long, declared: 10}), nil))
	f.Add(build(f, append(demo(), member{name: "demo/a.py", body: long, declared: 1000}), nil))
	meta := demo()
	meta[6].body = "Name: flask\nVersion: 1.0\n"
	f.Add(build(f, meta, nil))
	scripts := append(demo(), member{name: "demo-1.0.data/scripts/a", body: "#!python3\r\nx"}, member{name: "demo-1.0.data/scripts/b", body: "#!python -u"})
	f.Add(build(f, scripts, nil))
	f.Add(build(f, append(demo(), member{name: "demo/__init__.py/x", body: ""}, member{name: "demo-1.0.data/data/bin", body: ""}), nil))
	eps := demo()
	eps[8].body = "[console_scripts\nx = a:b\n[gui_scripts]\n\ty=c:d [extra]\n= :\n"
	f.Add(build(f, eps, nil))
	f.Add(build(f, demo(), func(r []string) []string { r[0] = r[0][:strings.LastIndex(r[0], ",")+1] + "0"; return r }))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := OpenReader("demo-1.0-py3-none-any.whl", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if m, err := w.Metadata(); err == nil {
			if v, err := pep440.Parse(m.Version); err != nil || pyproject.Normalize(m.Name) != "demo" || !v.Equal(pep440.MustParse("1.0")) {
				t.Errorf("opened a wheel whose METADATA says %s %s", m.Name, m.Version)
			}
		}
		tree := layer.NewTree()
		if w.Install(tree, scheme) != nil {
			return
		}
		var out bytes.Buffer
		if tree.WriteTar(&out, time.Unix(1, 0)) != nil {
			return
		}
		// What the engine needs of a layer: no path twice, and every entry's parent a
		// directory that comes before it.
		dirs, seen := map[string]bool{".": true}, map[string]bool{}
		tr := tar.NewReader(&out)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(h.Name, "/")
			if seen[name] || !dirs[path.Dir(name)] {
				t.Fatalf("%s: twice, or its parent is not a directory before it", name)
			}
			seen[name] = true
			if h.Typeflag == tar.TypeDir {
				dirs[name] = true
			}
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("Name: a\nVersion: 1\nRequires-Dist: b>=1; python_version<'4'\n"))
	f.Add([]byte("Name: a\r\nVersion: 1\r\nSummary: x\r\n  y\r\n\ty\r\n\r\nbody\n"))
	f.Add([]byte(" leading continuation\nName: a\n"))
	f.Add([]byte("Name: a\nVersion: 1\nName: b\n"))
	f.Add([]byte("Name: a\nVersion: 1\nDescription: x\n" + strings.Repeat(" y\n", 200)))
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = ParseMetadata("METADATA", data) })
}

// rewriteShebang's contract: a script starting with "#!python" gets the interpreter's
// line and keeps everything after its first line; any other is left as it is.
func FuzzRewriteShebang(f *testing.F) {
	for _, s := range []string{"#!python\nx", "#!python3\r\nx\r\n", "#!pythonw -u", "#!/usr/bin/env python\n", "", "#!pytho", "#!python\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := rewriteShebang(b, "/opt/venv/bin/python")
		if !bytes.HasPrefix(b, []byte("#!python")) {
			if !bytes.Equal(got, b) {
				t.Fatalf("%q changed to %q", b, got)
			}
			return
		}
		rest := []byte{}
		if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
			rest = b[nl+1:]
		}
		if want := append([]byte("#!/opt/venv/bin/python\n"), rest...); !bytes.Equal(got, want) {
			t.Fatalf("%q → %q, want %q", b, got, want)
		}
	})
}

func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
}

const demoFile = "demo-1.0-py3-none-any.whl"
