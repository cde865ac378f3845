package platform

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/gateway"
	"github.com/pyship/pyship/internal/store"
)

// GatewayName is the gateway container of this state directory (one gateway per
// state directory, so separate platforms on one engine do not collide).
func (p *Platform) GatewayName() string {
	return "pyship-gateway-" + p.StateID()
}

// The gateway runs as a container of pyship's own binary, made by pyship from the
// running executable (and, for a dynamically linked build, the C library it loads): no
// image from a registry, and the engine's restart policy brings it back after a crash
// or a reboot. It shares the host's network, so it listens on and dials loopback.
func gatewayImage(ctx context.Context, e *engine.Client) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	exe, _ = filepath.EvalSymlinks(exe)
	files := map[string]string{"pyship": exe}
	libs, err := sharedLibs(exe)
	if err != nil {
		return "", err
	}
	for _, l := range libs {
		files[l[1:]] = l
	}
	// Named by the files' identities (path, size, modification time): hashing a 30 MB
	// binary on every command would cost a second.
	h := sha256.New()
	for _, p := range sortedKeys(files) {
		st, err := os.Stat(files[p])
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00", p, files[p], st.Size(), st.ModTime().UnixNano())
	}
	tag := "pyship/gateway:" + hex.EncodeToString(h.Sum(nil))[:12]
	if _, found, err := e.Image(ctx, tag); err == nil && found {
		return tag, nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, p := range sortedKeys(files) {
		for d := filepath.Dir(p); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range sortedKeys(dirs) {
		tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	}
	for _, p := range sortedKeys(files) {
		b, err := os.ReadFile(files[p])
		if err != nil {
			return "", err
		}
		tw.WriteHeader(&tar.Header{Name: p, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))})
		tw.Write(b)
	}
	tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777})
	tw.Close()
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerBytes)), nil })
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", goarch()
	cfg.Config.Entrypoint = []string{"/pyship"}
	cfg.Config.Env = []string{"PYSHIP_MAIN=1"} // lets a test binary act as pyship
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return "", err
	}
	ref, _ := name.NewTag(tag)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(ref, img, pw)) }()
	if err := e.Load(ctx, pr); err != nil {
		return "", fmt.Errorf("loading the gateway image: %w", err)
	}
	return tag, nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// sharedLibs lists the interpreter and libraries a dynamic executable loads (none for
// a static build), found where the dynamic loader would look on Debian and friends.
func sharedLibs(exe string) ([]string, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", exe, err)
	}
	defer f.Close()
	var out []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, _ := io.ReadAll(p.Open())
			out = append(out, string(bytes.TrimRight(b, "\x00")))
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	needed, _ := f.ImportedLibraries()
	seen := map[string]bool{}
	var walk func(names []string) error
	walk = func(names []string) error {
		for _, n := range names {
			if seen[n] {
				continue
			}
			seen[n] = true
			found := ""
			for _, dir := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
				p := filepath.Join(dir, n)
				if _, err := os.Stat(p); err == nil {
					found = p
					break
				}
			}
			if found == "" {
				return fmt.Errorf("the gateway container is made of pyship's own binary and the libraries it loads, and %s is not found on this machine (looked in the usual lib folders)", n)
			}
			real, _ := filepath.EvalSymlinks(found)
			out = append(out, found)
			if real != found {
				out = append(out, real)
			}
			if lf, err := elf.Open(found); err == nil {
				more, _ := lf.ImportedLibraries()
				lf.Close()
				if err := walk(more); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(needed); err != nil {
		return nil, err
	}
	return out, nil
}

// EnsureGateway starts the gateway container if it is not running with this pyship's
// binary, and waits until it answers.
func (p *Platform) EnsureGateway(ctx context.Context) error {
	if p.Target.Kind != store.Local {
		return nil // the target routes requests itself (a Kubernetes Service)
	}
	img, err := gatewayImage(ctx, p.Engine)
	if err != nil {
		return err
	}
	dir := filepath.Join(p.Store.Dir, "gateway")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if st, found, err := p.Engine.Inspect(ctx, p.GatewayName()); err != nil {
		return err
	} else if found {
		// Whatever replaces this gateway starts from the routes file: if the state
		// directory lost it, the running gateway's table is the best copy there is.
		if _, serr := os.Stat(p.routesPath()); os.IsNotExist(serr) && st.Running {
			if s, err := gateway.Query(ctx, p.Admin); err == nil && s.Routes != nil {
				if err := gateway.WriteRoutes(p.routesPath(), s.Routes); err != nil {
					return err
				}
			}
		}
		if st.Running && st.Labels["pyship.gateway.image"] == img && st.Labels["pyship.gateway.listen"] == p.Listen {
			if err := p.waitGateway(ctx, 10*time.Second); err != nil {
				return err
			}
			// A state directory deleted and made again is a new directory: the
			// gateway's bind mount still shows the old one, and it would never see
			// another route. Its routes are served until the new gateway takes over.
			s, err := gateway.Query(ctx, p.Admin)
			if err == nil && (s.StateDir == "" || s.StateDir == gateway.DirID(dir)) {
				return nil
			}
			p.logf("the gateway reads routes from a state directory that was removed; starting it again")
		}
		if err := p.Engine.Remove(ctx, st.ID); err != nil {
			return err
		}
	}
	// Our own gateway is gone (or outdated and removed above): its ports must be free.
	for _, a := range []string{p.Listen, p.Admin} {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("the gateway cannot listen on %s: %v; another program uses it — pick other ports with --gateway HOST:PORT (or $PYSHIP_GATEWAY)", a, err)
		}
		l.Close()
	}
	if _, err := os.Stat(p.routesPath()); os.IsNotExist(err) {
		if err := gateway.WriteRoutes(p.routesPath(), &gateway.Routes{Apps: map[string]gateway.AppRoutes{}}); err != nil {
			return err
		}
	}
	_, err = p.Engine.Create(ctx, engine.CreateOptions{
		Name:  p.GatewayName(),
		Image: img,
		Cmd:   []string{"gateway", "serve", "--routes", "/state/routes.json", "--listen", p.Listen, "--admin", p.Admin},
		// Half the cores: the gateway shares the machine with the replicas it serves,
		// and on 2 cores one thread served 9-11% more requests at saturation than two
		// (fewer cross-thread wake-ups: 0.48 instead of 0.77 ms of CPU per request).
		Env:         []string{"GOMAXPROCS=" + strconv.Itoa(max(1, runtime.NumCPU()/2))},
		Labels:      map[string]string{"pyship.gateway": "1", "pyship.gateway.image": img, "pyship.gateway.listen": p.Listen},
		User:        strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid()),
		HostNetwork: true,
		Restart:     "always",
		Binds:       []string{dir + ":/state"}, // routes in, access.log out
		StopTimeout: 30,
	})
	if err != nil {
		return fmt.Errorf("starting the gateway: %w", err)
	}
	return p.waitGateway(ctx, 15*time.Second)
}

func (p *Platform) waitGateway(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if _, err := gateway.Query(ctx, p.Admin); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			logs, _ := p.Engine.Logs(ctx, p.GatewayName())
			return fmt.Errorf("the gateway does not answer on %s: %v\n%s", p.Admin, err, logs)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// StopGateway stops and removes this state directory's gateway container; it reports
// whether there was one.
func (p *Platform) StopGateway(ctx context.Context) (bool, error) {
	st, found, err := p.Engine.Inspect(ctx, p.GatewayName())
	if err != nil || !found {
		return false, err
	}
	if st.Running {
		p.Engine.Stop(ctx, p.GatewayName(), 10)
	}
	if err := p.Engine.Remove(ctx, p.GatewayName()); err != nil {
		return true, fmt.Errorf("removing the gateway container %s: %w", p.GatewayName(), err)
	}
	return true, nil
}
