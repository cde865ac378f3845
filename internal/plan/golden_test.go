package plan

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/detect/*.txtar")

// TestGolden runs Detect on each project in testdata/detect/*.txtar and compares the
// result with the archive's `want` section. The archive's comment may hold a line
// `args: --flag value ...` (the command-line declarations). For an AmbiguousError, every
// fix it suggests is applied (a flag, or `add `LINE` to FILE`) and must settle the
// question: the golden records each fix's outcome.
//
//	go test ./internal/plan -run TestGolden -update   # after a deliberate change
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/detect/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			opts, err := goldenArgs(string(ar.Comment))
			if err != nil {
				t.Fatal(err)
			}
			fsys := fstest.MapFS{}
			wantIdx := -1
			for i, f := range ar.Files {
				if f.Name == "want" {
					wantIdx = i
					continue
				}
				fsys[f.Name] = &fstest.MapFile{Data: f.Data}
			}
			got := renderDetect(t, fsys, opts)
			if *update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantIdx < 0 {
				t.Fatalf("%s has no want section; run with -update", file)
			}
			if want := string(ar.Files[wantIdx].Data); got != want {
				t.Errorf("%s: detection changed (run with -update if deliberate)\n--- got\n%s\n--- want\n%s", file, got, want)
			}
		})
	}
}

var goldenNow = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// goldenArgs reads `args: ...` from an archive comment.
func goldenArgs(comment string) (Options, error) {
	opts := Options{Now: goldenNow}
	for _, l := range strings.Split(comment, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "args:"); ok {
			f := strings.Fields(rest)
			for i := 0; i+1 < len(f); i += 2 {
				if err := applyFlag(&opts, f[i], f[i+1]); err != nil {
					return opts, err
				}
			}
		}
	}
	return opts, nil
}

// applyFlag sets the Option a command-line flag sets (internal/cli's detectFlags).
func applyFlag(o *Options, name, value string) error {
	switch name {
	case "--app-root":
		o.AppRoot = value
	case "--entrypoint":
		o.Entrypoint = value
	case "--framework":
		o.Framework = Framework(value)
	case "--server":
		o.Server = value
	case "--python":
		o.Python = value
	case "--settings-module":
		o.SettingsModule = value
	case "--port":
		n, err := strconv.Atoi(value)
		if err != nil {
			return err
		}
		o.Port = n
	default:
		return fmt.Errorf("unknown flag %s", name)
	}
	return nil
}

var addLineFix = regexp.MustCompile("^add `([^`]+)` to (\\S+)")

// renderDetect is the golden text of one detection: the Plan's decisions, evidence and
// warnings, or the error and what each suggested fix does.
func renderDetect(t *testing.T, fsys fstest.MapFS, opts Options) string {
	var b bytes.Buffer
	p, err := Detect(fsys, opts)
	if err != nil {
		fmt.Fprintf(&b, "error: %s\n", err)
		var amb *AmbiguousError
		if !errors.As(err, &amb) {
			return b.String()
		}
		settled := 0
		for _, fix := range amb.Fix {
			if len(amb.Candidates) > 0 && (strings.Contains(fix, "<") || strings.Contains(fix, "mysite") || strings.Contains(fix, "module.path")) {
				t.Errorf("fix %q names a placeholder though there are candidates %v", fix, amb.Candidates)
			}
			var o Options = opts
			files := fstest.MapFS{}
			for k, v := range fsys {
				files[k] = v
			}
			switch f := strings.Fields(fix); {
			case len(f) >= 2 && strings.HasPrefix(f[0], "--") && !strings.Contains(fix, "<"):
				if err := applyFlag(&o, f[0], f[1]); err != nil {
					t.Errorf("fix %q: %v", fix, err)
					continue
				}
			case addLineFix.MatchString(fix):
				m := addLineFix.FindStringSubmatch(fix)
				old := files[m[2]]
				if old == nil {
					t.Errorf("fix %q names a file that does not exist", fix)
					continue
				}
				files[m[2]] = &fstest.MapFile{Data: append(append([]byte{}, old.Data...), []byte("\n"+m[1]+"\n")...)}
			default:
				continue // prose (pyship.toml, Procfile forms): the flag forms are tested
			}
			fp, ferr := Detect(files, o)
			if ferr != nil {
				t.Errorf("fix %q does not settle it: %v", fix, ferr)
				fmt.Fprintf(&b, "fix %s: still fails\n", fix)
				continue
			}
			settled++
			fmt.Fprintf(&b, "fix %s: ok (app_root %s, entrypoint %s%s)\n", fix, fp.AppRoot, fp.Entrypoint, settingsOf(fp))
		}
		if len(amb.Candidates) > 0 && settled == 0 {
			t.Errorf("no suggested fix settles the question: %q", amb.Fix)
		}
		return b.String()
	}
	row := func(k, v string) { fmt.Fprintf(&b, "%s: %s\n", k, v) }
	row("context", p.Context)
	row("app_root", p.AppRoot)
	row("framework", fmt.Sprintf("%s (%s)", p.Framework, p.Interface))
	row("entrypoint", p.Entrypoint)
	row("python_path", strings.Join(p.PythonPath, ":"))
	row("dependencies", fmt.Sprintf("%s: %s", p.Dependencies.Manager, strings.Join(p.Dependencies.Files, ", ")))
	row("packages", strings.Join(p.Dependencies.Packages, ", "))
	row("server", strings.Join(p.Server, " "))
	row("port", strconv.Itoa(p.Port))
	if p.Django != nil {
		row("settings_module", p.Django.SettingsModule)
	}
	rt := p.Runtime()
	row("workdir", rt.WorkDir)
	for _, e := range rt.Env {
		if strings.HasPrefix(e, "DJANGO_SETTINGS_MODULE=") || strings.HasPrefix(e, "PYTHONPATH=") {
			row("env", e)
		}
	}
	for _, e := range p.EnvVars {
		req := "optional"
		if e.Required {
			req = "required"
		}
		row("reads", fmt.Sprintf("%s %s (%s:%d)", e.Name, req, e.File, e.Line))
	}
	b.WriteString("evidence:\n")
	for _, e := range p.Evidence {
		b.WriteString("  " + e.String() + "\n")
	}
	if len(p.Warnings) > 0 {
		b.WriteString("warnings:\n")
		for _, w := range p.Warnings {
			b.WriteString("  " + w + "\n")
		}
	}
	return b.String()
}

func settingsOf(p *Plan) string {
	if p.Django == nil {
		return ""
	}
	return ", settings " + p.Django.SettingsModule
}
