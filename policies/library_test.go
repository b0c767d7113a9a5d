package policies_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/isms-operator/isms-operator/internal/policy"
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
			t.Run("compile", func(t *testing.T) {
				if _, err := policy.NewEngine(policy.NewInventory(), policy.Options{}).Compile(context.Background(), p.Rego.Text); err != nil {
					t.Fatalf("%s: %v", p.Rego.Path, err)
				}
			})
			t.Run("unit-tests", func(t *testing.T) { runRegoTests(t, p) })
			for _, ex := range p.Examples {
				t.Run("example/"+exampleName(p, ex), func(t *testing.T) { checkExample(t, p, ex) })
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
	pkg := "package " + p.Package()
	if !strings.HasPrefix(strings.TrimSpace(p.Rego.Text), pkg+"\n") {
		t.Errorf("%s: must start with %q", p.Rego.Path, pkg)
	}
}

// runRegoTests runs the policy's test_* rules with OPA's test runner.
func runRegoTests(t *testing.T, p *policies.Policy) {
	modules := map[string]*ast.Module{}
	for _, src := range append([]policies.Source{p.Rego}, p.Tests...) {
		m, err := ast.ParseModuleWithOpts(src.Path, src.Text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatalf("%s: %v", src.Path, err)
		}
		modules[src.Path] = m
	}
	ctx := context.Background()
	ch, err := tester.NewRunner().
		SetDefaultRegoVersion(ast.RegoV1).
		SetStore(inmem.New()).
		SetParallel(1).
		SetModules(modules).
		RunTests(ctx, nil)
	if err != nil {
		t.Fatalf("%s: running the tests: %v", p.Dir, err)
	}
	n := 0
	for r := range ch {
		n++
		switch {
		case r.Error != nil:
			t.Errorf("%s: %s: error: %v", r.Location, r.Name, r.Error)
		case r.Fail:
			t.Errorf("%s: %s: FAIL", r.Location, r.Name)
		}
	}
	if n == 0 {
		t.Errorf("%s: no test_* rule found", p.Dir)
	}
}

// checkExample evaluates one example as the operator does: the objects converted once,
// inventory documents stored in the engine's inventory, parameters from policy.yaml.
func checkExample(t *testing.T, p *policies.Policy, ex policies.Example) {
	ctx := context.Background()
	if !targets(p.Metadata, ex.Subject) {
		t.Errorf("%s: the policy's targets do not cover %s %s", ex.Path, ex.Subject["apiVersion"], ex.Subject["kind"])
	}

	inv := policy.NewInventory()
	engine := policy.NewEngine(inv, policy.Options{})
	compiled, err := engine.Compile(ctx, p.Rego.Text)
	if err != nil {
		t.Fatalf("%s: %v", p.Rego.Path, err)
	}
	conv := policy.NewConverter()
	subject, err := convert(conv, ex.Subject)
	if err != nil {
		t.Fatalf("%s: %v", ex.Path, err)
	}
	// The operator keeps every watched object in the inventory, the subject included.
	if err := inv.Put(ctx, inventoryPath(ex.Subject), subject); err != nil {
		t.Fatalf("%s: %v", ex.Path, err)
	}
	for i, doc := range ex.Inventory {
		v, err := convert(conv, doc)
		if err != nil {
			t.Fatalf("%s: document %d: %v", ex.Path, i+2, err)
		}
		if err := inv.Put(ctx, inventoryPath(doc), v); err != nil {
			t.Fatalf("%s: document %d: %v", ex.Path, i+2, err)
		}
	}
	var params ast.Value
	if p.Metadata.Parameters != nil {
		if params, err = conv.Convert(p.Metadata.Parameters); err != nil {
			t.Fatalf("%s: parameters: %v", p.Dir, err)
		}
	}

	res, err := compiled.Evaluate(ctx, policy.Input{Object: subject, Parameters: params})
	if err != nil {
		t.Fatalf("%s: %v", ex.Path, err)
	}
	switch {
	case ex.Allowed && len(res.Violations) > 0:
		t.Errorf("%s: allowed example has %d violations: %s", ex.Path, len(res.Violations), messages(res))
	case !ex.Allowed && len(res.Violations) == 0:
		t.Errorf("%s: disallowed example has no violation", ex.Path)
	}
	for _, v := range res.Violations {
		if strings.TrimSpace(v.Message) == "" {
			t.Errorf("%s: a violation has an empty message", ex.Path)
		}
	}
}

// inventoryPath is where the operator stores obj under data.inventory.
func inventoryPath(obj map[string]any) storage.Path {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	return policy.InventoryPath(ns, apiVersion, kind, name)
}

// convert strips what the operator strips before converting (see controllers/subject.go).
func convert(conv *policy.Converter, obj map[string]any) (ast.Value, error) {
	if meta, ok := obj["metadata"].(map[string]any); ok {
		delete(meta, "managedFields")
		if ann, ok := meta["annotations"].(map[string]any); ok {
			delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		}
	}
	return conv.Convert(obj)
}

// targets reports whether the metadata's targets name the kind of obj.
func targets(m policies.Metadata, obj map[string]any) bool {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	for _, k := range m.Targets.Kinds {
		if slices.Contains(k.APIGroups, group) && slices.Contains(k.Kinds, kind) {
			return true
		}
	}
	return false
}

func exampleName(p *policies.Policy, ex policies.Example) string {
	name := ex.Path[strings.LastIndex(ex.Path, "/")+1:]
	if ex.Allowed {
		return "allowed/" + name
	}
	return "disallowed/" + name
}

func messages(res policy.Result) string {
	var b strings.Builder
	for _, v := range res.Violations {
		fmt.Fprintf(&b, "\n\t%s", v.Message)
	}
	return b.String()
}
