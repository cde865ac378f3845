package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/build"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/publish"
	"github.com/pyship/pyship/internal/store"
)

// Exit codes. Scripts branch on them, so they are part of pyship's interface (root
// --help and the README list them): usage is told apart from a failure as in most Unix
// tools, and a refused detection from both, since its fix is a declaration.
const (
	exitOK          = 0
	exitFailure     = 1   // the command ran and failed (or check found error-level findings)
	exitUsage       = 2   // the command line is wrong: nothing was done
	exitUndetected  = 3   // detection refused: the message names the flag that settles it
	exitInterrupted = 130 // Ctrl-C or SIGTERM
)

// Error codes: the stable names --json gives errors ({"error":{"code":…}}). Each comes
// from a typed error, never from a message's wording.
const (
	codeUsage            = "usage"
	codeAmbiguousProject = "ambiguous_project"
	codeNoProject        = "no_project"
	// A project pyship recognises and does not containerize (an Azure Functions app).
	codeUnsupportedProject = "unsupported_project"
	codeNotFound           = "not_found"
	codeConflict           = "conflict"
	codeDeployFailed       = "deploy_failed"
	codeEngineUnreachable  = "engine_unreachable"
	// A Kubernetes target's: the kubeconfig (file, context) cannot be used; the API
	// server does not answer, or answers with a certificate the kubeconfig does not
	// trust; it refuses the credentials, or a permission in the namespace.
	codeKubeconfig         = "kubeconfig"
	codeClusterUnreachable = "cluster_unreachable"
	codeClusterUntrusted   = "cluster_untrusted"
	codeUnauthorized       = "unauthorized"
	codeForbidden          = "forbidden"
	codeFindings           = "findings"
	codeSkipped            = "skipped"
	codeInterrupted        = "interrupted"
	codeError              = "error"
)

// usageError is a command line pyship cannot act on: an unknown flag or command, a
// wrong number of arguments, a value that fails validation. Exit 2, nothing done.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage marks err as a usage error (nil stays nil).
func usage(err error) error {
	var u *usageError
	if err == nil || errors.As(err, &u) {
		return err
	}
	return &usageError{err}
}

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// codedError gives err an exit code of its own (check exits 2 when it cannot run,
// since 1 means findings; an interrupted build 130).
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// exitWith prints err and exits with code.
func exitWith(code int, err error) error {
	return &codedError{code: code, err: err}
}

// exitError ends a command whose result is already printed (check's findings, init's
// skipped files) with a non-zero code. Text mode prints nothing more; --json still
// writes the error object, so a script sees why the code is not 0.
type exitError struct {
	code    int
	kind    string
	message string
}

func (e exitError) Error() string { return e.message }

// classify gives an error its exit code and stable code.
func classify(err error) (exit int, code string) {
	var (
		ee      exitError
		ce      *codedError
		ue      *usageError
		amb     *plan.AmbiguousError
		fn      *build.UnsupportedError
		halfFn  *plan.FunctionsError
		dep     *platform.DeployError
		set     *store.SettingError
		env     *EnvLineError
		busy    *store.BusyError
		foreign *kube.ForeignFileError
		kerr    *kube.Error
		kcfg    *kube.ConfigError
		kctx    *kube.ContextError
		azin    *azure.InputError
		azdep   *azure.DeployError
		armErr  *azure.ARMError
	)
	switch {
	case errors.As(err, &ee):
		return ee.code, ee.kind
	case errors.As(err, &ce):
		_, code := classify(ce.err)
		if ce.code == exitInterrupted {
			code = codeInterrupted
		}
		return ce.code, code
	case errors.As(err, &ue), errors.As(err, &set), errors.As(err, &env), errors.As(err, &azin), errors.Is(err, store.ErrSecretName):
		return exitUsage, codeUsage
	case errors.As(err, &amb):
		return exitUndetected, codeAmbiguousProject
	case errors.Is(err, plan.ErrNotPython):
		return exitUndetected, codeNoProject
	case errors.As(err, &fn), errors.As(err, &halfFn):
		return exitUndetected, codeUnsupportedProject
	case errors.As(err, &dep), errors.As(err, &azdep):
		return exitFailure, codeDeployFailed
	case errors.As(err, &armErr) && (armErr.Status == 401 || armErr.Status == 403):
		return exitFailure, codeUnauthorized
	case errors.As(err, &armErr) && armErr.Status == 404:
		return exitFailure, codeNotFound
	case errors.As(err, &armErr) && armErr.Status == 409:
		return exitFailure, codeConflict
	case errors.Is(err, engine.ErrUnreachable):
		return exitFailure, codeEngineUnreachable
	case errors.As(err, &kerr) && kerr.Kind != "":
		return exitFailure, clusterCode(kerr.Kind)
	case errors.As(err, &kcfg), errors.As(err, &kctx):
		return exitFailure, codeKubeconfig
	case errors.As(err, &busy), errors.As(err, &foreign), errors.Is(err, publish.ErrNotLayout), errors.Is(err, publish.ErrNotTarball):
		return exitFailure, codeConflict
	case errors.Is(err, store.ErrNoApp), errors.Is(err, fs.ErrNotExist):
		return exitFailure, codeNotFound
	}
	return exitFailure, codeError
}

// clusterCode is the stable code of a failed call to a cluster.
func clusterCode(k kube.Kind) string {
	switch k {
	case kube.Forbidden:
		return codeForbidden
	case kube.Unauthorized:
		return codeUnauthorized
	case kube.Unreachable:
		return codeClusterUnreachable
	case kube.Untrusted:
		return codeClusterUntrusted
	}
	return codeError
}

// jsonError is what --json writes to stderr for a failed command: one line, the last
// one on stderr (progress lines come before it).
type jsonError struct {
	Error jsonErrorBody `json:"error"`
}

type jsonErrorBody struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	ExitCode int    `json:"exit_code"`
	// Details carry what a script can act on: an ambiguity's candidates and fixes.
	Details any `json:"details,omitempty"`
}

type ambiguityDetails struct {
	Field      string           `json:"field"`
	Candidates []plan.Candidate `json:"candidates"`
	Fix        []string         `json:"fix"`
}

// reportError writes err to stderr as text or as the JSON error object and returns
// the exit code.
func reportError(stderr io.Writer, err error, asJSON bool, cmdPath string) int {
	exit, code := classify(err)
	if asJSON {
		body := jsonErrorBody{Code: code, Message: err.Error(), ExitCode: exit}
		var amb *plan.AmbiguousError
		if errors.As(err, &amb) {
			cands := amb.Candidates
			if cands == nil {
				cands = []plan.Candidate{}
			}
			body.Details = ambiguityDetails{Field: amb.Field, Candidates: cands, Fix: amb.Fix}
		}
		b, _ := json.Marshal(jsonError{body})
		fmt.Fprintf(stderr, "%s\n", b)
		return exit
	}
	var ee exitError
	if errors.As(err, &ee) {
		return exit // the command printed its result already
	}
	fmt.Fprintln(stderr, "pyship: "+err.Error())
	if code == codeUsage && cmdPath != "" && !strings.Contains(err.Error(), "--help") {
		fmt.Fprintf(stderr, "See '%s --help'.\n", cmdPath)
	}
	return exit
}

// jsonRequested tells whether --json was on the command line, for errors that happen
// before (or while) the flags are parsed.
func jsonRequested(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--json" {
			return true
		}
		if v, ok := strings.CutPrefix(a, "--json="); ok {
			b, err := strconv.ParseBool(v)
			return err == nil && b
		}
	}
	return false
}
