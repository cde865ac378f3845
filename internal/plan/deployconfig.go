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
	Target         string
	Registry       string
	Context        string
	Namespace      string
	Subscription   string
	ResourceGroup  string
	Location       string
	Environment    string
	Plan           string
	KeyVault       string
	Identity       string
	StorageAccount string
	// File is the file it was read from ("" when the project has none).
	File string
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
		out := DeployConfig{File: c.file}
		lines := settingLines(data, c.table)
		for k, v := range table {
			field := out.field(k)
			if field == nil {
				return DeployConfig{}, &pyproject.ParseError{File: c.file, Line: lines[k], Msg: fmt.Sprintf("unknown deploy setting %q (known: %s)", k, strings.Join(deployKeys, ", "))}
			}
			s, ok := v.(string)
			if !ok {
				return DeployConfig{}, &pyproject.ParseError{File: c.file, Line: lines[k], Msg: k + " must be a string"}
			}
			*field = s
		}
		return out, nil
	}
	return DeployConfig{}, nil
}

// deployKeys are the [deploy] table's keys, in the order messages list them.
var deployKeys = []string{"target", "registry", "context", "namespace", "subscription", "resource_group", "location", "environment", "plan", "key_vault", "identity", "storage_account"}

// field is the setting a [deploy] key sets (nil: no such key).
func (c *DeployConfig) field(key string) *string {
	return map[string]*string{"target": &c.Target, "registry": &c.Registry, "context": &c.Context, "namespace": &c.Namespace,
		"subscription": &c.Subscription, "resource_group": &c.ResourceGroup, "location": &c.Location, "environment": &c.Environment,
		"plan": &c.Plan, "key_vault": &c.KeyVault, "identity": &c.Identity, "storage_account": &c.StorageAccount}[key]
}

// tomlError is a TOML file that does not parse, with the line the parser names.
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
