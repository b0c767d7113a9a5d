package controllers

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// shortWatchLifetime makes the watches started from now on end within seconds, so that a
// revocation shows within seconds instead of the production minute.
func shortWatchLifetime(t *testing.T) {
	t.Helper()
	previous := watchLifetime.Swap(int64(2 * time.Second))
	t.Cleanup(func() { watchLifetime.Store(previous) })
}

// The operator reads PriorityClasses (not in the generated ClusterRole) through a grant, then
// loses it: the Controls that target them, or read them from data.inventory, must not go on
// reporting the objects its informer had as current. They are Error (Forbidden), and once
// the grant is back they are evaluated again on what the cluster holds now, with no restart.
func TestControlsSayForbiddenWhenAccessIsRevokedAfterSync(t *testing.T) {
	requireAPIServer(t)
	shortWatchLifetime(t)
	g := NewWithT(t)
	grant := grantPriorityClassRead(t, g)

	described := priorityClass(uniqueName("described"), "For the shop's batch jobs.")
	g.Expect(k8s.Create(testCtx, described)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(testCtx, described) })
	prefix := uniqueName("pc")
	target := control(uniqueName("priority-described"), ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{"scheduling.k8s.io"}, Kinds: []string{"PriorityClass"}}},
	}, fmt.Sprintf(describedPolicy, prefix, described.Name))
	ns := uniqueName("revoked")
	createNamespace(t, ns, map[string]string{"isms-test": ns})
	reader := control(uniqueName("priority-exists"), ismsv1.Targets{
		Kinds:         []ismsv1.KindSelector{{APIGroups: []string{""}, Kinds: []string{"Namespace"}}},
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"isms-test": ns}},
	}, fmt.Sprintf(priorityClassExistsPolicy, described.Name))
	reader.Spec.Inventory = []ismsv1.KindSelector{{APIGroups: []string{"scheduling.k8s.io"}, Kinds: []string{"PriorityClass"}}}
	for _, c := range []*ismsv1.Control{target, reader} {
		g.Expect(k8s.Create(testCtx, c)).To(Succeed())
		t.Cleanup(func() { _ = k8s.Delete(testCtx, c) })
	}

	t.Log("with the grant, both pass on the PriorityClass that exists")
	expectResult(g, eventually, ismsv1.ResultPass, target.Name, reader.Name)

	t.Log("the grant is revoked, and meanwhile the cluster changes: both are Error (Forbidden), not Pass")
	g.Expect(k8s.Delete(testCtx, grant)).To(Succeed())
	g.Expect(k8s.Delete(testCtx, described)).To(Succeed())
	undescribed := priorityClass(prefix+"-undescribed", "")
	g.Expect(k8s.Create(testCtx, undescribed)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(testCtx, undescribed) })
	start := time.Now()
	expectForbidden(g, target.Name, reader.Name)
	t.Logf("Forbidden %s after the revocation", time.Since(start).Round(100*time.Millisecond))
	g.Consistently(func(g Gomega) {
		for _, name := range []string{target.Name, reader.Name} {
			g.Expect(getControl(g, name).Status.Result).To(Equal(ismsv1.ResultError))
		}
	}, 3*time.Second, poll).Should(Succeed())

	t.Log("the grant is back: both are evaluated on what the cluster holds now")
	grant.ResourceVersion = ""
	g.Expect(k8s.Create(testCtx, grant)).To(Succeed())
	start = time.Now()
	expectResult(g, forbiddenRecovery, ismsv1.ResultFail, target.Name, reader.Name)
	t.Logf("recovered %s after the grant", time.Since(start).Round(100*time.Millisecond))
	c := getControl(g, target.Name)
	g.Expect(condition(c, ismsv1.ConditionPolicyReady).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(c.Status.FailingSubjects).To(BeEquivalentTo(1), "only the new PriorityClass fails; the deleted one is gone")
}

// describedPolicy fails the PriorityClasses named with a prefix (%s) that have no description,
// and the one named %s if it lost its description; the cluster's own ones are left alone.
const describedPolicy = `package test.priorityclass

violation contains {"msg": "the PriorityClass has no description"} if {
	ours
	not input.review.object.description
}

ours if startswith(input.review.object.metadata.name, %[1]q)

ours if input.review.object.metadata.name == %[2]q`

// priorityClassExistsPolicy fails every Namespace it targets while the PriorityClass %s is
// missing from data.inventory.
const priorityClassExistsPolicy = `package test.priorityinventory

violation contains {"msg": "the PriorityClass %[1]s is missing"} if {
	not object.get(data.inventory, ["cluster", "scheduling.k8s.io/v1", "PriorityClass", %[1]q], false)
}`

func priorityClass(name, description string) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: 1000, Description: description}
}

func expectResult(g Gomega, within time.Duration, want ismsv1.ControlResult, names ...string) {
	g.Eventually(func(g Gomega) {
		for _, name := range names {
			c := getControl(g, name)
			g.Expect(c.Status.Result).To(Equal(want), "control %s: %+v", name, c.Status.Conditions)
		}
	}, within, poll).Should(Succeed())
}

func expectForbidden(g Gomega, names ...string) {
	g.Eventually(func(g Gomega) {
		for _, name := range names {
			c := getControl(g, name)
			g.Expect(c.Status.Result).To(Equal(ismsv1.ResultError), "control %s", name)
			cond := condition(c, ismsv1.ConditionPolicyReady)
			g.Expect(cond.Reason).To(Equal(ismsv1.ReasonForbidden), "control %s", name)
			g.Expect(cond.Message).To(ContainSubstring("PriorityClass.scheduling.k8s.io"))
			g.Expect(c.Status.EvaluatedSubjects).To(BeZero())
		}
	}, eventually, poll).Should(Succeed())
}

// grantPriorityClassRead binds read access to PriorityClasses to the operator's user and
// returns the binding, which revokes it when deleted.
func grantPriorityClassRead(t *testing.T, g Gomega) *rbacv1.ClusterRoleBinding {
	t.Helper()
	return grantRead(t, g, "scheduling.k8s.io", "priorityclasses")
}
