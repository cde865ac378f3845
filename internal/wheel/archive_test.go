package wheel

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The wheel: 64 members of 1 MiB, each under the old single-member check, made
// a 79 kB download a 64 MiB layer.
func TestManySmallMembersAreABomb(t *testing.T) {
	ms := demo()
	zeros := strings.Repeat("\x00", 1<<20)
	for i := range 64 {
		ms = append(ms, member{name: fmt.Sprintf("demo/blob%02d.bin", i), body: zeros})
	}
	data := build(t, ms, nil)
	_, _, err := install(t, data)
	var ae *ArchiveError
	if !errors.As(err, &ae) {
		t.Fatalf("%d bytes installed (err %v), want an *ArchiveError", len(data), err)
	}
	wantErr(t, err, demoFile, "zip bomb")
}

// Small, highly compressible files are fine: 8 MiB of zeros is under the floor.
func TestSmallCompressibleWheelPasses(t *testing.T) {
	ms := append(demo(), member{name: "demo/zeros.bin", body: strings.Repeat("\x00", 8<<20)})
	files, _, err := install(t, build(t, ms, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(files["opt/venv/lib/python3.11/site-packages/demo/zeros.bin"]) != 8<<20 {
		t.Error("zeros.bin not installed whole")
	}
}

func TestCheckSizes(t *testing.T) {
	type m struct{ u, c uint64 }
	archive := func(ms ...m) *zip.Reader {
		zr := &zip.Reader{}
		for i, x := range ms {
			zr.File = append(zr.File, &zip.File{FileHeader: zip.FileHeader{Name: fmt.Sprintf("f%d", i), UncompressedSize64: x.u, CompressedSize64: x.c}})
		}
		return zr
	}
	repeat := func(n int, x m) []m {
		out := make([]m, n)
		for i := range out {
			out[i] = x
		}
		return out
	}
	// numpy 1.26's manylinux wheel: 18 MB expanding to about 60 MB, 1,300 files,
	// shared libraries of 30 MB compressing about 3.5 times.
	numpy := append(repeat(1300, m{20_000, 6_000}), m{33 << 20, 9 << 20}, m{35 << 20, 10 << 20})
	cases := []struct {
		name string
		size int64
		ms   []m
		want string // "" for accepted
	}{
		{"numpy-like", 18_300_000, numpy, ""},
		{"small and compressible", 20_000, []m{{10 << 20, 10 << 10}}, ""},
		{"ratio above the floor", 80_000, repeat(64, m{1 << 20, 1 << 10}), "times (a zip bomb?)"},
		// Entries that share one compressed stream claim a sane ratio each; the file
		// on disk shows what they really expand from.
		{"overlapping entries", 100_000, repeat(1000, m{1 << 20, 50_000}), "times (a zip bomb?)"},
		{"total", 8 << 30 / 50, repeat(9, m{1 << 30, 1 << 25}), "f8: brings the archive's uncompressed size over"},
		{"wrap-around", 1 << 20, []m{{1 << 20, 1 << 19}, {^uint64(0) - 10, 1 << 19}}, "f1: brings"},
		{"nothing compressed", 1 << 20, []m{{5, 0}}, "f0: declares 5 bytes from no compressed data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkSizes("x-1-py3-none-any.whl", archive(c.ms...), c.size)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, "x-1-py3-none-any.whl: ", c.want)
		})
	}
}

// A member is read no further than its declared size, and one that inflates beyond it,
// or ends before it, is an error naming the wheel and the member.
func TestDeclaredSizes(t *testing.T) {
	blank := func(member string) func([]string) []string {
		return func(rows []string) []string {
			for i, r := range rows {
				if strings.HasPrefix(r, member+",") {
					rows[i] = r[:strings.LastIndex(r, ",")+1]
				}
			}
			return rows
		}
	}
	long := strings.Repeat("print('x')\n", 400)
	t.Run("longer", func(t *testing.T) {
		ms := append(demo(), member{name: "demo/big.py", body: long, declared: 100})
		_, _, err := install(t, build(t, ms, blank("demo/big.py")))
		wantErr(t, err, demoFile+": demo/big.py: inflates beyond its declared size of 100 bytes")
	})
	t.Run("shorter", func(t *testing.T) {
		ms := append(demo(), member{name: "demo/big.py", body: long, declared: uint64(len(long)) + 5000})
		_, _, err := install(t, build(t, ms, blank("demo/big.py")))
		wantErr(t, err, demoFile+": demo/big.py: ends after", fmt.Sprintf("declared %d bytes", len(long)+5000))
	})
	t.Run("METADATA longer", func(t *testing.T) {
		ms := demo()
		ms[6].declared = 20
		_, _, err := install(t, build(t, ms, blank("demo-1.0.dist-info/METADATA")))
		wantErr(t, err, demoFile+": demo-1.0.dist-info/METADATA: inflates beyond its declared size of 20 bytes")
	})
	t.Run("RECORD disagrees", func(t *testing.T) {
		// "0" is a size, not "unknown": a non-empty file RECORD says is empty is refused.
		_, _, err := install(t, build(t, demo(), func(rows []string) []string {
			rows[0] = rows[0][:strings.LastIndex(rows[0], ",")+1] + "0"
			return rows
		}))
		wantErr(t, err, "demo/__init__.py is 0 bytes, but the archive declares 25")
	})
}

// A metadata file over the limit is refused, never cut short (a cut entry_points.txt
// lost the console scripts after the cut, without a word).
func TestMetadataFileLimit(t *testing.T) {
	ms := demo()
	ms[8].body = strings.Repeat("# padding\n", maxMetaFile/10+1) + ms[8].body
	ms[8].store = true
	_, _, err := install(t, build(t, ms, nil))
	wantErr(t, err, demoFile+": demo-1.0.dist-info/entry_points.txt: ", "pyship reads metadata files of up to")
}

// The METADATA the resolver and the identity check read is the one RECORD vouches for.
func TestMetadataIsVerified(t *testing.T) {
	data := build(t, demo(), func(rows []string) []string {
		for i, r := range rows {
			if strings.HasPrefix(r, "demo-1.0.dist-info/METADATA,") {
				rows[i] = strings.Replace(r, "sha256=", "sha256=AAAA", 1)
			}
		}
		return rows
	})
	w, err := OpenReader(demoFile, bytes.NewReader(data), int64(len(data)))
	if err == nil {
		_, err = w.Metadata()
	}
	wantErr(t, err, demoFile+": demo-1.0.dist-info/METADATA: does not match its RECORD hash")
}
