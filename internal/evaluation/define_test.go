package evaluation

import (
	"context"
	"errors"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

func TestDefineNamesTheFieldAtFault(t *testing.T) {
	const good = "package t.f\n\nviolation contains {\"msg\": \"x\"} if input.review.object.spec.hostNetwork\n"
	const readsPods = "package t.f\n\nviolation contains {\"msg\": \"x\"} if count(data.inventory.namespace.a.v1.Pod) == 0\n"
	schema := &apiextensionsv1.JSON{Raw: []byte(`{"type": "object", "properties": {"n": {"type": "integer"}}}`)}
	shared := func(rego string, schema *apiextensionsv1.JSON) *ismsv1.Policy {
		return &ismsv1.Policy{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Spec: ismsv1.PolicySpec{Rego: rego, ParametersSchema: schema}}
	}
	inline := func(rego string) ismsv1.PolicySource { return ismsv1.PolicySource{Rego: rego} }
	ref := ismsv1.PolicySource{Ref: &ismsv1.PolicyReference{Name: "shared"}}
	cases := map[string]struct {
		policy     ismsv1.PolicySource
		parameters string
		referenced *ismsv1.Policy
		wantField  string
		ofPolicy   bool
	}{
		"inline syntax error":         {policy: inline("package t.f\n\nviolation contains msg if {\n"), wantField: "spec.policy.rego"},
		"inline forbidden builtin":    {policy: inline("package t.f\n\nviolation contains {\"msg\": x} if x := http.send({})\n"), wantField: "spec.policy.rego"},
		"inline inventory not listed": {policy: inline(readsPods), wantField: "spec.inventory"},
		"parameters not a value":      {policy: inline(good), parameters: `{"a": 1e999999999}`, wantField: "spec.parameters"},
		"parameters fail the schema":  {policy: ref, parameters: `{"n": "x"}`, referenced: shared(good, schema), wantField: "spec.parameters"},
		"no such Policy":              {policy: ref, wantField: "spec.policy.ref.name", ofPolicy: true},
		"the Policy does not compile": {policy: ref, referenced: shared("package", nil), wantField: "spec.policy.ref", ofPolicy: true},
		"the Policy's schema":         {policy: ref, referenced: shared(good, &apiextensionsv1.JSON{Raw: []byte(`{"type": "string"}`)}), wantField: "spec.policy.ref", ofPolicy: true},
		"the Policy reads a kind":     {policy: ref, referenced: shared(readsPods, nil), wantField: "spec.inventory", ofPolicy: true},
	}
	engine := policy.NewEngine(policy.NewInventory(), policy.Options{})
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := &ismsv1.Control{Spec: ismsv1.ControlSpec{Policy: tc.policy}}
			if tc.parameters != "" {
				c.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(tc.parameters)}
			}
			_, err := Define(context.Background(), engine, c, tc.referenced)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("Define: %v (%T), want a *SpecError", err, err)
			}
			if se.Field.String() != tc.wantField || se.OfPolicy != tc.ofPolicy {
				t.Fatalf("field %s, of the Policy %t; want %s, %t (%v)", se.Field, se.OfPolicy, tc.wantField, tc.ofPolicy, err)
			}
			var pe *params.Error
			var ce *policy.CompileError
			if !errors.As(err, &pe) && !errors.As(err, &ce) {
				t.Fatalf("%v wraps neither a *params.Error nor a *policy.CompileError", err)
			}
		})
	}
}
