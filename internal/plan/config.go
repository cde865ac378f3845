package plan

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pyship/pyship/internal/pyproject"
)

// config is pyship.toml, or [tool.pyship] in pyproject.toml (pyship.toml wins). A
// subproject's own configuration overrides the top directory's, key by key.
type config struct {
	AppRoot    string
	Entrypoint string
	Framework  string
	Server     string
	Port       int
	Python     string
	// SettingsModule is the Django settings module the image runs with.
	SettingsModule string
	where          map[string]srcPos // the file and line each setting came from
}

type srcPos struct {
	file string
	line int
}

// at returns where a setting was declared.
func (c config) at(key string) (string, int) {
	p := c.where[key]
	return p.file, p.line
}

// settingLines maps each key of a TOML table (the whole document when table is "") to
// its line, so errors and evidence point at the setting itself.
func settingLines(data []byte, table string) map[string]int {
	out := map[string]int{}
	in := table == ""
	for i, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			in = table != "" && strings.Trim(t, "[] ") == table
			continue
		}
		if !in {
			continue
		}
		if k, _, ok := strings.Cut(t, "="); ok {
			if k = strings.Trim(strings.TrimSpace(k), `"'`); out[k] == 0 {
				out[k] = i + 1
			}
		}
	}
	return out
}

var configKeys = map[string]bool{"app_root": true, "entrypoint": true, "framework": true, "server": true, "port": true, "python": true, "settings_module": true, "deploy": true}

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
		return tomlError(file, err)
	}
	section := raw
	if table != "" {
		tool, _ := raw["tool"].(map[string]any)
		section, _ = tool["pyship"].(map[string]any)
		if section == nil {
			return nil
		}
	}
	lines := settingLines(data, table)
	c := d.cfg // settings read before (the top directory's) stay unless overridden
	if c.where == nil {
		c.where = map[string]srcPos{}
	}
	for k, v := range section {
		c.where[k] = srcPos{file, lines[k]}
		if !configKeys[k] {
			return &pyproject.ParseError{File: file, Line: lines[k], Msg: fmt.Sprintf("unknown pyship setting %q (known: app_root, entrypoint, framework, server, port, python, settings_module, and the [deploy] table)", k)}
		}
		switch k {
		case "deploy":
			// Where pyship deploy sends the app: read by deploy (ReadDeployConfig).
			if _, ok := v.(map[string]any); !ok {
				return &pyproject.ParseError{File: file, Line: lines[k], Msg: "deploy must be a table ([deploy])"}
			}
		case "port":
			n, ok := v.(int64)
			if !ok || n < 1 || n > 65535 {
				return &pyproject.ParseError{File: file, Line: lines[k], Msg: "port must be a number from 1 to 65535"}
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
				return &pyproject.ParseError{File: file, Line: lines[k], Msg: k + " must be a string"}
			}
			switch k {
			case "app_root":
				c.AppRoot = s
			case "entrypoint":
				c.Entrypoint = s
			case "framework":
				c.Framework = s
			case "python":
				if err := ValidPython(s); err != nil {
					return &pyproject.ParseError{File: file, Line: lines[k], Msg: "python: " + err.Error()}
				}
				c.Python = s
			case "settings_module":
				if err := ValidModule(s); err != nil {
					return &pyproject.ParseError{File: file, Line: lines[k], Msg: "settings_module: " + err.Error()}
				}
				c.SettingsModule = s
			}
		}
	}
	d.cfg = c
	return nil
}

// ValidModule checks a dotted Python module name (mysite.settings.production).
func ValidModule(s string) error {
	if !moduleRe.MatchString(s) {
		return fmt.Errorf("%q is not a dotted Python module name like mysite.settings", s)
	}
	return nil
}

var moduleRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
