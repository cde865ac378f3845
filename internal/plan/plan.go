package plan

import (
	"errors"
	"fmt"
	"strings"
)

// Framework names the web framework an app is written with.
type Framework string

// The frameworks Detect tells apart; OtherWSGI and OtherASGI are apps that expose a
// callable without one of the known frameworks.
const (
	Django    Framework = "django"
	Flask     Framework = "flask"
	FastAPI   Framework = "fastapi"
	Starlette Framework = "starlette"
	Quart     Framework = "quart"
	Litestar  Framework = "litestar"
	Falcon    Framework = "falcon"
	OtherWSGI Framework = "other-wsgi"
	OtherASGI Framework = "other-asgi"
	// AzureFunctions is an Azure Functions app: the Functions host on Microsoft's
	// Functions base image runs it, not a server pyship chooses.
	AzureFunctions Framework = "azure-functions"
)

// Plan is everything pyship decided about a project. Paths are slash-separated and
// relative to the directory Detect was given.
type Plan struct {
	// Context is the build context: the directory holding the dependency files.
	Context string `json:"context"`
	// AppRoot is where the app runs from (the working directory in the image).
	AppRoot       string    `json:"app_root"`
	Framework     Framework `json:"framework"`
	Interface     string    `json:"interface"` // "wsgi" or "asgi"
	Entrypoint    string    `json:"entrypoint"`
	Factory       bool      `json:"factory"`
	PythonVersion string    `json:"python_version"`
	PythonPath    []string  `json:"python_path"` // extra import roots relative to AppRoot, e.g. "src"
	Port          int       `json:"port"`
	Server        []string  `json:"server"`         // argv; ${PORT} is expanded at run time
	ServerPackage string    `json:"server_package"` // distribution that provides Server[0]
	AddServer     bool      `json:"add_server"`     // pyship installs ServerPackage itself
	// ReleaseCommands run before the server in the project's own start command (a
	// Procfile's `migrate; gunicorn …`): steps to run once per release, never in CMD.
	ReleaseCommands []string      `json:"release_commands"`
	Dependencies    Dependencies  `json:"dependencies"`
	Django          *DjangoPlan   `json:"django"`
	Services        []Service     `json:"services"`
	EnvVars         []EnvVar      `json:"env_vars"`
	Existing        ExistingFiles `json:"existing"`
	Warnings        []string      `json:"warnings"`
	Evidence        []Evidence    `json:"evidence"`
}

// Dependencies says how the project declares what it needs.
type Dependencies struct {
	// Manager is one of pip, uv, poetry, pdm, pipenv, pylock, pep621, setuptools.
	Manager string `json:"manager"`
	// Files are the manifests and locks the install step reads, the chosen one first.
	Files []string `json:"files"`
	// Packages are the normalised names of the runtime dependencies.
	Packages []string `json:"packages"`
	// InstallProject is true when the project itself is a package to install after the code.
	InstallProject bool `json:"install_project"`
}

// DjangoPlan holds the Django specifics.
type DjangoPlan struct {
	SettingsModule string `json:"settings_module"`
	ManagePy       string `json:"manage_py"`
	Collectstatic  bool   `json:"collectstatic"`
	StaticRoot     string `json:"static_root,omitempty"`
	WhiteNoise     bool   `json:"whitenoise"`
}

// Service is a backing service the dependencies imply.
type Service struct {
	Name     string   `json:"name"` // postgresql, mysql, mongodb, redis
	Packages []string `json:"packages"`
}

// EnvVar is an environment variable the app reads.
type EnvVar struct {
	Name     string `json:"name"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Required bool   `json:"required"` // read without a default
	Secret   bool   `json:"secret"`   // its name says it holds a secret
}

// ExistingFiles lists container files the project already has.
type ExistingFiles struct {
	Dockerfile   string   `json:"dockerfile,omitempty"`
	Dockerignore string   `json:"dockerignore,omitempty"`
	Compose      []string `json:"compose,omitempty"`
	Procfile     string   `json:"procfile,omitempty"`
}

// Evidence is why one field of the Plan has its value.
type Evidence struct {
	Field string `json:"field"`
	Value string `json:"value"`
	File  string `json:"file,omitempty"`
	Line  int    `json:"line,omitempty"`
	Rule  string `json:"rule"`
}

func (e Evidence) String() string {
	loc := ""
	if e.File != "" {
		loc = e.File
		if e.Line > 0 {
			loc = fmt.Sprintf("%s:%d", e.File, e.Line)
		}
		loc = " (" + loc + ")"
	}
	return fmt.Sprintf("%s = %s: %s%s", e.Field, e.Value, e.Rule, loc)
}

// ErrNotPython means no Python web project was found.
var ErrNotPython = errors.New("no Python web project found")

// Candidate is one possible answer to a question Detect could not settle.
type Candidate struct {
	Value  string `json:"value"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// AmbiguousError is returned when the evidence allows several answers (or none) for a
// field; Fix says exactly what settles it.
type AmbiguousError struct {
	Field      string
	Candidates []Candidate
	Fix        []string
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	if len(e.Candidates) == 0 {
		fmt.Fprintf(&b, "cannot determine the %s", e.Field)
	} else {
		fmt.Fprintf(&b, "cannot choose the %s among %d candidates:", e.Field, len(e.Candidates))
		for _, c := range e.Candidates {
			fmt.Fprintf(&b, "\n  %s", c.Value)
			if c.File != "" {
				if c.Line > 0 {
					fmt.Fprintf(&b, "  (%s:%d", c.File, c.Line)
				} else {
					fmt.Fprintf(&b, "  (%s", c.File)
				}
				if c.Reason != "" {
					fmt.Fprintf(&b, ", %s", c.Reason)
				}
				b.WriteString(")")
			}
		}
	}
	if len(e.Fix) > 0 {
		b.WriteString("\nsettle it with one of:")
		for _, f := range e.Fix {
			b.WriteString("\n  " + f)
		}
	}
	return b.String()
}
