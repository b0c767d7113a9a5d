package policy

import (
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// pathsOf builds ObjectPaths: each path is whole, or, ending in "{}", kept without children.
func pathsOf(paths ...[]string) *ObjectPaths {
	p := &ObjectPaths{}
	for _, path := range paths {
		if n := len(path); n > 0 && path[n-1] == "{}" {
			p.add(path[:n-1], false)
			continue
		}
		p.add(path, true)
	}
	return p
}

func mustJSON(t *testing.T, s string) ast.Value {
	t.Helper()
	var m any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	v, err := ast.InterfaceToValue(toInt64(m))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCompactValueOf(t *testing.T) {
	tests := map[string]struct {
		paths *ObjectPaths
		want  string
	}{
		"nil is the whole object": {nil, ""},
		"a subtree": {pathsOf([]string{"kind"}, []string{"spec", "template", "spec"}),
			`{"kind":"Deployment","spec":{"template":` + templateJSON + `}}`},
		"a leaf": {pathsOf([]string{"metadata", "name"}), `{"metadata":{"name":"api"}}`},
		"an array stops the path": {pathsOf([]string{"spec", "template", "spec", "containers", "image"}),
			`{"spec":{"template":{"spec":{"containers":` + containersJSON + `}}}}`},
		"missing keys are left out":    {pathsOf([]string{"spec", "missing", "x"}, []string{"nope"}), `{"spec":{}}`},
		"kept without children":        {pathsOf([]string{"status", "{}"}), `{"status":{}}`},
		"a scalar on the path is kept": {pathsOf([]string{"metadata", "name", "x"}), `{"metadata":{"name":"api"}}`},
		"no paths":                     {pathsOf(), `{}`},
	}
	obj := deploymentJSON(t)
	whole, err := ast.InterfaceToValue(obj)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := NewConverter().Compact(obj) // alone: nothing is shared with other objects
			if err != nil {
				t.Fatal(err)
			}
			want := whole
			if tc.want != "" {
				want = mustJSON(t, tc.want)
			}
			for range 2 { // a compact form builds any number of values
				if got := d.ValueOf(tc.paths); got.Compare(want) != 0 || got.Hash() != want.Hash() {
					t.Errorf("got  %v\nwant %v", got, want)
				}
			}
			if got := d.Value(); got.Compare(whole) != 0 {
				t.Errorf("Value after ValueOf: got %v", got)
			}
		})
	}
}

const (
	containersJSON = `[{"name":"app","image":"registry.example.com/app:1.2.3","securityContext":{"privileged":true}},{"name":"proxy","image":"proxy:1"}]`
	templateJSON   = `{"spec":{"containers":` + containersJSON + `,"hostPID":false}}`
)

func deploymentJSON(t *testing.T) map[string]any {
	var m map[string]any
	src := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api","namespace":"shop","labels":{"app":"api"}},
		"spec":{"replicas":3,"template":` + templateJSON + `},"status":{"replicas":3,"conditions":[{"type":"Available"}]}}`
	if err := json.Unmarshal([]byte(src), &m); err != nil {
		t.Fatal(err)
	}
	return toInt64(m).(map[string]any)
}

// Shared subtrees (a subtree other objects hold too) are one term: ValueOf keeps them whole.
func TestCompactValueOfKeepsSharedSubtrees(t *testing.T) {
	c := NewConverter()
	var d *Compact
	for range 8 {
		var err error
		if d, err = c.Compact(deploymentJSON(t)); err != nil {
			t.Fatal(err)
		}
	}
	got := d.ValueOf(pathsOf([]string{"spec", "template", "spec", "hostPID"}))
	full := d.Value()
	spec, err := full.Find(ast.MustParseRef("x.spec.template.spec")[1:])
	if err != nil {
		t.Fatal(err)
	}
	gotSpec, err := got.Find(ast.MustParseRef("x.spec.template.spec")[1:])
	if err != nil {
		t.Fatal(err)
	}
	if gotSpec.Compare(spec) != 0 {
		t.Errorf("a shared pod spec is cut: got %v, want %v", gotSpec, spec)
	}
	if _, err := got.Find(ast.MustParseRef("x.status")[1:]); err == nil {
		t.Error("status, on no path, is in the value")
	}
}

func TestCompactKind(t *testing.T) {
	tests := map[string]struct {
		obj  string
		kind string
		ok   bool
	}{
		"a kind":          {`{"apiVersion":"v1","metadata":{"name":"x","labels":{"kind":"no"}},"kind":"Pod"}`, "Pod", true},
		"no kind":         {`{"apiVersion":"v1","metadata":{"kind":"Pod"}}`, "", false},
		"a kind not text": {`{"kind":{"name":"Pod"}}`, "", false},
		"a number":        {`{"kind":3}`, "", false},
		"empty":           {`{"kind":""}`, "", true},
	}
	c := NewConverter()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal([]byte(tc.obj), &m); err != nil {
				t.Fatal(err)
			}
			d, err := c.Compact(m)
			if err != nil {
				t.Fatal(err)
			}
			if kind, ok := d.Kind(); kind != tc.kind || ok != tc.ok {
				t.Errorf("got %q, %v; want %q, %v", kind, ok, tc.kind, tc.ok)
			}
		})
	}
}
