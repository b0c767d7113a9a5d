package controllers

import (
	"errors"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// A kind that appears after a Control names it is looked up again every unresolvedRetry; the
// margin is for a loaded machine.
const kindServedRecovery = unresolvedRetry + 20*time.Second

// installCRDs installs the minimal CRDs of controllers/testdata/crds named by file, waiting
// until they are served. They stay installed: the operator keeps watching a kind once it has
// seen it.
func installCRDs(t *testing.T, files ...string) {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(repoRoot(), "controllers", "testdata", "crds", f)
	}
	if _, err := envtest.InstallCRDs(testEnv.Config, envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true}); err != nil {
		t.Fatalf("installing CRDs %v: %v", files, err)
	}
}

// grantRead binds get, list and watch on resources of group to the operator's user, and
// returns the binding, which revokes it when deleted.
func grantRead(t *testing.T, g Gomega, group string, resources ...string) *rbacv1.ClusterRoleBinding {
	t.Helper()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: uniqueName("isms-reader-" + resources[0])},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{group}, Resources: resources, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: operatorUser}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
	}
	for _, obj := range []client.Object{role, binding} {
		g.Expect(k8s.Create(testCtx, obj)).To(Succeed())
		t.Cleanup(func() {
			if err := k8s.Delete(testCtx, obj); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting %s: %v", obj.GetName(), err)
			}
		})
	}
	return binding
}

const widgetPolicy = `package test.widgets

violation contains {"msg": "the widget is broken"} if {
	input.review.object.spec.broken
}`

// A Control on a kind whose CRD is not installed, with whenKindsNotServed: NotApplicable, is
// NotApplicable with a reason and a message naming the kind, not Error and not Pass; once the
// CRD is installed it is evaluated with no change to it.
func TestControlOnKindNotServedIsNotApplicableWhenItSaysSo(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	name := uniqueName("widgets")
	c := control(name, ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{"widgets.example.com"}, Kinds: []string{"Widget"}}},
	}, widgetPolicy)
	c.Spec.WhenKindsNotServed = ismsv1.KindsNotServedNotApplicable
	g.Expect(k8s.Create(testCtx, c)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(testCtx, c) })

	t.Log("the kind is not served: NotApplicable, KindsNotServed, naming the kind")
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultNotApplicable))
		g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
		ready := condition(c, ismsv1.ConditionPolicyReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(ismsv1.ReasonTargetsUnresolved))
		compliant := condition(c, ismsv1.ConditionCompliant)
		g.Expect(compliant.Reason).To(Equal(ismsv1.ReasonKindsNotServed))
		g.Expect(compliant.Message).To(ContainSubstring("Widget.widgets.example.com"))
		g.Expect(compliant.Message).To(ContainSubstring("whenKindsNotServed: Error"))
	}, eventually, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(controlEventReasons(g, name)).To(ContainElement(ismsv1.ReasonKindsNotServed))
	}, eventually, poll).Should(Succeed())

	t.Log("the CRD is installed and a broken Widget created: the control is evaluated and fails")
	installCRDs(t, "widgets.yaml")
	grantRead(t, g, "widgets.example.com", "widgets")
	ns := uniqueName("widgets")
	createNamespace(t, ns, nil)
	widget := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "widgets.example.com/v1", "kind": "Widget",
		"metadata": map[string]any{"namespace": ns, "name": "w"},
		"spec":     map[string]any{"broken": true},
	}}
	g.Expect(k8s.Create(testCtx, widget)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultFail))
		g.Expect(condition(c, ismsv1.ConditionPolicyReady).Status).To(Equal(metav1.ConditionTrue))
	}, kindServedRecovery, poll).Should(Succeed())
}

// Only kinds with no match in discovery make a WatchError "not served": a discovery failure
// must stay an Error, not turn a control NotApplicable.
func TestWatchErrorNotServed(t *testing.T) {
	noMatch := fmt.Errorf("kind Widget.widgets.example.com is not served by the API server: %w",
		&meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "widgets.example.com", Kind: "Widget"}})
	discovery := errors.New("the server is currently unable to handle the request")
	for name, tc := range map[string]struct {
		errs []error
		want bool
	}{
		"every kind unmatched": {errs: []error{noMatch, noMatch}, want: true},
		"one discovery error":  {errs: []error{noMatch, discovery}, want: false},
		"no errors":            {errs: nil, want: false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := (&WatchError{errs: tc.errs}).NotServed(); got != tc.want {
				t.Errorf("NotServed() = %v, want %v", got, tc.want)
			}
		})
	}
}

// A CRD deleted after the operator watched its kind: the informer would keep the objects it
// had and the Controls would go on reporting them as current. They say the kind is no longer
// served instead (Error, or NotApplicable when they ask for it), with no failing subjects, and
// once the CRD is back they are evaluated on what the cluster holds then.
func TestControlsOnADeletedCRDStopReportingItsObjects(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	installCRDs(t, "gizmos.yaml")
	grantRead(t, g, "gizmos.example.com", "gizmos")
	ns := uniqueName("gizmos")
	createNamespace(t, ns, nil)
	createGizmo := func(g Gomega) {
		gizmo := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gizmos.example.com/v1", "kind": "Gizmo",
			"metadata": map[string]any{"namespace": ns, "name": "g"},
			"spec":     map[string]any{"broken": true},
		}}
		g.Expect(k8s.Create(testCtx, gizmo)).To(Succeed())
	}
	g.Eventually(createGizmo, eventually, poll).Should(Succeed())
	targets := ismsv1.Targets{Kinds: []ismsv1.KindSelector{{APIGroups: []string{"gizmos.example.com"}, Kinds: []string{"Gizmo"}}}}
	errName, naName := uniqueName("gizmos-error"), uniqueName("gizmos-na")
	policy := strings.ReplaceAll(widgetPolicy, "test.widgets", "test.gizmos")
	for name, when := range map[string]ismsv1.KindsNotServedAction{errName: "", naName: ismsv1.KindsNotServedNotApplicable} {
		c := control(name, targets, policy)
		c.Spec.WhenKindsNotServed = when
		g.Expect(k8s.Create(testCtx, c)).To(Succeed())
		t.Cleanup(func() { _ = k8s.Delete(testCtx, c) })
	}
	expectResult := func(name string, result ismsv1.ControlResult, failing int32, within time.Duration) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			c := getControl(g, name)
			g.Expect(c.Status.Result).To(Equal(result))
			g.Expect(c.Status.FailingSubjects).To(Equal(failing))
		}, within, poll).Should(Succeed())
	}
	expectResult(errName, ismsv1.ResultFail, 1, eventually)
	expectResult(naName, ismsv1.ResultFail, 1, eventually)

	t.Log("the CRD is deleted: no control goes on reporting the Gizmo it had")
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	crd.SetName("gizmos.gizmos.example.com")
	g.Expect(k8s.Delete(testCtx, crd)).To(Succeed())
	expectResult(errName, ismsv1.ResultError, 0, kindServedRecovery)
	expectResult(naName, ismsv1.ResultNotApplicable, 0, kindServedRecovery)
	c := getControl(g, errName)
	g.Expect(condition(c, ismsv1.ConditionPolicyReady).Reason).To(Equal(ismsv1.ReasonTargetsUnresolved))
	g.Expect(condition(c, ismsv1.ConditionPolicyReady).Message).To(ContainSubstring("No longer served"))

	t.Log("the CRD and a broken Gizmo are back: both controls fail again")
	installCRDs(t, "gizmos.yaml")
	g.Eventually(createGizmo, eventually, poll).Should(Succeed())
	expectResult(errName, ismsv1.ResultFail, 1, kindServedRecovery)
	expectResult(naName, ismsv1.ResultFail, 1, kindServedRecovery)
}
