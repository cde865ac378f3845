package kube

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/pyship/pyship/internal/platform"
)

// Render is what pyship render writes of one revision of an app: its objects as YAML
// documents, in the order they are applied, and the Secret the user creates. The
// objects are RevisionObjects' and ServiceObject's, the ones deploy applies, so a
// GitOps tool applying them runs the revision deploy would run.
type Render struct {
	App, Revision string
	Namespace     string // "": none in the objects (the applier's namespace)
	Documents     []Document
	// Secret is the Secret the Deployment reads the app's secrets from (nil when the
	// app has none). Render writes no Secret object: see RenderRevision.
	Secret *SecretNeeded
}

// Document is one object as YAML.
type Document struct {
	Kind string
	Name string
	// File is its file name in an output directory: KIND-NAME.yaml, lowercase.
	File string
	// YAML starts with RenderHeader's line, so that a later render knows the file
	// is its own and may replace it.
	YAML []byte
}

// SecretNeeded is a Secret the rendered objects read and the user must create.
type SecretNeeded struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace,omitempty"`
	Keys      []string `json:"keys"`
	// AsFiles: the pods also mount it at /run/secrets (pyship secret files on).
	AsFiles bool `json:"as_files"`
}

// Command is the kubectl command that creates the Secret, each value read from a
// file (a value on the command line would be in the shell's history and in ps).
func (s SecretNeeded) Command() string {
	var b strings.Builder
	b.WriteString("kubectl create secret generic " + s.Name)
	if s.Namespace != "" {
		b.WriteString(" --namespace " + s.Namespace)
	}
	for _, k := range s.Keys {
		fmt.Fprintf(&b, " --from-file=%s=PATH_TO_%s", k, k)
	}
	return b.String()
}

// headerPrefix begins the first line of every file render writes.
const headerPrefix = "# Rendered by pyship render for app "

// RenderHeader is the first line of the files render writes for app. It names the
// app, so that a render of one app into a directory shared with others replaces and
// prunes only that app's files.
func RenderHeader(app string) string {
	return headerPrefix + app + " (target kubernetes); pyship render replaces this file: edits are lost."
}

// RenderedApp reports whether data is a file pyship render wrote, and for which app.
func RenderedApp(data []byte) (string, bool) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	rest, ok := strings.CutPrefix(string(line), headerPrefix)
	if !ok {
		return "", false
	}
	app, _, ok := strings.Cut(rest, " ")
	return app, ok && app != ""
}

// RenderRevision renders the revision rel as deploy would apply it — its Deployment
// and, when it autoscales, its HorizontalPodAutoscaler — then the app's Service
// selecting it and, with a host, the Ingress routing the host to the Service.
//
// No Secret is rendered, not even one without data: deploy's is immutable, so an
// empty one applied by a GitOps tool could never be filled, and values must not leave
// pyship's state (a Git repository is the last place for them). The Deployment reads
// the Secret named after the revision, which the user creates (SecretNeeded). Only
// the names in rel.Secrets are read, never the values.
//
// The objects carry no state directory label (o.StateID is ignored): they belong to
// the tool that applies them, and pyship down run from a state directory must not
// delete what a GitOps tool would recreate.
func RenderRevision(rel platform.Release, host string, o Options) (*Render, error) {
	o.StateID = ""
	objs := RevisionObjects(rel, o)
	type object struct {
		kind, name string
		v          any
		// ns is the object's namespace field: the constructors set it even when it
		// is empty ("namespace: ''" would fail to apply); without one, the applier's
		// namespace is used.
		ns **string
	}
	// The order they are applied in: what the Service selects, then the Service, then
	// what routes to it.
	objects := []object{{"Deployment", *objs.Deployment.Name, objs.Deployment, &objs.Deployment.Namespace}}
	if hpa := HPAObject(rel, o); hpa != nil {
		objects = append(objects, object{"HorizontalPodAutoscaler", *hpa.Name, hpa, &hpa.Namespace})
	}
	svc := ServiceObject(rel.App, rel.Revision, o)
	objects = append(objects, object{"Service", *svc.Name, svc, &svc.Namespace})
	if host != "" {
		ing := IngressObject(rel.App, host, o)
		objects = append(objects, object{"Ingress", *ing.Name, ing, &ing.Namespace})
	}
	r := &Render{App: rel.App, Revision: rel.Revision, Namespace: o.Namespace}
	if len(rel.Secrets) > 0 {
		r.Secret = &SecretNeeded{Name: rel.Revision, Namespace: o.Namespace,
			Keys: slices.Sorted(maps.Keys(rel.Secrets)), AsFiles: rel.Spec.SecretFiles}
	}
	for _, obj := range objects {
		if o.Namespace == "" {
			*obj.ns = nil
		}
		y, err := yaml.Marshal(obj.v) // JSON, then YAML with sorted keys: byte-stable
		if err != nil {
			return nil, fmt.Errorf("rendering the %s %s: %w", obj.kind, obj.name, err)
		}
		doc := append([]byte(RenderHeader(rel.App)+"\n"), y...)
		r.Documents = append(r.Documents, Document{Kind: obj.kind, Name: obj.name,
			File: strings.ToLower(obj.kind) + "-" + obj.name + ".yaml", YAML: doc})
	}
	return r, nil
}

// Stream is the documents as one multi-document YAML stream ("---" between them).
func (r *Render) Stream() []byte {
	var b bytes.Buffer
	for i, d := range r.Documents {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(d.YAML)
	}
	return b.Bytes()
}
