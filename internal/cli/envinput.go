package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pyship/pyship/internal/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Settings and secrets come in as KEY=VALUE arguments, env files and secret names. A
// mistake there must not put a value on the terminal (and from there in a CI log or a
// screen share): the errors below say where the input is and what is wrong with it, and
// never quote it. Env files are where secrets usually live; a "secret name" typed as
// NAME=VALUE holds the value.

// EnvLineError is a KEY=VALUE input (an --env flag, an env set argument, an env file's
// line) that is not one.
type EnvLineError struct {
	Where   string // "FILE:LINE" or "--env #2" / "argument 2"
	Problem string
}

func (e *EnvLineError) Error() string {
	return fmt.Sprintf("%s: %s (not shown: it may hold a value)", e.Where, e.Problem)
}

// maxEnvFile bounds an env file: settings, not data.
const maxEnvFile = 1 << 20

// readEnvFile reads an env file: a regular file (a FIFO would block for ever) of at
// most maxEnvFile bytes.
func readEnvFile(path string) ([]byte, error) {
	b, err := readUserFile(path, maxEnvFile)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	return b, nil
}

// parseEnv reads KEY=VALUE pairs from arguments (flag names them: "--env" or
// "argument") and a file; names must be valid env names.
func parseEnv(pairs []string, flag, file string) (map[string]string, error) {
	out := map[string]string{}
	var lines []string
	where := map[int]string{}
	if file != "" {
		b, err := readEnvFile(file)
		if err != nil {
			return nil, err
		}
		for i, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			where[len(lines)] = fmt.Sprintf("%s:%d", file, i+1)
			lines = append(lines, strings.TrimPrefix(l, "export "))
		}
	}
	for i, pair := range pairs {
		where[len(lines)] = fmt.Sprintf("%s %d", flag, i+1)
		lines = append(lines, pair)
	}
	for i, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return nil, &EnvLineError{Where: where[i], Problem: "not KEY=VALUE: there is no '='"}
		}
		if !envName(k) {
			return nil, &EnvLineError{Where: where[i], Problem: "the name before '=' is not an environment variable's: use letters, digits and _, not starting with a digit"}
		}
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out, nil
}

func envName(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// secretNameArg accepts exactly one argument that is a valid secret name, checked
// before anything else happens (no engine, no lock, no value read).
func secretNameArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes one secret name, %d argument(s) given (the value comes from standard input or --file, never from the command line)", cmd.CommandPath(), len(args))
	}
	if !store.ValidSecretName(args[0]) {
		return store.ErrSecretName
	}
	return nil
}

// envPairArgs accepts one or more KEY=VALUE arguments.
func envPairArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s takes KEY=VALUE arguments", cmd.CommandPath())
	}
	_, err := parseEnv(args, "argument", "")
	return err
}

// envNameArgs accepts one or more valid environment variable names.
func envNameArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s takes the names to remove", cmd.CommandPath())
	}
	for i, a := range args {
		if !envName(a) {
			return &EnvLineError{Where: fmt.Sprintf("argument %d", i+1), Problem: "not a setting's name: use letters, digits and _, not starting with a digit"}
		}
	}
	return nil
}

// quietFlagErrors words the flag parser's errors without what was typed after the flag
// name: pflag quotes an invalid value ("invalid argument \"…\" for --wait") and a whole
// group of short flags ("-xVALUE").
func quietFlagErrors(cmd *cobra.Command, err error) error {
	return usage(quietFlagError(cmd, err))
}

func quietFlagError(cmd *cobra.Command, err error) error {
	help := cmd.CommandPath() + " --help lists them"
	var ne *pflag.NotExistError
	var ve *pflag.InvalidValueError
	var re *pflag.ValueRequiredError
	var se *pflag.InvalidSyntaxError
	switch {
	case errors.As(err, &ne):
		if ne.GetSpecifiedShortnames() != "" {
			return fmt.Errorf("unknown flag -%c (%s)", []rune(ne.GetSpecifiedName())[0], help)
		}
		return fmt.Errorf("unknown flag --%s (%s)", ne.GetSpecifiedName(), help)
	case errors.As(err, &ve):
		return fmt.Errorf("the value given to --%s is not valid for it (%s)", ve.GetFlag().Name, help)
	case errors.As(err, &re):
		return fmt.Errorf("flag --%s needs a value", re.GetFlag().Name)
	case errors.As(err, &se):
		return fmt.Errorf("a flag is not written as -x or --name (%s)", help)
	}
	return fmt.Errorf("the flags are not valid (%s)", help)
}
