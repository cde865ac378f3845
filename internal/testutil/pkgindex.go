package testutil

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

// Dist describes a wheel to make: its modules, Requires-Dist lines and console scripts.
type Dist struct {
	Name, Version string
	Tag           string            // default py3-none-any
	Files         map[string]string // path in the wheel → content
	Requires      []string
	Scripts       map[string]string // console script name → module:function
}

// Filename is the wheel's file name.
func (d Dist) Filename() string {
	tag := d.Tag
	if tag == "" {
		tag = "py3-none-any"
	}
	return fmt.Sprintf("%s-%s-%s.whl", strings.ReplaceAll(d.Name, "-", "_"), d.Version, tag)
}

// Wheel builds a valid wheel (RECORD with sha256 of every file).
func Wheel(t testing.TB, d Dist) []byte {
	t.Helper()
	di := fmt.Sprintf("%s-%s.dist-info", strings.ReplaceAll(d.Name, "-", "_"), d.Version)
	files := map[string]string{}
	for k, v := range d.Files {
		files[k] = v
	}
	meta := fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", d.Name, d.Version)
	for _, r := range d.Requires {
		meta += "Requires-Dist: " + r + "\n"
	}
	files[di+"/METADATA"] = meta
	files[di+"/WHEEL"] = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	if len(d.Scripts) > 0 {
		ep := "[console_scripts]\n"
		for n, target := range d.Scripts {
			ep += n + " = " + target + "\n"
		}
		files[di+"/entry_points.txt"] = ep
	}
	return WheelZip(t, files)
}

// WheelZip makes a wheel of exactly these files (METADATA and WHEEL included, as the
// caller writes them) and a RECORD with the sha256 of each; the .dist-info directory
// is taken from the file names.
func WheelZip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	distInfo := ""
	for n := range files {
		names = append(names, n)
		if top, _, _ := strings.Cut(n, "/"); strings.HasSuffix(top, ".dist-info") {
			distInfo = top
		}
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var rec strings.Builder
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[n]))
		sum := sha256.Sum256([]byte(files[n]))
		fmt.Fprintf(&rec, "%s,sha256=%s,%d\n", n, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[n]))
	}
	rec.WriteString(distInfo + "/RECORD,,\n")
	w, _ := zw.Create(distInfo + "/RECORD")
	w.Write([]byte(rec.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Index serves the dists as a PEP 503 simple index and returns its /simple URL.
// Tamper, if set, may change a file's bytes after its hash was published.
func Index(t testing.TB, dists []Dist, tamper func(file string, b []byte) []byte) string {
	t.Helper()
	type file struct {
		name string
		data []byte
	}
	byProject := map[string][]file{}
	for _, d := range dists {
		n := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(d.Name, "_", "-"), ".", "-"))
		byProject[n] = append(byProject[n], file{d.Filename(), Wheel(t, d)})
	}
	mux := http.NewServeMux()
	for p, files := range byProject {
		var page strings.Builder
		page.WriteString("<!DOCTYPE html><html><body>\n")
		for _, f := range files {
			sum := sha256.Sum256(f.data)
			fmt.Fprintf(&page, "<a href=\"../../files/%s#sha256=%s\">%s</a>\n", f.name, hex.EncodeToString(sum[:]), f.name)
			data := f.data
			if tamper != nil {
				data = tamper(f.name, data)
			}
			mux.HandleFunc("/files/"+f.name, func(w http.ResponseWriter, r *http.Request) { w.Write(data) })
		}
		body := page.String()
		mux.HandleFunc("/simple/"+p+"/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(body))
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/simple"
}
