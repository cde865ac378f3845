package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/scaffold"
	"github.com/pyship/pyship/internal/store"
)

// render's --targets in Azure.
const (
	targetACA        = store.ContainerApps      // Container Apps
	targetACI        = store.ContainerInstances // Container Instances
	targetAppService = store.AppService         // Web App for Containers
	targetFunctions  = store.Functions          // a function app on a custom container
)

// azureFlags are where in Azure the app goes (render --target aca, aci, appservice).
type azureFlags struct {
	location, environment, keyVault, identity, plan, storage string
}

func (f *azureFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.location, "location", "", "--target aca, aci or appservice: the Azure `REGION` (westeurope, eastus, ...)")
	fl.StringVar(&f.environment, "environment", "", "--target aca: the Container Apps environment's resource `ID` (/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.App/managedEnvironments/NAME)")
	fl.StringVar(&f.keyVault, "key-vault", "", "--target aca, aci or appservice: the Key Vault `URL` the app's secrets are read from (https://VAULT.vault.azure.net), by the app's managed identity")
	fl.StringVar(&f.plan, "plan", "", "--target appservice: the App Service plan's resource `ID` (/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Web/serverfarms/NAME, a Linux plan)")
	fl.StringVar(&f.storage, "storage-account", "", "--target functions: the storage account `NAME` the Functions host keeps its state in (reached with the app's identity)")
	fl.StringVar(&f.identity, "identity", "", "--target aca, aci or appservice: a user-assigned managed identity's resource `ID` (aca, appservice: default the app's system-assigned one; aci needs it for Key Vault and ACR)")
}

// validate checks what Azure needs before anything is read: a document without them
// could not be applied.
func (f *azureFlags) validate(target string) error {
	return checkAzureService(f.target(target))
}

// target is where the flags put the app in Azure.
func (f *azureFlags) target(kind string) store.Target {
	return store.Target{Kind: kind, Location: f.location, Environment: f.environment, Plan: f.plan, KeyVault: f.keyVault, Identity: f.identity, Storage: f.storage}
}

// azureResult is render's --json output for the Azure targets.
type azureResult struct {
	App      string   `json:"app"`
	Revision string   `json:"revision"`
	Image    string   `json:"image"`
	Files    []string `json:"files,omitempty"`
	YAML     string   `json:"yaml,omitempty"`
	ARM      string   `json:"arm,omitempty"`
	Bicep    string   `json:"bicep,omitempty"`
	Commands string   `json:"commands,omitempty"`
	// Secrets are the Key Vault secrets the app reads (their names there).
	Secrets []string `json:"secrets"`
}

// azureInput is the app as render makes an Azure document of it.
func azureInput(f *renderFlags, app *store.App) azure.AppInput {
	return azureAppInput(app, f.azure.target(f.target))
}

// renderContainerGroup writes the app's container group (Azure Container Instances):
// the YAML az container create --file takes, on stdout or into -o DIR.
func renderContainerGroup(g *globals, f *renderFlags, app *store.App, stdout io.Writer) error {
	in := azureInput(f, app)
	y, err := azure.ContainerGroupYAML(in)
	if err != nil {
		return err
	}
	bicep, err := azure.ContainerGroupBicep(in)
	if err != nil {
		return err
	}
	return writeAzure(g, f, app, stdout, azureResult{App: app.Name, Revision: in.Revision, Image: app.ImageRef, Secrets: secretNames(in)},
		[]azureFile{{"containergroup-" + app.Name + ".yaml", "yaml", y}, {"containergroup-" + app.Name + ".bicep", "bicep", bicep}})
}

// renderSite writes the app's web app (App Service): the ARM template on stdout, or
// with -o DIR the template and the az commands that make the same site.
func renderSite(g *globals, f *renderFlags, app *store.App, stdout io.Writer) error {
	in := azure.SiteInput{AppInput: azureInput(f, app), Plan: f.azure.plan}
	docs, err := azure.RenderSite(in)
	if err != nil {
		return err
	}
	res := azureResult{App: app.Name, Revision: in.Revision, Image: app.ImageRef, Secrets: secretNames(in.AppInput)}
	return writeAzure(g, f, app, stdout, res, []azureFile{
		{"site-" + app.Name + ".arm.json", "arm", docs.ARM}, {"site-" + app.Name + ".sh", "commands", docs.Commands}, {"site-" + app.Name + ".bicep", "bicep", docs.Bicep}})
}

// renderFunctionApp writes the app's function app (Azure Functions on a custom
// container): the ARM template on stdout, or with -o DIR the template and the az
// commands that make the same function app.
func renderFunctionApp(g *globals, f *renderFlags, app *store.App, stdout io.Writer) error {
	in := azure.FunctionAppInput{SiteInput: azure.SiteInput{AppInput: azureInput(f, app), Plan: f.azure.plan}, Storage: f.azure.storage}
	docs, err := azure.RenderFunctionApp(in)
	if err != nil {
		return err
	}
	res := azureResult{App: app.Name, Revision: in.Revision, Image: app.ImageRef, Secrets: secretNames(in.AppInput)}
	return writeAzure(g, f, app, stdout, res, []azureFile{
		{"functionapp-" + app.Name + ".arm.json", "arm", docs.ARM}, {"functionapp-" + app.Name + ".sh", "commands", docs.Commands}, {"functionapp-" + app.Name + ".bicep", "bicep", docs.Bicep}})
}

func secretNames(in azure.AppInput) []string {
	out := []string{}
	for _, s := range in.Secrets {
		out = append(out, azure.SecretName(s))
	}
	return out
}

// renderContainerApp writes the app's Container App: YAML on stdout, or with -o DIR
// the YAML and an ARM template beside it.
func renderContainerApp(g *globals, f *renderFlags, app *store.App, stdout io.Writer) error {
	in := azureInput(f, app)
	rev := in.Revision
	docs, err := azure.RenderContainerApp(in)
	if err != nil {
		return err
	}
	res := azureResult{App: app.Name, Revision: rev, Image: app.ImageRef, Secrets: secretNames(in)}
	return writeAzure(g, f, app, stdout, res, []azureFile{
		{"containerapp-" + app.Name + ".yaml", "yaml", docs.YAML}, {"containerapp-" + app.Name + ".arm.json", "arm", docs.ARM}, {"containerapp-" + app.Name + ".bicep", "bicep", docs.Bicep}})
}

// azureFile is one document render writes: its file name, its form (yaml, arm,
// bicep, commands) and its bytes.
type azureFile struct {
	name, form string
	b          []byte
}

// writeAzure prints the first document (the YAML, or a template) or, with -o DIR,
// writes them all (with --json, every form is in the result either way),
// replacing only files an earlier render wrote for the app.
func writeAzure(g *globals, f *renderFlags, app *store.App, stdout io.Writer, res azureResult, docs []azureFile) error {
	if f.out == "" {
		if g.json {
			for _, d := range docs {
				switch d.form {
				case "yaml":
					res.YAML = string(d.b)
				case "arm":
					res.ARM = string(d.b)
				case "bicep":
					res.Bicep = string(d.b)
				case "commands":
					res.Commands = string(d.b)
				}
			}
			return writeJSON(stdout, res)
		}
		_, err := stdout.Write(docs[0].b)
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	// Every check first: a refusal writes nothing. Only a file an earlier render of
	// this app wrote is replaced, never a user's (or a symlink); an unchanged one is
	// left as it is, for tools that watch its time.
	var files []scaffold.File
	for _, d := range docs {
		path := filepath.Join(f.out, d.name)
		file := scaffold.File{Name: d.name, Content: string(d.b), Action: "create"}
		st, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case !st.Mode().IsRegular() || st.Size() > 1<<20:
			return &kube.ForeignFileError{Path: path, Why: "exists and is not a regular file render wrote"}
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if owner := azure.RenderedApp(b); owner != app.Name {
				return &kube.ForeignFileError{Path: path, Why: "exists and was not written by pyship render for " + app.Name}
			}
			file.Action = "overwrite"
			if string(b) == file.Content {
				file.Action = "unchanged"
			}
		}
		files = append(files, file)
		res.Files = append(res.Files, path)
	}
	// All or nothing: a failure half-way leaves the files as they were.
	if err := scaffold.Write(f.out, files); err != nil {
		return err
	}
	if g.json {
		return writeJSON(stdout, res)
	}
	for i, p := range res.Files {
		word := "wrote"
		if files[i].Action == "unchanged" {
			word = "unchanged"
		}
		fmt.Fprintf(stdout, "%-9s %s\n", word, p)
	}
	return nil
}
