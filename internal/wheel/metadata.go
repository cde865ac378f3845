package wheel

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/pyship/pyship/internal/pyproject"
)

// Metadata is the part of a distribution's core metadata (METADATA, PKG-INFO) that
// installing needs.
type Metadata struct {
	Name           string
	Version        string
	RequiresPython string
	RequiresDist   []pyproject.Requirement
	ProvidesExtra  []string
}

// ParseMetadata reads core metadata (RFC 822 style headers; the body is ignored).
func ParseMetadata(file string, data []byte) (*Metadata, error) {
	m := &Metadata{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	var key, val string
	line, keyLine := 0, 0
	flush := func() error {
		if key == "" {
			return nil
		}
		v := strings.TrimSpace(val)
		switch strings.ToLower(key) {
		case "name":
			m.Name = v
		case "version":
			m.Version = v
		case "requires-python":
			m.RequiresPython = v
		case "requires-dist":
			r, err := pyproject.ParseRequirement(v)
			if err != nil {
				return &pyproject.ParseError{File: file, Line: keyLine, Msg: "Requires-Dist: " + err.Error()}
			}
			m.RequiresDist = append(m.RequiresDist, r)
		case "provides-extra":
			m.ProvidesExtra = append(m.ProvidesExtra, pyproject.Normalize(v))
		}
		key, val = "", ""
		return nil
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" {
			break // the description body follows
		}
		if text[0] == ' ' || text[0] == '\t' {
			val += " " + strings.TrimSpace(text)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		k, v, ok := strings.Cut(text, ":")
		if !ok {
			return nil, &pyproject.ParseError{File: file, Line: line, Msg: fmt.Sprintf("not a header: %q", text)}
		}
		key, val, keyLine = k, v, line
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := sc.Err(); err != nil {
		return nil, &pyproject.ParseError{File: file, Line: line, Msg: err.Error()}
	}
	if m.Name == "" || m.Version == "" {
		return nil, &pyproject.ParseError{File: file, Msg: "core metadata without Name or Version"}
	}
	return m, nil
}
