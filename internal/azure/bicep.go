package azure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// bicepIdent is a Bicep identifier: a key written bare, or a symbolic name.
var bicepIdent = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// bicepFile declares a resource body in Bicep, the language az deployment group create
// --template-file also takes: the same keys in the same order as the body (it is one
// resource, checked against Azure's definition before it gets here), its name first.
// Bicep has no fractional numbers: 0.5 cores is json('0.5'), as Azure's own Container
// Apps samples write it.
func bicepFile(target, kind, typ, apiVersion, name string, body []byte) ([]byte, error) {
	var b bytes.Buffer
	ns, _, _ := strings.Cut(typ, "/")
	b.WriteString("// " + strings.TrimPrefix(header(target, kind, name, ns+" "+apiVersion), "# "))
	fmt.Fprintf(&b, "// az deployment group create --resource-group RG --template-file THIS_FILE\n")
	// The symbolic name is the file's own ("app": one resource per file), not the app's
	// name, which could be a Bicep keyword or function (json, null, sys).
	fmt.Fprintf(&b, "resource app '%s@%s' = {\n  name: %s\n", typ, apiVersion, bicepString(name))
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("bicep: the body is not an object")
	}
	if err := bicepMembers(dec, &b, 1); err != nil {
		return nil, err
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// bicepString quotes s as a Bicep string: single quotes, with ', \ and ${ escaped.
func bicepString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "${", `\${`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return "'" + r.Replace(s) + "'"
}

// bicepMembers writes an object's members, one per line, until its closing brace.
func bicepMembers(dec *json.Decoder, b *bytes.Buffer, depth int) error {
	if depth > maxDiffDepth {
		return fmt.Errorf("bicep: the document nests deeper than %d", maxDiffDepth)
	}
	indent := strings.Repeat("  ", depth)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := t.(string)
		if !ok {
			return fmt.Errorf("bicep: a key that is not a string")
		}
		if !bicepIdent.MatchString(key) {
			key = bicepString(key)
		}
		b.WriteString(indent + key + ": ")
		if err := bicepValue(dec, b, depth); err != nil {
			return err
		}
		b.WriteByte('\n')
	}
	_, err := dec.Token() // }
	return err
}

// bicepValue writes the next value; a nested object or array opens on this line and
// closes on its own at depth's indentation.
func bicepValue(dec *json.Decoder, b *bytes.Buffer, depth int) error {
	t, err := dec.Token()
	if err == io.EOF {
		return fmt.Errorf("bicep: the document ends early")
	}
	if err != nil {
		return err
	}
	indent := strings.Repeat("  ", depth)
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			if !dec.More() {
				dec.Token()
				b.WriteString("{}")
				return nil
			}
			b.WriteString("{\n")
			if err := bicepMembers(dec, b, depth+1); err != nil {
				return err
			}
			b.WriteString(indent + "}")
		case '[':
			if !dec.More() {
				dec.Token()
				b.WriteString("[]")
				return nil
			}
			b.WriteString("[\n")
			for dec.More() {
				b.WriteString(indent + "  ")
				if err := bicepValue(dec, b, depth+1); err != nil {
					return err
				}
				b.WriteByte('\n')
			}
			dec.Token() // ]
			b.WriteString(indent + "]")
		default:
			return fmt.Errorf("bicep: unexpected %v", v)
		}
	case string:
		b.WriteString(bicepString(v))
	case json.Number:
		if _, err := v.Int64(); err == nil {
			b.WriteString(v.String())
		} else {
			b.WriteString("json(" + bicepString(v.String()) + ")")
		}
	case bool:
		fmt.Fprint(b, v)
	case nil:
		b.WriteString("null")
	}
	return nil
}
