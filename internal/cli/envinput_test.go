package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/store"
)

// sentinel stands for a secret value typed where it does not belong. It is a valid
// environment variable name too, so that it can sit where a name is expected.
const sentinel = "Zq9SentinelValue"

// No error of the secret and env commands (or of deploy's and run's --env and
// --env-file) shows what could be a value, in text or JSON mode.
func TestEnvAndSecretErrorsDoNotEchoValues(t *testing.T) {
	state := t.TempDir()
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := st.SetSecret("a", "S", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(&store.App{Name: "a", Port: 8000, Replicas: 1, Probe: "/", Env: map[string]string{"X": "1"}, Secrets: map[string]string{"S": digest}}); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(t.TempDir(), "app.env")
	os.WriteFile(envFile, []byte("# settings\nGOOD=1\nexport 1BAD="+sentinel+"\n"), 0o600)
	noEq := filepath.Join(t.TempDir(), "noeq.env")
	os.WriteFile(noEq, []byte("GOOD=1\n"+sentinel+"\n"), 0o600)
	flags := []string{"--state-dir", state, "--gateway", "127.0.0.1:1"}
	cases := []struct {
		args []string
		want string // in stderr: the error still says what is wrong
	}{
		{[]string{"secret", "set", "--app", "a", "DB=" + sentinel}, "secret name is not valid"},
		{[]string{"secret", "set", "--app", "a", sentinel + "!"}, "secret name is not valid"},
		{[]string{"secret", "set", "--app", "a", "DB", sentinel}, "one secret name"},
		{[]string{"secret", "set", "--app", "a", "-x" + sentinel, "DB"}, "unknown flag -x"},
		{[]string{"secret", "set", "--app", "a", "--wait=" + sentinel, "DB"}, "--wait is not valid"},
		{[]string{"secret", "remove", "--app", "a", sentinel}, "no secret by that name"},
		{[]string{"secret", "remove", "--app", "a", "K=" + sentinel}, "secret name is not valid"},
		{[]string{"secret", "files", "--app", "a", sentinel}, "on or off"},
		{[]string{"secret", "DB=" + sentinel}, "no such subcommand"},
		{[]string{"env", "set", "--app", "a", sentinel}, "argument 1: not KEY=VALUE"},
		{[]string{"env", "set", "--app", "a", "OK=1", "1X=" + sentinel}, "argument 2: the name before '='"},
		{[]string{"env", "set", "--app", "a", "S=" + sentinel}, "S is a secret of a"},
		{[]string{"env", "unset", "--app", "a", sentinel}, "no setting by the name in argument 1"},
		{[]string{"env", "unset", "--app", "a", "X=" + sentinel}, "argument 1: not a setting's name"},
		{[]string{"env", sentinel}, "no such subcommand"},
		{[]string{"deploy", "--app", "a", "--image", "x", "-e", sentinel}, "--env 1: not KEY=VALUE"},
		{[]string{"deploy", "--app", "a", "--image", "x", "--env-file", envFile}, envFile + ":3: the name before '='"},
		{[]string{"run", "--image", "x", "--env-file", noEq}, noEq + ":2: not KEY=VALUE"},
		{[]string{"run", "--image", "x", "-e", "A=1", "-e", "b c=" + sentinel}, "--env 2: the name"},
	}
	for _, c := range cases {
		for _, mode := range [][]string{nil, {"--json"}} {
			args := append(append(append([]string{}, c.args...), flags...), mode...)
			if c.args[0] == "run" || len(c.args) == 2 {
				args = append(append([]string{}, c.args...), mode...) // no platform flags there
			}
			var out, errb bytes.Buffer
			code := ExecuteWithInput(context.Background(), args, strings.NewReader(sentinel+"\n"), &out, &errb)
			if code == 0 {
				t.Errorf("%v: exit 0", args)
			}
			if strings.Contains(out.String()+errb.String(), sentinel) {
				t.Errorf("%v shows the value:\n%s%s", args, out.String(), errb.String())
			}
			if !strings.Contains(errb.String(), c.want) {
				t.Errorf("%v: %q does not say %q", args, errb.String(), c.want)
			}
		}
	}
}
