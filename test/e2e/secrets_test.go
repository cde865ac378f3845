package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// TestPlatformSecrets follows a secret's copies through an app's life, on an image whose
// USER is a name: they belong to that user alone (0400 files in a 0700 folder), a state
// directory others could read is made private (and pyship says so once), a killed
// deploy's copy goes at the next command, a rotation leaves no old value behind, and
// down leaves no value at all. secret list and the revision names show no plain digest.
func TestPlatformSecrets(t *testing.T) {
	ctx := context.Background()
	e := newPlatformEnv(t, "sec")
	eng, c, gw, state := e.eng, e.c, e.gw, e.state

	dir := filepath.Join(t.TempDir(), "flask")
	copyDir(t, filepath.Join("..", "..", "examples", "flask"), dir)
	tag, named := "pyship-e2e/platform-secrets:1", "pyship-e2e/platform-secrets:www-data"
	t.Cleanup(func() {
		eng.RemoveImage(context.Background(), named)
		eng.RemoveImage(context.Background(), tag)
	})
	pyship(t, "build", dir, "--base", e.base, "-i", e.index, "--cache-dir", t.TempDir(), "-t", tag)
	// The same image run as www-data (uid 33 in the Debian base), by name.
	df := t.TempDir()
	os.WriteFile(filepath.Join(df, "Dockerfile"), []byte("FROM "+tag+"\nUSER www-data\n"), 0o644)
	if _, err := eng.Build(ctx, engine.BuildOptions{Dir: df, Tags: []string{named}}, io.Discard); err != nil {
		t.Fatal(err)
	}
	const wwwData = 33

	// A state directory other users can read is made private, and pyship says so once.
	if err := os.Chmod(state, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := c.run("", "deploy", "--image", named, "--app", "sec", "--port", "5000")
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, errOut)
	}
	if st, _ := os.Stat(state); st.Mode().Perm() != 0o700 || strings.Count(errOut, "readable by other users") != 1 {
		t.Errorf("a 0755 state directory: now %04o; pyship said:\n%s", st.Mode().Perm(), errOut)
	}
	if _, _, errOut := c.run("", "status", "sec"); strings.Contains(errOut, "readable by other users") {
		t.Errorf("the second command said it again:\n%s", errOut)
	}

	ask := func() string {
		req, _ := http.NewRequest("GET", "http://"+gw+"/env", nil)
		req.Host = "sec.localhost"
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	live := func() string {
		var st struct{ Live string }
		json.Unmarshal([]byte(c.must("", "status", "sec", "--json")), &st)
		return st.Live
	}
	// holding lists the files under the state directory that hold value.
	holding := func(value string) []string {
		var out []string
		filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(value)) {
					out = append(out, p)
				}
			}
			return nil
		})
		return out
	}

	const v1 = "sec-value-one-7731"
	c.must(v1+"\n", "secret", "set", "sec", "GREETING")
	if body := ask(); !strings.Contains(body, v1) {
		t.Fatalf("the app, running as www-data, did not get its secret: %s", body)
	}
	rev1 := live()
	revDir, revFile := filepath.Join(state, "run", rev1), filepath.Join(state, "run", rev1, "GREETING")
	for p, want := range map[string]os.FileMode{filepath.Join(state, "run"): 0o700, revDir: 0o700, revFile: 0o400} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		owner := int(st.Sys().(*syscall.Stat_t).Uid)
		wantOwner := wwwData
		if p == filepath.Join(state, "run") {
			wantOwner = os.Geteuid()
		}
		if st.Mode().Perm() != want || owner != wantOwner {
			t.Errorf("%s: mode %04o owner %d, want %04o owner %d", p, st.Mode().Perm(), owner, want, wantOwner)
		}
	}

	// Digests are keyed: neither secret list nor the revision name (the spec hash,
	// which every container carries with the spec itself in its labels) follows from a
	// plain sha256 of the value.
	sum := sha256.Sum256([]byte(v1))
	plain := hex.EncodeToString(sum[:])
	listed := c.must("", "secret", "list", "sec") + c.must("", "secret", "list", "sec", "--json")
	if strings.Contains(listed, plain[:12]) || !strings.Contains(listed, store.DigestPrefix) {
		t.Errorf("secret list shows a plain digest (sha256 %s…):\n%s", plain[:12], listed)
	}
	cs, _ := eng.List(ctx, platform.LabelRevision+"="+rev1)
	if len(cs) == 0 {
		t.Fatal("no replica of the live revision")
	}
	var spec store.Spec
	json.Unmarshal([]byte(cs[0].Labels[platform.LabelSpecJSON]), &spec)
	spec.Secrets = map[string]string{"GREETING": plain}
	if rev1 == "sec--"+spec.Hash() {
		t.Errorf("the revision name %s is the hash of the public spec with the value's plain sha256", rev1)
	}

	// A deploy killed after it wrote its revision's copy: the next command removes it.
	before, _ := eng.List(ctx, "pyship.app=sec")
	exe, _ := os.Executable()
	cmd := exec.Command(exe, append([]string{"env", "set", "sec", "KILLED=1"}, c.flags...)...)
	cmd.Env = append(os.Environ(), "PYSHIP_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if cs, _ := eng.List(ctx, "pyship.app=sec"); len(cs) > len(before) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the deploy never started its replica")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	runDirs := func() []string {
		ents, _ := os.ReadDir(filepath.Join(state, "run"))
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	if got := runDirs(); len(got) != 2 {
		t.Fatalf("the killed deploy left %v under run/, want its copy and the live one", got)
	}
	c.must("", "revisions", "sec")
	if got := runDirs(); len(got) != 1 || got[0] != rev1 {
		t.Errorf("after the next command, run/ holds %v, want only %s", got, rev1)
	}

	// A rotation leaves the old value nowhere.
	c.must("", "env", "unset", "sec", "KILLED")
	const v2 = "sec-value-two-1289"
	c.must(v2+"\n", "secret", "set", "sec", "GREETING")
	if body := ask(); !strings.Contains(body, v2) {
		t.Fatalf("after the rotation: %s", body)
	}
	if got := holding(v1); len(got) > 0 {
		t.Errorf("the value before the rotation is still in %v", got)
	}
	if got := runDirs(); len(got) != 1 || got[0] != live() {
		t.Errorf("after the rotation, run/ holds %v, want only %s", got, live())
	}

	// down leaves no value behind.
	c.must("", "down", "sec")
	if got := holding(v2); len(got) > 0 {
		t.Errorf("after down, the value is still in %v", got)
	}
	if got := runDirs(); len(got) != 0 {
		t.Errorf("after down, run/ holds %v", got)
	}
}
