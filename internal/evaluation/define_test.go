package evaluation

import (
	"context"
	"errors"
	"strings"
	"testing"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/internal/policy"
)

func TestDefineRefusesInventoryNotListed(t *testing.T) {
	const namespaceLimitRange = `count(object.get(data.inventory, ["namespace", input.review.object.metadata.name, "v1", "LimitRange"], {})) == 0`
	const namespaceNetworkPolicy = `count(data.inventory.namespace[input.review.object.metadata.name]["networking.k8s.io/v1"].NetworkPolicy) == 0`
	core := func(kinds ...string) ismsv1.KindSelector {
		return ismsv1.KindSelector{APIGroups: []string{""}, Kinds: kinds}
	}
	networking := ismsv1.KindSelector{APIGroups: []string{"networking.k8s.io"}, Kinds: []string{"NetworkPolicy"}}
	cases := map[string]struct {
		conditions []string
		inventory  []ismsv1.KindSelector
		// wantMessage is empty when the control is defined.
		wantMessage string
	}{
		"no inventory read": {conditions: []string{`input.review.object.spec.hostNetwork`}},
		"a core kind, listed under the core group": {
			conditions: []string{namespaceLimitRange}, inventory: []ismsv1.KindSelector{core("LimitRange")},
		},
		"a group's kind, listed by group, not group version": {
			conditions: []string{namespaceNetworkPolicy}, inventory: []ismsv1.KindSelector{core("Namespace"), networking},
		},
		"a core kind, not listed": {
			conditions: []string{namespaceLimitRange}, inventory: []ismsv1.KindSelector{core("ResourceQuota")},
			wantMessage: `The policy reads LimitRange (v1) from data.inventory, which holds only the kinds spec.inventory lists, so it would find nothing there. Add to spec.inventory: {apiGroups: [""], kinds: ["LimitRange"]}`,
		},
		"the kind listed in another group": {
			conditions: []string{namespaceNetworkPolicy}, inventory: []ismsv1.KindSelector{{APIGroups: []string{"extensions"}, Kinds: []string{"NetworkPolicy"}}},
			wantMessage: `Add to spec.inventory: {apiGroups: ["networking.k8s.io"], kinds: ["NetworkPolicy"]}`,
		},
		"the targeted kind itself is not in the inventory unless listed": {
			conditions:  []string{`not data.inventory.cluster.v1.Namespace[input.review.object.metadata.name]`},
			wantMessage: `Add to spec.inventory: {apiGroups: [""], kinds: ["Namespace"]}`,
		},
		"several missing kinds, one entry per group": {
			conditions: []string{namespaceLimitRange, namespaceNetworkPolicy,
				`count(data.inventory.namespace.a.v1.ResourceQuota) == 0`},
			wantMessage: `The policy reads NetworkPolicy (networking.k8s.io/v1), LimitRange (v1), ResourceQuota (v1) from data.inventory, ` +
				`which holds only the kinds spec.inventory lists, so it would find nothing there. ` +
				`Add to spec.inventory: {apiGroups: [""], kinds: ["LimitRange", "ResourceQuota"]}, {apiGroups: ["networking.k8s.io"], kinds: ["NetworkPolicy"]}`,
		},
		"a dynamic read is not refused": {
			conditions: []string{`some kind in ["LimitRange"]`, `count(data.inventory.namespace.a.v1[kind]) == 0`},
		},
	}
	engine := policy.NewEngine(policy.NewInventory(), policy.Options{})
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := &ismsv1.Control{Spec: ismsv1.ControlSpec{Inventory: tc.inventory, Policy: ismsv1.PolicySource{
				Rego: "package t.inv\n\nviolation contains {\"msg\": \"x\"} if {\n\t" + strings.Join(tc.conditions, "\n\t") + "\n}\n",
			}}}
			c.Name = "c"
			_, err := Define(context.Background(), engine, c, nil)
			if tc.wantMessage == "" {
				if err != nil {
					t.Fatalf("Define: %v", err)
				}
				return
			}
			var pe *params.Error
			if !errors.As(err, &pe) || pe.Reason != ismsv1.ReasonInventoryNotListed {
				t.Fatalf("Define: %v, want a params.Error with reason %s", err, ismsv1.ReasonInventoryNotListed)
			}
			if !strings.Contains(pe.Message, tc.wantMessage) {
				t.Errorf("message %q\ndoes not contain %q", pe.Message, tc.wantMessage)
			}
		})
	}
}
