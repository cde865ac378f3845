package target

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
)

func layer(files map[string]string) *bytes.Buffer {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for n, body := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	return &b
}

func TestScanOfficialAndDebianImages(t *testing.T) {
	s := NewScanner()
	s.Layer(layer(map[string]string{"var/lib/dpkg/status": "Package: libc6\nVersion: 2.41-12\n\nPackage: python3.13-minimal\nVersion: 3.13.5-2\n", "usr/bin/python3.13": "x"}))
	s.Layer(layer(map[string]string{"usr/local/bin/python3.12": "x"}))
	tg, err := s.Target("linux", "arm64", "v8", []string{"PYTHON_VERSION=3.12.10"})
	if err != nil {
		t.Fatal(err)
	}
	// The newest interpreter wins; a PYTHON_VERSION of another minor is not used for it.
	if tg.Interpreter != "/usr/bin/python3.13" || tg.Python != "3.13.5" || tg.LibcVersion != "2.41" || tg.Machine() != "aarch64" {
		t.Errorf("%+v", tg)
	}
	// A later layer deleting the newer Python leaves the official one.
	s.Layer(layer(map[string]string{"usr/bin/.wh.python3.13": ""}))
	tg, _ = s.Target("linux", "amd64", "", []string{"PYTHON_VERSION=3.12.10"})
	if tg.Interpreter != "/usr/local/bin/python3.12" || tg.Python != "3.12.10" {
		t.Errorf("%+v", tg)
	}
}

func TestScanMuslAndFailures(t *testing.T) {
	s := NewScanner()
	s.Layer(layer(map[string]string{"lib/apk/db/installed": "P:musl\nV:1.2.5-r0\n\nP:python3\nV:3.12.8-r1\n", "usr/bin/python3.12": "x"}))
	tg, err := s.Target("linux", "amd64", "", nil)
	if err != nil || tg.Libc != "musl" || tg.LibcVersion != "1.2.5" {
		t.Errorf("%+v %v", tg, err)
	}
	if _, err := NewScanner().Target("linux", "amd64", "", nil); err == nil || !strings.Contains(err.Error(), "no Python interpreter") {
		t.Errorf("no python: %v", err)
	}
	if _, err := s.Target("windows", "amd64", "", nil); err == nil {
		t.Error("a Windows base accepted")
	}
	noLibc := NewScanner()
	noLibc.Layer(layer(map[string]string{"usr/bin/python3.11": "x"}))
	if _, err := noLibc.Target("linux", "amd64", "", nil); err == nil || !strings.Contains(err.Error(), "C library") {
		t.Errorf("no libc: %v", err)
	}
}
