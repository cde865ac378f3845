package check

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pyship/pyship/internal/dockersave"
	"github.com/pyship/pyship/internal/plan"
)

// Image is a built image as the image rules see it: its config and the sensitive files
// its layers hold, including files a later layer deletes (they stay extractable).
type Image struct {
	Ref    string
	Config *v1.ConfigFile
	Files  []LayerFile
}

// LayerFile is a sensitive file in one layer.
type LayerFile struct {
	Layer   int    `json:"layer"` // 0 is the bottom layer
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	Deleted bool   `json:"deleted"` // hidden by a whiteout in a later layer
}

// systemDirs hold public certificates and packages' test keys, not the project's secrets.
var systemDirs = []string{"usr/", "lib/", "etc/ssl/", "etc/ca-certificates/", "var/lib/", "opt/venv/lib/", "proc/", "sys/"}

func layerSecrets(r io.Reader) (files []string, whiteouts []string, err error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, whiteouts, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading layer: %w", err)
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		dir, base := path.Split(p)
		if strings.HasPrefix(base, ".wh.") {
			whiteouts = append(whiteouts, dir+strings.TrimPrefix(base, ".wh."))
			continue
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		system := false
		for _, d := range systemDirs {
			system = system || strings.HasPrefix(p, d)
		}
		if !system && sensitiveFile(p) != "" {
			files = append(files, p)
		}
	}
}

// ImageBuilder collects layers in any order and assembles the Image.
type ImageBuilder struct {
	layers map[int]layerScan
}

type layerScan struct{ files, whiteouts []string }

// AddLayer scans the uncompressed layer at position i (0 = bottom).
func (b *ImageBuilder) AddLayer(i int, r io.Reader) error {
	f, w, err := layerSecrets(r)
	if err != nil {
		return fmt.Errorf("layer %d: %w", i, err)
	}
	if b.layers == nil {
		b.layers = map[int]layerScan{}
	}
	b.layers[i] = layerScan{f, w}
	return nil
}

// Image assembles the result.
func (b *ImageBuilder) Image(ref string, cfg *v1.ConfigFile) *Image {
	img := &Image{Ref: ref, Config: cfg}
	var idx []int
	for i := range b.layers {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		for _, f := range b.layers[i].files {
			lf := LayerFile{Layer: i, Path: "/" + f, Kind: sensitiveFile(f)}
			for _, j := range idx {
				if j <= i {
					continue
				}
				for _, w := range b.layers[j].whiteouts {
					if w == f || strings.HasPrefix(f, w+"/") {
						lf.Deleted = true
					}
				}
			}
			img.Files = append(img.Files, lf)
		}
	}
	return img
}

// ReadDockerSave reads a `docker save` stream (layers come in any order).
func ReadDockerSave(ref string, r io.Reader) (*Image, error) {
	scans := map[string]layerScan{}
	raw, layers, err := dockersave.Read(r, func(name string, r io.Reader) error {
		if f, w, err := layerSecrets(r); err == nil { // not every file is a layer
			scans[name] = layerScan{f, w}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("docker save of %s: config: %w", ref, err)
	}
	b := &ImageBuilder{layers: map[int]layerScan{}}
	for i, l := range layers {
		b.layers[i] = scans[l]
	}
	return b.Image(ref, cfg), nil
}

// imageRules apply to a built image; IDs PI001–PI009.
var imageRules = []struct {
	id, name string
	fn       func(img *Image, now time.Time, add func(Finding))
}{
	{"PI001", "secret-in-image-env", imgSecretEnv},
	{"PI002", "secret-in-history", imgSecretHistory},
	{"PI003", "secret-file-in-layer", imgSecretFiles},
	{"PI004", "root-user", imgRootUser},
	{"PI005", "dev-server", imgDevServer},
	{"PI006", "bind-localhost", imgBindLocalhost},
	{"PI007", "port-mismatch", imgPortMismatch},
	{"PI008", "no-pythonunbuffered", imgNoUnbuffered},
	{"PI009", "eol-python", imgEOLPython},
}

// RunImage applies the image rules, errors first.
func RunImage(img *Image, now time.Time) []Finding {
	var out []Finding
	for _, r := range imageRules {
		r.fn(img, now, func(f Finding) {
			f.ID, f.Rule = r.id, r.name
			if f.File == "" {
				f.File = img.Ref
			}
			out = append(out, f)
		})
	}
	rank := map[Severity]int{Error: 0, Warning: 1, Info: 2}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Severity] < rank[out[j].Severity] })
	return out
}

func imgEnv(img *Image) map[string]string {
	m := map[string]string{}
	for _, e := range img.Config.Config.Env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

func imgCmd(img *Image) string {
	return strings.Join(append(append([]string{}, img.Config.Config.Entrypoint...), img.Config.Config.Cmd...), " ")
}

func imgSecretEnv(img *Image, _ time.Time, add func(Finding)) {
	for _, e := range img.Config.Config.Env {
		k, v, _ := strings.Cut(e, "=")
		if secretValue(k, v) {
			add(Finding{Severity: Error, Message: fmt.Sprintf("ENV %s holds a secret: anyone who pulls the image reads it (docker inspect)", k),
				Fix: "pass it at run time (docker run -e, pyship secret set) instead of baking it in"})
		}
	}
}

func imgSecretHistory(img *Image, _ time.Time, add func(Finding)) {
	for i, h := range img.Config.History {
		// The classic builder records build args as "|N KEY=value ... /bin/sh -c ...".
		for _, field := range strings.Fields(h.CreatedBy) {
			k, v, ok := strings.Cut(field, "=")
			if ok && k != "" && secretValue(k, v) {
				add(Finding{Severity: Error, Message: fmt.Sprintf("the image history (step %d) records %s with its value: build arguments are stored in the image", i+1, k),
					Fix: "use a BuildKit secret mount (RUN --mount=type=secret) or pass it at run time"})
			}
		}
	}
}

func imgSecretFiles(img *Image, _ time.Time, add func(Finding)) {
	for _, f := range img.Files {
		msg := fmt.Sprintf("%s (%s) is in layer %d", f.Path, f.Kind, f.Layer+1)
		if f.Deleted {
			msg += "; a later layer deletes it, but it stays extractable from the layer"
		}
		add(Finding{Severity: Error, Message: msg, Fix: "keep it out of the build context (.dockerignore) and rebuild; rotate the secret"})
	}
}

func imgRootUser(img *Image, _ time.Time, add func(Finding)) {
	u := img.Config.Config.User
	name := strings.SplitN(u, ":", 2)[0]
	if u == "" || name == "root" || name == "0" {
		add(Finding{Severity: Error, Message: "the image runs as root", Fix: "set a numeric non-root user (pyship build uses 10001:10001)"})
	}
}

func imgDevServer(img *Image, _ time.Time, add func(Finding)) {
	if what := devServer(imgCmd(img)); what != "" {
		add(Finding{Severity: Error, Message: fmt.Sprintf("the image starts %s, a development server", what), Fix: "serve with gunicorn (WSGI) or uvicorn (ASGI)"})
	}
}

func imgBindLocalhost(img *Image, _ time.Time, add func(Finding)) {
	if hostArg.MatchString(imgCmd(img)) {
		add(Finding{Severity: Error, Message: "the server binds 127.0.0.1 inside the container: nothing outside it can connect", Fix: "bind 0.0.0.0"})
	}
}

func imgPortMismatch(img *Image, _ time.Time, add func(Finding)) {
	env := imgEnv(img)
	var exposed []int
	for p := range img.Config.Config.ExposedPorts {
		if n, err := strconv.Atoi(strings.SplitN(p, "/", 2)[0]); err == nil {
			exposed = append(exposed, n)
		}
	}
	port, hasPort := 0, false
	if v, ok := env["PORT"]; ok {
		port, _ = strconv.Atoi(v)
		hasPort = port > 0
	}
	cmd := imgCmd(img)
	if m := portInCmd.FindStringSubmatch(cmd); m != nil {
		if n, err := strconv.Atoi(firstNonEmpty(m[1], m[2], m[3])); err == nil {
			if hasPort && n != port {
				add(Finding{Severity: Warning, Message: fmt.Sprintf("the command listens on %d but PORT is %d", n, port), Fix: "listen on ${PORT}"})
			}
			port, hasPort = n, true
		}
	}
	if hasPort && len(exposed) > 0 && !containsInt(exposed, port) {
		add(Finding{Severity: Warning, Message: fmt.Sprintf("the app listens on %d but the image exposes %v: platforms route to the exposed port", port, exposed), Fix: fmt.Sprintf("EXPOSE %d", port)})
	}
}

func imgNoUnbuffered(img *Image, _ time.Time, add func(Finding)) {
	if _, ok := imgEnv(img)["PYTHONUNBUFFERED"]; !ok {
		add(Finding{Severity: Warning, Message: "PYTHONUNBUFFERED is not set: logs may reach docker logs late or never", Fix: "ENV PYTHONUNBUFFERED=1"})
	}
}

func imgEOLPython(img *Image, now time.Time, add func(Finding)) {
	v := imgEnv(img)["PYTHON_VERSION"]
	if t := img.Config.Config.Labels["dev.pyship.target"]; v == "" && t != "" {
		for _, f := range strings.Fields(t) {
			if x, ok := strings.CutPrefix(f, "python="); ok {
				v = x
			}
		}
	}
	if v == "" {
		return
	}
	if eol, ok := plan.PythonEOL(v); ok && !now.Before(eol) {
		add(Finding{Severity: Error, Message: fmt.Sprintf("Python %s reached its end of life on %s", v, eol.Format("2006-01-02")), Fix: "rebuild on python:" + plan.DefaultPython() + "-slim"})
	}
}
