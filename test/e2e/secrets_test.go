package e2e

import (
	"archive/tar"
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

	"github.com/moby/moby/client"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// TestPlatformSecrets follows a secret through an app's life, on an image whose USER is
// a name: the value is a file in each replica's own filesystem, the named user's alone
// (0400 in a 0500 folder), and nowhere on the host but pyship's store; it survives a
// crash and a docker restart of the replica; a killed deploy's, a rotated and a downed
// revision's values go with their containers. A state directory others could read is
// made private (pyship says so once); an older pyship's copies under run/ go once no
// container uses them. secret list and the revision names show no plain digest.
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
	storeFile := filepath.Join(state, "secrets", "sec", "GREETING")
	replicaOf := func(rev string) string {
		t.Helper()
		cs, _ := eng.List(ctx, e.stateLabel, platform.LabelRevision+"="+rev)
		if len(cs) != 1 {
			t.Fatalf("%d replicas of %s, want 1", len(cs), rev)
		}
		return cs[0].ID
	}

	const v1 = "sec-value-one-7731"
	c.must(v1+"\n", "secret", "set", "sec", "GREETING")
	if body := ask(); !strings.Contains(body, v1) {
		t.Fatalf("the app, running as www-data, did not get its secret: %s", body)
	}
	rev1 := live()
	id1 := replicaOf(rev1)
	checkSecretFiles(t, id1, map[string]string{"GREETING": v1}, wwwData)
	if got := holding(v1); len(got) != 1 || got[0] != storeFile {
		t.Errorf("on the host, the value is in %v, want only pyship's store %s", got, storeFile)
	}
	if _, err := os.Lstat(filepath.Join(state, "run")); !os.IsNotExist(err) {
		t.Errorf("the state directory has a run/ folder: %v", err)
	}
	// The value's one other place on the machine: the replica's writable layer.
	upper1 := upperDir(t, eng, id1)
	if upper1 != "" {
		if b, err := os.ReadFile(filepath.Join(upper1, "run", "pyship", "secrets", "GREETING")); err != nil || string(b) != v1 {
			t.Errorf("the replica's writable layer %s: %q %v", upper1, b, err)
		}
	}

	// The files last through the restarts the engine does with no pyship running: a
	// crash (the restart policy) and docker restart.
	st, _, err := eng.Inspect(ctx, id1)
	if err != nil || st.Pid == 0 {
		t.Fatalf("inspect %s: %+v %v", id1, st, err)
	}
	if err := syscall.Kill(st.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// waitAnswer waits for a process other than pid to answer with the value.
	waitAnswer := func(what string, pid int) int {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; {
			st, _, _ := eng.Inspect(ctx, id1)
			if body := ask(); st.Running && st.Pid != pid && strings.Contains(body, v1) {
				return st.Pid
			} else if time.Now().After(deadline) {
				t.Fatalf("after %s: %+v, the app answers %s", what, st, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	pid := waitAnswer("a crash", st.Pid)
	if err := eng.Restart(ctx, id1); err != nil {
		t.Fatal(err)
	}
	waitAnswer("docker restart", pid)
	checkSecretFiles(t, id1, map[string]string{"GREETING": v1}, wwwData)

	// Digests are keyed: neither secret list nor the revision name (the spec hash,
	// which every container carries with the spec itself in its labels) follows from a
	// plain sha256 of the value.
	sum := sha256.Sum256([]byte(v1))
	plain := hex.EncodeToString(sum[:])
	listed := c.must("", "secret", "list", "sec") + c.must("", "secret", "list", "sec", "--json")
	if strings.Contains(listed, plain[:12]) || !strings.Contains(listed, store.DigestPrefix) {
		t.Errorf("secret list shows a plain digest (sha256 %s…):\n%s", plain[:12], listed)
	}
	cs, _ := eng.List(ctx, e.stateLabel, platform.LabelRevision+"="+rev1)
	var spec store.Spec
	json.Unmarshal([]byte(cs[0].Labels[platform.LabelSpecJSON]), &spec)
	spec.Secrets = map[string]string{"GREETING": plain}
	if rev1 == "sec--"+spec.Hash() {
		t.Errorf("the revision name %s is the hash of the public spec with the value's plain sha256", rev1)
	}

	// An older pyship kept per-revision copies under run/ and bind-mounted them: the
	// copy of a revision that still has a container stays (its next start mounts it),
	// one without goes, and run/ with the last.
	legacy := func(rev, value string) string {
		d := filepath.Join(state, "run", rev)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "GREETING"), []byte(value), 0o400)
		os.Chown(filepath.Join(d, "GREETING"), wwwData, wwwData)
		os.Chown(d, wwwData, wwwData)
		return d
	}
	const legacyLive, legacyGone = "legacy-copy-of-live-5531", "legacy-copy-of-gone-5532"
	legacy(rev1, legacyLive)
	gone := legacy("sec--0123456789abcdef", legacyGone)
	c.must("", "revisions", "sec")
	if got := holding(legacyLive); len(got) != 1 {
		t.Errorf("the copy of a revision with a container was removed: %v", got)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the copy of a revision with no container stays: %v", err)
	}

	// A deploy killed once its replica exists: the next command removes the replica,
	// and the value in its writable layer goes with it.
	exe, _ := os.Executable()
	cmd := exec.Command(exe, append([]string{"env", "set", "sec", "KILLED=1"}, c.flags...)...)
	cmd.Env = append(os.Environ(), "PYSHIP_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once a replica of the new revision holds the value (when the storage
	// driver shows its writable layer), or once it exists. A replica the deploy
	// removes and creates again meanwhile (a port taken between choice and start) is
	// waited past.
	killedUpper := ""
	for deadline := time.Now().Add(30 * time.Second); killedUpper == ""; {
		cs, _ := eng.List(ctx, e.stateLabel, "pyship.app=sec")
		for _, c := range cs {
			if c.Labels[platform.LabelRevision] == rev1 {
				continue
			}
			raw, err := eng.InspectContainerRaw(ctx, c.ID)
			if err != nil {
				continue
			}
			d := writableLayer(raw)
			if d == "" {
				killedUpper = "-" // nothing to look into: kill now
				break
			}
			if b, _ := os.ReadFile(filepath.Join(d, "run", "pyship", "secrets", "GREETING")); string(b) == v1 {
				killedUpper = d
				break
			}
		}
		if killedUpper == "" && time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the deploy never put the secret into its replica")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if killedUpper == "-" {
		killedUpper = ""
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	c.must("", "revisions", "sec")
	if cs, _ := eng.List(ctx, e.stateLabel, "pyship.app=sec"); len(cs) != 1 || cs[0].ID != id1 {
		t.Errorf("after the killed deploy and the next command, the app has %d containers, want only %s", len(cs), id1)
	}
	gonePath(t, killedUpper, "the killed deploy's writable layer")

	// A rotation leaves the old value nowhere: not on the host, not in the engine.
	c.must("", "env", "unset", "sec", "KILLED")
	const v2 = "sec-value-two-1289"
	c.must(v2+"\n", "secret", "set", "sec", "GREETING")
	if body := ask(); !strings.Contains(body, v2) {
		t.Fatalf("after the rotation: %s", body)
	}
	for _, v := range []string{v1, legacyLive} {
		if got := holding(v); len(got) > 0 {
			t.Errorf("after the rotation, %s is still in %v", v, got)
		}
	}
	if _, err := os.Lstat(filepath.Join(state, "run")); !os.IsNotExist(err) {
		t.Errorf("after the rotation, run/ is still there: %v", err)
	}
	gonePath(t, upper1, "the rotated revision's writable layer")
	id2 := replicaOf(live())
	checkSecretFiles(t, id2, map[string]string{"GREETING": v2}, wwwData)
	upper2 := upperDir(t, eng, id2)

	// down leaves no value behind.
	c.must("", "down", "sec", "--yes")
	if got := holding(v2); len(got) > 0 {
		t.Errorf("after down, the value is still in %v", got)
	}
	gonePath(t, upper2, "the downed replica's writable layer")
}

// checkSecretFiles reads a container's /run/pyship/secrets through the archive API:
// exactly the secrets given, each 0400 and uid's, in a 0500 folder of uid's. The uid
// the image runs as is also the one pyship-built images use (10001) or a named USER's.
func checkSecretFiles(t *testing.T, id string, want map[string]string, uid int) {
	t.Helper()
	api, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	res, err := api.CopyFromContainer(context.Background(), id, client.CopyFromContainerOptions{SourcePath: "/run/pyship/secrets"})
	if err != nil {
		t.Fatalf("reading /run/pyship/secrets of %s: %v", id, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		wantMode := int64(0o400)
		if h.Typeflag == tar.TypeDir {
			wantMode = 0o500
		} else {
			got[filepath.Base(h.Name)] = string(b)
		}
		if h.Mode&0o7777 != wantMode || h.Uid != uid || h.Gid != uid {
			t.Errorf("%s in %s: mode %04o owner %d:%d, want %04o %d:%d", h.Name, id[:12], h.Mode&0o7777, h.Uid, h.Gid, wantMode, uid, uid)
		}
	}
	if len(got) != len(want) {
		t.Errorf("/run/pyship/secrets of %s holds %d files, want %d", id[:12], len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("/run/pyship/secrets/%s of %s = %q, want %q", k, id[:12], got[k], v)
		}
	}
}

// upperDir is a container's writable layer on this machine, "" when the engine's
// storage driver has none to show (the checks on it are then skipped).
func upperDir(t *testing.T, eng *engine.Client, id string) string {
	t.Helper()
	raw, err := eng.InspectContainerRaw(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	d := writableLayer(raw)
	if d == "" {
		t.Logf("no writable layer to look into for %s", id[:12])
	}
	return d
}

// writableLayer is the UpperDir of a container's docker inspect, if this machine has it.
func writableLayer(inspect []byte) string {
	var c struct {
		GraphDriver struct{ Data map[string]string }
	}
	json.Unmarshal(inspect, &c)
	d := c.GraphDriver.Data["UpperDir"]
	if _, err := os.Stat(d); d == "" || err != nil {
		return ""
	}
	return d
}

func gonePath(t *testing.T, p, what string) {
	t.Helper()
	if p == "" {
		return
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("%s (%s) is still there: %v", what, p, err)
	}
}
