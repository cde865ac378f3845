package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/pyship/pyship/internal/atomicfile"
	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// targetACA is render's --target for Azure Container Apps.
const targetACA = "aca"

// acaFlags are where in Azure a Container App goes (render --target aca).
type acaFlags struct {
	location, environment, keyVault, identity string
}

func (f *acaFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.location, "location", "", "--target aca: the Azure `REGION` (westeurope, eastus, ...)")
	fl.StringVar(&f.environment, "environment", "", "--target aca: the Container Apps environment's resource `ID` (/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.App/managedEnvironments/NAME)")
	fl.StringVar(&f.keyVault, "key-vault", "", "--target aca: the Key Vault `URL` the app's secrets are read from (https://VAULT.vault.azure.net), by the app's managed identity")
	fl.StringVar(&f.identity, "identity", "", "--target aca: a user-assigned managed identity's resource `ID` (default the app's system-assigned identity)")
}

// validate checks what Azure needs before anything is read: a document without them
// could not be applied.
func (f *acaFlags) validate() error {
	switch {
	case f.location == "":
		return usagef("--target aca needs --location REGION (westeurope, eastus, ...)")
	case f.environment == "":
		return usagef("--target aca needs --environment ID, the Container Apps environment's resource ID (az containerapp env show -n NAME -g RG --query id)")
	}
	return nil
}

// acaResult is render --target aca's --json output.
type acaResult struct {
	App      string   `json:"app"`
	Revision string   `json:"revision"`
	Image    string   `json:"image"`
	Files    []string `json:"files,omitempty"`
	YAML     string   `json:"yaml,omitempty"`
	ARM      string   `json:"arm,omitempty"`
	// Secrets are the Key Vault secrets the app reads (their names there).
	Secrets []string `json:"secrets"`
}

// renderContainerApp writes the app's Container App: YAML on stdout, or with -o DIR
// the YAML and an ARM template beside it.
func renderContainerApp(g *globals, f *renderFlags, app *store.App, stdout io.Writer) error {
	rev, spec := platform.RevisionOf(app)
	in := azure.AppInput{Name: app.Name, Revision: rev, Location: f.aca.location, Environment: f.aca.environment,
		Image: app.ImageRef, Port: app.Port, Probe: app.Probe, Env: map[string]string{},
		KeyVault: f.aca.keyVault, Identity: f.aca.identity, Replicas: app.Replicas, MaxReplicas: app.MaxReplicas}
	for k, v := range spec.Env {
		in.Env[k] = v
	}
	in.Env["PORT"] = fmt.Sprint(app.Port) // as every target runs it (platform.ReleaseEnv)
	for k := range spec.Secrets {
		in.Secrets = append(in.Secrets, k)
	}
	sort.Strings(in.Secrets)
	if len(app.Traffic) > 1 {
		in.Traffic = app.Traffic
	}
	docs, err := azure.RenderContainerApp(in)
	if err != nil {
		return err
	}
	res := acaResult{App: app.Name, Revision: rev, Image: app.ImageRef, Secrets: []string{}}
	for _, s := range in.Secrets {
		res.Secrets = append(res.Secrets, azure.SecretName(s))
	}
	if f.out == "" {
		if g.json {
			res.YAML, res.ARM = string(docs.YAML), string(docs.ARM)
			return writeJSON(stdout, res)
		}
		_, err := stdout.Write(docs.YAML)
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	files := []struct {
		path string
		b    []byte
	}{{filepath.Join(f.out, "containerapp-"+app.Name+".yaml"), docs.YAML}, {filepath.Join(f.out, "containerapp-"+app.Name+".arm.json"), docs.ARM}}
	// Every check first: a refusal writes nothing. Only a file an earlier render of
	// this app wrote is replaced, never a user's (or a symlink).
	for _, fl := range files {
		st, err := os.Lstat(fl.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() || st.Size() > 1<<20 {
			return &kube.ForeignFileError{Path: fl.path, Why: "exists and is not a regular file render wrote"}
		}
		b, err := os.ReadFile(fl.path)
		if err != nil {
			return err
		}
		if owner := azure.RenderedApp(b); owner != app.Name {
			return &kube.ForeignFileError{Path: fl.path, Why: "exists and was not written by pyship render --target aca for " + app.Name}
		}
	}
	for _, fl := range files {
		if err := atomicfile.Write(fl.path, fl.b, 0o644); err != nil {
			return err
		}
		res.Files = append(res.Files, fl.path)
	}
	if g.json {
		return writeJSON(stdout, res)
	}
	for _, p := range res.Files {
		fmt.Fprintf(stdout, "wrote     %s\n", p)
	}
	return nil
}
