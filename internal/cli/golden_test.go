package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/cli/*.txtar")

// TestGolden runs the command lines of each testdata/cli/*.txtar script and compares
// what they print and their exit codes with the archive's `want` section. The
// archive's comment holds the command lines, one per line starting with "$ pyship ";
// its files are a project written to a temporary $DIR (the command lines may name
// $DIR). No engine answers ($ENGINE is a socket nobody listens on), so commands that
// need one show their error path. $EXAMPLES is the repository's examples directory;
// $REGISTRY (registry.test) an in-process registry on loopback holding $IMAGE, a
// digest-pinned image that runs as 10001:10001 (the same digest every run); the
// registry's name is fixed, as the revision hashes that include it must be, and
// render's image reads are routed to its port. $PYSHIP_STATE_DIR is a state directory
// that does not exist yet, so no user's state is read.
//
//	go test ./internal/cli -run TestGolden -update   # after a deliberate change
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/cli/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden scripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			engineDir := t.TempDir()
			t.Setenv("DOCKER_HOST", "unix://"+engineDir+"/engine.sock")
			t.Setenv("PYSHIP_STATE_DIR", filepath.Join(t.TempDir(), "state"))
			examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
			if err != nil {
				t.Fatal(err)
			}
			registry := testutil.Registry(t)
			image := strings.Replace(testutil.PushUserImage(t, registry, "flask", "10001:10001"), registry, goldenRegistry, 1)
			routeRegistry(t, goldenRegistry, registry)
			vars := strings.NewReplacer("$IMAGE", image, "$REGISTRY", goldenRegistry, "$EXAMPLES", examples)
			dir := t.TempDir()
			wantIdx := -1
			for i, f := range ar.Files {
				if f.Name == "want" {
					wantIdx = i
					continue
				}
				p := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var got strings.Builder
			for _, line := range strings.Split(string(ar.Comment), "\n") {
				cmdline, ok := strings.CutPrefix(line, "$ pyship ")
				if !ok {
					continue
				}
				args := strings.Fields(vars.Replace(strings.ReplaceAll(cmdline, "$DIR", dir)))
				var out, errb bytes.Buffer
				code := ExecuteWithInput(context.Background(), args, strings.NewReader(""), &out, &errb)
				fmt.Fprintf(&got, "$ pyship %s\nexit %d\n", cmdline, code)
				for _, s := range []struct{ name, text string }{{"stdout", out.String()}, {"stderr", errb.String()}} {
					if s.text == "" {
						continue
					}
					text := strings.NewReplacer(engineDir, "$ENGINE", dir, "$DIR", registry, goldenRegistry, examples, "$EXAMPLES").Replace(s.text)
					fmt.Fprintf(&got, "[%s]\n%s", s.name, text)
					if !strings.HasSuffix(text, "\n") {
						got.WriteString("\n")
					}
				}
				got.WriteString("\n")
			}
			if *update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = []byte(got.String())
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantIdx < 0 {
				t.Fatalf("%s has no want section; run with -update", file)
			}
			if want := string(ar.Files[wantIdx].Data); got.String() != want {
				t.Errorf("%s: output changed (run with -update if deliberate)\n--- got\n%s\n--- want\n%s", file, got.String(), want)
			}
		})
	}
}

// goldenRegistry is the registry name the golden scripts use.
const goldenRegistry = "registry.test"

// routeRegistry makes render read images named name/... from the registry at addr
// (HOST:PORT), and report them under name, until the test ends.
func routeRegistry(t *testing.T, name, addr string) {
	orig := inspectImage
	t.Cleanup(func() { inspectImage = orig })
	inspectImage = func(ctx context.Context, ref string) (kube.RegistryImage, error) {
		routed, ok := strings.CutPrefix(ref, name+"/")
		if !ok {
			return orig(ctx, ref)
		}
		ri, err := orig(ctx, addr+"/"+routed)
		ri.Ref = strings.Replace(ri.Ref, addr, name, 1)
		return ri, err
	}
}
