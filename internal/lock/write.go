package lock

import (
	"bytes"
	"fmt"
	neturl "net/url"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pyship/pyship/internal/index"
	"github.com/pyship/pyship/internal/target"
)

// Pinned is one resolved distribution to write into a lock.
type Pinned struct {
	Name     string
	Version  string
	File     index.File // the wheel chosen for the target, with its sha256
	Requires []string
}

// Write renders a pylock.toml (PEP 751) for one target: its environments marker names
// the platform and Python the lock was resolved for, so installing it elsewhere is
// refused rather than silently wrong.
func Write(pins []Pinned, t target.Target, requiresPython string) ([]byte, error) {
	f := pylockFile{
		LockVersion: "1.0",
		Environments: []string{fmt.Sprintf("sys_platform == 'linux' and platform_machine == '%s' and python_version == '%s'",
			t.Machine(), t.MarkerEnv()["python_version"])},
		RequiresPython: requiresPython,
		CreatedBy:      "pyship",
	}
	sort.Slice(pins, func(i, j int) bool { return pins[i].Name < pins[j].Name })
	for _, p := range pins {
		sum := p.File.SHA256()
		if sum == "" {
			return nil, fmt.Errorf("%s %s: no sha256 for %s", p.Name, p.Version, p.File.Filename)
		}
		pkg := pylockPackage{Name: p.Name, Version: p.Version, Index: p.File.Index}
		url := stripUser(p.File.URL)
		if strings.HasPrefix(url, "file://") {
			url = ""
		}
		w := pylockWheel{Name: p.File.Filename, URL: url, Size: p.File.Size, Hashes: map[string]string{"sha256": sum}}
		if url == "" {
			w.Path = strings.TrimPrefix(p.File.URL, "file://")
		}
		pkg.Wheels = []pylockWheel{w}
		for _, r := range p.Requires {
			pkg.Dependencies = append(pkg.Dependencies, map[string]any{"name": r})
		}
		f.Packages = append(f.Packages, pkg)
	}
	var buf bytes.Buffer
	buf.WriteString("# Written by `pyship lock`; `pyship build` installs exactly this.\n")
	enc := toml.NewEncoder(&buf)
	enc.SetIndentTables(false)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// stripUser keeps credentials that came with an index URL out of the lock.
func stripUser(u string) string {
	p, err := neturl.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = nil
	return p.String()
}
