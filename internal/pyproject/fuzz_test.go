package pyproject

import (
	"errors"
	"testing"
)

// The readers take untrusted files: they must never panic, and their errors must be
// ParseErrors that name the file.

func FuzzParseRequirements(f *testing.F) {
	for _, s := range []string{"flask\n", "-r base.txt\nDjango>=4 ; python_version<'3.12'\n", "x==1 \\\n --hash=sha256:00\n", "-e .\n", "--index-url=https://x\n", "a[b,c]>=1,<2 # c\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ParseRequirements("requirements.txt", data)
		var pe *ParseError
		if err != nil && (!errors.As(err, &pe) || pe.File != "requirements.txt") {
			t.Fatalf("error %v is not a ParseError naming the file", err)
		}
	})
}

func FuzzParsePyproject(f *testing.F) {
	for _, s := range []string{"[project]\nname='x'\ndependencies=['flask>=3']\n", "[tool.poetry.dependencies]\npython='^3.10'\nflask={version='*',extras=['a']}\n", "[build-system]\n", "a = [1, {b = 2}]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParsePyproject("pyproject.toml", data); err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "pyproject.toml" {
				t.Fatalf("error %v is not a ParseError naming the file", err)
			}
		}
		_, _ = ParsePipfile("Pipfile", data)
	})
}

func FuzzParseLock(f *testing.F) {
	f.Add("uv.lock", []byte("version = 1\n[[package]]\nname='a'\nversion='1'\n"))
	f.Add("pylock.toml", []byte("lock-version='1.0'\n[[packages]]\nname='a'\n"))
	f.Add("Pipfile.lock", []byte(`{"default": {"a": {"version": "==1"}}}`))
	f.Add("poetry.lock", []byte("[[package]]\nname = 1\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if LockKind(name) == "" {
			return
		}
		if _, err := ParseLock(name, data); err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ParseError", err)
			}
		}
	})
}

func FuzzConstraint(f *testing.F) {
	for _, s := range []string{">=3.9,<3.13", "^3.10 || ^3.12", "~3.11", "3.12.*", "==3.*", "~=3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConstraint(s)
		if err == nil {
			c.Contains(Version{Release: []int{3, 12}})
		}
	})
}
