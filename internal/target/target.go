// Package target describes the environment wheels are installed for — the Python,
// libc and architecture of the base image, never of the machine pyship runs on — and
// derives from it the PEP 425 tag list and the PEP 508 marker environment.
package target

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pyship/pyship/internal/marker"
	"github.com/pyship/pyship/internal/pep440"
)

// Target is one image platform's Python environment.
type Target struct {
	OS          string `json:"os"`           // "linux"
	Arch        string `json:"architecture"` // OCI name: amd64, arm64, arm, 386, ppc64le, s390x
	Variant     string `json:"variant,omitempty"`
	Python      string `json:"python"`      // full version, "3.11.2"
	Interpreter string `json:"interpreter"` // absolute path in the image, "/usr/local/bin/python3.11"
	Libc        string `json:"libc"`        // "glibc" or "musl"
	LibcVersion string `json:"libc_version"`
}

// Machine is the platform_machine / wheel platform spelling of the architecture.
func (t Target) Machine() string {
	switch t.Arch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	case "arm":
		return "armv7l"
	}
	return t.Arch
}

// MinorVersion is "3.11".
func (t Target) MinorVersion() (int, int, error) {
	v, err := pep440.Parse(t.Python)
	if err != nil || len(v.Release) < 2 || v.Release[0] != 3 {
		return 0, 0, fmt.Errorf("unsupported Python version %q in the base image", t.Python)
	}
	return v.Release[0], v.Release[1], nil
}

// MarkerEnv is the PEP 508 environment. platform_release and platform_version describe
// the kernel the container will run on, which is unknowable at build time: they are
// left out so that a marker using them is an error rather than a guess.
func (t Target) MarkerEnv() marker.Env {
	major, minor, _ := t.MinorVersion()
	return marker.Env{
		"os_name":                        "posix",
		"sys_platform":                   "linux",
		"platform_system":                "Linux",
		"platform_machine":               t.Machine(),
		"platform_python_implementation": "CPython",
		"implementation_name":            "cpython",
		"implementation_version":         t.Python,
		"python_version":                 fmt.Sprintf("%d.%d", major, minor),
		"python_full_version":            t.Python,
	}
}

// Tag is one PEP 425 compatibility tag.
type Tag struct{ Python, ABI, Platform string }

func (t Tag) String() string { return t.Python + "-" + t.ABI + "-" + t.Platform }

// Tags lists the tags a wheel may carry to install on the target, most preferred
// first, in the order pypa/packaging uses for CPython. Plain linux_* tags are left out:
// they describe the machine a wheel was built on, not a portable ABI.
func (t Target) Tags() ([]Tag, error) {
	major, minor, err := t.MinorVersion()
	if err != nil {
		return nil, err
	}
	plats, err := t.platforms()
	if err != nil {
		return nil, err
	}
	cp := fmt.Sprintf("cp%d%d", major, minor)
	var tags []Tag
	add := func(py, abi string, ps []string) {
		for _, p := range ps {
			tags = append(tags, Tag{py, abi, p})
		}
	}
	add(cp, cp, plats)
	add(cp, "abi3", plats)
	add(cp, "none", plats)
	for m := minor - 1; m >= 2; m-- {
		add(fmt.Sprintf("cp%d%d", major, m), "abi3", plats)
	}
	pys := []string{fmt.Sprintf("py%d%d", major, minor), fmt.Sprintf("py%d", major)}
	for m := minor - 1; m >= 0; m-- {
		pys = append(pys, fmt.Sprintf("py%d%d", major, m))
	}
	for _, py := range pys {
		add(py, "none", plats)
	}
	add(cp, "none", []string{"any"})
	for _, py := range pys {
		add(py, "none", []string{"any"})
	}
	return tags, nil
}

func (t Target) platforms() ([]string, error) {
	arch := t.Machine()
	lv := strings.Split(t.LibcVersion, ".")
	if len(lv) < 2 {
		return nil, fmt.Errorf("unknown %s version %q in the base image", t.Libc, t.LibcVersion)
	}
	maj, err1 := strconv.Atoi(lv[0])
	min, err2 := strconv.Atoi(lv[1])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("unknown %s version %q in the base image", t.Libc, t.LibcVersion)
	}
	var out []string
	switch t.Libc {
	case "musl":
		for m := min; m >= 0; m-- {
			out = append(out, fmt.Sprintf("musllinux_%d_%d_%s", maj, m, arch))
		}
	case "glibc":
		floor := 17
		if arch == "x86_64" || arch == "i686" {
			floor = 5
		}
		legacy := map[int]string{17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
		for m := min; m >= floor; m-- {
			out = append(out, fmt.Sprintf("manylinux_%d_%d_%s", maj, m, arch))
			if l, ok := legacy[m]; ok && (m == 17 || arch == "x86_64" || arch == "i686") {
				out = append(out, l+"_"+arch)
			}
		}
	default:
		return nil, fmt.Errorf("unknown C library %q in the base image", t.Libc)
	}
	return out, nil
}

// TagIndex maps each tag to its priority (lower is better).
func TagIndex(tags []Tag) map[Tag]int {
	m := make(map[Tag]int, len(tags))
	for i, t := range tags {
		if _, ok := m[t]; !ok {
			m[t] = i
		}
	}
	return m
}
