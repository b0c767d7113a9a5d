package controllers

import (
	"errors"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"path/filepath"
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
