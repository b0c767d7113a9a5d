package policies_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/isms-operator/isms-operator/internal/library"
	"github.com/isms-operator/isms-operator/policies"
)

// TestLibrary checks every policy of the library: its metadata, that it compiles through the
// operator's engine (sandbox included), that its Rego unit tests pass, and that each example
// gets the verdict its directory promises when evaluated the way the operator evaluates.
func TestLibrary(t *testing.T) {
	lib, err := policies.Load(".")
	if err != nil {
		t.Fatalf("loading the library: %v", err)
	}
	if len(lib) == 0 {
		t.Fatal("the library holds no policy")
	}

	// The embedded copy must hold the same policies as the directory.
	embedded, err := policies.LoadFS(policies.FS)
	if err != nil {
		t.Fatalf("loading the embedded library: %v", err)
	}
	if len(embedded) != len(lib) {
		t.Errorf("embedded library has %d policies, directory has %d", len(embedded), len(lib))
	}

	ids := map[string]string{}
	for i := range lib {
		p := &lib[i]
		if other, ok := ids[p.Metadata.ID]; ok {
			t.Errorf("%s: id %s is already used by %s", p.Dir, p.Metadata.ID, other)
		}
		ids[p.Metadata.ID] = p.Name
		t.Run(p.Name, func(t *testing.T) {
			t.Run("metadata", func(t *testing.T) { checkMetadata(t, p) })
			// The checks `kubectl isms test` runs: compile through the engine, Rego unit
			// tests, examples evaluated as the operator evaluates (internal/library).
			res := library.RunPolicy(context.Background(), p)
			t.Run("compile", func(t *testing.T) {
				if res.CompileError != "" {
					t.Fatal(res.CompileError)
				}
			})
			t.Run("unit-tests", func(t *testing.T) {
				for _, e := range res.Errors {
					t.Error(e)
				}
				for _, r := range res.Tests {
					switch {
					case r.Error != "":
						t.Errorf("%s: %s: error: %s", r.Location, r.Name, r.Error)
					case !r.Pass && !r.Skip:
						t.Errorf("%s: %s: FAIL", r.Location, r.Name)
					}
				}
			})
			for _, ex := range res.Examples {
				t.Run("example/"+ex.Name(), func(t *testing.T) {
					if !ex.Pass {
						t.Errorf("%s: %s%s", ex.Path, ex.Problem, messages(ex.Violations))
					}
				})
			}
		})
	}
}

func checkMetadata(t *testing.T, p *policies.Policy) {
	m := p.Metadata
	if len(m.Frameworks) == 0 || m.Frameworks[0].Framework != "iso27001-2022" {
		t.Errorf("%s: the first framework mapping must be iso27001-2022", p.Dir)
	}
	if len(m.Description) < 200 {
		t.Errorf("%s: the description (%d characters) must give the rationale, scope and remediation", p.Dir, len(m.Description))
	}
	var allowed, disallowed int
	for _, ex := range p.Examples {
		if ex.Allowed {
			allowed++
		} else {
			disallowed++
		}
	}
	if allowed == 0 || disallowed == 0 {
		t.Errorf("%s: needs at least one allowed and one disallowed example (has %d and %d)", p.Dir, allowed, disallowed)
	}
	if len(p.Tests) == 0 {
		t.Errorf("%s: has no *_test.rego file", p.Dir)
	}
	if m.Parameters != nil && m.ParametersSchema == nil {
		t.Errorf("%s: parameters are set but parametersSchema does not describe them", p.Dir)
	}
	if props, ok := m.ParametersSchema["properties"].(map[string]any); ok {
		for name := range m.Parameters {
			if _, ok := props[name]; !ok {
				t.Errorf("%s: parameter %q is not described in parametersSchema.properties", p.Dir, name)
			}
		}
	}
	checkToolKinds(t, p)
	pkg := "package " + p.Package()
	if !strings.HasPrefix(strings.TrimSpace(p.Rego.Text), pkg+"\n") {
		t.Errorf("%s: must start with %q", p.Rego.Path, pkg)
	}
}

// builtinGroups are the API groups of the Kubernetes API server itself: their kinds are
// served on every cluster.
var builtinGroups = map[string]bool{"": true, "apps": true, "batch": true, "networking.k8s.io": true,
	"rbac.authorization.k8s.io": true, "policy": true, "storage.k8s.io": true, "autoscaling": true}

// checkToolKinds: a policy that reads another tool's kinds (an API group outside the built-in
// ones) sets whenKindsNotServed, so that its Control says so where the tool is not installed
// instead of being Error; its description names the tool.
func checkToolKinds(t *testing.T, p *policies.Policy) {
	m := p.Metadata
	switch m.WhenKindsNotServed {
	case "", "Error", "NotApplicable":
	default:
		t.Errorf("%s: whenKindsNotServed %q is neither Error nor NotApplicable", p.Dir, m.WhenKindsNotServed)
	}
	var tool []string
	for _, sel := range append(append([]policies.KindSelector{}, m.Targets.Kinds...), m.Inventory...) {
		for _, g := range sel.APIGroups {
			if !builtinGroups[g] {
				tool = append(tool, g)
			}
		}
	}
	if len(tool) > 0 && m.WhenKindsNotServed == "" {
		t.Errorf("%s: reads kinds of %v, which only a tool defines, but does not set whenKindsNotServed", p.Dir, tool)
	}
}

func messages(violations []string) string {
	var b strings.Builder
	for _, v := range violations {
		fmt.Fprintf(&b, "\n\t%s", v)
	}
	return b.String()
}
