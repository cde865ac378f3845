// Package azure writes the documents Azure's container services take (Container Apps
// first) and checks each against Azure Resource Manager's own published API
// definitions before anything is written or sent.
package azure

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// specs holds byte-exact copies of the official Azure REST API definitions (OpenAPI 2.0)
// from github.com/Azure/azure-rest-api-specs, under their upstream paths below
// specification/ so that their relative $refs resolve (specs/README.md).
//
//go:embed specs
var specs embed.FS

const specBase = "file:///azure-specs/"

// A definition pyship generates documents for: the file and the name of its schema.
type definition struct{ file, name string }

var (
	// ContainerApp is the body of PUT .../Microsoft.App/containerApps/NAME.
	ContainerApp = definition{"app/resource-manager/Microsoft.App/ContainerApps/stable/2026-01-01/ContainerApps.json", "ContainerApp"}
	// Site is the body of PUT .../Microsoft.Web/sites/NAME (App Service).
	Site = definition{"web/resource-manager/Microsoft.Web/AppService/stable/2025-03-01/CommonDefinitions.json", "Site"}
	// ContainerGroup is the body of PUT .../Microsoft.ContainerInstance/containerGroups/NAME.
	ContainerGroup = definition{"containerinstance/resource-manager/Microsoft.ContainerInstance/ContainerInstance/stable/2026-05-01/containerInstance.json", "ContainerGroup"}
)

// compiler holds every embedded definition file, made strict (strictSwagger), read
// and converted once per process; schemas are compiled from it as they are first used.
var compiler = sync.OnceValues(func() (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	docs := map[string]any{} // path below specs/ → document
	err := fs.WalkDir(specs, "specs", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".json") || strings.Contains(p, "/examples/") {
			return err
		}
		b, err := specs.ReadFile(p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		docs[strings.TrimPrefix(p, "specs/")] = doc
		return nil
	})
	if err != nil {
		return nil, err
	}
	bases := map[string]bool{}
	for p, doc := range docs {
		findBases(p, doc, bases)
	}
	for p, doc := range docs {
		if err := c.AddResource(specBase+p, strictSwagger(p, doc, bases)); err != nil {
			return nil, err
		}
	}
	return c, nil
})

var (
	compileMu sync.Mutex
	compiled  = map[definition]*jsonschema.Schema{}
)

// schema is d's compiled schema.
func schema(d definition) (*jsonschema.Schema, error) {
	compileMu.Lock()
	defer compileMu.Unlock()
	if s, ok := compiled[d]; ok {
		return s, nil
	}
	c, err := compiler()
	if err != nil {
		return nil, err
	}
	s, err := c.Compile(specBase + d.file + "#/$defs/" + d.name)
	if err != nil {
		return nil, fmt.Errorf("compile Azure's %s definition: %w", d.name, err)
	}
	compiled[d] = s
	return s, nil
}

// strictSwagger turns an OpenAPI 2.0 document into a JSON Schema (2020-12) document that
// is as strict as Azure's own request validation, and stricter where a generator should
// be:
//   - definitions become $defs (and $refs follow), the 2020-12 home of subschemas;
//   - an object schema admits no property it does not define (unevaluatedProperties,
//     which sees through allOf inheritance): a misspelt key is an error, not ignored;
//   - a read-only property (the service sets it) is refused in a request;
//   - an enum marked x-ms-enum modelAsString is open (Azure adds values), so only its
//     type is checked;
//   - a number's limits that its description states ("Maximum value is 10.") apply.
//
// Swagger's own keywords (discriminator, x-ms-*) are left as they are: JSON Schema
// ignores keywords it does not know.
func strictSwagger(file string, doc any, bases map[string]bool) any {
	root, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	out := map[string]any{}
	for k, v := range root {
		switch k {
		case "definitions":
			defs := map[string]any{}
			for name, s := range v.(map[string]any) {
				defs[name] = strictSchema(s, !bases[file+"#"+name])
			}
			out["$defs"] = defs
		case "paths", "parameters", "responses", "x-ms-paths":
			// Not compiled (pyship validates bodies against definitions), and their
			// $refs would have to resolve; left out.
		default:
			out[k] = v
		}
	}
	return out
}

// strictSchema makes one schema strict; closed is false for a definition that others
// extend through allOf (its own unevaluatedProperties would refuse their properties:
// the one that extends it closes the whole).
func strictSchema(v any, closed bool) any {
	s, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(s)+1)
	for k, val := range s {
		switch k {
		case "$ref":
			out[k] = strings.Replace(val.(string), "#/definitions/", "#/$defs/", 1)
		case "properties":
			props := map[string]any{}
			for name, p := range val.(map[string]any) {
				if pm, ok := p.(map[string]any); ok && pm["readOnly"] == true {
					// Kept as a schema that nothing satisfies, with a word for the message.
					props[name] = map[string]any{"not": map[string]any{}, "description": readOnlyMark}
					continue
				}
				props[name] = strictSchema(p, true)
			}
			out[k] = props
		case "items", "additionalProperties", "not":
			out[k] = strictSchema(val, true)
		case "allOf", "anyOf", "oneOf":
			list := val.([]any)
			l := make([]any, len(list))
			for i, x := range list {
				l[i] = strictSchema(x, false)
			}
			out[k] = l
		case "enum":
			if e, ok := s["x-ms-enum"].(map[string]any); ok && e["modelAsString"] == true {
				continue
			}
			out[k] = val
		default:
			out[k] = val
		}
	}
	// Limits Azure states only in prose ("Minimum value is 1. Maximum value is 10.")
	// are limits its service enforces: made keywords, they are checked here too.
	if t := s["type"]; t == "integer" || t == "number" {
		desc, _ := s["description"].(string)
		for kw, re := range proseLimits {
			if m := re.FindStringSubmatch(desc); m != nil && s[kw] == nil {
				out[kw] = json.Number(m[1])
			}
		}
	}
	_, hasProps := s["properties"]
	_, hasAllOf := s["allOf"]
	_, hasAdditional := s["additionalProperties"]
	if closed && (hasProps || hasAllOf) && !hasAdditional {
		out["unevaluatedProperties"] = false
	}
	return out
}

const readOnlyMark = "pyship: read-only"

var proseLimits = map[string]*regexp.Regexp{
	"minimum": regexp.MustCompile(`Minimum value is (-?\d+)\b`),
	"maximum": regexp.MustCompile(`Maximum value is (-?\d+)\b`),
}

// findBases adds to bases every definition that a schema of doc (at file) extends
// through allOf, as FILE#NAME with FILE resolved against file.
func findBases(file string, v any, bases map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == "allOf" {
				for _, item := range val.([]any) {
					m, _ := item.(map[string]any)
					ref, _ := m["$ref"].(string)
					refFile, name, ok := strings.Cut(ref, "#/definitions/")
					if !ok {
						continue
					}
					target := file
					if refFile != "" {
						target = path.Join(path.Dir(file), refFile)
					}
					bases[target+"#"+name] = true
				}
			}
			findBases(file, val, bases)
		}
	case []any:
		for _, item := range x {
			findBases(file, item, bases)
		}
	}
}

var english = message.NewPrinter(language.English)

// SchemaError is a document that Azure's published definition refuses: every place,
// as a JSON pointer into the document, with what is wrong there.
type SchemaError struct {
	What   string // "Container App web (Microsoft.App/containerApps 2026-01-01)"
	Issues []string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%s does not match Azure's published schema: %s", e.What, strings.Join(e.Issues, "; "))
}

// Validate checks doc (as encoding/json would marshal it) against d.
func validate(d definition, what string, doc []byte) error {
	s, err := schema(d)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	err = s.Validate(inst)
	var ve *jsonschema.ValidationError
	if err == nil {
		return nil
	}
	if !errors.As(err, &ve) {
		return err
	}
	issues := map[string]bool{}
	collect(ve, issues)
	list := make([]string, 0, len(issues))
	for i := range issues {
		list = append(list, i)
	}
	sort.Strings(list)
	return &SchemaError{What: what, Issues: list}
}

// collect gathers the leaves of a validation error tree: the causes, not the "doesn't
// validate with ..." summaries above them.
func collect(e *jsonschema.ValidationError, into map[string]bool) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collect(c, into)
		}
		return
	}
	at := "/" + path.Join(e.InstanceLocation...)
	msg := e.ErrorKind.LocalizedString(english)
	switch e.ErrorKind.(type) {
	case *kind.Not: // only read-only properties are made "not {}" (strictSchema)
		msg = "is read-only: Azure sets it, a request must not"
	case *kind.FalseSchema: // unevaluatedProperties: false
		msg = "is not a property Azure's definition has here (misspelt, or of another api-version)"
	}
	into[at+": "+msg] = true
}

// checked is doc as the body of a request, indented and ending in a newline, once it
// has passed d: a document Azure's schema refuses is an error, never an output.
func checked(d definition, what string, doc any) ([]byte, error) {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := validate(d, what, b); err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// resourceTypes are the definitions of the resource types pyship writes, by type.
var resourceTypes = map[string]definition{
	"Microsoft.App/containerApps":                 ContainerApp,
	"Microsoft.ContainerInstance/containerGroups": ContainerGroup,
	"Microsoft.Web/sites":                         Site,
}

// ValidateResource checks a PUT body for a resource type pyship writes
// ("Microsoft.App/containerApps") against Azure's definition, strictly: the test
// server that plays Resource Manager refuses what the schema does.
func ValidateResource(resourceType string, body []byte) error {
	d, ok := resourceTypes[resourceType]
	if !ok {
		return fmt.Errorf("pyship has no definition of %s", resourceType)
	}
	return validate(d, "the request", body)
}
