package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// enforceUsage makes the whole command tree answer a wrong command line the same way:
// exit 2 (usageError) whatever the mistake. Cobra's own validators return plain errors,
// and its defaults differ by position: a group command given an unknown subcommand
// printed its help and exited 0, a leaf without Args accepted any argument.
func enforceUsage(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch {
		case c == root:
		case c.HasSubCommands() && c.RunE == nil && c.Run == nil:
			c.Args, c.RunE = cobra.ArbitraryArgs, noSubcommand
		case c.Args == nil && !(c.Name() == "help" && c.Parent() == root):
			c.Args = cobra.NoArgs
		}
		if orig := c.Args; orig != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := flagTakenAsValue(cmd); err != nil {
					return err
				}
				return usage(orig(cmd, args))
			}
		}
		// cobra's own commands (help, completion) come without examples.
		if c.Example == "" {
			switch {
			case c.Name() == "help":
				c.Example = "  pyship help build"
			case c.Name() == "completion":
				c.Example = "  pyship completion bash > ~/.local/share/bash-completion/completions/pyship"
			case c.Parent() != nil && c.Parent().Name() == "completion":
				c.Example = fmt.Sprintf("  pyship completion %s", c.Name())
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// flagTakenAsValue refuses a string flag whose value is another long flag: the flag
// parser gives `--state-dir --json` the value "--json" (as docker's does), and pyship
// would then create a state directory by that name. No pyship value starts with "--".
func flagTakenAsValue(cmd *cobra.Command) error {
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		var values []string
		switch f.Value.Type() {
		case "string":
			values = []string{f.Value.String()}
		case "stringArray", "stringSlice":
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				values = sv.GetSlice()
			}
		}
		for _, v := range values {
			if err == nil && strings.HasPrefix(v, "--") {
				err = usagef("flag --%s needs a value, and the next argument is a flag", f.Name)
			}
		}
	})
	return err
}

// unknownCommand refuses a first argument that is no command. It does not quote it: in
// `pyship secret DB=VALUE` what was typed holds a value (see envinput.go).
func unknownCommand(cmd *cobra.Command, arg string) error {
	hint := ""
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, set only on its own path
	}
	if s := cmd.SuggestionsFor(arg); len(s) > 0 {
		hint = fmt.Sprintf("; did you mean %s?", strings.Join(s, " or "))
	}
	what := "command"
	if cmd.HasParent() {
		what = "subcommand"
	}
	return usagef("%s has no such %s%s (%s --help lists them)", cmd.CommandPath(), what, hint, cmd.CommandPath())
}

// noSubcommand answers a command group (secret, env, gateway) called alone (its help)
// or with an argument that is none of its subcommands.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return unknownCommand(cmd, args[0])
}

// optionalValueAnnotation names the flags of a command whose value may be left out
// (build --dockerfile: the context's Dockerfile).
const optionalValueAnnotation = "pyship/optional-value"

// optionalValueArgs rewrites a bare optional-value flag (last, or followed by another
// flag) as --flag= so that the flag parser, which then takes the next argument as its
// value, reads `--dockerfile PATH DIR` as docker reads `-f PATH DIR`. pflag's own
// optional values (NoOptDefVal) never take the next argument: `build --dockerfile
// docker/Dockerfile.prod ./app` made the path a second DIR.
func optionalValueArgs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd.Annotations[optionalValueAnnotation] == "" {
		return args
	}
	names := strings.Fields(cmd.Annotations[optionalValueAnnotation])
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == "--" {
			break
		}
		for _, n := range names {
			if a == "--"+n && (i+1 == len(out) || strings.HasPrefix(out[i+1], "-")) {
				out[i] = "--" + n + "="
			}
		}
	}
	return out
}
