package wheel

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pyship/pyship/internal/layer"
	"github.com/pyship/pyship/internal/pyproject"
)

// Wheel is an opened, validated wheel file.
type Wheel struct {
	Name     Name
	path     string
	zr       *zip.Reader
	closer   io.Closer
	files    map[string]*zip.File
	distInfo string
	record   map[string]recordEntry
	purelib  bool
}

type recordEntry struct {
	algo, digest string
	size         int64
}

// Open validates a wheel: a well-formed name, a zip without duplicate, absolute,
// escaping, whiteout-named or symlink entries, one .dist-info directory matching the
// name, a WHEEL file of version 1.x and a RECORD that lists every file with a sha256 or
// stronger hash. Content hashes are checked as files are installed.
func Open(file string) (*Wheel, error) {
	n, err := ParseName(path.Base(file))
	if err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	w, err := read(n, f, st.Size())
	if err != nil {
		f.Close()
		return nil, named(n.File, err)
	}
	w.path, w.closer = file, f
	return w, nil
}

// OpenReader validates a wheel held in r (the name gives the filename).
func OpenReader(name string, r io.ReaderAt, size int64) (*Wheel, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	w, err := read(n, r, size)
	if err != nil {
		return nil, named(name, err)
	}
	return w, nil
}

// Close releases the file.
func (w *Wheel) Close() error {
	if w.closer != nil {
		return w.closer.Close()
	}
	return nil
}

func read(n Name, r io.ReaderAt, size int64) (*Wheel, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a valid zip archive: %v", err)
	}
	if err := checkSizes(n.File, zr, size); err != nil {
		return nil, err
	}
	w := &Wheel{Name: n, zr: zr, files: map[string]*zip.File{}}
	distInfos := map[string]bool{}
	for _, f := range zr.File {
		name := f.Name
		if err := checkName(name); err != nil {
			return nil, err
		}
		if strings.HasSuffix(name, "/") {
			continue
		}
		if f.Mode()&os.ModeType != 0 {
			return nil, fmt.Errorf("%s: only regular files may be in a wheel (found %v)", name, f.Mode().Type())
		}
		if _, dup := w.files[name]; dup {
			return nil, fmt.Errorf("%s: listed twice in the archive", name)
		}
		w.files[name] = f
		top, _, _ := strings.Cut(name, "/")
		if strings.HasSuffix(top, ".dist-info") {
			distInfos[top] = true
		}
	}
	if len(distInfos) != 1 {
		return nil, fmt.Errorf("expected one .dist-info directory, found %d", len(distInfos))
	}
	for d := range distInfos {
		w.distInfo = d
	}
	dname, _, _ := strings.Cut(strings.TrimSuffix(w.distInfo, ".dist-info"), "-")
	if pyproject.Normalize(dname) != n.Dist {
		return nil, fmt.Errorf("%s does not match the wheel's name %s", w.distInfo, n.Dist)
	}
	// RECORD first, so that every other file read from here on is checked against it.
	rec, err := w.readFile(w.distInfo + "/RECORD")
	if err != nil {
		return nil, err
	}
	if err := w.parseRecord(rec); err != nil {
		return nil, err
	}
	wheelFile, err := w.readFile(w.distInfo + "/WHEEL")
	if err != nil {
		return nil, err
	}
	if err := w.parseWheel(wheelFile); err != nil {
		return nil, err
	}
	if err := w.checkIdentity(); err != nil {
		return nil, err
	}
	return w, nil
}

// checkName rejects what could write outside the install directories or delete files
// in the image.
func checkName(name string) error {
	switch {
	case name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0):
		return fmt.Errorf("%q: unsafe path in wheel", name)
	case len(name) > 1 && name[1] == ':':
		return fmt.Errorf("%q: drive letter in wheel path", name)
	}
	for _, part := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if part == ".." || part == "." || part == "" {
			return fmt.Errorf("%q: unsafe path in wheel", name)
		}
		if strings.HasPrefix(part, ".wh.") {
			return fmt.Errorf("%q: whiteout name in wheel", name)
		}
	}
	return nil
}

// readFile reads a metadata file whole: refused when larger than maxMetaFile (never cut
// short, which would parse as a different file), and checked against RECORD once RECORD
// is known.
func (w *Wheel) readFile(name string) ([]byte, error) {
	f, ok := w.files[name]
	if !ok {
		return nil, fmt.Errorf("missing %s", name)
	}
	if f.UncompressedSize64 > maxMetaFile {
		return nil, &ArchiveError{w.Name.File, name, fmt.Sprintf("%d bytes; pyship reads metadata files of up to %d", f.UncompressedSize64, maxMetaFile)}
	}
	var rc io.ReadCloser
	var err error
	if rec, ok := w.record[name]; ok {
		rc, err = openVerified(w.Name.File, f, rec)
	} else {
		rc, err = openMember(w.Name.File, f)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func (w *Wheel) parseWheel(b []byte) error {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "wheel-version":
			major, _, _ := strings.Cut(v, ".")
			if major != "1" {
				return fmt.Errorf("WHEEL: Wheel-Version %s is not supported (1.x is)", v)
			}
		case "root-is-purelib":
			w.purelib = strings.EqualFold(v, "true")
		}
	}
	return nil
}

func (w *Wheel) parseRecord(b []byte) error {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return fmt.Errorf("RECORD: %v", err)
	}
	w.record = map[string]recordEntry{}
	for i, row := range rows {
		if len(row) != 3 {
			return fmt.Errorf("RECORD line %d: expected path,hash,size", i+1)
		}
		p := row[0]
		if _, dup := w.record[p]; dup {
			return fmt.Errorf("RECORD line %d: %s listed twice", i+1, p)
		}
		e := recordEntry{size: -1}
		if row[1] != "" {
			algo, digest, ok := strings.Cut(row[1], "=")
			if !ok {
				return fmt.Errorf("RECORD line %d: bad hash %q", i+1, row[1])
			}
			switch algo {
			case "sha256", "sha384", "sha512":
			default:
				return fmt.Errorf("RECORD line %d: hash algorithm %s is not allowed (sha256 or stronger)", i+1, algo)
			}
			e.algo, e.digest = algo, digest
			if row[2] != "" {
				if e.size, err = strconv.ParseInt(row[2], 10, 64); err != nil || e.size < 0 {
					return fmt.Errorf("RECORD line %d: bad size %q", i+1, row[2])
				}
				if f, ok := w.files[p]; ok && uint64(e.size) != f.UncompressedSize64 {
					return fmt.Errorf("RECORD line %d: %s is %d bytes, but the archive declares %d", i+1, p, e.size, f.UncompressedSize64)
				}
			}
		}
		w.record[p] = e
	}
	for name := range w.files {
		if isSignature(w, name) {
			continue
		}
		e, ok := w.record[name]
		if !ok {
			return fmt.Errorf("%s is not in RECORD", name)
		}
		if e.algo == "" {
			return fmt.Errorf("RECORD has no hash for %s", name)
		}
	}
	for p := range w.record {
		if _, ok := w.files[p]; !ok && !isSignature(w, p) {
			return fmt.Errorf("RECORD lists %s, which the archive does not hold", p)
		}
	}
	return nil
}

func isSignature(w *Wheel, name string) bool {
	rest, ok := strings.CutPrefix(name, w.distInfo)
	if !ok {
		return false
	}
	switch rest {
	case "/RECORD", "/RECORD.jws", "/RECORD.p7s":
		return true
	}
	return false
}

// Metadata parses the wheel's METADATA.
func (w *Wheel) Metadata() (*Metadata, error) {
	b, err := w.readFile(w.distInfo + "/METADATA")
	if err != nil {
		return nil, named(w.Name.File, err)
	}
	return ParseMetadata(w.Name.File+"/METADATA", b)
}

// Scheme is where a wheel's parts go in the image: a virtual environment.
type Scheme struct {
	Prefix       string // "/opt/venv"
	SitePackages string // "/opt/venv/lib/python3.11/site-packages"
	PythonMinor  string // "3.11"
	Interpreter  string // shebang target, "/opt/venv/bin/python"
}

// Install adds the wheel's files to tree as pip would install them into the scheme:
// root and purelib/platlib into site-packages, scripts into bin with their #!python
// line pointing at the image's interpreter, headers and data into the prefix, console
// and GUI entry points as launchers, INSTALLER, and a RECORD of the installed paths.
// Files are read from the wheel only when the layer is written, and each is checked
// against its RECORD hash and size then.
func (w *Wheel) Install(tree *layer.Tree, s Scheme) error {
	dataDir := strings.TrimSuffix(w.distInfo, ".dist-info") + ".data"
	names := make([]string, 0, len(w.files))
	for n := range w.files {
		names = append(names, n)
	}
	sort.Strings(names)
	var record [][3]string
	rel := func(abs string) string {
		if r, ok := strings.CutPrefix(abs, s.SitePackages+"/"); ok {
			return r // most files: no need to split both paths
		}
		r, err := relPath(s.SitePackages, abs)
		if err != nil {
			return abs
		}
		return r
	}
	eps, err := w.entryPoints()
	if err != nil {
		return err
	}
	shadowed := map[string]bool{}
	for _, ep := range eps {
		shadowed[ep.name] = true
	}
	for _, name := range names {
		if isSignature(w, name) || name == w.distInfo+"/INSTALLER" {
			continue
		}
		zf := w.files[name]
		rec := w.record[name]
		mode := int64(0o644)
		if zf.Mode()&0o111 != 0 {
			mode = 0o755
		}
		dest := path.Join(s.SitePackages, name)
		script := false
		if rest, ok := strings.CutPrefix(name, dataDir+"/"); ok {
			key, sub, _ := strings.Cut(rest, "/")
			if sub == "" {
				// "x.data/scripts" as a file would become the venv's bin, "x.data/purelib"
				// its site-packages: a file where the venv needs a directory.
				return fmt.Errorf("%s: %s: a file where the wheel format has the .data/%s directory", w.Name.File, name, key)
			}
			switch key {
			case "purelib", "platlib":
				dest = path.Join(s.SitePackages, sub)
			case "scripts":
				if strings.Contains(sub, "/") {
					return fmt.Errorf("%s: %s: scripts may not be in subdirectories", w.Name.File, name)
				}
				if shadowed[sub] {
					continue // an entry point of the same name wins, as with pip
				}
				dest, script, mode = path.Join(s.Prefix, "bin", sub), true, 0o755
			case "headers":
				dest = path.Join(s.Prefix, "include", "site", "python"+s.PythonMinor, w.Name.Dist, sub)
			case "data":
				dest = path.Join(s.Prefix, sub)
			default:
				return fmt.Errorf("%s: %s: unknown .data directory %q", w.Name.File, name, key)
			}
			if !strings.HasPrefix(path.Clean(dest)+"/", s.Prefix+"/") {
				return fmt.Errorf("%s: %s escapes the install prefix", w.Name.File, name)
			}
		}
		if script {
			rewrite, err := w.pythonShebang(zf)
			if err != nil {
				return err
			}
			// Only a script to rewrite is held in memory; the others (often native
			// programs of tens of MB) stream into the layer like any other file.
			if rewrite {
				if zf.UncompressedSize64 > maxScript {
					return &ArchiveError{w.Name.File, name, fmt.Sprintf("a #!python script of %d bytes; pyship rewrites scripts of up to %d", zf.UncompressedSize64, maxScript)}
				}
				b, err := w.verifiedBytes(zf, rec)
				if err != nil {
					return err
				}
				b = rewriteShebang(b, s.Interpreter)
				if err := tree.Add(w.bytesEntry(dest, mode, b)); err != nil {
					return w.addError(err)
				}
				record = append(record, [3]string{rel(dest), hashOf(b), strconv.Itoa(len(b))})
				continue
			}
		}
		zf, rec, file := zf, rec, w.Name.File
		if err := tree.Add(layer.Entry{Path: dest, Type: tar.TypeReg, Mode: mode, Size: int64(zf.UncompressedSize64), Open: func() (io.ReadCloser, error) {
			return openVerified(file, zf, rec)
		}, Source: file, Digest: rec.algo + "=" + strings.TrimRight(rec.digest, "=")}); err != nil {
			return w.addError(err)
		}
		record = append(record, [3]string{rel(dest), rec.algo + "=" + rec.digest, strconv.FormatUint(zf.UncompressedSize64, 10)})
	}
	for _, ep := range eps {
		b := launcher(ep, s.Interpreter)
		dest := path.Join(s.Prefix, "bin", ep.name)
		if err := tree.Add(w.bytesEntry(dest, 0o755, b)); err != nil {
			return w.addError(fmt.Errorf("entry point %s: %w", ep.name, err))
		}
		record = append(record, [3]string{rel(dest), hashOf(b), strconv.Itoa(len(b))})
	}
	installer := []byte("pyship\n")
	instPath := path.Join(s.SitePackages, w.distInfo, "INSTALLER")
	if err := tree.Add(w.bytesEntry(instPath, 0o644, installer)); err != nil {
		return w.addError(err)
	}
	record = append(record, [3]string{rel(instPath), hashOf(installer), strconv.Itoa(len(installer))})
	recPath := path.Join(s.SitePackages, w.distInfo, "RECORD")
	record = append(record, [3]string{rel(recPath), "", ""})
	sort.Slice(record, func(i, j int) bool { return record[i][0] < record[j][0] })
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	for _, r := range record {
		_ = cw.Write(r[:])
	}
	cw.Flush()
	if err := tree.Add(w.bytesEntry(recPath, 0o644, buf.Bytes())); err != nil {
		return w.addError(err)
	}
	return nil
}

// bytesEntry is a file pyship generates for this wheel (a rewritten script, a launcher,
// INSTALLER, RECORD), attributed to the wheel in conflict errors.
func (w *Wheel) bytesEntry(dest string, mode int64, b []byte) layer.Entry {
	return layer.Entry{Path: dest, Type: tar.TypeReg, Mode: mode, Size: int64(len(b)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, Source: w.Name.File, Digest: hashOf(b)}
}

// addError names the wheel in a tree error, unless a conflict already names it (and
// the other side).
func (w *Wheel) addError(err error) error {
	var ce *layer.ConflictError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("%s: %w", w.Name.File, err)
}

func relPath(base, target string) (string, error) {
	b := strings.Split(strings.Trim(base, "/"), "/")
	t := strings.Split(strings.Trim(target, "/"), "/")
	i := 0
	for i < len(b) && i < len(t) && b[i] == t[i] {
		i++
	}
	var parts []string
	for j := i; j < len(b); j++ {
		parts = append(parts, "..")
	}
	parts = append(parts, t[i:]...)
	return strings.Join(parts, "/"), nil
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return sha256.New()
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:])
}

func (w *Wheel) verifiedBytes(zf *zip.File, rec recordEntry) ([]byte, error) {
	rc, err := openVerified(w.Name.File, zf, rec)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// openVerified streams a member and fails at its end if the bytes do not match RECORD.
func openVerified(file string, zf *zip.File, rec recordEntry) (io.ReadCloser, error) {
	rc, err := openMember(file, zf)
	if err != nil {
		return nil, err
	}
	return &verifier{rc: rc, h: newHash(rec.algo), rec: rec, file: file, name: zf.Name}, nil
}

type verifier struct {
	rc   io.ReadCloser
	h    hash.Hash
	n    int64
	rec  recordEntry
	file string
	name string
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		got := base64.RawURLEncoding.EncodeToString(v.h.Sum(nil))
		if got != strings.TrimRight(v.rec.digest, "=") {
			return n, &ArchiveError{v.file, v.name, "does not match its RECORD hash"}
		}
		if v.rec.size >= 0 && v.n != v.rec.size {
			return n, &ArchiveError{v.file, v.name, fmt.Sprintf("is %d bytes, RECORD says %d", v.n, v.rec.size)}
		}
	}
	return n, err
}

func (v *verifier) Close() error { return v.rc.Close() }

// pythonShebang reports whether a script starts with "#!python", reading those bytes only.
func (w *Wheel) pythonShebang(zf *zip.File) (bool, error) {
	rc, err := openMember(w.Name.File, zf)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	var head [len("#!python")]byte
	n, err := io.ReadFull(rc, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return false, err
	}
	return string(head[:n]) == "#!python", nil
}

// rewriteShebang points a script whose first line starts with "#!python" at the
// image's interpreter (PEP 427). Like pip (fix_script) and the installer library
// (fix_shebang), any such first line counts ("#!python3", "#!pythonw", "#!python3.11")
// and the whole line, through its "\n", is replaced: a "\r" before it goes too (a
// shebang ending in "\r" names an interpreter that does not exist), and so do
// arguments after the interpreter, so that the script behaves as it does under pip.
func rewriteShebang(b []byte, interpreter string) []byte {
	if !bytes.HasPrefix(b, []byte("#!python")) {
		return b
	}
	rest := []byte{}
	if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
		rest = b[nl+1:]
	}
	out := make([]byte, 0, len(interpreter)+len(rest)+64)
	out = append(out, shebang(interpreter)...)
	out = append(out, '\n')
	return append(out, rest...)
}

// shebang handles interpreters whose path the kernel cannot take on a #! line (over
// 127 bytes or with spaces) with the /bin/sh trick pip's launchers use.
func shebang(interpreter string) string {
	if len(interpreter) <= 125 && !strings.ContainsAny(interpreter, " \t") {
		return "#!" + interpreter
	}
	return "#!/bin/sh\n'''exec' '" + interpreter + "' \"$0\" \"$@\"\n' '''"
}

type entryPoint struct{ name, module, attr string }

// entryPoints reads [console_scripts] and [gui_scripts] of entry_points.txt.
func (w *Wheel) entryPoints() ([]entryPoint, error) {
	name := w.distInfo + "/entry_points.txt"
	if _, ok := w.files[name]; !ok {
		return nil, nil // no entry points
	}
	b, err := w.readFile(name)
	if err != nil {
		return nil, err // not "no entry points": the wheel's commands would be missing
	}
	var out []entryPoint
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if line[len(line)-1] != ']' {
				return nil, fmt.Errorf("%s: entry_points.txt:%d: a section header without ]", w.Name.File, i+1)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		if section != "console_scripts" && section != "gui_scripts" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: entry_points.txt:%d: expected name = module:attr", w.Name.File, i+1)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		value, _, _ = strings.Cut(value, "[") // extras on entry points are deprecated and ignored
		mod, attr, _ := strings.Cut(value, ":")
		mod, attr = strings.TrimSpace(mod), strings.TrimSpace(attr)
		if !scriptName(name) || !pyIdentPath(mod) || (attr != "" && !pyIdentPath(attr)) {
			return nil, fmt.Errorf("%s: entry_points.txt:%d: invalid entry point %q", w.Name.File, i+1, line)
		}
		out = append(out, entryPoint{name, mod, attr})
	}
	return out, nil
}

// scriptName accepts a command name for bin/: one path element, without the spaces
// and control characters that made "my tool" or a name with an escape sequence a file
// (pip's distlib does not accept whitespace in the name either).
func scriptName(name string) bool {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
		return false
	}
	return strings.IndexFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}) < 0
}

// pyIdentPath accepts dotted Python identifiers: what the launcher writes into its
// import line, so nothing else may pass.
func pyIdentPath(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			nonASCII := r > 127 && r != utf8.RuneError && (unicode.IsLetter(r) || i > 0 && (unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Pc)))
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || nonASCII || (i > 0 && r >= '0' && r <= '9')) {
				return false
			}
		}
	}
	return true
}

// launcher is the script pip and uv write for an entry point.
func launcher(ep entryPoint, interpreter string) []byte {
	imp, call := "import "+ep.module, ep.module
	if ep.attr != "" {
		top, _, _ := strings.Cut(ep.attr, ".")
		imp, call = fmt.Sprintf("from %s import %s", ep.module, top), ep.attr
	}
	return []byte(fmt.Sprintf(`%s
# -*- coding: utf-8 -*-
import re
import sys
%s
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(%s())
`, shebang(interpreter), imp, call))
}
