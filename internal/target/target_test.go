package target

import (
	"strings"
	"testing"
)

func tagStrings(t *testing.T, tg Target) []string {
	t.Helper()
	tags, err := tg.Tags()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range tags {
		out = append(out, x.String())
	}
	return out
}

func index(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// The order pypa/packaging's tags.sys_tags() gives for CPython 3.11 on glibc 2.36 x86_64.
func TestManylinuxOrder(t *testing.T) {
	tags := tagStrings(t, Target{OS: "linux", Arch: "amd64", Python: "3.11.2", Libc: "glibc", LibcVersion: "2.36"})
	if tags[0] != "cp311-cp311-manylinux_2_36_x86_64" {
		t.Errorf("first tag %s", tags[0])
	}
	order := []string{
		"cp311-cp311-manylinux_2_36_x86_64", "cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64",
		"cp311-cp311-manylinux_2_12_x86_64", "cp311-cp311-manylinux2010_x86_64", "cp311-cp311-manylinux_2_5_x86_64",
		"cp311-cp311-manylinux1_x86_64", "cp311-abi3-manylinux_2_36_x86_64", "cp311-none-manylinux_2_36_x86_64",
		"cp310-abi3-manylinux_2_17_x86_64", "cp32-abi3-manylinux1_x86_64", "py311-none-manylinux_2_36_x86_64",
		"py3-none-manylinux1_x86_64", "py30-none-manylinux1_x86_64", "cp311-none-any", "py311-none-any", "py3-none-any", "py30-none-any",
	}
	last := -1
	for _, s := range order {
		i := index(tags, s)
		if i <= last {
			t.Fatalf("%s at %d, after %d", s, i, last)
		}
		last = i
	}
	if i := index(tags, "cp311-cp311-linux_x86_64"); i >= 0 {
		t.Error("linux_x86_64 describes the build host, not the image")
	}
	if tags[len(tags)-1] != "py30-none-any" {
		t.Errorf("last tag %s", tags[len(tags)-1])
	}
}

func TestAarch64AndMusl(t *testing.T) {
	tags := tagStrings(t, Target{Arch: "arm64", Python: "3.12.1", Libc: "glibc", LibcVersion: "2.31"})
	if index(tags, "cp312-cp312-manylinux_2_17_aarch64") < 0 || index(tags, "cp312-cp312-manylinux2014_aarch64") < 0 || index(tags, "cp312-cp312-manylinux_2_16_aarch64") >= 0 {
		t.Error("aarch64 manylinux starts at 2_17")
	}
	musl := tagStrings(t, Target{Arch: "amd64", Python: "3.12.1", Libc: "musl", LibcVersion: "1.2.5"})
	if musl[0] != "cp312-cp312-musllinux_1_2_x86_64" || index(musl, "cp312-cp312-musllinux_1_0_x86_64") != 2 || strings.Contains(strings.Join(musl, " "), "manylinux") {
		t.Errorf("musl tags: %v", musl[:4])
	}
	env := Target{Arch: "arm64", Python: "3.12.1", Libc: "glibc", LibcVersion: "2.36"}.MarkerEnv()
	if env["platform_machine"] != "aarch64" || env["python_version"] != "3.12" || env["python_full_version"] != "3.12.1" {
		t.Errorf("%v", env)
	}
	if _, err := (Target{Arch: "amd64", Python: "2.7.18", Libc: "glibc", LibcVersion: "2.36"}).Tags(); err == nil {
		t.Error("Python 2 accepted")
	}
}
