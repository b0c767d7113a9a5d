package groundtruth

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// TestVerdicts pins the plain-Go verdicts on the generator's workloads to what each library
// policy's description says.
func TestVerdicts(t *testing.T) {
	compliant := workload{appImage: imagePinned, podNonRoot: true}
	tests := map[string]struct {
		w    workload
		fail []string
	}{
		"compliant":                 {w: compliant},
		"digest-pinned":             {w: with(compliant, func(w *workload) { w.appImage = imageDigest })},
		"compliant sidecar":         {w: with(compliant, func(w *workload) { w.sidecar = true })},
		"privileged sidecar":        {w: with(compliant, func(w *workload) { w.privileged = true }), fail: []string{ctlPrivileged}},
		"latest tag":                {w: with(compliant, func(w *workload) { w.appImage = imageLatest }), fail: []string{ctlLatestTag}},
		"untagged behind a port":    {w: with(compliant, func(w *workload) { w.appImage = imageUntagged }), fail: []string{ctlLatestTag}},
		"host network":              {w: with(compliant, func(w *workload) { w.hostNetwork = true }), fail: []string{ctlHostNetwork}},
		"no runAsNonRoot":           {w: with(compliant, func(w *workload) { w.podNonRoot = false }), fail: []string{ctlRunAsRoot}},
		"container overrides false": {w: with(compliant, func(w *workload) { w.appNonRoot = ptr.To(false) }), fail: []string{ctlRunAsRoot}},
		"container sets it alone":   {w: workload{appImage: imagePinned, appNonRoot: ptr.To(true)}},
		"sidecar inherits nothing": {
			w:    workload{appImage: imagePinned, appNonRoot: ptr.To(true), sidecar: true},
			fail: []string{ctlRunAsRoot},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := tc.w.deployment("ns", "app")
			for control, fails := range deploymentVerdicts {
				want := false
				for _, f := range tc.fail {
					want = want || f == control
				}
				if got := fails(d); got != want {
					t.Errorf("%s: fails = %v, want %v", control, got, want)
				}
			}
		})
	}
}

func with(w workload, change func(*workload)) workload {
	change(&w)
	return w
}

// TestMismatches shows the comparison catches each way the operator can be wrong: a missing,
// stale, duplicated or short Finding, and a Control status behind its objects.
func TestMismatches(t *testing.T) {
	bad := *workload{appImage: imageLatest, podNonRoot: true}.deployment("team-a", "app-1")
	bad.UID = "uid-1"
	namespaces := []corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{OwnerLabel: "a"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
	}
	tr := Decide([]appsv1.Deployment{bad}, namespaces, "isms-system")
	open := finding(ctlLatestTag, "team-a", ismsv1.FindingOpen, 1, ismsv1.FailingSubject{
		APIVersion: "apps/v1", Kind: "Deployment", Name: "app-1", UID: "uid-1", Messages: []string{"m"},
	})
	controls := []ismsv1.Control{}
	for _, name := range Controls() {
		c := ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1}}
		c.Status = ismsv1.ControlStatus{ObservedGeneration: 1, Result: ismsv1.ResultPass, EvaluatedSubjects: 1}
		if name == ctlLatestTag {
			c.Status.Result, c.Status.FailingSubjects, c.Status.OpenFindings = ismsv1.ResultFail, 1, 1
		}
		controls = append(controls, c)
	}
	if got := tr.Mismatches(Observed{Findings: []ismsv1.Finding{open}, Controls: controls}); len(got) != 0 {
		t.Fatalf("the converged state has mismatches: %q", got)
	}
	cases := map[string]struct {
		resolved bool // the pair of the open Finding failed before and passes now
		findings []ismsv1.Finding
		change   func([]ismsv1.Control)
		want     string
	}{
		"lost":                  {want: "no finding for 1 failing subjects"},
		"stale open":            {findings: []ismsv1.Finding{open, finding(ctlPrivileged, "team-a", ismsv1.FindingOpen, 1)}, want: "but the pair passes"},
		"duplicate":             {findings: []ismsv1.Finding{open, renamed(open, "copy")}, want: "2 findings, want one"},
		"resolved":              {findings: []ismsv1.Finding{finding(ctlLatestTag, "team-a", ismsv1.FindingResolved, 0)}, want: "want Open"},
		"wrong subject":         {findings: []ismsv1.Finding{withUID(open, "uid-0")}, want: "subject 0 is"},
		"deleted, not resolved": {resolved: true, want: "no finding, want the one that was open, Resolved"},
		"stale control":         {findings: []ismsv1.Finding{open}, change: func(c []ismsv1.Control) { c[0].Generation = 2 }, want: "observedGeneration 1, want 2"},
		"stale counting":        {findings: []ismsv1.Finding{open}, change: func(c []ismsv1.Control) { c[4].Status.EvaluatedSubjects = 2 }, want: "evaluatedSubjects 2, want 1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctl := make([]ismsv1.Control, len(controls))
			for i := range controls {
				ctl[i] = *controls[i].DeepCopy()
			}
			if tc.change != nil {
				tc.change(ctl)
			}
			tr := tr
			if tc.resolved {
				tr.Resolved = map[Pair]bool{{ctlPrivileged, "team-a"}: true}
			}
			got := strings.Join(tr.Mismatches(Observed{Findings: tc.findings, Controls: ctl}), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("mismatches %q do not say %q", got, tc.want)
			}
		})
	}
}

func finding(control, ns string, state ismsv1.FindingState, count int32, subjects ...ismsv1.FailingSubject) ismsv1.Finding {
	return ismsv1.Finding{
		ObjectMeta: metav1.ObjectMeta{Name: control, Namespace: ns, Labels: map[string]string{ismsv1.LabelControl: control}},
		Spec:       ismsv1.FindingSpec{Control: control},
		Status:     ismsv1.FindingStatus{State: state, SubjectCount: count, Subjects: subjects},
	}
}

func renamed(f ismsv1.Finding, name string) ismsv1.Finding {
	g := *f.DeepCopy()
	g.Name = name
	return g
}

func withUID(f ismsv1.Finding, uid string) ismsv1.Finding {
	g := *f.DeepCopy()
	g.Status.Subjects[0].UID = uid
	return g
}
