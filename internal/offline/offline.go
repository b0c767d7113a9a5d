// Package offline evaluates Controls against objects read from manifests, with no cluster:
// what `kubectl isms eval` runs in CI. It takes the operator's own path through the core:
// objects become Subjects through internal/subject, Controls are compiled by the policy engine
// and registered in an evaluation.Evaluator, every Control is swept once, and its result is
// judged by evaluation.Judge. A Control therefore gets the verdict the operator would give it
// on a cluster holding the same objects.
//
// As in the operator, objects of the kinds no Control targets or lists in spec.inventory are
// ignored (the operator does not watch them), data.inventory holds the objects of the kinds the
// Controls list in spec.inventory, the labels of Namespaces among the objects scope
// targets.namespaceSelector, and the ControlExceptions given exempt failing subjects through
// internal/exception, as the Control reconciler applies them.
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
	"github.com/isms-operator/isms-operator/internal/exception"
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
	// Now is the evaluator's clock, read once for the exceptions; default time.Now.
	Now func() time.Time
	// Policies are the Policies that the controls' spec.policy.ref may name, as in the cluster.
	// When two have the same name, the last one counts. A reference to a Policy not among them
	// gives the control the result Error (PolicyNotFound), as the operator reports it.
	Policies []ismsv1.Policy
	// Exceptions are the ControlExceptions, as in the cluster. Those active at Now exempt the
	// failing subjects they select from the controls they name.
	Exceptions []ismsv1.ControlException
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
	// Evaluated, Failing, Errored and Excepted count subjects, as the Control's status does:
	// the excepted subjects (exempted by an active ControlException) are not failing.
	Evaluated int `json:"evaluated"`
	Failing   int `json:"failing"`
	Errored   int `json:"errored"`
	Excepted  int `json:"excepted"`
	// PolicyDigest is the sha256 of the Rego, as in the Control's status; empty when it does
	// not compile.
	PolicyDigest string `json:"policyDigest,omitempty"`
	// Namespaces hold the failing and the excepted subjects by the namespace their Finding
	// would live in, sorted by namespace; subjects are sorted by kind, namespace and name.
	Namespaces []NamespaceFailures `json:"namespaces,omitempty"`
}

// NamespaceFailures are the failing subjects one Finding would list. When every failing
// subject of the namespace is excepted, Subjects is empty and the Finding would not be open.
type NamespaceFailures struct {
	Namespace string           `json:"namespace"`
	Subjects  []FailingSubject `json:"subjects"`
	// Excepted are the failing subjects that an active ControlException exempts.
	Excepted []ExceptedSubject `json:"excepted,omitempty"`
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

// ExceptedSubject is a failing object that a ControlException exempts.
type ExceptedSubject struct {
	FailingSubject
	// Exception names the ControlException.
	Exception string `json:"exception"`
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
// evaluated. The failing subjects that an exception of opts.Exceptions exempts at opts.Now are
// excepted, as in the operator: they do not count as failing. Objects are not modified. When
// two objects have the same identity (uid, or apiVersion, kind, namespace and name for objects
// without one), the last one counts. An error is returned only when ctx ends or an object
// cannot be converted.
func Evaluate(ctx context.Context, controls []ismsv1.Control, objects []*unstructured.Unstructured, opts Options) (Report, error) {
	return EvaluateObjects(ctx, controls, objectList(objects), opts)
}

// Objects are the objects an evaluation reads, handed over one at a time: a caller can keep
// them in a compact form (the CLI keeps each manifest's JSON) and never hold them all decoded.
type Objects interface {
	// Len is how many objects there are.
	Len() int
	// GroupVersionKind of the i-th object, known without decoding it.
	GroupVersionKind(i int) schema.GroupVersionKind
	// Decode returns the i-th object, which the evaluation may modify. It is called at most
	// once for each object, in increasing order, and only for the objects of the kinds the
	// Controls read, so that the caller may let go of what it kept of each.
	Decode(i int) (*unstructured.Unstructured, error)
	// ClusterScopedKinds are the cluster-scoped kinds among the objects' kinds: see
	// ClusterScopedKinds.
	ClusterScopedKinds() map[schema.GroupKind]bool
}

// objectList is a slice of objects as Objects; Decode copies each.
type objectList []*unstructured.Unstructured

func (l objectList) Len() int                                       { return len(l) }
func (l objectList) GroupVersionKind(i int) schema.GroupVersionKind { return l[i].GroupVersionKind() }
func (l objectList) Decode(i int) (*unstructured.Unstructured, error) {
	return l[i].DeepCopy(), nil
}
func (l objectList) ClusterScopedKinds() map[schema.GroupKind]bool { return ClusterScopedKinds(l) }

// EvaluateObjects is Evaluate over objects handed over one at a time. Every object of the
// kinds the controls read is converted into a Subject (its compact form) and kept for the
// evaluation: policies may read any of them from data.inventory.
func EvaluateObjects(ctx context.Context, controls []ismsv1.Control, objects Objects, opts Options) (Report, error) {
	e := newRun(opts)
	results := make([]ControlResult, len(controls))
	var registered []int
	for i := range controls {
		ok, err := e.register(ctx, &controls[i], &results[i])
		if err != nil {
			return Report{}, err
		}
		if ok {
			registered = append(registered, i)
		}
	}
	subjects, ignored, err := Subjects(objects, e.watched, opts.DefaultNamespace)
	if err != nil {
		return Report{}, err
	}
	names := make([]string, 0, len(registered))
	for _, i := range registered {
		names = append(names, results[i].Name)
	}
	if err := e.sweep(ctx, names, subjects); err != nil {
		return Report{}, err
	}
	for _, i := range registered {
		e.judge(&results[i])
	}
	sort.SliceStable(results, func(i, j int) bool {
		if results[i].ID != results[j].ID {
			return results[i].ID < results[j].ID
		}
		return results[i].Name < results[j].Name
	})
	return Report{Objects: len(subjects), Ignored: ignored, Controls: results}, nil
}

// run is one Evaluate: the operator's engine and evaluator, over one inventory.
type run struct {
	engine     *policy.Engine
	ev         *evaluation.Evaluator
	policies   map[string]*ismsv1.Policy
	exceptions []ismsv1.ControlException
	now        time.Time
	// watched are the kinds the operator would watch: Namespaces and the kinds of every
	// Control it could register.
	watched        map[schema.GroupKind]bool
	inventoryKinds []schema.GroupKind
}

func newRun(opts Options) *run {
	if opts.ClusterNamespace == "" {
		opts.ClusterNamespace = DefaultClusterNamespace
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	inv := policy.NewInventory()
	e := &run{
		engine:     policy.NewEngine(inv, opts.Policy),
		ev:         evaluation.NewEvaluator(inv, opts.ClusterNamespace, opts.Now),
		policies:   make(map[string]*ismsv1.Policy, len(opts.Policies)),
		exceptions: opts.Exceptions,
		now:        opts.Now(),
		watched:    map[schema.GroupKind]bool{evaluation.NamespaceGroupKind: true},
	}
	for i := range opts.Policies {
		e.policies[opts.Policies[i].Name] = &opts.Policies[i]
	}
	return e
}

// register defines the control and registers it with the evaluator, as the Control reconciler
// does, filling in r. It reports whether the control was registered: one that cannot be gets
// the result Error, with the reason PolicyReady would give.
func (e *run) register(ctx context.Context, c *ismsv1.Control, r *ControlResult) (bool, error) {
	*r = ControlResult{Name: c.Name, ID: c.Spec.ID, Title: c.Spec.Title, Severity: c.Spec.Severity}
	if c.IsAttested() {
		// Its evidence is its Attestations in the cluster, not the objects evaluated here.
		r.Result, r.Reason, r.Message = ismsv1.ResultPending, ismsv1.ReasonNotEvaluated, "An attested control: people attest it (Attestations); it is not evaluated against objects."
		return false, nil
	}
	def, err := Define(ctx, e.engine, c, e.policies)
	if err != nil {
		var ce *policy.CompileError
		var pe *params.Error
		switch {
		case errors.As(err, &pe):
			r.Result, r.Reason, r.Message = ismsv1.ResultError, pe.Reason, pe.Message
		case errors.As(err, &ce):
			r.Result, r.Reason, r.Message = ismsv1.ResultError, ismsv1.ReasonCompileError, ce.Message
		default:
			return false, err
		}
		return false, nil
	}
	r.PolicyDigest = def.Policy.Digest
	if err := e.ev.SetControl(def); err != nil {
		r.Result, r.Reason, r.Message = ismsv1.ResultError, ismsv1.ReasonTargetsUnresolved, err.Error()
		return false, nil
	}
	for _, gk := range append(evaluation.GroupKinds(c.Spec.Targets.Kinds), evaluation.GroupKinds(c.Spec.Inventory)...) {
		e.watched[gk] = true
	}
	e.inventoryKinds = append(e.inventoryKinds, evaluation.GroupKinds(c.Spec.Inventory)...)
	return true, nil
}

// sweep feeds the subjects to the evaluator, loads the inventory and sweeps the controls once,
// as the operator's watches and sweeper do.
func (e *run) sweep(ctx context.Context, controls []string, subjects []*evaluation.Subject) error {
	for _, s := range subjects {
		if _, err := e.ev.Upsert(ctx, s); err != nil {
			return err
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
	if err := e.ev.LoadInventory(ctx, e.inventoryKinds, ofKinds); err != nil {
		return err
	}
	_, err := e.ev.SweepControls(ctx, controls, func() []*evaluation.Subject { return subjects })
	return err
}

// judge fills in a swept control's verdict, counts and subjects, with its exceptions applied
// as the Control reconciler applies them.
func (e *run) judge(r *ControlResult) {
	set := exception.NewSet(e.exceptions, r.Name, e.now)
	failures := func(ns string) []evaluation.SubjectResult {
		f, _ := e.ev.Failures(r.Name, ns)
		return f
	}
	sum := e.ev.Summarize(r.Name)
	namespaces := sum.FailingNamespaces
	sum, counts := exception.ApplyToSummary(sum, set, failures)
	verdict := evaluation.Judge(sum)
	r.Result, r.Reason, r.Message = verdict.Result, verdict.Reason, verdict.Message
	r.Evaluated, r.Failing, r.Errored, r.Excepted = sum.Evaluated, sum.Failing, sum.Errored, counts.Total()
	for _, ns := range namespaces {
		split := exception.Classify(failures(ns), set)
		nf := NamespaceFailures{Namespace: ns, Subjects: make([]FailingSubject, 0, len(split.Failing))}
		for _, f := range split.Failing {
			nf.Subjects = append(nf.Subjects, failingSubject(f))
		}
		for _, x := range split.Excepted {
			nf.Excepted = append(nf.Excepted, ExceptedSubject{FailingSubject: failingSubject(x.SubjectResult), Exception: x.Exception})
		}
		r.Namespaces = append(r.Namespaces, nf)
	}
}

func failingSubject(f evaluation.SubjectResult) FailingSubject {
	fs := FailingSubject{
		APIVersion: f.Subject.APIVersion, Kind: f.Subject.Kind,
		Namespace: f.Subject.Namespace, Name: f.Subject.Name, Messages: []string{},
	}
	for _, v := range f.Violations {
		fs.Messages = append(fs.Messages, v.Message)
	}
	return fs
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
func Subjects(objects Objects, watched map[schema.GroupKind]bool, defaultNamespace string) ([]*evaluation.Subject, int, error) {
	clusterScoped := objects.ClusterScopedKinds()
	conv := policy.NewConverter()
	var out []*evaluation.Subject
	index := map[types.UID]int{}
	ignored := 0
	for i := range objects.Len() {
		gvk := objects.GroupVersionKind(i)
		if !watched[gvk.GroupKind()] {
			ignored++
			continue
		}
		u, err := objects.Decode(i)
		if err != nil {
			return nil, 0, err
		}
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
