package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/pyship/pyship/internal/pyproject"
)

// DeployConfig is where pyship deploy sends the app when its command line does not
// say: the [deploy] table of pyship.toml, or [tool.pyship.deploy] of pyproject.toml.
// A flag given on the command line wins over it.
//
//	[deploy]
//	target = "aca"
//	registry = "shopreg.azurecr.io"
//	subscription = "6f1a2b3c-..."
//	resource_group = "shop-rg"
//	location = "westeurope"
//	environment = "/subscriptions/.../managedEnvironments/prod"
type DeployConfig struct {
	Target         string `toml:"target"`
	Registry       string `toml:"registry"`
	Context        string `toml:"context"`
	Namespace      string `toml:"namespace"`
	Subscription   string `toml:"subscription"`
	ResourceGroup  string `toml:"resource_group"`
	Location       string `toml:"location"`
	Environment    string `toml:"environment"`
	Plan           string `toml:"plan"`
	KeyVault       string `toml:"key_vault"`
	Identity       string `toml:"identity"`
	StorageAccount string `toml:"storage_account"`
	// File is the file it was read from ("" when the project has none).
	File string `toml:"-"`
}

// maxConfigFile bounds the configuration file read.
const maxConfigFile = 1 << 20

// ReadDeployConfig reads the project's deploy settings from fsys (the project's
// directory). A key it does not know, or a value that is not a string, is an error
// naming the file and line.
func ReadDeployConfig(fsys fs.FS) (DeployConfig, error) {
	for _, c := range []struct{ file, table string }{{"pyship.toml", "deploy"}, {"pyproject.toml", "tool.pyship.deploy"}} {
		data, err := readSmall(fsys, c.file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return DeployConfig{}, err
		}
		if c.file == "pyproject.toml" && !bytes.Contains(data, []byte("tool.pyship")) {
			return DeployConfig{}, nil
		}
		var doc struct {
			Deploy DeployConfig `toml:"deploy"`
			Tool   struct {
				Pyship struct {
					Deploy DeployConfig `toml:"deploy"`
				} `toml:"pyship"`
			} `toml:"tool"`
		}
		var raw map[string]any
		if err := toml.Unmarshal(data, &raw); err != nil {
			return DeployConfig{}, tomlError(c.file, err)
		}
		table := raw
		for _, part := range strings.Split(c.table, ".") {
			table, _ = table[part].(map[string]any)
		}
		if table == nil {
			if c.file == "pyship.toml" {
				return DeployConfig{}, nil // pyship.toml wins, even without [deploy]
			}
			continue
		}
		lines := settingLines(data, c.table)
		for k, v := range table {
			if _, ok := v.(string); !ok || !deployKeys[k] {
				msg := fmt.Sprintf("%s must be a string", k)
				if !deployKeys[k] {
					msg = fmt.Sprintf("unknown deploy setting %q (known: %s)", k, strings.Join(deployKeyList, ", "))
				}
				return DeployConfig{}, &pyproject.ParseError{File: c.file, Line: lines[k], Msg: msg}
			}
		}
		if err := toml.Unmarshal(data, &doc); err != nil {
			return DeployConfig{}, tomlError(c.file, err)
		}
		out := doc.Deploy
		if c.file == "pyproject.toml" {
			out = doc.Tool.Pyship.Deploy
		}
		out.File = c.file
		return out, nil
	}
	return DeployConfig{}, nil
}

var deployKeyList = []string{"target", "registry", "context", "namespace", "subscription", "resource_group", "location", "environment", "plan", "key_vault", "identity", "storage_account"}

var deployKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range deployKeyList {
		m[k] = true
	}
	return m
}()

func tomlError(file string, err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		return &pyproject.ParseError{File: file, Line: row, Msg: de.Error()}
	}
	return &pyproject.ParseError{File: file, Msg: err.Error()}
}

// readSmall reads a regular file of at most maxConfigFile bytes.
func readSmall(fsys fs.FS, name string) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if st.Size() > maxConfigFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxConfigFile)
	}
	return fs.ReadFile(fsys, name)
}
