package controllers

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/finding"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// laggingCache reads through to the API server, except for the one Finding or Control it
// serves as it was at some earlier point: an informer cache that has not caught up yet.
type laggingCache struct {
	client.Client
	key          client.ObjectKey
	stale        *ismsv1.Finding
	staleControl *ismsv1.Control
}

func (c *laggingCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if f, ok := obj.(*ismsv1.Finding); ok && key == c.key && c.stale != nil {
		c.stale.DeepCopyInto(f)
		return nil
	}
	if ctl, ok := obj.(*ismsv1.Control); ok && key == c.key && c.staleControl != nil {
		c.staleControl.DeepCopyInto(ctl)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// List serves the control's Findings by label: the API server has no index on spec.control.
func (c *laggingCache) List(ctx context.Context, list client.ObjectList, _ ...client.ListOption) error {
	return c.Client.List(ctx, list, client.MatchingLabels{ismsv1.LabelControl: c.key.Name})
}

// A subject fails, passes, and fails again, while the cache still holds the Finding from the
// first failure. Decided from the cache, the third sync would find nothing to write and leave
// the Finding resolved in etcd.
func TestSyncFindingDoesNotTrustACacheBehindItsOwnWrites(t *testing.T) {
	requireAPIServer(t)
	ctx := testCtx
	const ns, name = "lagging-cache", "lagging-cache-control"
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	inv := policy.NewInventory()
	engine := policy.NewEngine(inv, policy.Options{Timeout: time.Second})
	p, err := engine.Compile(ctx, `package lagging

violation contains {"msg": "bad"} if input.review.object.bad`)
	if err != nil {
		t.Fatal(err)
	}
	ev := evaluation.NewEvaluator(inv, operatorNamespace, nil)
	targets := ismsv1.Targets{Kinds: []ismsv1.KindSelector{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}}
	if err := ev.SetControl(evaluation.ControlDefinition{Name: name, Generation: 1, Targets: targets, Policy: p}); err != nil {
		t.Fatal(err)
	}
	// The Control exists only here: the suite's operator must not sync this Finding too.
	control := &ismsv1.Control{
		TypeMeta:   metav1.TypeMeta{APIVersion: ismsv1.GroupVersion.String(), Kind: "Control"},
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("lagging-cache-uid")},
		Spec:       ismsv1.ControlSpec{Severity: ismsv1.SeverityHigh, Targets: targets},
	}
	cache := &laggingCache{Client: k8s, key: client.ObjectKey{Namespace: ns, Name: name}}
	r := &ControlReconciler{
		Client: cache, APIReader: k8s, Evaluator: ev,
		Recorder: events.NewFakeRecorder(100), Metrics: NewMetrics(prometheus.NewRegistry()),
		Now: time.Now, Workflow: finding.DefaultWorkflow(),
		wakes: newWakeTimes(), versions: newWrittenVersions(),
	}
	version := 0 // each call is a new version of the object, as a sweep keeps verdicts by it
	subject := func(bad bool) *evaluation.Subject {
		v, err := ast.InterfaceToValue(map[string]any{"bad": bad})
		if err != nil {
			t.Fatal(err)
		}
		version++
		return &evaluation.Subject{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cm", UID: "cm-uid", ResourceVersion: strconv.Itoa(version)},
			GVK:        schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Value: v,
		}
	}
	sync := func(bad bool) ismsv1.FindingStatus {
		t.Helper()
		if _, err := ev.SweepControls(ctx, []string{name}, func() []*evaluation.Subject { return []*evaluation.Subject{subject(bad)} }); err != nil {
			t.Fatal(err)
		}
		if _, err := r.syncFindings(ctx, control, nil); err != nil {
			t.Fatal(err)
		}
		var f ismsv1.Finding
		if err := k8s.Get(ctx, cache.key, &f); err != nil {
			t.Fatal(err)
		}
		return f.Status
	}

	opened := sync(true)
	if opened.State != ismsv1.FindingOpen || len(opened.Subjects) != 1 {
		t.Fatalf("after the first failure: state %q with %d subjects, want Open with 1", opened.State, len(opened.Subjects))
	}
	var firstWrite ismsv1.Finding
	if err := k8s.Get(ctx, cache.key, &firstWrite); err != nil {
		t.Fatal(err)
	}
	cache.stale = &firstWrite // the cache stops here
	if resolved := sync(false); resolved.State != ismsv1.FindingResolved {
		t.Fatalf("after passing: state %q, want Resolved", resolved.State)
	}
	if again := sync(true); again.State != ismsv1.FindingOpen || len(again.Subjects) != 1 {
		t.Errorf("after failing again, with the cache still at the first write: etcd has state %q with %d subjects, want Open with 1", again.State, len(again.Subjects))
	}
}

// The fault test found a Control's failingSubjects left at 32 with 33 failing: the count went
// 33 -> 32 -> 33 while the cache, its watch broken by a kube-apiserver restart, still held the
// 33, so the last status looked unchanged and was never written. After the operator's own
// status write, a reconcile must not decide from a cache that has not seen it.
func TestControlReadDoesNotTrustACacheBehindItsOwnWrites(t *testing.T) {
	requireAPIServer(t)
	ctx := testCtx
	control := &ismsv1.Control{
		ObjectMeta: metav1.ObjectMeta{Name: "lagging-cache-status"},
		Spec: ismsv1.ControlSpec{ID: "LAG-1", Title: "Lagging cache", Owner: "platform", Severity: ismsv1.SeverityLow, Targets: ismsv1.Targets{Kinds: []ismsv1.KindSelector{
			{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}},
			Policy: ismsv1.PolicySource{Rego: "package lagging\n\nviolation contains {\"msg\": \"x\"} if false"}},
	}
	if err := k8s.Create(ctx, control); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), control) })
	cache := &laggingCache{Client: k8s, key: client.ObjectKey{Name: control.Name}}
	r := &ControlReconciler{Client: cache, APIReader: k8s, Now: time.Now, versions: newWrittenVersions()}
	var before ismsv1.Control
	if err := k8s.Get(ctx, cache.key, &before); err != nil {
		t.Fatal(err)
	}
	cache.staleControl = before.DeepCopy() // the cache stops here
	written := before.DeepCopy()
	written.Status.FailingSubjects = before.Status.FailingSubjects + 32
	if err := r.patchStatus(ctx, &before, written); err != nil {
		t.Fatal(err)
	}
	got, err := r.currentControl(ctx, control.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion == before.ResourceVersion {
		t.Errorf("read resourceVersion %s, the cache's from before the operator's write: a status decided from it can skip a write", got.ResourceVersion)
	}
	cache.staleControl = got.DeepCopy() // the cache caught up
	if _, err := r.currentControl(ctx, control.Name); err != nil || !r.versions.current(got) {
		t.Errorf("a cache that caught up is not trusted again (err %v)", err)
	}
}
