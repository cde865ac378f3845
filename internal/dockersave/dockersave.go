// Package dockersave reads the tar stream `docker save` writes for one image in a
// single pass: the engine writes layers before the manifest that orders them, so each
// layer is handed to the caller as it comes and the order is given at the end.
package dockersave

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Read calls layer for every regular file that is not JSON (a layer, or something
// the callback may ignore) and returns the raw image config and the layer file names,
// bottom first.
func Read(r io.Reader, layer func(name string, r io.Reader) error) (config []byte, layers []string, err error) {
	tr := tar.NewReader(r)
	blobs := map[string][]byte{}
	var manifest []struct {
		Config string
		Layers []string
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading docker save: %w", err)
		}
		switch {
		case h.Name == "manifest.json":
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				return nil, nil, fmt.Errorf("docker save manifest.json: %w", err)
			}
		case strings.HasSuffix(h.Name, ".json") && h.Size < 16<<20:
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, nil, err
			}
			blobs[h.Name] = b
		case h.Typeflag == tar.TypeReg:
			if err := layer(h.Name, tr); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(manifest) != 1 {
		return nil, nil, fmt.Errorf("docker save: expected one image, got %d", len(manifest))
	}
	config, ok := blobs[manifest[0].Config]
	if !ok {
		return nil, nil, fmt.Errorf("docker save: config %s missing", manifest[0].Config)
	}
	return config, manifest[0].Layers, nil
}
