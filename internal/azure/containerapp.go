package azure

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ContainerAppAPIVersion is the Microsoft.App api-version of the documents, the newest
// stable one whose definition pyship validates against.
const ContainerAppAPIVersion = "2026-01-01"

// AppInput is what a Container App is made from: the app's settings as pyship records
// them (its Plan's port and probe, env, secret names, replicas, traffic) and where it
// goes in Azure.
type AppInput struct {
	Name        string // the app: the Container App's name
	Revision    string // pyship's revision name, APP--HASH: the revision suffix is HASH
	Location    string // Azure region, e.g. westeurope
	Environment string // resource ID of the Container Apps managed environment
	Image       string // REGISTRY/REPO@sha256:… (never a moving tag)
	Port        int    // what the app listens on: ingress targetPort
	Probe       string // HTTP path of the probes
	Env         map[string]string
	// Secrets are the names of the app's secrets; their values come from KeyVault
	// (Key Vault references read with the app's identity), never from the document.
	Secrets  []string
	KeyVault string // https://NAME.vault.azure.net
	// Identity is the managed identity the app pulls its image and reads Key Vault
	// with: "" for the app's system-assigned one, else a user-assigned identity's
	// resource ID.
	Identity    string
	Replicas    int            // minimum replicas (at least 1: an app that answers HTTP is never scaled to zero unless asked)
	MaxReplicas int            // 0: Replicas (a fixed count)
	Concurrency int            // HTTP requests per replica the scale rule aims for (default 50)
	Traffic     map[string]int // revision → percent; empty: all to the latest revision
	CPU         float64        // cores per replica (default 0.5)
	Memory      string         // per replica (default 1Gi; Azure pairs it with CPU)
}

// The document's types, in the order and with the names of Microsoft.App's definition
// (ContainerApps.json, CommonDefinitions.json): encoding/json writes struct fields in
// this order, so the same input gives the same bytes.
type (
	containerApp struct {
		Location   string        `json:"location"`
		Identity   *identity     `json:"identity,omitempty"`
		Properties appProperties `json:"properties"`
	}
	identity struct {
		Type                   string              `json:"type"`
		UserAssignedIdentities map[string]struct{} `json:"userAssignedIdentities,omitempty"`
	}
	appProperties struct {
		EnvironmentID string        `json:"environmentId"`
		Configuration configuration `json:"configuration"`
		Template      template      `json:"template"`
	}
	configuration struct {
		ActiveRevisionsMode string     `json:"activeRevisionsMode"`
		Ingress             ingress    `json:"ingress"`
		Secrets             []secret   `json:"secrets,omitempty"`
		Registries          []registry `json:"registries,omitempty"`
	}
	ingress struct {
		External      bool      `json:"external"`
		TargetPort    int       `json:"targetPort"`
		Transport     string    `json:"transport"`
		AllowInsecure bool      `json:"allowInsecure"`
		Traffic       []traffic `json:"traffic"`
	}
	traffic struct {
		RevisionName   string `json:"revisionName,omitempty"`
		LatestRevision bool   `json:"latestRevision,omitempty"`
		Weight         int    `json:"weight"`
	}
	secret struct {
		Name        string `json:"name"`
		KeyVaultURL string `json:"keyVaultUrl"`
		Identity    string `json:"identity"`
	}
	registry struct {
		Server   string `json:"server"`
		Identity string `json:"identity"`
	}
	template struct {
		RevisionSuffix string      `json:"revisionSuffix,omitempty"`
		Containers     []container `json:"containers"`
		Scale          scale       `json:"scale"`
	}
	container struct {
		Name      string    `json:"name"`
		Image     string    `json:"image"`
		Env       []envVar  `json:"env,omitempty"`
		Resources resources `json:"resources"`
		Probes    []probe   `json:"probes"`
	}
	envVar struct {
		Name      string `json:"name"`
		Value     string `json:"value,omitempty"`
		SecretRef string `json:"secretRef,omitempty"`
	}
	resources struct {
		CPU    float64 `json:"cpu"`
		Memory string  `json:"memory"`
	}
	probe struct {
		Type                string  `json:"type"`
		HTTPGet             httpGet `json:"httpGet"`
		InitialDelaySeconds int     `json:"initialDelaySeconds,omitempty"`
		PeriodSeconds       int     `json:"periodSeconds"`
		FailureThreshold    int     `json:"failureThreshold"`
	}
	httpGet struct {
		Path string `json:"path"`
		Port int    `json:"port"`
	}
	scale struct {
		MinReplicas int         `json:"minReplicas"`
		MaxReplicas int         `json:"maxReplicas"`
		Rules       []scaleRule `json:"rules,omitempty"`
	}
	scaleRule struct {
		Name string   `json:"name"`
		HTTP httpRule `json:"http"`
	}
	httpRule struct {
		Metadata map[string]string `json:"metadata"`
	}
)

// InputError is an input a Container App cannot be made from, said as the fix.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

var (
	digestRef   = regexp.MustCompile(`^[a-z0-9][a-z0-9.:-]*(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$`)
	keyVaultURL = regexp.MustCompile(`^https://[a-zA-Z0-9-]{3,24}\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net)/?$`)
	resourceID  = regexp.MustCompile(`^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/[^/]+/[^/]+$`)
)

// SecretName is the name a Container App's secret gets for an app's secret: Azure's
// are lowercase letters, digits and dashes (API_KEY → api-key).
func SecretName(name string) string {
	return strings.Trim(strings.ReplaceAll(strings.ToLower(name), "_", "-"), "-")
}

// ContainerAppBody is the body of the PUT that creates or updates the app's Container
// App, checked against Azure's published definition of it: a document Azure's schema
// refuses is an error, never an output.
func ContainerAppBody(in AppInput) ([]byte, error) {
	doc, err := containerAppDoc(in)
	if err != nil {
		return nil, err
	}
	return checked(ContainerApp, fmt.Sprintf("Container App %s (Microsoft.App/containerApps %s)", in.Name, ContainerAppAPIVersion), doc)
}

func containerAppDoc(in AppInput) (*containerApp, error) {
	if err := in.check("a Container App"); err != nil {
		return nil, err
	}
	switch {
	case !resourceID.MatchString(in.Environment) || !strings.Contains(strings.ToLower(in.Environment), "/providers/microsoft.app/managedenvironments/"):
		return nil, &InputError{fmt.Sprintf("environment %q is not a Container Apps environment's resource ID (/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.App/managedEnvironments/NAME)", in.Environment)}
	case len(in.Secrets) > 0 && !keyVaultURL.MatchString(in.KeyVault):
		return nil, in.noVault("a Container App")
	}
	minR := max(1, in.Replicas)
	maxR := max(minR, in.MaxReplicas)
	if maxR > 1000 {
		return nil, &InputError{fmt.Sprintf("max replicas %d: Container Apps allow at most 1000", maxR)}
	}
	ident, idRef := &identity{Type: "SystemAssigned"}, "system"
	if in.Identity != "" {
		ident = &identity{Type: "UserAssigned", UserAssignedIdentities: map[string]struct{}{in.Identity: {}}}
		idRef = in.Identity
	}
	probePath := in.Probe
	if probePath == "" {
		probePath = "/"
	}
	c := container{Name: in.Name, Image: in.Image,
		Resources: resources{CPU: 0.5, Memory: "1Gi"},
		Probes: []probe{
			// Startup gives a slow first start (migrations, model loads) 100 s (Azure
			// allows at most 10 failures) before liveness may restart it; readiness
			// gates traffic to each replica.
			{Type: "Startup", HTTPGet: httpGet{probePath, in.Port}, PeriodSeconds: 10, FailureThreshold: 10},
			{Type: "Readiness", HTTPGet: httpGet{probePath, in.Port}, PeriodSeconds: 5, FailureThreshold: 3},
			{Type: "Liveness", HTTPGet: httpGet{probePath, in.Port}, PeriodSeconds: 10, FailureThreshold: 3},
		}}
	if in.CPU > 0 {
		c.Resources.CPU = in.CPU
	}
	if in.Memory != "" {
		c.Resources.Memory = in.Memory
	}
	for _, k := range in.sortedEnv() {
		c.Env = append(c.Env, envVar{Name: k, Value: in.Env[k]})
	}
	var secs []secret
	for _, s := range in.sortedSecrets() {
		c.Env = append(c.Env, envVar{Name: s, SecretRef: SecretName(s)})
		secs = append(secs, secret{Name: SecretName(s), KeyVaultURL: strings.TrimSuffix(in.KeyVault, "/") + "/secrets/" + SecretName(s), Identity: idRef})
	}
	cfg := configuration{ActiveRevisionsMode: "Single",
		Ingress: ingress{External: true, TargetPort: in.Port, Transport: "auto", Traffic: []traffic{{LatestRevision: true, Weight: 100}}},
		Secrets: secs}
	if len(in.Traffic) > 0 {
		cfg.ActiveRevisionsMode = "Multiple"
		cfg.Ingress.Traffic = nil
		revs := make([]string, 0, len(in.Traffic))
		total := 0
		for r, w := range in.Traffic {
			if w > 0 {
				revs = append(revs, r)
				total += w
			}
		}
		if total != 100 {
			return nil, &InputError{fmt.Sprintf("traffic weights add up to %d, not 100", total)}
		}
		sort.Strings(revs)
		for _, r := range revs {
			cfg.Ingress.Traffic = append(cfg.Ingress.Traffic, traffic{RevisionName: r, Weight: in.Traffic[r]})
		}
	}
	if server, acr := in.registry(); acr {
		// ACR by the app's identity (it needs AcrPull on the registry): no password
		// in the document or in the app's secrets.
		cfg.Registries = []registry{{Server: server, Identity: idRef}}
	}
	concurrency := in.Concurrency
	if concurrency <= 0 {
		concurrency = 50
	}
	tmpl := template{Containers: []container{c}, Scale: scale{MinReplicas: minR, MaxReplicas: maxR}}
	if maxR > minR {
		tmpl.Scale.Rules = []scaleRule{{Name: "http-concurrency", HTTP: httpRule{Metadata: map[string]string{"concurrentRequests": fmt.Sprint(concurrency)}}}}
	}
	if _, suffix, ok := strings.Cut(in.Revision, "--"); ok {
		tmpl.RevisionSuffix = suffix
	}
	return &containerApp{Location: in.Location, Identity: ident,
		Properties: appProperties{EnvironmentID: in.Environment, Configuration: cfg, Template: tmpl}}, nil
}
