package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// userPath resolves a path typed on the command line the way docker resolves -f PATH:
// relative to the current directory, or to -C DIR when given.
func (g *globals) userPath(p string) (string, error) {
	if !filepath.IsAbs(p) && g.dir != "" {
		p = filepath.Join(g.dir, p)
	}
	return filepath.Abs(p)
}

// maxDockerfile bounds a Dockerfile named by a flag: text, not data.
const maxDockerfile = 4 << 20

// readUserFile reads a file the user named: a regular file of at most limit bytes.
// O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, for ever and
// deaf to Ctrl-C; it changes nothing for a regular file.
func readUserFile(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}
