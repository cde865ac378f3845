package target

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Scanner reads an image's layers, bottom first, and keeps the few files that tell
// which Python and C library the image has. Whiteouts in upper layers are honoured.
type Scanner struct {
	files map[string][]byte
}

// NewScanner returns an empty scanner.
func NewScanner() *Scanner { return &Scanner{files: map[string][]byte{}} }

var interpreterRe = regexp.MustCompile(`^usr/(local/)?bin/python3\.(\d+)$`)

func interesting(p string) bool {
	switch p {
	case "var/lib/dpkg/status", "lib/apk/db/installed", "etc/os-release", "usr/lib/os-release":
		return true
	}
	return interpreterRe.MatchString(p) || strings.HasPrefix(p, "lib/ld-musl-") ||
		strings.HasPrefix(p, "var/lib/dpkg/status.d/")
}

// Layer applies one uncompressed layer.
func (s *Scanner) Layer(r io.Reader) error {
	ops, err := ReadLayer(r)
	if err != nil {
		return err
	}
	s.Apply(ops)
	return nil
}

// LayerOps is what one layer does to the files a Scanner keeps; reading layers into
// LayerOps lets them be read in any order (docker save writes them unordered) and
// applied in the image's order.
type LayerOps []layerOp

type layerOp struct {
	path    string
	content []byte
	remove  bool // a whiteout: path and everything under it
	opaque  bool // an opaque directory: everything under path from lower layers
}

// ReadLayer reads one uncompressed layer.
func ReadLayer(r io.Reader) (LayerOps, error) {
	var ops LayerOps
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return ops, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading layer: %w", err)
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		dir, base := path.Split(p)
		if base == ".wh..wh..opq" {
			ops = append(ops, layerOp{path: dir, opaque: true})
			continue
		}
		if strings.HasPrefix(base, ".wh.") {
			ops = append(ops, layerOp{path: dir + strings.TrimPrefix(base, ".wh."), remove: true})
			continue
		}
		if !interesting(p) {
			continue
		}
		switch h.Typeflag {
		case tar.TypeReg:
			var b []byte
			if !interpreterRe.MatchString(p) { // for interpreters, presence is what counts
				if b, err = io.ReadAll(io.LimitReader(tr, 32<<20)); err != nil {
					return nil, err
				}
			}
			ops = append(ops, layerOp{path: p, content: b})
		case tar.TypeSymlink, tar.TypeLink:
			ops = append(ops, layerOp{path: p, content: []byte("->" + h.Linkname)})
		}
	}
}

// Apply applies a layer's operations over the lower layers already applied.
func (s *Scanner) Apply(ops LayerOps) {
	for _, op := range ops {
		switch {
		case op.opaque:
			for k := range s.files {
				if strings.HasPrefix(k, op.path) {
					delete(s.files, k)
				}
			}
		case op.remove:
			for k := range s.files {
				if k == op.path || strings.HasPrefix(k, op.path+"/") {
					delete(s.files, k)
				}
			}
		default:
			s.files[op.path] = op.content
		}
	}
}

// Target combines what the layers hold with the image config's platform and env.
func (s *Scanner) Target(os, arch, variant string, env []string) (Target, error) {
	t := Target{OS: os, Arch: arch, Variant: variant}
	if t.OS == "" {
		t.OS = "linux"
	}
	if t.OS != "linux" {
		return t, fmt.Errorf("the base image is for %s; pyship builds Linux images", t.OS)
	}
	// The interpreter: official images put theirs in /usr/local/bin, distributions in
	// /usr/bin; the newest minor version wins.
	var found []string
	for p := range s.files {
		if interpreterRe.MatchString(p) {
			found = append(found, p)
		}
	}
	sort.Slice(found, func(i, j int) bool {
		mi, mj := interpreterRe.FindStringSubmatch(found[i]), interpreterRe.FindStringSubmatch(found[j])
		if mi[2] != mj[2] {
			return len(mi[2]) > len(mj[2]) || (len(mi[2]) == len(mj[2]) && mi[2] > mj[2])
		}
		return mi[1] > mj[1] // /usr/local before /usr
	})
	if len(found) == 0 {
		return t, fmt.Errorf("the base image has no Python interpreter (looked for /usr/local/bin/python3.N and /usr/bin/python3.N); use a python image as --base")
	}
	t.Interpreter = "/" + found[0]
	minor := interpreterRe.FindStringSubmatch(found[0])[2]
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PYTHON_VERSION="); ok && strings.HasPrefix(v, "3."+minor) {
			t.Python = v
		}
	}
	dpkg := s.files["var/lib/dpkg/status"]
	for k, v := range s.files {
		if strings.HasPrefix(k, "var/lib/dpkg/status.d/") {
			dpkg = append(append(dpkg, '\n'), v...)
		}
	}
	if t.Python == "" {
		for _, pkg := range []string{"python3." + minor + "-minimal", "libpython3." + minor + "-minimal", "python3." + minor} {
			if v := debVersion(dpkg, pkg); v != "" {
				t.Python = v
				break
			}
		}
	}
	if t.Python == "" {
		t.Python = "3." + minor + ".0" // the minor version is certain; the patch level is not
	}
	if v := debVersion(dpkg, "libc6"); v != "" {
		t.Libc, t.LibcVersion = "glibc", v
	} else if v := apkVersion(s.files["lib/apk/db/installed"], "musl"); v != "" {
		t.Libc, t.LibcVersion = "musl", v
	} else {
		for p := range s.files {
			if strings.HasPrefix(p, "lib/ld-musl-") {
				t.Libc, t.LibcVersion = "musl", "1.2"
			}
		}
	}
	if t.Libc == "" {
		return t, fmt.Errorf("cannot tell the base image's C library: no libc6 in /var/lib/dpkg/status and no musl; glibc images should be Debian or Ubuntu based")
	}
	return t, nil
}

var upstreamRe = regexp.MustCompile(`^(?:\d+:)?(\d+\.\d+(?:\.\d+)?)`)

// debVersion finds a package's upstream version ("2.36" for libc6 2.36-9+deb12u4).
func debVersion(status []byte, pkg string) string {
	sc := bufio.NewScanner(bytes.NewReader(status))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	in := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			in = false
		case strings.HasPrefix(line, "Package: "):
			in = strings.TrimSpace(strings.TrimPrefix(line, "Package: ")) == pkg
		case in && strings.HasPrefix(line, "Version: "):
			if m := upstreamRe.FindStringSubmatch(strings.TrimPrefix(line, "Version: ")); m != nil {
				return m[1]
			}
		}
	}
	return ""
}

// apkVersion reads Alpine's installed database (P: name, V: version).
func apkVersion(db []byte, pkg string) string {
	in := false
	for _, line := range strings.Split(string(db), "\n") {
		switch {
		case line == "":
			in = false
		case strings.HasPrefix(line, "P:"):
			in = line[2:] == pkg
		case in && strings.HasPrefix(line, "V:"):
			if m := upstreamRe.FindStringSubmatch(line[2:]); m != nil {
				return m[1]
			}
		}
	}
	return ""
}
