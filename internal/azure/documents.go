package azure

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// Generator marks the files render writes (the YAML's first line, the template's
// metadata): render replaces only files that carry it, for the same app.
const Generator = "pyship render --target aca"

// RenderedApp is the app a file render wrote names, if it is one: "" for any other.
func RenderedApp(b []byte) string {
	for _, prefix := range []string{"# " + Generator + ": Container App ", "# pyship render --target aci: container group "} {
		if rest, ok := bytes.CutPrefix(b, []byte(prefix)); ok {
			if name, _, ok := bytes.Cut(rest, []byte(" ")); ok {
				return string(name)
			}
			return ""
		}
	}
	var t struct {
		Metadata map[string]string `json:"metadata"`
	}
	if json.Unmarshal(b, &t) == nil && t.Metadata["generator"] == Generator {
		return t.Metadata["app"]
	}
	return ""
}

// ContainerAppDocuments are the forms a user applies a Container App in.
type ContainerAppDocuments struct {
	Body []byte // the PUT body pyship deploy sends to Resource Manager
	// YAML is what az containerapp create/update --yaml takes: the same resource,
	// keys sorted.
	YAML []byte
	// ARM is a deployment template holding the resource (az deployment group create
	// --template-file).
	ARM []byte
}

// RenderContainerApp makes the app's Container App in each form, from one body that
// Azure's definition accepts.
func RenderContainerApp(in AppInput) (*ContainerAppDocuments, error) {
	body, err := ContainerAppBody(in)
	if err != nil {
		return nil, err
	}
	y, err := yaml.JSONToYAML(body)
	if err != nil {
		return nil, err
	}
	header := fmt.Sprintf("# %s: Container App %s (Microsoft.App %s).\n# az containerapp create --name %s --resource-group RG --yaml THIS_FILE\n", Generator, in.Name, ContainerAppAPIVersion, in.Name)
	// The resource in the template is the body with its type, api-version and name
	// first, as templates are written.
	head, _ := json.Marshal(struct {
		Type       string `json:"type"`
		APIVersion string `json:"apiVersion"`
		Name       string `json:"name"`
	}{"Microsoft.App/containerApps", ContainerAppAPIVersion, in.Name})
	resource := append(append(head[:len(head)-1:len(head)-1], ','), bytes.TrimSpace(body)[1:]...)
	tmpl, err := json.Marshal(struct {
		Schema         string            `json:"$schema"`
		ContentVersion string            `json:"contentVersion"`
		Metadata       map[string]string `json:"metadata"`
		Resources      []json.RawMessage `json:"resources"`
	}{"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "1.0.0.0",
		map[string]string{"generator": Generator, "app": in.Name}, []json.RawMessage{resource}})
	if err != nil {
		return nil, err
	}
	var arm bytes.Buffer
	if err := json.Indent(&arm, tmpl, "", "  "); err != nil {
		return nil, err
	}
	arm.WriteByte('\n')
	return &ContainerAppDocuments{Body: body, YAML: append([]byte(header), y...), ARM: arm.Bytes()}, nil
}
