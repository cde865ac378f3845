package azure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Change is one difference between what Azure has and what a deploy would PUT, at a
// JSON pointer into the resource.
type Change struct {
	Path string `json:"path"`
	Op   string `json:"op"`            // add, change or remove
	Old  string `json:"old,omitempty"` // compact JSON, shortened
	New  string `json:"new,omitempty"`
}

func (c Change) String() string {
	switch c.Op {
	case "add":
		return fmt.Sprintf("+ %s: %s", c.Path, c.New)
	case "remove":
		return fmt.Sprintf("- %s: %s", c.Path, c.Old)
	}
	return fmt.Sprintf("~ %s: %s -> %s", c.Path, c.Old, c.New)
}

// maxDiffDepth bounds the walk: Azure's answer is not trusted to be shallow.
const maxDiffDepth = 32

// Diff compares the resource Azure returned with the body pyship would PUT, as far as
// the body goes: every key pyship sets is compared, keys only Azure writes (ids,
// states, defaults it fills in) are not, except inside arrays, where an element more
// or fewer is a change. Key names compare without case, as Resource Manager's do.
// Documents never hold a secret value, so neither does a Change.
func Diff(current, desired []byte) ([]Change, error) {
	var cur, want any
	if err := json.Unmarshal(current, &cur); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(desired, &want); err != nil {
		return nil, err
	}
	var out []Change
	diffValue("", cur, want, 0, &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	if out == nil {
		out = []Change{}
	}
	return out, nil
}

func diffValue(path string, cur, want any, depth int, out *[]Change) {
	if depth > maxDiffDepth {
		if !reflect.DeepEqual(cur, want) {
			*out = append(*out, Change{Path: path, Op: "change", Old: short(cur), New: short(want)})
		}
		return
	}
	switch w := want.(type) {
	case map[string]any:
		c, ok := cur.(map[string]any)
		if !ok {
			*out = append(*out, Change{Path: path, Op: changeOp(cur), Old: short(cur), New: short(want)})
			return
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		// Azure's key for each key name without case, made once: a lookup per key
		// must not scan the whole object (a large answer would take quadratic time).
		folded := make(map[string]string, len(c))
		for k := range c {
			if _, dup := folded[strings.ToLower(k)]; !dup || k == strings.ToLower(k) {
				folded[strings.ToLower(k)] = k
			}
		}
		for _, k := range keys {
			p := path + "/" + escapePointer(k)
			cv, found := c[k]
			if !found {
				var ck string
				if ck, found = folded[strings.ToLower(k)]; found {
					cv = c[ck]
				}
			}
			if !found {
				*out = append(*out, Change{Path: p, Op: "add", New: short(w[k])})
				continue
			}
			diffValue(p, cv, w[k], depth+1, out)
		}
	case []any:
		c, ok := cur.([]any)
		if !ok {
			*out = append(*out, Change{Path: path, Op: changeOp(cur), Old: short(cur), New: short(want)})
			return
		}
		// Lists of named things (env, secrets, containers, app settings) are
		// compared by name, as Azure identifies their elements: a setting added in
		// the middle is one addition, not a shift of every one after it.
		if cn, wn := byName(c), byName(w); cn != nil && wn != nil {
			for _, n := range sortedNames(cn, wn) {
				p := fmt.Sprintf("%s[name=%s]", path, n)
				cv, inCur := cn[n]
				wv, inWant := wn[n]
				switch {
				case !inCur:
					*out = append(*out, Change{Path: p, Op: "add", New: short(wv)})
				case !inWant:
					*out = append(*out, Change{Path: p, Op: "remove", Old: short(cv)})
				default:
					diffValue(p, cv, wv, depth+1, out)
				}
			}
			return
		}
		for i := range max(len(c), len(w)) {
			p := path + "/" + strconv.Itoa(i)
			switch {
			case i >= len(c):
				*out = append(*out, Change{Path: p, Op: "add", New: short(w[i])})
			case i >= len(w):
				*out = append(*out, Change{Path: p, Op: "remove", Old: short(c[i])})
			default:
				diffValue(p, c[i], w[i], depth+1, out)
			}
		}
	default:
		// Values compare exactly (key names fold case), but for the two Azure
		// rewrites of what it was sent: a region comes back as its display name
		// ("West Europe"), and resource IDs in another case.
		if !reflect.DeepEqual(cur, want) && !sameAzureString(path, cur, want) {
			*out = append(*out, Change{Path: path, Op: changeOp(cur), Old: short(cur), New: short(want)})
		}
	}
}

// byName indexes a list whose elements are all objects with distinct string names
// (nil otherwise).
func byName(list []any) map[string]any {
	m := make(map[string]any, len(list))
	for _, e := range list {
		o, ok := e.(map[string]any)
		if !ok {
			return nil
		}
		n, ok := o["name"].(string)
		if !ok {
			return nil
		}
		if _, dup := m[n]; dup {
			return nil
		}
		m[n] = e
	}
	return m
}

func sortedNames(a, b map[string]any) []string {
	var out []string
	for n := range a {
		out = append(out, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func sameAzureString(path string, cur, want any) bool {
	c, ok1 := cur.(string)
	w, ok2 := want.(string)
	switch {
	case !ok1 || !ok2:
		return false
	case path == "/location":
		norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
		return norm(c) == norm(w)
	case strings.HasPrefix(strings.ToLower(w), "/subscriptions/"):
		return strings.EqualFold(c, w)
	}
	return false
}

func changeOp(cur any) string {
	if cur == nil {
		return "add"
	}
	return "change"
}

func escapePointer(k string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
}

// short is v as compact JSON, at most 120 bytes.
func short(v any) string {
	if v == nil {
		return ""
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	s := strings.TrimSpace(b.String())
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
