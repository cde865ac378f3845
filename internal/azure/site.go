package azure

import (
	"fmt"
	"strings"
)

// SiteAPIVersion is the Microsoft.Web api-version of the documents, the newest stable
// one published as separate definition files, which pyship validates against.
const SiteAPIVersion = "2025-03-01"

// The site document (Web App for Containers), in the order and with the names of
// Microsoft.Web's definition (CommonDefinitions.json: Site, SiteConfig).
type (
	site struct {
		Kind       string    `json:"kind"`
		Location   string    `json:"location"`
		Identity   *identity `json:"identity,omitempty"`
		Properties siteProps `json:"properties"`
	}
	siteProps struct {
		ServerFarmID              string     `json:"serverFarmId"`
		Reserved                  bool       `json:"reserved"`
		HTTPSOnly                 bool       `json:"httpsOnly"`
		KeyVaultReferenceIdentity string     `json:"keyVaultReferenceIdentity,omitempty"`
		SiteConfig                siteConfig `json:"siteConfig"`
	}
	siteConfig struct {
		LinuxFxVersion             string          `json:"linuxFxVersion"`
		AppSettings                []nameValuePair `json:"appSettings"`
		HealthCheckPath            string          `json:"healthCheckPath"`
		AlwaysOn                   bool            `json:"alwaysOn"`
		HTTP20Enabled              bool            `json:"http20Enabled"`
		MinTLSVersion              string          `json:"minTlsVersion"`
		FTPSState                  string          `json:"ftpsState"`
		NumberOfWorkers            int             `json:"numberOfWorkers"`
		AcrUseManagedIdentityCreds bool            `json:"acrUseManagedIdentityCreds,omitempty"`
	}
	nameValuePair struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
)

// SiteInput adds what App Service needs to AppInput: the plan the site runs on.
type SiteInput struct {
	AppInput
	Plan string // resource ID of the App Service plan (Linux)
}

// SiteBody is the body of the PUT that creates or updates the app's Web App for
// Containers, checked against Azure's published definition.
func SiteBody(in SiteInput) ([]byte, error) {
	_, b, err := siteBody(in)
	return b, err
}

// siteBody is the site and its checked body: RenderSite writes the az commands from
// the same site.
func siteBody(in SiteInput) (*site, []byte, error) {
	doc, err := siteDoc(in)
	if err != nil {
		return nil, nil, err
	}
	b, err := checked(Site, fmt.Sprintf("web app %s (Microsoft.Web/sites %s)", in.Name, SiteAPIVersion), doc)
	return doc, b, err
}

func siteDoc(in SiteInput) (*site, error) {
	if err := in.check("a web app"); err != nil {
		return nil, err
	}
	switch {
	case !resourceID.MatchString(in.Plan) || !strings.Contains(strings.ToLower(in.Plan), "/providers/microsoft.web/serverfarms/"):
		return nil, &InputError{fmt.Sprintf("plan %q is not an App Service plan's resource ID (/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Web/serverfarms/NAME)", in.Plan)}
	case len(in.Traffic) > 1:
		return nil, &InputError{"App Service splits traffic between deployment slots, not revisions: give all of it to one revision first (pyship traffic), or use Container Apps (--target aca)"}
	case in.MaxReplicas > max(1, in.Replicas):
		return nil, &InputError{"App Service scales by its plan's autoscale settings, not the app's: leave --max-replicas out (or use Container Apps, --target aca)"}
	case len(in.Secrets) > 0 && !keyVaultURL.MatchString(in.KeyVault):
		return nil, in.noVault("a web app")
	}
	_, acr := in.registry()
	if acr && in.Identity != "" {
		// A user-assigned identity pulls from ACR by its client ID, which is not in
		// its resource ID: pyship cannot write it without asking Azure.
		return nil, &InputError{"App Service pulls from ACR with a user-assigned identity by that identity's client ID, which render cannot know: leave --identity out (the site's system-assigned identity pulls; grant it AcrPull)"}
	}
	probe := in.Probe
	if probe == "" {
		probe = "/"
	}
	// App settings: the port App Service forwards to (WEBSITES_PORT), no shared
	// storage over the image's files, then the app's settings and, by reference, its
	// secrets. App Service passes each to the container as an environment variable.
	settings := []nameValuePair{{"WEBSITES_PORT", fmt.Sprint(in.Port)}, {"WEBSITES_ENABLE_APP_SERVICE_STORAGE", "false"}}
	for _, k := range in.sortedEnv() {
		settings = append(settings, nameValuePair{k, in.Env[k]})
	}
	for _, s := range in.sortedSecrets() {
		settings = append(settings, nameValuePair{s, fmt.Sprintf("@Microsoft.KeyVault(SecretUri=%s/secrets/%s/)", strings.TrimSuffix(in.KeyVault, "/"), SecretName(s))})
	}
	doc := &site{Kind: "app,linux,container", Location: in.Location, Identity: &identity{Type: "SystemAssigned"},
		Properties: siteProps{ServerFarmID: in.Plan, Reserved: true, HTTPSOnly: true,
			SiteConfig: siteConfig{LinuxFxVersion: "DOCKER|" + in.Image, AppSettings: settings, HealthCheckPath: probe,
				AlwaysOn: true, HTTP20Enabled: true, MinTLSVersion: "1.2", FTPSState: "Disabled",
				NumberOfWorkers: max(1, in.Replicas), AcrUseManagedIdentityCreds: acr}}}
	if in.Identity != "" {
		doc.Identity = &identity{Type: "UserAssigned", UserAssignedIdentities: map[string]struct{}{in.Identity: {}}}
		doc.Properties.KeyVaultReferenceIdentity = in.Identity
	}
	return doc, nil
}

// SiteDocuments are a web app as an ARM template and as the az commands that make
// the same site.
type SiteDocuments struct {
	Body, ARM, Bicep []byte
	// Commands is a shell script of az webapp commands with the same effect.
	Commands []byte
}

// RenderSite makes the app's web app in each form.
func RenderSite(in SiteInput) (*SiteDocuments, error) {
	doc, body, err := siteBody(in)
	if err != nil {
		return nil, err
	}
	arm, err := armTemplate("appservice", "Microsoft.Web/sites", SiteAPIVersion, in.Name, body)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	sb.WriteString("#!/bin/sh\n" + header("appservice", "web app", in.Name, "Microsoft.Web "+SiteAPIVersion) +
		"# The same site as the template beside it.\nset -eu\nRG=${RG:?set RG to the resource group}\n")
	fmt.Fprintf(&sb, "az webapp create --resource-group \"$RG\" --name %s --plan %s --deployment-container-image-name %s --https-only true --assign-identity '[system]'\n",
		shellQuote(in.Name), shellQuote(in.Plan), shellQuote(in.Image))
	cfg := doc.Properties.SiteConfig
	fmt.Fprintf(&sb, "az webapp config set --resource-group \"$RG\" --name %s --always-on true --http20-enabled true --min-tls-version 1.2 --ftps-state Disabled --generic-configurations %s\n",
		shellQuote(in.Name), shellQuote(fmt.Sprintf(`{"healthCheckPath": %q, "acrUseManagedIdentityCreds": %t}`, cfg.HealthCheckPath, cfg.AcrUseManagedIdentityCreds)))
	fmt.Fprintf(&sb, "az webapp config appsettings set --resource-group \"$RG\" --name %s --settings", shellQuote(in.Name))
	for _, s := range cfg.AppSettings {
		sb.WriteString(" " + shellQuote(s.Name+"="+s.Value))
	}
	sb.WriteString("\n")
	if in.Identity != "" {
		fmt.Fprintf(&sb, "az webapp identity assign --resource-group \"$RG\" --name %s --identities %s\n", shellQuote(in.Name), shellQuote(in.Identity))
		fmt.Fprintf(&sb, "az resource update --resource-group \"$RG\" --name %s --resource-type Microsoft.Web/sites --set properties.keyVaultReferenceIdentity=%s\n", shellQuote(in.Name), shellQuote(in.Identity))
	}
	bicep, err := bicepFile(AppService, "web app", "Microsoft.Web/sites", SiteAPIVersion, in.Name, body)
	if err != nil {
		return nil, err
	}
	return &SiteDocuments{Body: body, ARM: arm, Bicep: bicep, Commands: []byte(sb.String())}, nil
}

// shellQuote quotes s for a POSIX shell, literally (plan.ShellQuote leaves ${PORT} to
// expand; an app setting's value must reach Azure as written).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
