// Package offline evaluates Controls against objects read from manifests, with no cluster:
// what `kubectl isms eval` runs in CI. It takes the operator's own path through the core:
// objects become Subjects through internal/subject, Controls are compiled by the policy engine
// and registered in an evaluation.Evaluator, every Control is swept once, and its result is
// judged by evaluation.Judge. A Control therefore gets the verdict the operator would give it
// on a cluster holding the same objects.
//
// As in the operator, objects of the kinds no Control targets or lists in spec.inventory are
// ignored (the operator does not watch them), data.inventory holds the objects of the kinds the
// Controls list in spec.inventory, and the labels of Namespaces among the objects scope
// targets.namespaceSelector.
package offline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/subject"
)

// DefaultClusterNamespace is the operator's namespace, where the Findings of failing
// cluster-scoped subjects are filed.
const DefaultClusterNamespace = "isms-system"

// Options tune an evaluation. The zero value evaluates as the operator does by default.
type Options struct {
	// ClusterNamespace is where the Findings of failing cluster-scoped subjects would live (the
	// operator's namespace); default DefaultClusterNamespace.
	ClusterNamespace string
	// DefaultNamespace is given to namespaced objects that name no namespace, as kubectl apply
	// does with the context's namespace. Empty leaves them without one.
	DefaultNamespace string
	// Policy bounds each evaluation, as the operator's --evaluation-timeout does.
	Policy policy.Options
	// Now is the evaluator's clock; default time.Now.
	Now func() time.Time
	// Policies are the Policies that the controls' spec.policy.ref may name, as in the cluster.
	// When two have the same name, the last one counts. A reference to a Policy not among them
	// gives the control the result Error (PolicyNotFound), as the operator reports it.
	Policies []ismsv1.Policy
}

// Report is the result of an evaluation. Its JSON form is the output of
// `kubectl isms eval -o json` (see docs/cli.md).
type Report struct {
	// Objects is how many objects were evaluated or stored in the inventory.
	Objects int `json:"objects"`
	// Ignored is how many objects are of kinds no Control targets or reads.
	Ignored int `json:"ignored"`
	// Controls are the results, sorted by id then name.
	Controls []ControlResult `json:"controls"`
}

// ControlResult is one Control's verdict.
type ControlResult struct {
	Name     string               `json:"name"`
	ID       string               `json:"id"`
	Title    string               `json:"title,omitempty"`
	Severity ismsv1.Severity      `json:"severity"`
	Result   ismsv1.ControlResult `json:"result"`
	// Reason and Message are what the Control's Compliant condition (or, for a policy that
	// does not compile or a spec.policy.ref that cannot be used, its PolicyReady condition)
	// would say.
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Evaluated, Failing and Errored count subjects, as the Control's status does.
	Evaluated int `json:"evaluated"`
	Failing   int `json:"failing"`
	Errored   int `json:"errored"`
	// PolicyDigest is the sha256 of the Rego, as in the Control's status; empty when it does
	// not compile.
	PolicyDigest string `json:"policyDigest,omitempty"`
	// Namespaces hold the failing subjects by the namespace their Finding would live in,
	// sorted by namespace; subjects are sorted by kind, namespace and name.
	Namespaces []NamespaceFailures `json:"namespaces,omitempty"`
}

// NamespaceFailures are the failing subjects one Finding would list.
type NamespaceFailures struct {
	Namespace string           `json:"namespace"`
	Subjects  []FailingSubject `json:"subjects"`
}

// FailingSubject is one failing object and the policy's messages about it.
type FailingSubject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Namespace is the object's own namespace, empty for a cluster-scoped object.
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Messages  []string `json:"messages"`
}

// FailingSubjects returns every failing subject of the control, across namespaces.
func (c *ControlResult) FailingSubjects() []FailingSubject {
	var out []FailingSubject
	for _, ns := range c.Namespaces {
		out = append(out, ns.Subjects...)
	}
	return out
}

// Evaluate evaluates every control against the objects. A Control whose policy or parameters
// do not compile, whose spec.policy.ref names no Policy of opts.Policies or whose parameters
// do not match that Policy's schema, or whose selectors are invalid, gets the result Error (with
// the reason the operator would give in PolicyReady); the others are still
// evaluated. Objects are not modified. When two objects have the same identity (uid, or
// apiVersion, kind, namespace and name for objects without one), the last one counts. An error
// is returned only when ctx ends or an object cannot be converted.
func Evaluate(ctx context.Context, controls []ismsv1.Control, objects []*unstructured.Unstructured, opts Options) (Report, error) {
	if opts.ClusterNamespace == "" {
		opts.ClusterNamespace = DefaultClusterNamespace
	}
	inv := policy.NewInventory()
	engine := policy.NewEngine(inv, opts.Policy)
	ev := evaluation.NewEvaluator(inv, opts.ClusterNamespace, opts.Now)

	policies := make(map[string]*ismsv1.Policy, len(opts.Policies))
	for i := range opts.Policies {
		policies[opts.Policies[i].Name] = &opts.Policies[i]
	}

	results := make([]ControlResult, len(controls))
	// The operator watches Namespaces and the kinds of every Control it could register.
	watched := map[schema.GroupKind]bool{evaluation.NamespaceGroupKind: true}
	var inventoryKinds []schema.GroupKind
	var registered []int
	for i := range controls {
		c := &controls[i]
		r := &results[i]
		*r = ControlResult{Name: c.Name, ID: c.Spec.ID, Title: c.Spec.Title, Severity: c.Spec.Severity}
		def, err := Define(ctx, engine, c, policies)
		if err != nil {
			var ce *policy.CompileError
			var pe *params.Error
			switch {
			case errors.As(err, &pe):
				r.Result, r.Reason, r.Message = ismsv1.ResultError, pe.Reason, pe.Message
			case errors.As(err, &ce):
				r.Result, r.Reason, r.Message = ismsv1.ResultError, ismsv1.ReasonCompileError, ce.Message
			default:
				return Report{}, err
			}
			continue
		}
		r.PolicyDigest = def.Policy.Digest
		if err := ev.SetControl(def); err != nil {
			r.Result, r.Reason, r.Message = ismsv1.ResultError, ismsv1.ReasonTargetsUnresolved, err.Error()
			continue
		}
		for _, gk := range append(evaluation.GroupKinds(c.Spec.Targets.Kinds), evaluation.GroupKinds(c.Spec.Inventory)...) {
			watched[gk] = true
		}
		inventoryKinds = append(inventoryKinds, evaluation.GroupKinds(c.Spec.Inventory)...)
		registered = append(registered, i)
	}

	subjects, ignored, err := Subjects(objects, watched, opts.DefaultNamespace)
	if err != nil {
		return Report{}, err
	}
	for _, s := range subjects {
		if _, err := ev.Upsert(ctx, s); err != nil {
			return Report{}, err
		}
	}
	// The Upserts above only recorded the Namespaces' labels: events skip controls never swept.
	ofKinds := func(gks []schema.GroupKind) []*evaluation.Subject {
		var out []*evaluation.Subject
		for _, s := range subjects {
			if slices.Contains(gks, s.GroupKind()) {
				out = append(out, s)
			}
		}
		return out
	}
	if err := ev.LoadInventory(ctx, inventoryKinds, ofKinds); err != nil {
		return Report{}, err
	}
	// One sweep of every Control over the objects, as the operator's sweeper makes it.
	names := make([]string, 0, len(registered))
	for _, i := range registered {
		names = append(names, results[i].Name)
	}
	if _, err := ev.SweepControls(ctx, names, subjects); err != nil {
		return Report{}, err
	}
	for _, i := range registered {
		r := &results[i]
		sum := ev.Summarize(r.Name)
		verdict := evaluation.Judge(sum)
		r.Result, r.Reason, r.Message = verdict.Result, verdict.Reason, verdict.Message
		r.Evaluated, r.Failing, r.Errored = sum.Evaluated, sum.Failing, sum.Errored
		for _, ns := range sum.FailingNamespaces {
			failures, _ := ev.Failures(r.Name, ns)
			nf := NamespaceFailures{Namespace: ns}
			for _, f := range failures {
				fs := FailingSubject{
					APIVersion: f.Subject.APIVersion, Kind: f.Subject.Kind,
					Namespace: f.Subject.Namespace, Name: f.Subject.Name, Messages: []string{},
				}
				for _, v := range f.Violations {
					fs.Messages = append(fs.Messages, v.Message)
				}
				nf.Subjects = append(nf.Subjects, fs)
			}
			r.Namespaces = append(r.Namespaces, nf)
		}
	}
	sort.SliceStable(results, func(i, j int) bool {
		if results[i].ID != results[j].ID {
			return results[i].ID < results[j].ID
		}
		return results[i].Name < results[j].Name
	})
	return Report{Objects: len(subjects), Ignored: ignored, Controls: results}, nil
}

// Define resolves a Control's spec.policy.ref among policies (by name) and defines it with
// evaluation.Define, the function the operator's Control reconciler uses too.
func Define(ctx context.Context, engine *policy.Engine, control *ismsv1.Control, policies map[string]*ismsv1.Policy) (evaluation.ControlDefinition, error) {
	var referenced *ismsv1.Policy
	if ref := control.Spec.Policy.Ref; ref != nil {
		referenced = policies[ref.Name]
	}
	return evaluation.Define(ctx, engine, control, referenced)
}

// Subjects converts the objects of the watched kinds into Subjects, in their order, the last
// of two objects with the same identity replacing the first. A namespaced object without a
// namespace gets defaultNamespace; a cluster-scoped one loses the namespace it names, as the
// API server would drop it. It returns how many objects were of other kinds.
func Subjects(objects []*unstructured.Unstructured, watched map[schema.GroupKind]bool, defaultNamespace string) ([]*evaluation.Subject, int, error) {
	clusterScoped := ClusterScopedKinds(objects)
	conv := policy.NewConverter()
	var out []*evaluation.Subject
	index := map[types.UID]int{}
	ignored := 0
	for _, obj := range objects {
		gvk := obj.GroupVersionKind()
		if !watched[gvk.GroupKind()] {
			ignored++
			continue
		}
		u := obj.DeepCopy()
		switch {
		case clusterScoped[gvk.GroupKind()]:
			u.SetNamespace("")
		case u.GetNamespace() == "":
			u.SetNamespace(defaultNamespace)
		}
		s, err := subject.FromUnstructured(gvk, u, conv)
		if err != nil {
			return nil, 0, err
		}
		if i, ok := index[s.Key()]; ok {
			out[i] = s
			continue
		}
		index[s.Key()] = len(out)
		out = append(out, s)
	}
	return out, ignored, nil
}

// builtinClusterScoped are the cluster-scoped kinds Kubernetes serves; every other kind is
// taken to be namespaced unless a CustomResourceDefinition among the objects says otherwise.
var builtinClusterScoped = map[schema.GroupKind]bool{}

func init() {
	for group, kinds := range map[string][]string{
		"":                             {"Namespace", "Node", "PersistentVolume", "ComponentStatus"},
		"rbac.authorization.k8s.io":    {"ClusterRole", "ClusterRoleBinding"},
		"storage.k8s.io":               {"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"},
		"apiextensions.k8s.io":         {"CustomResourceDefinition"},
		"apiregistration.k8s.io":       {"APIService"},
		"admissionregistration.k8s.io": {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"},
		"scheduling.k8s.io":            {"PriorityClass"},
		"node.k8s.io":                  {"RuntimeClass"},
		"networking.k8s.io":            {"IngressClass", "IPAddress", "ServiceCIDR"},
		"certificates.k8s.io":          {"CertificateSigningRequest", "ClusterTrustBundle"},
		"flowcontrol.apiserver.k8s.io": {"FlowSchema", "PriorityLevelConfiguration"},
		"resource.k8s.io":              {"DeviceClass"},
		"policy":                       {"PodSecurityPolicy"},
		ismsv1.GroupVersion.Group:      {"Control", "Policy", "Risk"},
	} {
		for _, k := range kinds {
			builtinClusterScoped[schema.GroupKind{Group: group, Kind: k}] = true
		}
	}
}

// ClusterScopedKinds returns the cluster-scoped kinds Kubernetes serves, and those of the
// CustomResourceDefinitions among objects with scope Cluster.
func ClusterScopedKinds(objects []*unstructured.Unstructured) map[schema.GroupKind]bool {
	out := make(map[schema.GroupKind]bool, len(builtinClusterScoped))
	for gk := range builtinClusterScoped {
		out[gk] = true
	}
	for _, obj := range objects {
		if obj.GroupVersionKind().GroupKind() != (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
			continue
		}
		scope, _, _ := unstructured.NestedString(obj.Object, "spec", "scope")
		group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "kind")
		if scope == "Cluster" && kind != "" {
			out[schema.GroupKind{Group: group, Kind: kind}] = true
		}
	}
	return out
}

// severityRank orders severities; unknown ones rank below info.
var severityRank = map[ismsv1.Severity]int{
	ismsv1.SeverityCritical: 5, ismsv1.SeverityHigh: 4, ismsv1.SeverityMedium: 3,
	ismsv1.SeverityLow: 2, ismsv1.SeverityInfo: 1,
}

// SeverityRank is 5 for critical down to 1 for info, and 0 for anything else.
func SeverityRank(s ismsv1.Severity) int { return severityRank[s] }

// Threshold is the --fail-on level: a severity, or "none".
type Threshold string

// ThresholdNone never fails.
const ThresholdNone Threshold = "none"

// ParseThreshold accepts critical, high, medium, low, info and none.
func ParseThreshold(s string) (Threshold, error) {
	if s == string(ThresholdNone) || severityRank[ismsv1.Severity(s)] > 0 {
		return Threshold(s), nil
	}
	return "", fmt.Errorf("--fail-on must be one of critical, high, medium, low, info, none; got %q", s)
}

// Breaches reports whether a control's result fails the threshold: it is Fail or Error and its
// severity is at or above the threshold. A control that cannot be evaluated is counted, so that
// a policy that stops compiling does not pass CI silently.
func (t Threshold) Breaches(c ControlResult) bool {
	if t == ThresholdNone || t == "" {
		return false
	}
	if c.Result != ismsv1.ResultFail && c.Result != ismsv1.ResultError {
		return false
	}
	return SeverityRank(c.Severity) >= severityRank[ismsv1.Severity(t)]
}

// Breaches returns the controls of the report that fail the threshold.
func (r Report) Breaches(t Threshold) []ControlResult {
	var out []ControlResult
	for _, c := range r.Controls {
		if t.Breaches(c) {
			out = append(out, c)
		}
	}
	return out
}
