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
	err := scanHeaders(file, data, func(key, v string, line int) error {
		switch strings.ToLower(key) {
		case "name":
			if m.Name != "" {
				return &pyproject.ParseError{File: file, Line: line, Msg: "Name given twice"}
			}
			m.Name = v
		case "version":
			if m.Version != "" {
				return &pyproject.ParseError{File: file, Line: line, Msg: "Version given twice"}
			}
			m.Version = v
		case "requires-python":
			m.RequiresPython = v
		case "requires-dist":
			r, err := pyproject.ParseRequirement(v)
			if err != nil {
				return &pyproject.ParseError{File: file, Line: line, Msg: "Requires-Dist: " + err.Error()}
			}
			m.RequiresDist = append(m.RequiresDist, r)
		case "provides-extra":
			m.ProvidesExtra = append(m.ProvidesExtra, pyproject.Normalize(v))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if m.Name == "" || m.Version == "" {
		return nil, &pyproject.ParseError{File: file, Msg: "core metadata without Name or Version"}
	}
	return m, nil
}

// scanHeaders calls fn with each header of core metadata (key, value with continuation
// lines joined and trimmed, and the header's first line), up to the blank line that
// starts the description body.
func scanHeaders(file string, data []byte, fn func(key, value string, line int) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 4<<20)
	var key string
	// Continuation lines are collected and joined once: appending each to a string
	// copied the value every time, quadratic in a header of many short lines.
	var val []string
	line, keyLine := 0, 0
	flush := func() error {
		if key == "" {
			return nil
		}
		err := fn(key, strings.TrimSpace(strings.Join(val, " ")), keyLine)
		key, val = "", val[:0]
		return err
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" {
			break // the description body follows
		}
		if text[0] == ' ' || text[0] == '\t' {
			if key == "" {
				return &pyproject.ParseError{File: file, Line: line, Msg: "a continuation line with no header before it"}
			}
			val = append(val, strings.TrimSpace(text))
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		k, v, ok := strings.Cut(text, ":")
		if !ok {
			return &pyproject.ParseError{File: file, Line: line, Msg: fmt.Sprintf("not a header: %q", text)}
		}
		key, val, keyLine = k, append(val, strings.TrimSpace(v)), line
	}
	if err := flush(); err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		return &pyproject.ParseError{File: file, Line: line, Msg: err.Error()}
	}
	return nil
}
