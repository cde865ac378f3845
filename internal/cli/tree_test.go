package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/testutil"
	"github.com/spf13/cobra"
)

// commands lists every command of the tree users see (cobra's help and completion
// included), root first.
func commands(t *testing.T) []*cobra.Command {
	t.Helper()
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		out = append(out, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&globals{}))
	return out
}

// argvOf is a command's argv after "pyship".
func argvOf(c *cobra.Command) []string {
	return strings.Fields(strings.TrimPrefix(c.CommandPath(), "pyship"))
}

// noEngine points the Docker client at nothing, so that no test here reaches the
// machine's engine: a command that needs it fails with engine_unreachable.
func noEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+t.TempDir()+"/no-engine.sock")
}

// Every command, leaf subcommands and ls included, shows examples in --help.
func TestEveryCommandHasExamples(t *testing.T) {
	for _, c := range commands(t) {
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example", c.CommandPath())
			continue
		}
		code, out, errOut := run(append(argvOf(c), "--help")...)
		if code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help: exit %d, no Examples section\n%s%s", c.CommandPath(), code, out, errOut)
		}
	}
}

// Every usage error exits 2, in text and JSON mode alike: an unknown flag, a flag
// without its value, too many arguments, an unknown subcommand.
func TestUsageErrorsExit2(t *testing.T) {
	noEngine(t)
	for _, c := range commands(t) {
		p := argvOf(c)
		cases := [][]string{append(append([]string{}, p...), "--no-such-flag")}
		if c.Name() != "help" {
			// Five words no command takes: too many, and not names (1x starts with a digit).
			cases = append(cases, append(append([]string{}, p...), "1x", "1x", "1x", "1x", "1x"))
		}
		if c.Flags().Lookup("state-dir") != nil {
			cases = append(cases, append(append([]string{}, p...), "--state-dir")) // no value
			// A value-taking flag followed by a flag: pflag takes the flag as the value
			// (a state directory named --wait was created in the current directory).
			cases = append(cases, append(append([]string{}, p...), "--state-dir", "--directory=."))
		}
		for _, args := range cases {
			if code, out, errOut := run(args...); code != exitUsage {
				t.Errorf("pyship %s: exit %d, want 2\n%s%s", strings.Join(args, " "), code, out, errOut)
			}
			code, _, errOut := run(append(args, "--json")...)
			if code != exitUsage {
				t.Errorf("pyship %s --json: exit %d, want 2", strings.Join(args, " "), code)
			}
			if e := lastJSONError(t, errOut); e == nil || e.Code != codeUsage || e.ExitCode != exitUsage || e.Message == "" {
				t.Errorf("pyship %s --json: stderr is not the usage error object:\n%s", strings.Join(args, " "), errOut)
			}
		}
	}
}

// lastJSONError parses the last line of stderr as the --json error object.
func lastJSONError(t *testing.T, stderr string) *jsonErrorBody {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	var e struct {
		Error *jsonErrorBody `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(lines[len(lines)-1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil
	}
	return e.Error
}

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkJSONStream decodes every JSON value in s (one document, or JSON Lines) and
// reports keys that are not snake_case field names.
func checkJSONStream(t *testing.T, what, s string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	n := 0
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: stdout is not JSON: %v\n%s", what, err, s)
			return
		}
		n++
		for _, k := range badKeys(v) {
			t.Errorf("%s: JSON key %q is not snake_case", what, k)
		}
	}
	if n == 0 {
		t.Errorf("%s: exit 0 and no JSON on stdout", what)
	}
}

func badKeys(v any) []string {
	var bad []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !snakeKey.MatchString(k) {
				bad = append(bad, k)
			}
			bad = append(bad, badKeys(e)...)
		}
	case []any:
		for _, e := range x {
			bad = append(bad, badKeys(e)...)
		}
	}
	return bad
}

// Every command that prints a result honours --json: stdout is JSON (JSON Lines for
// the streaming ones) when it succeeds, stderr ends with the error object when it
// fails, every key is snake_case, and nothing prints Go's map[...] syntax. Commands
// that need the engine run on their error path (no engine here); their success
// shapes are tested through the functions that build them.
func TestEveryCommandHonoursJSON(t *testing.T) {
	noEngine(t)
	base, index := projectFixtures(t)
	dir := flaskProject(t)
	state := t.TempDir()
	pf := []string{"--state-dir", state, "--gateway", "127.0.0.1:1"}
	idx := []string{"--base", "oci:" + base, "-i", index, "--cache-dir", t.TempDir()}
	image := testutil.PushUserImage(t, testutil.Registry(t), "a", "10001")
	cases := map[string][][]string{
		"pyship":                {{"version"}},
		"pyship version":        {{"version"}},
		"pyship detect":         {{"detect", dir}, {"detect", flaskAmbiguous(t)}},
		"pyship init":           {{"init", dir, "--dry-run"}},
		"pyship check":          {{"check", dir}, {"check", "--image", "oci:" + t.TempDir() + "/none"}},
		"pyship build":          {append([]string{"build", dir, "--output", "oci:" + t.TempDir() + "/o"}, idx...), {"build", dir, "-f", "Dockerfile.none"}},
		"pyship lock":           {append([]string{"lock", dir, "--output", t.TempDir() + "/pylock.toml"}, idx...)},
		"pyship run":            {{"run", dir, "--image", "x"}},
		"pyship deploy":         {append([]string{"deploy", dir, "--app", "a", "--image", "x"}, pf...)},
		"pyship render":         {{"render", dir, "--target", "kubernetes", "--image", image, "--state-dir", state}, {"render", dir, "--target", "kubernetes", "--image", image, "-o", t.TempDir(), "--state-dir", state}, {"render", dir, "--target", "kubernetes", "--state-dir", state}},
		"pyship env set":        {append([]string{"env", "set", "a", "K=V"}, pf...)},
		"pyship env unset":      {append([]string{"env", "unset", "a", "K"}, pf...)},
		"pyship env list":       {append([]string{"env", "list", "a"}, pf...)},
		"pyship secret set":     {append([]string{"secret", "set", "a", "S"}, pf...)},
		"pyship secret remove":  {append([]string{"secret", "remove", "a", "S"}, pf...)},
		"pyship secret list":    {append([]string{"secret", "list", "a"}, pf...)},
		"pyship secret files":   {append([]string{"secret", "files", "a", "on"}, pf...)},
		"pyship revisions":      {append([]string{"revisions", "a"}, pf...)},
		"pyship rollback":       {append([]string{"rollback", "a"}, pf...)},
		"pyship scale":          {append([]string{"scale", "a", "--replicas", "2"}, pf...)},
		"pyship traffic":        {append([]string{"traffic", "a", "a--1=100"}, pf...)},
		"pyship ls":             {append([]string{"ls"}, pf...)},
		"pyship status":         {append([]string{"status", "a"}, pf...)},
		"pyship logs":           {append([]string{"logs", "a", "--since", "10m"}, pf...)},
		"pyship down":           {append([]string{"down", "a", "--yes"}, pf...)},
		"pyship exec":           {append(append([]string{"exec", "a"}, pf...), "--json", "--", "true")},
		"pyship gateway start":  {append([]string{"gateway", "start"}, pf...)},
		"pyship gateway stop":   {append([]string{"gateway", "stop"}, pf...)},
		"pyship gateway status": {append([]string{"gateway", "status"}, pf...)},
		"pyship dashboard":      {{"dashboard", "--port", "70000"}},
		"pyship env":            {{"env"}},
		"pyship secret":         {{"secret"}},
		"pyship gateway":        {{"gateway"}},
	}
	// Not results: help text, shell scripts, and the gateway's own foreground process.
	skip := map[string]bool{"pyship help": true, "pyship completion": true, "pyship gateway serve": true}
	for _, c := range commands(t) {
		name := c.CommandPath()
		if skip[name] || (c.Parent() != nil && skip[c.Parent().CommandPath()]) {
			continue
		}
		runs, ok := cases[name]
		if !ok {
			t.Errorf("%s has no --json case here: add one", name)
			continue
		}
		for _, args := range runs {
			args = append(append([]string{}, args...), "--json")
			var out, errb bytes.Buffer
			code := ExecuteWithInput(context.Background(), args, strings.NewReader("value\n"), &out, &errb)
			what := "pyship " + strings.Join(args, " ")
			if strings.Contains(out.String()+errb.String(), "map[") {
				t.Errorf("%s prints Go's map syntax:\n%s%s", what, out.String(), errb.String())
			}
			if code == 0 {
				if len(c.Commands()) > 0 && len(args) == 2 {
					continue // a group alone prints its help
				}
				checkJSONStream(t, what, out.String())
				continue
			}
			e := lastJSONError(t, errb.String())
			if e == nil || e.ExitCode != code || e.Code == "" || e.Message == "" {
				t.Errorf("%s: exit %d, stderr does not end with the error object:\n%s", what, code, errb.String())
				continue
			}
			if v := map[string]any{}; json.Unmarshal([]byte(strings.TrimSpace(lastLine(errb.String()))), &v) == nil {
				for _, k := range badKeys(v) {
					t.Errorf("%s: error key %q is not snake_case", what, k)
				}
			}
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func projectFixtures(t *testing.T) (base, index string) {
	return testutil.FakeBase(t, "amd64"), testutil.Index(t, lockDists, nil)
}

func flaskProject(t *testing.T) string {
	return testutil.WriteProject(t, map[string]string{
		"requirements.txt": "flask\ngunicorn\n",
		"app.py":           "from flask import Flask\napp = Flask(__name__)\n",
	})
}

func flaskAmbiguous(t *testing.T) string {
	return testutil.WriteProject(t, map[string]string{
		"requirements.txt": "flask\n",
		"a.py":             "from flask import Flask\napp = Flask(__name__)\n",
		"b.py":             "from flask import Flask\napp = Flask(__name__)\n",
	})
}
