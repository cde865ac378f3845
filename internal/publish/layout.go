package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/pyship/pyship/internal/atomicfile"
)

// refAnnotation names an image inside a layout (what `skopeo copy oci:DIR:REF` reads).
const refAnnotation = "org.opencontainers.image.ref.name"

// ErrNotLayout is returned for an --output oci:DIR that exists and holds something other
// than an OCI image layout: pyship never empties or replaces a directory it did not make
// (pointed at the project itself, an earlier version deleted the project's files).
var ErrNotLayout = errors.New("exists and is not an OCI image layout")

// layoutState is what an --output oci:DIR destination holds now.
type layoutState int

const (
	layoutAbsent   layoutState = iota // nothing there: made from scratch
	layoutEmpty                       // an empty directory: filled
	layoutExisting                    // an OCI layout: the image is added to it
)

// CheckLayoutDir says whether dir may receive an OCI layout, before any work is done:
// it must not exist, be an empty directory, or already be an OCI layout.
func CheckLayoutDir(dir string) error {
	_, err := layoutDest(dir)
	return err
}

func layoutDest(dir string) (layoutState, error) {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return layoutAbsent, nil
	}
	if err != nil {
		return 0, err
	}
	if !fi.IsDir() {
		return 0, fmt.Errorf("--output oci:%s: %w (it is a file; choose a new or empty directory)", dir, ErrNotLayout)
	}
	f, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	names, err := f.Readdirnames(1)
	f.Close()
	if errors.Is(err, io.EOF) || (err == nil && len(names) == 0) {
		return layoutEmpty, nil
	}
	if err != nil {
		return 0, err
	}
	if isLayout(dir) {
		return layoutExisting, nil
	}
	return 0, fmt.Errorf("--output oci:%s: %w (no oci-layout and index.json in it); choose a new or empty directory, nothing was written", dir, ErrNotLayout)
}

// isLayout recognises an OCI image layout by its two mandatory files (image-spec
// image-layout.md): oci-layout naming a layout version, and a parseable index.json.
func isLayout(dir string) bool {
	b, err := readSmall(filepath.Join(dir, "oci-layout"))
	if err != nil {
		return false
	}
	var ol struct {
		Version string `json:"imageLayoutVersion"`
	}
	if json.Unmarshal(b, &ol) != nil || ol.Version == "" {
		return false
	}
	b, err = readSmall(filepath.Join(dir, "index.json"))
	if err != nil {
		return false
	}
	var idx v1.IndexManifest
	return json.Unmarshal(b, &idx) == nil
}

// readSmall reads a regular file of at most 4 MiB (an index.json of a few thousand
// images); anything else (a FIFO, a device, a huge file) is not a layout's file.
func readSmall(name string) ([]byte, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > 4<<20 {
		return nil, fmt.Errorf("%s: not a small regular file", name)
	}
	return os.ReadFile(name)
}

// Layout writes the image (or index) into an OCI image layout at dir, named ref. A new
// or empty directory gets a complete layout built aside and renamed into place; an
// existing layout gets the image added, replacing only the entry with the same ref, as
// skopeo and crane do, with index.json swapped atomically. Anything else is refused.
func Layout(dir string, img v1.Image, idx v1.ImageIndex, ref string) (*Result, error) {
	state, err := layoutDest(dir)
	if err != nil {
		return nil, err
	}
	var app partial.Describable = img
	if idx != nil {
		app = idx
	}
	d, err := app.Digest()
	if err != nil {
		return nil, err
	}
	res := &Result{Output: "oci:" + dir, Ref: ref, Digest: d.String()}
	if state == layoutExisting {
		return res, addToLayout(layout.Path(dir), img, idx, ref)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // only ever the directory made here
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return nil, err
	}
	ann := layout.WithAnnotations(map[string]string{refAnnotation: ref})
	if idx != nil {
		err = p.AppendIndex(idx, ann)
	} else {
		err = p.AppendImage(img, ann)
	}
	if err != nil {
		return nil, err
	}
	// rename(2) replaces an empty directory and fails on one that is not (anymore):
	// a file dropped into dir since the check is never lost. (os.Rename refuses any
	// existing directory, so the system call itself.)
	if err := syscall.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("--output oci:%s: %w", dir, err)
	}
	return res, nil
}

// addToLayout writes the blobs (each to a temporary name, renamed by the library) and
// then index.json in one rename, so a reader sees the old index or the new one.
func addToLayout(p layout.Path, img v1.Image, idx v1.ImageIndex, ref string) error {
	var app partial.Describable = img
	var err error
	if idx != nil {
		app = idx
		err = p.WriteIndex(idx)
	} else {
		err = p.WriteImage(img)
	}
	if err != nil {
		return err
	}
	desc, err := partial.Descriptor(app)
	if err != nil {
		return err
	}
	desc.Annotations = map[string]string{refAnnotation: ref}
	b, err := readSmall(filepath.Join(string(p), "index.json"))
	if err != nil {
		return err
	}
	var m v1.IndexManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(string(p), "index.json"), err)
	}
	kept := m.Manifests[:0]
	for _, old := range m.Manifests {
		if old.Annotations[refAnnotation] != ref {
			kept = append(kept, old)
		}
	}
	m.Manifests = append(kept, *desc)
	out, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(string(p), "index.json"), out, 0o644)
}
