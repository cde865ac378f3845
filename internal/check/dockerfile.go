// Package check finds the faults that make a Python container insecure or fragile: secrets
// baked into the image or sent in the build context, root users, development servers,
// wrong binds and ports, unbuffered logs, end-of-life Pythons. Each Finding has a stable
// ID, a severity and a one-line fix.
package check

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Instruction is one Dockerfile instruction, as buildkit's parser reads it.
type Instruction struct {
	Cmd   string   // lower-case: from, run, env, …
	Args  []string // for ENV: key, value, key, value…
	Flags []string // --from=…, --chown=…
	JSON  bool     // exec form
	Line  int
	Raw   string
}

// Stage is a FROM and the instructions under it.
type Stage struct {
	Base, Name   string
	Line         int
	Instructions []Instruction
}

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	File     string
	MetaArgs []Instruction // ARGs before the first FROM
	Stages   []Stage
}

// ParseDockerfile reads a Dockerfile with buildkit's parser. Errors name the file and,
// where the parser gives one, the line.
func ParseDockerfile(name string, data []byte) (*Dockerfile, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%s: not a text file", name)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	df := &Dockerfile{File: name}
	for _, n := range res.AST.Children {
		ins := Instruction{Cmd: strings.ToLower(n.Value), Flags: n.Flags, JSON: n.Attributes["json"], Line: n.StartLine, Raw: n.Original}
		for a := n.Next; a != nil; a = a.Next {
			ins.Args = append(ins.Args, a.Value)
		}
		if ins.Cmd == "env" || ins.Cmd == "label" {
			// The parser gives key, value, separator triplets; keep key, value pairs.
			var pairs []string
			for i := 0; i+1 < len(ins.Args); i += 3 {
				pairs = append(pairs, ins.Args[i], ins.Args[i+1])
			}
			ins.Args = pairs
		}
		if ins.Cmd == "from" {
			if len(ins.Args) == 0 {
				return nil, fmt.Errorf("%s:%d: FROM needs an image", name, ins.Line)
			}
			st := Stage{Base: ins.Args[0], Line: ins.Line}
			if len(ins.Args) >= 3 && strings.EqualFold(ins.Args[1], "as") {
				st.Name = ins.Args[2]
			}
			df.Stages = append(df.Stages, st)
			continue
		}
		if len(df.Stages) == 0 {
			if ins.Cmd == "arg" {
				df.MetaArgs = append(df.MetaArgs, ins)
				continue
			}
			return nil, fmt.Errorf("%s:%d: %s before the first FROM", name, ins.Line, strings.ToUpper(ins.Cmd))
		}
		last := &df.Stages[len(df.Stages)-1]
		last.Instructions = append(last.Instructions, ins)
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM instruction", name)
	}
	return df, nil
}

// Final is the stage that becomes the image.
func (d *Dockerfile) Final() *Stage { return &d.Stages[len(d.Stages)-1] }

// ResolveBase expands ${ARG} references in a FROM line with the ARG defaults.
func (d *Dockerfile) ResolveBase(base string) string {
	for i := 0; i < 4 && strings.Contains(base, "$"); i++ {
		for _, a := range d.MetaArgs {
			for _, kv := range a.Args {
				k, v, _ := strings.Cut(kv, "=")
				base = strings.ReplaceAll(base, "${"+k+"}", v)
				base = strings.ReplaceAll(base, "$"+k, v)
			}
		}
	}
	return base
}

// Command is the final stage's effective command line (ENTRYPOINT + CMD), joined, and
// the instruction it came from.
func (s *Stage) Command() (string, *Instruction) {
	var entry, cmd *Instruction
	for i := range s.Instructions {
		switch s.Instructions[i].Cmd {
		case "entrypoint":
			entry = &s.Instructions[i]
		case "cmd":
			cmd = &s.Instructions[i]
		}
	}
	var parts []string
	var at *Instruction
	if entry != nil {
		parts = append(parts, entry.Args...)
		at = entry
	}
	if cmd != nil {
		parts = append(parts, cmd.Args...)
		if at == nil {
			at = cmd
		}
	}
	return strings.Join(parts, " "), at
}
