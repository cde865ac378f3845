package plan

import (
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pyship/pyship/internal/pyproject"
)

// config is pyship.toml, or [tool.pyship] in pyproject.toml (pyship.toml wins).
type config struct {
	AppRoot    string `toml:"app_root"`
	Entrypoint string `toml:"entrypoint"`
	Framework  string `toml:"framework"`
	Server     string `toml:"server"`
	Port       int    `toml:"port"`
	Python     string `toml:"python"`
	file       string
	data       []byte
}

func (c config) line(key string) int {
	for i, l := range strings.Split(string(c.data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), key) {
			return i + 1
		}
	}
	return 0
}

var configKeys = map[string]bool{"app_root": true, "entrypoint": true, "framework": true, "server": true, "port": true, "python": true}

func (d *detector) loadConfig(dir string) error {
	if f := join(dir, "pyship.toml"); d.t.has(f) {
		return d.applyConfig(f, d.t.read(f), "")
	}
	if f := join(dir, "pyproject.toml"); d.t.has(f) {
		data := d.t.read(f)
		if !strings.Contains(string(data), "tool.pyship") {
			return nil
		}
		return d.applyConfig(f, data, "tool.pyship")
	}
	return nil
}

func (d *detector) applyConfig(file string, data []byte, table string) error {
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		if de, ok := err.(*toml.DecodeError); ok {
			row, _ := de.Position()
			return &pyproject.ParseError{File: file, Line: row, Msg: de.Error()}
		}
		return &pyproject.ParseError{File: file, Msg: err.Error()}
	}
	section := raw
	if table != "" {
		tool, _ := raw["tool"].(map[string]any)
		section, _ = tool["pyship"].(map[string]any)
		if section == nil {
			return nil
		}
	}
	c := config{file: file, data: data}
	for k, v := range section {
		if !configKeys[k] {
			return &pyproject.ParseError{File: file, Line: c.line(k), Msg: fmt.Sprintf("unknown pyship setting %q (known: app_root, entrypoint, framework, server, port, python)", k)}
		}
		switch k {
		case "port":
			n, ok := v.(int64)
			if !ok || n < 1 || n > 65535 {
				return &pyproject.ParseError{File: file, Line: c.line(k), Msg: "port must be a number from 1 to 65535"}
			}
			c.Port = int(n)
		case "server":
			switch s := v.(type) {
			case string:
				c.Server = s
			case []any:
				var parts []string
				for _, p := range s {
					parts = append(parts, fmt.Sprint(p))
				}
				c.Server = strings.Join(parts, " ")
			}
		default:
			s, ok := v.(string)
			if !ok {
				return &pyproject.ParseError{File: file, Line: c.line(k), Msg: k + " must be a string"}
			}
			switch k {
			case "app_root":
				c.AppRoot = s
			case "entrypoint":
				c.Entrypoint = s
			case "framework":
				c.Framework = s
			case "python":
				c.Python = s
			}
		}
	}
	// Settings found earlier (the top-level file) keep their values.
	prev := d.cfg
	if prev.file != "" {
		c.AppRoot = firstNonEmpty(prev.AppRoot, c.AppRoot)
	}
	d.cfg = c
	return nil
}
