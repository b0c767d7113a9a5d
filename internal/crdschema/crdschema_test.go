package crdschema

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/isms-operator/isms-operator/config/crd"
)

func TestValidateAsTheAPIServerDoes(t *testing.T) {
	v, err := Load(crd.Bases, "bases")
	if err != nil {
		t.Fatal(err)
	}
	control := func(spec string) string {
		return "apiVersion: isms.dev/v1alpha1\nkind: Control\nmetadata: {name: c}\nspec:\n" + spec
	}
	valid := `  id: ISMS-1
  title: t
  owner: o
  severity: high
  targets: {kinds: [{apiGroups: [apps], kinds: [Deployment]}]}
  policy: {rego: "package p"}
`
	kinds := strings.Repeat("{apiGroups: [apps], kinds: [Deployment]}, ", 1000)
	tests := map[string]struct {
		doc  string
		want string // "" for valid
	}{
		"a valid control":        {doc: control(valid)},
		"an interval of 0s":      {doc: control(valid + "  interval: 0s\n"), want: "spec.interval"},
		"a thousand kinds":       {doc: control(strings.Replace(valid, "{kinds: [{apiGroups: [apps], kinds: [Deployment]}]}", "{kinds: ["+kinds+"]}", 1)), want: "spec.targets.kinds: Too many"},
		"an unknown severity":    {doc: control(strings.Replace(valid, "high", "urgent", 1)), want: `spec.severity: Unsupported value: "urgent"`},
		"both rego and ref":      {doc: control(strings.Replace(valid, `{rego: "package p"}`, `{rego: "package p", ref: x}`, 1)), want: "spec.policy"},
		"an unknown field":       {doc: control(valid + "  severityy: high\n"), want: "spec.severityy: Forbidden: unknown field"},
		"a name with capitals":   {doc: strings.Replace(control(valid), "name: c", "name: Bad_Name", 1), want: "metadata.name: Invalid value"},
		"an exception over 365d": {doc: "apiVersion: isms.dev/v1alpha1\nkind: ControlException\nmetadata: {name: e}\nspec: {controls: [c], subjects: {namespaces: [a]}, justification: j, approvedBy: b, approvedAt: '2026-01-01T00:00:00Z', expiresAt: '2027-06-01T00:00:00Z'}\n", want: "at most 365 days"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tc.doc), &obj); err != nil {
				t.Fatal(err)
			}
			kind, _ := obj["kind"].(string)
			errs := v.Validate(context.Background(), schema.GroupVersionKind{Group: "isms.dev", Version: "v1alpha1", Kind: kind}, obj)
			err := errs.ToAggregate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}
