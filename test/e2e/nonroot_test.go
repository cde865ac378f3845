package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/engine"
)

// nonRootImage, set in the environment, makes TestPlatformSecretsNonRoot the child
// that deploys that image as the unprivileged user.
const nonRootImage = "PYSHIP_E2E_NONROOT_IMAGE"

// nonRootUser is the user the test creates (and removes) when it runs as root.
const nonRootUser = "pyship-e2e"

// TestPlatformSecretsNonRoot deploys an app with a secret as a user who is not root but
// may use the engine (the docker group), as most developers run pyship: the secret
// files must still belong to the image's uid (10001 for pyship's images), which such a
// user could never give a host file to. Run as root, the test makes such a user and
// runs itself again as that user, with its own HOME, temporary and state directories;
// run by a user who is not root, it is that case as it is.
func TestPlatformSecretsNonRoot(t *testing.T) {
	image := os.Getenv(nonRootImage)
	if image == "" && os.Geteuid() == 0 {
		runAsDockerUser(t)
		return
	}
	if os.Geteuid() == 0 {
		t.Fatal("the child meant to run as a user who is not root runs as root")
	}
	e := newPlatformEnv(t, "nonroot")
	ctx, c := context.Background(), e.c
	if image == "" {
		image = "pyship-e2e/nonroot:" + strconv.Itoa(os.Getuid())
		dir := filepath.Join(t.TempDir(), "flask")
		copyDir(t, filepath.Join("..", "..", "examples", "flask"), dir)
		pyship(t, "build", dir, "--base", e.base, "-i", e.index, "--cache-dir", t.TempDir(), "-t", image)
		t.Cleanup(func() { e.eng.RemoveImage(context.Background(), image) })
	}
	cfg, _, err := e.eng.InspectImage(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	imageUID, err := strconv.Atoi(strings.Split(cfg.User, ":")[0])
	if err != nil || imageUID == os.Getuid() {
		t.Fatalf("the image runs as %q: the test needs a numeric uid other than this user's (%d)", cfg.User, os.Getuid())
	}

	c.must("", "deploy", "--image", image, "--app", "nonroot", "--port", "5000")
	const value = "nonroot-secret-3307"
	start := time.Now()
	code, out, errOut := c.run(value+"\n", "secret", "set", "--app", "nonroot", "GREETING")
	if code != 0 {
		t.Fatalf("secret set as uid %d: exit %d\n%s%s", os.Getuid(), code, out, errOut)
	}
	took := time.Since(start)
	c.must("", "secret", "files", "--app", "nonroot", "on")
	req, _ := http.NewRequest("GET", "http://"+e.gw+"/env", nil)
	req.Host = "nonroot.localhost"
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), value) {
		t.Fatalf("the app did not get its secret: %d %s", resp.StatusCode, body)
	}
	cs, _ := e.eng.List(ctx, e.stateLabel, "pyship.app=nonroot")
	if len(cs) != 1 {
		t.Fatalf("%d replicas, want 1", len(cs))
	}
	checkSecretFiles(t, cs[0].ID, map[string]string{"GREETING": value}, imageUID)
	if b, err := e.eng.ReadFile(ctx, cs[0].ID, "/run/secrets/GREETING", 1024); err != nil || string(b) != value {
		t.Errorf("secret files on: /run/secrets/GREETING = %q, %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(e.state, "run")); !os.IsNotExist(err) {
		t.Errorf("the state directory has a run/ folder: %v", err)
	}
	c.must("", "down", "nonroot", "--yes")
	if cs, _ := e.eng.List(ctx, e.stateLabel); len(cs) > 1 { // the gateway stays
		t.Errorf("after down, %d containers of this state directory are left", len(cs))
	}
	groups, _ := os.Getgroups()
	t.Logf("as uid %d (groups %v): secret set (a new revision) took %.1fs; the files are uid %d's, 0400 in a 0500 folder; no run/ in the state directory", os.Getuid(), groups, took.Seconds(), imageUID)
}

// runAsDockerUser builds the image as root, then runs this test again as nonRootUser
// (made for the purpose, in the docker group, removed afterwards) with a copy of this
// test binary it may execute and a HOME, TMPDIR and so state directory of its own.
func runAsDockerUser(t *testing.T) {
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("runuser (util-linux) is not installed: cannot run the test as another user")
	}
	if _, err := user.LookupGroup("docker"); err != nil {
		t.Skip("no docker group on this machine: the engine is not shared with other users through it")
	}
	if _, err := user.Lookup(nonRootUser); err != nil {
		if out, err := exec.Command("useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "--groups", "docker", nonRootUser).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("userdel", nonRootUser).Run() })
	} else if out, err := exec.Command("usermod", "--append", "--groups", "docker", nonRootUser).CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v\n%s", err, out)
	}
	u, err := user.Lookup(nonRootUser)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	base, indexDir := fixtures(t)
	image := "pyship-e2e/nonroot:root-built"
	dir := filepath.Join(t.TempDir(), "flask")
	copyDir(t, filepath.Join("..", "..", "examples", "flask"), dir)
	pyship(t, "build", dir, "--base", base, "-i", serveIndex(t, indexDir), "--cache-dir", t.TempDir(), "-t", image)
	t.Cleanup(func() {
		if eng, err := engine.New(context.Background()); err == nil {
			eng.RemoveImage(context.Background(), image)
			eng.Close()
		}
	})

	// t.TempDir's parent is root's alone: the user gets a folder in /tmp.
	home, err := os.MkdirTemp("", "pyship-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(home, "e2e.test")
	if b, err := os.ReadFile(exe); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatalf("copying the test binary: %v", err)
	}
	tmp := filepath.Join(home, "tmp")
	os.Mkdir(tmp, 0o700)
	for _, p := range []string{home, bin, tmp} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"HOME=" + home, "TMPDIR=" + tmp, "PATH=/usr/local/bin:/usr/bin:/bin", nonRootImage + "=" + image}
	for _, k := range []string{"DOCKER_HOST", "PYSHIP_FIXTURES", "PYSHIP_BASE_IMAGE"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	args := append([]string{"-u", nonRootUser, "--", "env", "-i"}, env...)
	args = append(args, bin, "-test.run", "^TestPlatformSecretsNonRoot$", "-test.count", "1", "-test.v", "-test.timeout", "8m")
	cmd := exec.Command("runuser", args...)
	cmd.Dir = home
	out, err := cmd.CombinedOutput()
	t.Logf("as %s (uid %s):\n%s", nonRootUser, u.Uid, out)
	if err != nil {
		t.Fatalf("the test as %s: %v", nonRootUser, err)
	}
}
