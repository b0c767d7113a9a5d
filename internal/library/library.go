// Package library runs the checks of a policy library (see policies/README.md) and turns its
// policies into Controls. `kubectl isms test` and the library's own Go test (policies/) share
// RunTests, so that a policy that passes one passes the other.
package library

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/subject"
	"github.com/isms-operator/isms-operator/policies"
)

// Results are the outcomes of RunTests, one per policy in the order given.
type Results struct {
	Policies []PolicyResult `json:"policies"`
}

// PolicyResult is the outcome of one policy's checks.
type PolicyResult struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
	// CompileError says why policy.rego does not compile through the operator's engine (with
	// its sandbox); the tests and examples are then not run.
	CompileError string `json:"compileError,omitempty"`
	// Errors are other problems that fail the policy: a test file that does not parse, no
	// test_* rule at all, or a Control generated from it that the operator would refuse (a
	// kind its Rego reads from data.inventory that policy.yaml does not list).
	Errors   []string        `json:"errors,omitempty"`
	Tests    []TestResult    `json:"tests"`
	Examples []ExampleResult `json:"examples"`
}

// TestResult is one test_* rule.
type TestResult struct {
	// Name is package.rule, e.g. data.isms.library.no_host_pid_test.test_host_pid.
	Name     string        `json:"name"`
	Location string        `json:"location"`
	Pass     bool          `json:"pass"`
	Skip     bool          `json:"skip,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
}

// ExampleResult is one example manifest evaluated as the operator evaluates it.
type ExampleResult struct {
	Path    string `json:"path"`
	Allowed bool   `json:"allowed"`
	Pass    bool   `json:"pass"`
	// Violations are the messages of the policy on the subject.
	Violations []string `json:"violations,omitempty"`
	// Problem says why the example fails, when it does.
	Problem string `json:"problem,omitempty"`
}

// Name is allowed/<file> or disallowed/<file>.
func (e ExampleResult) Name() string {
	dir := "disallowed/"
	if e.Allowed {
		dir = "allowed/"
	}
	return dir + path.Base(strings.ReplaceAll(e.Path, "\\", "/"))
}

// Failed reports whether anything of the policy failed.
func (p PolicyResult) Failed() bool {
	if p.CompileError != "" || len(p.Errors) > 0 {
		return true
	}
	for _, t := range p.Tests {
		if !t.Pass && !t.Skip {
			return true
		}
	}
	for _, e := range p.Examples {
		if !e.Pass {
			return true
		}
	}
	return false
}

// Counts returns how many tests and examples passed, failed (failures, errors and policy-level
// problems) and were skipped.
func (r Results) Counts() (passed, failed, skipped int) {
	for _, p := range r.Policies {
		if p.CompileError != "" {
			failed++
		}
		failed += len(p.Errors)
		for _, t := range p.Tests {
			switch {
			case t.Skip:
				skipped++
			case t.Pass:
				passed++
			default:
				failed++
			}
		}
		for _, e := range p.Examples {
			if e.Pass {
				passed++
			} else {
				failed++
			}
		}
	}
	return passed, failed, skipped
}

// Failed reports whether any policy failed.
func (r Results) Failed() bool {
	for _, p := range r.Policies {
		if p.Failed() {
			return true
		}
	}
	return false
}

// RunTests checks every policy: policy.rego compiles through the operator's engine (so that the
// sandbox applies: http.send, net.*, opa.runtime, trace and print do not exist), its test_*
// rules pass under OPA's test runner, and every example gets the verdict its directory
// promises when evaluated as the operator evaluates. It stops early only if ctx ends.
func RunTests(ctx context.Context, lib []policies.Policy) Results {
	out := Results{Policies: make([]PolicyResult, 0, len(lib))}
	for i := range lib {
		if ctx.Err() != nil {
			break
		}
		out.Policies = append(out.Policies, RunPolicy(ctx, &lib[i]))
	}
	return out
}

// RunPolicy runs the checks of one policy.
func RunPolicy(ctx context.Context, p *policies.Policy) PolicyResult {
	res := PolicyResult{Name: p.Name, Dir: p.Dir, Tests: []TestResult{}, Examples: []ExampleResult{}}
	if _, err := policy.NewEngine(policy.NewInventory(), policy.Options{}).Compile(ctx, p.Rego.Text); err != nil {
		res.CompileError = fmt.Sprintf("%s: %v", p.Rego.Path, err)
		return res
	}
	if err := defineControl(ctx, p); err != nil {
		res.Errors = append(res.Errors, err.Error())
	}
	tests, err := runRegoTests(ctx, p)
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
	}
	res.Tests = append(res.Tests, tests...)
	if err == nil && len(tests) == 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%s: no test_* rule found", p.Dir))
	}
	for _, ex := range p.Examples {
		res.Examples = append(res.Examples, runExample(ctx, p, ex))
	}
	return res
}

// defineControl defines the Control and Policy generated from the library policy as the
// operator does (evaluation.Define): its default parameters must match its schema, and the
// kinds its Rego reads from data.inventory must be listed under inventory in policy.yaml.
func defineControl(ctx context.Context, p *policies.Policy) error {
	pol, err := libraryPolicy(p, nil)
	if err != nil {
		return err
	}
	c, err := libraryControl(p, nil, "library")
	if err != nil {
		return err
	}
	if _, err := evaluation.Define(ctx, policy.NewEngine(policy.NewInventory(), policy.Options{}), &c, &pol); err != nil {
		return fmt.Errorf("%s: defined as a Control: %w", p.Dir, err)
	}
	return nil
}

// runRegoTests runs the policy's test_* rules with OPA's test runner.
func runRegoTests(ctx context.Context, p *policies.Policy) ([]TestResult, error) {
	modules := map[string]*ast.Module{}
	for _, src := range append([]policies.Source{p.Rego}, p.Tests...) {
		m, err := ast.ParseModuleWithOpts(src.Path, src.Text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", src.Path, err)
		}
		modules[src.Path] = m
	}
	ch, err := tester.NewRunner().
		SetDefaultRegoVersion(ast.RegoV1).
		SetStore(inmem.New()).
		SetParallel(1).
		SetModules(modules).
		RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: running the tests: %v", p.Dir, err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	// In the order of the test files, whatever order the runner finished them in.
	sort.SliceStable(results, func(i, j int) bool {
		a, b := results[i].Location, results[j].Location
		if a == nil || b == nil {
			return b != nil
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Row < b.Row
	})
	var out []TestResult
	for _, r := range results {
		t := TestResult{
			Name:     strings.TrimPrefix(r.Package, "data.") + "." + r.Name,
			Pass:     !r.Fail && r.Error == nil && !r.Skip,
			Skip:     r.Skip,
			Duration: r.Duration,
		}
		if r.Location != nil {
			t.Location = r.Location.String()
		}
		if r.Error != nil {
			t.Error = r.Error.Error()
		}
		out = append(out, t)
	}
	return out, nil
}

// runExample evaluates one example as the operator does: the objects converted as its watches
// convert them (internal/subject), the documents of the kinds the policy declares under
// inventory stored in the engine's inventory, the parameters of policy.yaml as
// input.parameters.
func runExample(ctx context.Context, p *policies.Policy, ex policies.Example) ExampleResult {
	res := ExampleResult{Path: ex.Path, Allowed: ex.Allowed}
	fail := func(format string, args ...any) ExampleResult {
		res.Problem = fmt.Sprintf(format, args...)
		return res
	}
	if !targets(p.Metadata, ex.Subject) {
		return fail("the policy's targets do not cover %s %s", ex.Subject["apiVersion"], ex.Subject["kind"])
	}
	inv := policy.NewInventory()
	engine := policy.NewEngine(inv, policy.Options{})
	compiled, err := engine.Compile(ctx, p.Rego.Text)
	if err != nil {
		return fail("%s: %v", p.Rego.Path, err)
	}
	conv := policy.NewConverter()
	subjectValue, err := loadExample(ctx, p, ex, inv, conv)
	if err != nil {
		return fail("%v", err)
	}
	var params ast.Value
	if p.Metadata.Parameters != nil {
		if params, err = conv.Convert(p.Metadata.Parameters); err != nil {
			return fail("%s: parameters: %v", p.Dir, err)
		}
	}
	result, err := compiled.Evaluate(ctx, policy.Input{Object: subjectValue, Parameters: params})
	if err != nil {
		return fail("evaluating: %v", err)
	}
	for _, v := range result.Violations {
		res.Violations = append(res.Violations, v.Message)
	}
	if problem := violationsProblem(ex.Allowed, res.Violations); problem != "" {
		return fail("%s", problem)
	}
	res.Pass = true
	return res
}

// loadExample converts an example's documents as the operator's watches do, stores those of the
// kinds the policy declares under inventory in inv, and returns the value of the subject (the
// first document).
func loadExample(ctx context.Context, p *policies.Policy, ex policies.Example, inv *policy.Inventory, conv *policy.Converter) (ast.Value, error) {
	declared := evaluation.GroupKinds(p.Metadata.Inventory)
	var subjectValue ast.Value
	for i, doc := range append([]map[string]any{ex.Subject}, ex.Inventory...) {
		u := (&unstructured.Unstructured{Object: doc}).DeepCopy()
		s, err := subject.FromUnstructured(u.GroupVersionKind(), u, conv)
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", i+1, err)
		}
		value := s.Materialize()
		if i == 0 {
			subjectValue = value
		}
		// The operator keeps the kinds a policy declares under inventory in data.inventory, and
		// only those: an example that needs another kind there would pass here and fail in a
		// cluster.
		if !slices.Contains(declared, s.GroupKind()) {
			if i == 0 {
				continue
			}
			return nil, fmt.Errorf("document %d: %s is not a kind the policy declares under inventory", i+1, s.GroupKind())
		}
		if err := inv.Put(ctx, s.InventoryPath(), value); err != nil {
			return nil, fmt.Errorf("document %d: %v", i+1, err)
		}
	}
	return subjectValue, nil
}

// violationsProblem says what is wrong with an example's violations, if anything: an allowed
// example has none, a disallowed one some, and every message says something.
func violationsProblem(allowed bool, violations []string) string {
	switch {
	case allowed && len(violations) > 0:
		return fmt.Sprintf("allowed example has %d violation(s)", len(violations))
	case !allowed && len(violations) == 0:
		return "disallowed example has no violation"
	}
	for _, m := range violations {
		if strings.TrimSpace(m) == "" {
			return "a violation has an empty message"
		}
	}
	return ""
}

// targets reports whether the metadata's targets name the kind of obj.
func targets(m policies.Metadata, obj map[string]any) bool {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return false
	}
	for _, k := range m.Targets.Kinds {
		if slices.Contains(k.APIGroups, gv.Group) && slices.Contains(k.Kinds, kind) {
			return true
		}
	}
	return false
}

// DefaultOwner is spec.owner of the Controls generated from the library (as hack/gen-library).
const DefaultOwner = "platform-security"

// Controls returns what hack/gen-library generates from the policies (config/library): for
// each policy a Policy named isms-lib-<name> holding the Rego and the parametersSchema of
// policy.yaml, and a Control of the same name that references it (spec.policy.ref), with the
// id, title, description, severity, frameworks, targets, inventory and parameters of
// policy.yaml and the given owner. The Controls and Policies are in the order of lib.
func Controls(lib []policies.Policy, owner string) ([]ismsv1.Control, []ismsv1.Policy, error) {
	controls := make([]ismsv1.Control, 0, len(lib))
	pols := make([]ismsv1.Policy, 0, len(lib))
	for i := range lib {
		p := &lib[i]
		labels := map[string]string{
			"app.kubernetes.io/name":       "isms-operator",
			"app.kubernetes.io/part-of":    "isms-policy-library",
			"isms.dev/library-policy":      p.Name,
			"app.kubernetes.io/managed-by": "kustomize",
		}
		pol, err := libraryPolicy(p, labels)
		if err != nil {
			return nil, nil, err
		}
		c, err := libraryControl(p, maps.Clone(labels), owner)
		if err != nil {
			return nil, nil, err
		}
		controls = append(controls, c)
		pols = append(pols, pol)
	}
	return controls, pols, nil
}

// libraryPolicy is the Policy generated from a library policy: its Rego and parametersSchema.
func libraryPolicy(p *policies.Policy, labels map[string]string) (ismsv1.Policy, error) {
	pol := ismsv1.Policy{
		TypeMeta:   metav1.TypeMeta{APIVersion: ismsv1.GroupVersion.String(), Kind: "Policy"},
		ObjectMeta: metav1.ObjectMeta{Name: p.PolicyName(), Labels: labels},
		Spec: ismsv1.PolicySpec{
			Description: p.Metadata.Description,
			// gen-library writes the Rego as a YAML literal block, which keeps one final
			// newline.
			Rego: strings.TrimRight(p.Rego.Text, "\n") + "\n",
		},
	}
	if p.Metadata.ParametersSchema != nil {
		js, err := json.Marshal(p.Metadata.ParametersSchema)
		if err != nil {
			return ismsv1.Policy{}, fmt.Errorf("%s: parametersSchema: %w", p.Dir, err)
		}
		pol.Spec.ParametersSchema = &apiextensionsv1.JSON{Raw: js}
	}
	return pol, nil
}

// libraryControl is the Control generated from a library policy, referencing its Policy.
func libraryControl(p *policies.Policy, labels map[string]string, owner string) (ismsv1.Control, error) {
	c := ismsv1.Control{
		TypeMeta:   metav1.TypeMeta{APIVersion: ismsv1.GroupVersion.String(), Kind: "Control"},
		ObjectMeta: metav1.ObjectMeta{Name: p.ControlName(), Labels: labels},
		Spec: ismsv1.ControlSpec{
			ID:          p.Metadata.ID,
			Title:       p.Metadata.Title,
			Description: p.Metadata.Description,
			Owner:       owner,
			Severity:    ismsv1.Severity(p.Metadata.Severity),
			Policy:      ismsv1.PolicySource{Ref: &ismsv1.PolicyReference{Name: p.PolicyName()}},
			// Unset stays unset (the API server defaults it to Error), as gen-library writes it.
			WhenKindsNotServed: ismsv1.KindsNotServedAction(p.Metadata.WhenKindsNotServed),
		},
	}
	// Deep copies: the Controls must not share slices with the loaded library.
	for _, f := range p.Metadata.Frameworks {
		c.Spec.Frameworks = append(c.Spec.Frameworks, *f.DeepCopy())
	}
	c.Spec.Targets = *p.Metadata.Targets.DeepCopy()
	for _, k := range p.Metadata.Inventory {
		c.Spec.Inventory = append(c.Spec.Inventory, *k.DeepCopy())
	}
	if p.Metadata.Parameters != nil {
		js, err := json.Marshal(p.Metadata.Parameters)
		if err != nil {
			return ismsv1.Control{}, fmt.Errorf("%s: parameters: %w", p.Dir, err)
		}
		c.Spec.Parameters = &apiextensionsv1.JSON{Raw: js}
	}
	return c, nil
}
