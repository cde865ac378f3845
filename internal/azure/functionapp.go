package azure

import (
	"fmt"
	"regexp"
	"strings"
)

// Functions is the target of an Azure Functions app on a custom container: a
// Microsoft.Web/sites resource of kind functionapp on a Linux Premium or Dedicated
// plan, running the image pyship init's Dockerfile builds.
const Functions = "functions"

// FunctionAppInput adds what a function app needs to a web app's input: the storage
// account the Functions host keeps its state in (leases, triggers' checkpoints).
type FunctionAppInput struct {
	SiteInput
	Storage string // the storage account's name
}

// storageName is a storage account's name: 3-24 lowercase letters and digits.
var storageName = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

// FunctionAppBody is the body of the PUT that creates or updates the app's function
// app, checked against Azure's published definition (the same Site as a web app's).
func FunctionAppBody(in FunctionAppInput) ([]byte, error) {
	_, b, err := functionAppBody(in)
	return b, err
}

func functionAppBody(in FunctionAppInput) (*site, []byte, error) {
	doc, err := functionAppDoc(in)
	if err != nil {
		return nil, nil, err
	}
	b, err := checked(Site, fmt.Sprintf("function app %s (Microsoft.Web/sites %s)", in.Name, SiteAPIVersion), doc)
	return doc, b, err
}

// functionAppDoc is the web app's site made a function app: kind functionapp, the
// Functions runtime's settings instead of WEBSITES_PORT (the host listens on 80,
// where App Service sends requests), and the host's storage reached with the site's
// identity rather than a connection string.
func functionAppDoc(in FunctionAppInput) (*site, error) {
	switch {
	case !storageName.MatchString(in.Storage):
		return nil, &InputError{fmt.Sprintf("storage account %q: give --storage-account NAME, the storage account the Functions host keeps its state in (3-24 lowercase letters and digits; az storage account create -n NAME -g RG --sku Standard_LRS)", in.Storage)}
	case in.Identity != "":
		// Identity-based host storage with a user-assigned identity needs its client
		// ID, which its resource ID does not hold.
		return nil, &InputError{"a function app reaches its storage with the site's system-assigned identity here: leave --identity out (grant the site Storage Blob Data Owner, Storage Queue Data Contributor and Storage Table Data Contributor on the account)"}
	}
	doc, err := siteDoc(in.SiteInput)
	if err != nil {
		return nil, err
	}
	doc.Kind = "functionapp,linux,container"
	settings := []nameValuePair{
		{"FUNCTIONS_EXTENSION_VERSION", "~4"},
		{"FUNCTIONS_WORKER_RUNTIME", "python"},
		{"AzureWebJobsStorage__accountName", in.Storage},
		{"WEBSITES_ENABLE_APP_SERVICE_STORAGE", "false"},
	}
	for _, s := range doc.Properties.SiteConfig.AppSettings {
		if s.Name == "WEBSITES_PORT" || s.Name == "WEBSITES_ENABLE_APP_SERVICE_STORAGE" || s.Name == "PORT" {
			continue
		}
		settings = append(settings, s)
	}
	doc.Properties.SiteConfig.AppSettings = settings
	return doc, nil
}

// RenderFunctionApp makes the app's function app as an ARM template and as the az
// commands that make the same site.
func RenderFunctionApp(in FunctionAppInput) (*SiteDocuments, error) {
	doc, body, err := functionAppBody(in)
	if err != nil {
		return nil, err
	}
	arm, err := armTemplate(Functions, "Microsoft.Web/sites", SiteAPIVersion, in.Name, body)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	sb.WriteString("#!/bin/sh\n" + header(Functions, "function app", in.Name, "Microsoft.Web "+SiteAPIVersion) +
		"# The same function app as the template beside it.\nset -eu\nRG=${RG:?set RG to the resource group}\n")
	fmt.Fprintf(&sb, "az functionapp create --resource-group \"$RG\" --name %s --plan %s --image %s --storage-account %s --functions-version 4 --runtime python --https-only true --assign-identity '[system]'\n",
		shellQuote(in.Name), shellQuote(in.Plan), shellQuote(in.Image), shellQuote(in.Storage))
	cfg := doc.Properties.SiteConfig
	fmt.Fprintf(&sb, "az functionapp config set --resource-group \"$RG\" --name %s --always-on true --http20-enabled true --min-tls-version 1.2 --ftps-state Disabled --generic-configurations %s\n",
		shellQuote(in.Name), shellQuote(fmt.Sprintf(`{"healthCheckPath": %q, "acrUseManagedIdentityCreds": %t}`, cfg.HealthCheckPath, cfg.AcrUseManagedIdentityCreds)))
	fmt.Fprintf(&sb, "az functionapp config appsettings set --resource-group \"$RG\" --name %s --settings", shellQuote(in.Name))
	for _, s := range cfg.AppSettings {
		sb.WriteString(" " + shellQuote(s.Name+"="+s.Value))
	}
	sb.WriteString("\n# az functionapp create sets AzureWebJobsStorage to a connection string; the identity reaches the account instead:\n")
	fmt.Fprintf(&sb, "az functionapp config appsettings delete --resource-group \"$RG\" --name %s --setting-names AzureWebJobsStorage\n", shellQuote(in.Name))
	bicep, err := bicepFile(Functions, "function app", "Microsoft.Web/sites", SiteAPIVersion, in.Name, body)
	if err != nil {
		return nil, err
	}
	return &SiteDocuments{Body: body, ARM: arm, Bicep: bicep, Commands: []byte(sb.String())}, nil
}
