package azure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// RenderedApp is the app a file pyship render wrote for Azure names: "" for any other
// file. The mark is a comment line near the top ("# pyship render --target T: KIND
// APP ..."), or a template's metadata.
//
// render replaces only files that carry the mark, for the same app.
func RenderedApp(b []byte) string {
	lines := bytes.SplitN(b[:min(len(b), 4096)], []byte("\n"), 3)
	for _, line := range lines[:min(2, len(lines))] {
		rest, ok := bytes.CutPrefix(line, []byte("# "+generator("")))
		if !ok {
			// Bicep's comments
			if rest, ok = bytes.CutPrefix(line, []byte("// "+generator(""))); !ok {
				continue
			}
		}
		// "aca: Container App APP (…" / "aci: container group APP (…" / "appservice: web app APP (…"
		if _, rest, ok = bytes.Cut(rest, []byte(": ")); !ok {
			return ""
		}
		f := bytes.Fields(rest)
		for i, w := range f {
			if bytes.HasPrefix(w, []byte("(")) && i > 0 {
				return string(f[i-1])
			}
		}
		return ""
	}
	var t struct {
		Metadata map[string]string `json:"metadata"`
	}
	if json.Unmarshal(b, &t) == nil && strings.HasPrefix(t.Metadata["generator"], generator("")) {
		return t.Metadata["app"]
	}
	return ""
}

// armTemplate wraps a resource body in a deployment template (az deployment group
// create --template-file): type, api-version and name first, as templates are
// written, with metadata naming pyship and the app.
func armTemplate(target, typ, apiVersion, name string, body []byte) ([]byte, error) {
	head, _ := json.Marshal(struct {
		Type       string `json:"type"`
		APIVersion string `json:"apiVersion"`
		Name       string `json:"name"`
	}{typ, apiVersion, name})
	resource := append(append(head[:len(head)-1:len(head)-1], ','), bytes.TrimSpace(body)[1:]...)
	tmpl, err := json.Marshal(struct {
		Schema         string            `json:"$schema"`
		ContentVersion string            `json:"contentVersion"`
		Metadata       map[string]string `json:"metadata"`
		Resources      []json.RawMessage `json:"resources"`
	}{"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "1.0.0.0",
		map[string]string{"generator": generator(target), "app": name}, []json.RawMessage{resource}})
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, tmpl, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// ContainerAppDocuments are the forms a user applies a Container App in.
type ContainerAppDocuments struct {
	Body []byte // the PUT body pyship deploy sends to Resource Manager
	// YAML is what az containerapp create/update --yaml takes: the same resource,
	// keys sorted.
	YAML []byte
	// ARM is a deployment template holding the resource (az deployment group create
	// --template-file); Bicep declares the same resource.
	ARM, Bicep []byte
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
	head := header("aca", "Container App", in.Name, "Microsoft.App "+ContainerAppAPIVersion) +
		fmt.Sprintf("# az containerapp create --name %s --resource-group RG --yaml THIS_FILE\n", in.Name)
	arm, err := armTemplate("aca", "Microsoft.App/containerApps", ContainerAppAPIVersion, in.Name, body)
	if err != nil {
		return nil, err
	}
	bicep, err := bicepFile(ContainerApps, "Container App", "Microsoft.App/containerApps", ContainerAppAPIVersion, in.Name, body)
	if err != nil {
		return nil, err
	}
	return &ContainerAppDocuments{Body: body, YAML: append([]byte(head), y...), ARM: arm, Bicep: bicep}, nil
}
