package groundtruth

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// The ground truth: which (control, namespace) pairs fail, and on which subjects, decided in
// plain Go from the objects as the API server holds them, without the policy engine. Each
// verdict restates its library policy (policies/<name>/policy.rego) for what the generator
// produces: Deployments, whose pod template is always evaluated.

// The library Controls the test installs, by name (isms-lib-<policy directory>).
const (
	ctlPrivileged  = "isms-lib-no-privileged-containers"
	ctlLatestTag   = "isms-lib-no-latest-tag"
	ctlRunAsRoot   = "isms-lib-run-as-non-root"
	ctlHostNetwork = "isms-lib-no-host-network"
	ctlOwnerLabel  = "isms-lib-namespace-owner-label"
)

// deploymentVerdicts says, per Deployment control, whether a Deployment fails it.
var deploymentVerdicts = map[string]func(*appsv1.Deployment) bool{
	ctlPrivileged: func(d *appsv1.Deployment) bool {
		return anyContainer(d, func(c corev1.Container) bool {
			return c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
		})
	},
	ctlLatestTag: func(d *appsv1.Deployment) bool {
		return anyContainer(d, func(c corev1.Container) bool { return mutableImage(c.Image) })
	},
	ctlRunAsRoot: func(d *appsv1.Deployment) bool {
		pod := d.Spec.Template.Spec.SecurityContext
		return anyContainer(d, func(c corev1.Container) bool {
			nonRoot := (*bool)(nil)
			if pod != nil {
				nonRoot = pod.RunAsNonRoot
			}
			if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
				nonRoot = c.SecurityContext.RunAsNonRoot // the container's setting wins
			}
			return nonRoot == nil || !*nonRoot
		})
	},
	ctlHostNetwork: func(d *appsv1.Deployment) bool { return d.Spec.Template.Spec.HostNetwork },
}

// anyContainer reports whether a container of any type in the pod template is bad.
func anyContainer(d *appsv1.Deployment, bad func(corev1.Container) bool) bool {
	spec := d.Spec.Template.Spec
	if slices.ContainsFunc(spec.Containers, bad) || slices.ContainsFunc(spec.InitContainers, bad) {
		return true
	}
	for _, e := range spec.EphemeralContainers {
		if bad(corev1.Container(e.EphemeralContainerCommon)) {
			return true
		}
	}
	return false
}

// mutableImage: not pinned by digest, and untagged or tagged latest. The tag is looked for in
// the last path segment only, so a registry port is not a tag.
func mutableImage(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return false
	}
	segments := strings.Split(image, "/")
	parts := strings.Split(segments[len(segments)-1], ":")
	return len(parts) == 1 || (len(parts) == 2 && parts[1] == "latest")
}

// ownerExempt are the namespaces the owner-label control excludes in its targets.
var ownerExempt = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// deploymentExempt are the namespaces the Deployment controls exclude.
var deploymentExempt = []string{"kube-system", "kube-public", "kube-node-lease"}

func namespaceFails(ns *corev1.Namespace) bool {
	return strings.TrimSpace(ns.Labels[OwnerLabel]) == ""
}

// Pair is a control and a namespace: one Finding's worth.
type Pair struct{ Control, Namespace string }

func (p Pair) String() string { return p.Control + " in " + p.Namespace }

// SubjectRef is a failing subject as a Finding lists it.
type SubjectRef struct{ APIVersion, Kind, Name, UID string }

// Truth is the state the operator must reach.
type Truth struct {
	// Failing lists each failing pair's subjects, sorted as the Finding lists them.
	Failing map[Pair][]SubjectRef
	// Evaluated counts each control's subjects.
	Evaluated map[string]int
	// Resolved are the pairs that failed when the operator last converged and pass now: their
	// Finding must be there, Resolved (it is deleted only after the 30-day retention).
	Resolved map[Pair]bool
}

// Controls are the library Controls the estate is judged by, by name.
func Controls() []string {
	return append(slices.Sorted(maps.Keys(deploymentVerdicts)), ctlOwnerLabel)
}

// Decide decides every control on the objects; Findings of cluster-scoped subjects
// (Namespaces) belong in the operator's namespace.
func Decide(deployments []appsv1.Deployment, namespaces []corev1.Namespace, operatorNS string) Truth {
	tr := Truth{Failing: map[Pair][]SubjectRef{}, Evaluated: map[string]int{}}
	for i := range deployments {
		d := &deployments[i]
		if slices.Contains(deploymentExempt, d.Namespace) {
			continue
		}
		for control, fails := range deploymentVerdicts {
			tr.Evaluated[control]++
			if fails(d) {
				p := Pair{control, d.Namespace}
				tr.Failing[p] = append(tr.Failing[p], SubjectRef{"apps/v1", "Deployment", d.Name, string(d.UID)})
			}
		}
	}
	for i := range namespaces {
		ns := &namespaces[i]
		if slices.Contains(ownerExempt, ns.Name) {
			continue
		}
		tr.Evaluated[ctlOwnerLabel]++
		if namespaceFails(ns) {
			p := Pair{ctlOwnerLabel, operatorNS}
			tr.Failing[p] = append(tr.Failing[p], SubjectRef{"v1", "Namespace", ns.Name, string(ns.UID)})
		}
	}
	for _, subjects := range tr.Failing {
		slices.SortFunc(subjects, func(a, b SubjectRef) int {
			return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name))
		})
	}
	return tr
}

// Observed is what a user reads from the API server.
type Observed struct {
	Deployments []appsv1.Deployment
	Namespaces  []corev1.Namespace
	Findings    []ismsv1.Finding
	Controls    []ismsv1.Control
}

// Observe lists what Observed holds from c.
func Observe(ctx context.Context, c client.Reader) (Observed, error) {
	var (
		o   Observed
		d   appsv1.DeploymentList
		ns  corev1.NamespaceList
		f   ismsv1.FindingList
		ctl ismsv1.ControlList
	)
	for _, list := range []client.ObjectList{&d, &ns, &f, &ctl} {
		if err := c.List(ctx, list); err != nil {
			return o, err
		}
	}
	o.Deployments, o.Namespaces, o.Findings, o.Controls = d.Items, ns.Items, f.Items, ctl.Items
	return o, nil
}

// Mismatches lists every way the Findings and Controls differ from the truth; none once the
// operator has converged.
func (tr Truth) Mismatches(o Observed) []string {
	var out []string
	byPair := map[Pair][]*ismsv1.Finding{}
	for i := range o.Findings {
		f := &o.Findings[i]
		p := Pair{f.Spec.Control, f.Namespace}
		byPair[p] = append(byPair[p], f)
		if f.Name != f.Spec.Control || f.Labels[ismsv1.LabelControl] != f.Spec.Control {
			out = append(out, fmt.Sprintf("finding %s/%s: named or labelled apart from its control %q", f.Namespace, f.Name, f.Spec.Control))
		}
	}
	for p := range tr.Resolved {
		if fs := byPair[p]; len(fs) == 0 {
			out = append(out, fmt.Sprintf("%s: no finding, want the one that was open, Resolved", p))
		}
	}
	for p, fs := range byPair {
		if len(fs) > 1 {
			out = append(out, fmt.Sprintf("%s: %d findings, want one", p, len(fs)))
		}
		if _, failing := tr.Failing[p]; !failing && fs[0].Status.State.IsOpen() {
			out = append(out, fmt.Sprintf("%s: finding %s, but the pair passes", p, fs[0].Status.State))
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(tr.Failing), func(a, b Pair) int { return strings.Compare(a.String(), b.String()) }) {
		fs := byPair[p]
		if len(fs) == 0 {
			out = append(out, fmt.Sprintf("%s: no finding for %d failing subjects", p, len(tr.Failing[p])))
			continue
		}
		out = append(out, subjectMismatches(p, fs[0], tr.Failing[p])...)
	}
	for i := range o.Controls {
		out = append(out, tr.controlMismatches(&o.Controls[i])...)
	}
	return out
}

// subjectMismatches compares an open Finding's subjects with the failing ones: the count is
// exact, and the subjects listed (cut to a size budget) are the first of them, in order.
func subjectMismatches(p Pair, f *ismsv1.Finding, want []SubjectRef) []string {
	var out []string
	if f.Status.State != ismsv1.FindingOpen {
		out = append(out, fmt.Sprintf("%s: finding %q, want Open", p, f.Status.State))
	}
	if int(f.Status.SubjectCount) != len(want) {
		out = append(out, fmt.Sprintf("%s: subjectCount %d, want %d", p, f.Status.SubjectCount, len(want)))
	}
	if len(f.Status.Subjects) == 0 || len(f.Status.Subjects) > len(want) {
		return append(out, fmt.Sprintf("%s: %d subjects listed of %d failing", p, len(f.Status.Subjects), len(want)))
	}
	for i, s := range f.Status.Subjects {
		got := SubjectRef{s.APIVersion, s.Kind, s.Name, s.UID}
		if got != want[i] {
			out = append(out, fmt.Sprintf("%s: subject %d is %v, want %v", p, i, got, want[i]))
			break
		}
		if len(s.Messages) == 0 {
			out = append(out, fmt.Sprintf("%s: subject %s has no message", p, s.Name))
		}
	}
	return out
}

// controlMismatches checks that a Control's status describes its current spec and the
// current objects: a result left over from before a fault shows here.
func (tr Truth) controlMismatches(c *ismsv1.Control) []string {
	var failing, pairs int
	for p, subjects := range tr.Failing {
		if p.Control == c.Name {
			failing += len(subjects)
			pairs++
		}
	}
	want := ismsv1.ResultPass
	if failing > 0 {
		want = ismsv1.ResultFail
	}
	s := c.Status
	var out []string
	check := func(what string, got, want any) {
		if got != want {
			out = append(out, fmt.Sprintf("control %s: %s %v, want %v", c.Name, what, got, want))
		}
	}
	check("observedGeneration", s.ObservedGeneration, c.Generation)
	check("result", s.Result, want)
	check("failingSubjects", int(s.FailingSubjects), failing)
	check("openFindings", int(s.OpenFindings), pairs)
	if s.ErroredSubjects != 0 {
		msg := ""
		if cond := meta.FindStatusCondition(s.Conditions, ismsv1.ConditionCompliant); cond != nil {
			msg = cond.Message
		}
		out = append(out, fmt.Sprintf("control %s: erroredSubjects %d, want 0: %s", c.Name, s.ErroredSubjects, policy.Truncate(msg, 300)))
	}
	check("evaluatedSubjects", int(s.EvaluatedSubjects), tr.Evaluated[c.Name])
	return out
}
