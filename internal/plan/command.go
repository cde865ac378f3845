package plan

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// shellSteps splits a command line from a Procfile, pyship.toml or --server into the
// simple commands it runs, in order, with a real shell parser: `a; b && c` is three
// steps, quotes are removed as the shell would, and $PORT / ${PORT} stay expansions.
// Splitting on whitespace made `flask db upgrade; gunicorn app:app` one command whose
// argument was "upgrade;".
func shellSteps(cmd string) ([][]string, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(cmd), "")
	if err != nil {
		return nil, err
	}
	var steps [][]string
	var walk func(c syntax.Command) error
	walk = func(c syntax.Command) error {
		switch c := c.(type) {
		case *syntax.BinaryCmd:
			if c.Op == syntax.Pipe || c.Op == syntax.PipeAll {
				return fmt.Errorf("a pipeline (|) is not a server command")
			}
			if err := walk(c.X.Cmd); err != nil {
				return err
			}
			return walk(c.Y.Cmd)
		case *syntax.CallExpr:
			var argv []string
			for _, a := range c.Assigns {
				if a.Value == nil {
					continue
				}
				argv = append(argv, a.Name.Value+"="+wordString(a.Value))
			}
			if len(argv) > 0 {
				argv = append([]string{"env"}, argv...)
			}
			for _, w := range c.Args {
				argv = append(argv, wordString(w))
			}
			if len(argv) > 0 {
				steps = append(steps, argv)
			}
			return nil
		default:
			return fmt.Errorf("%T is not a simple command", c)
		}
	}
	for _, st := range f.Stmts {
		if st.Background || st.Negated || len(st.Redirs) > 0 {
			return nil, fmt.Errorf("background jobs, negation and redirections are not server commands")
		}
		if st.Cmd == nil {
			continue
		}
		if err := walk(st.Cmd); err != nil {
			return nil, err
		}
	}
	return steps, nil
}

// wordString is a shell word with its quotes removed and parameter expansions kept as
// ${NAME} (expanded when the container starts).
func wordString(w *syntax.Word) string {
	var b strings.Builder
	var part func(p syntax.WordPart)
	part = func(p syntax.WordPart) {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				part(q)
			}
		case *syntax.ParamExp:
			if p.Param != nil && !p.Length && p.Exp == nil && p.Repl == nil && p.Slice == nil && p.Index == nil {
				b.WriteString("${" + p.Param.Value + "}")
				return
			}
			printPart(&b, p)
		default:
			printPart(&b, p)
		}
	}
	for _, p := range w.Parts {
		part(p)
	}
	return b.String()
}

func printPart(b *strings.Builder, n syntax.Node) {
	_ = syntax.NewPrinter().Print(b, n)
}

// serverBinds adds the listen address a server command lacks: inside a container the
// server must listen on 0.0.0.0 and the port pyship gives it ($PORT), whatever the
// Procfile's platform did for it (Heroku passes --bind through GUNICORN_CMD_ARGS).
// It returns the arguments added.
func serverBinds(argv []string) ([]string, []string) {
	if len(argv) == 0 {
		return argv, nil
	}
	has := func(names ...string) bool {
		for _, a := range argv[1:] {
			for _, n := range names {
				if a == n || strings.HasPrefix(a, n+"=") || (len(n) == 2 && strings.HasPrefix(a, n) && len(a) > 2) {
					return true
				}
			}
		}
		return false
	}
	var add []string
	switch argv[0] {
	case "gunicorn", "hypercorn":
		if !has("--bind", "-b") {
			add = []string{"--bind", "0.0.0.0:${PORT}"}
		}
	case "uvicorn", "granian":
		if !has("--host") {
			add = append(add, "--host", "0.0.0.0")
		}
		if !has("--port") {
			add = append(add, "--port", "${PORT}")
		}
	case "daphne":
		if !has("--bind", "-b") {
			add = append(add, "--bind", "0.0.0.0")
		}
		if !has("--port", "-p") {
			add = append(add, "--port", "${PORT}")
		}
	case "waitress-serve":
		if !has("--listen", "--port", "--host") {
			add = []string{"--listen=0.0.0.0:${PORT}"}
		}
	}
	if len(add) == 0 {
		return argv, nil
	}
	out := append([]string{argv[0]}, add...)
	return append(out, argv[1:]...), add
}

// shellJoin prints argv as a shell command line, quoting only what needs it.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		q, err := syntax.Quote(a, syntax.LangPOSIX)
		if err != nil || strings.Contains(a, "${") {
			q = a
		}
		out[i] = q
	}
	return strings.Join(out, " ")
}
