package crdschema

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/isms-operator/isms-operator/config/crd"
)

// The CRD rules of attested Controls and of Attestations, as the API server applies them on
// create (the transition rules, such as "a decided attestation is final", are tested against a
// real API server in controllers/attestation_webhook_test.go).
func TestAttestedControlsAndAttestations(t *testing.T) {
	v, err := Load(crd.Bases, "bases")
	if err != nil {
		t.Fatal(err)
	}
	control := func(spec string) string {
		return "apiVersion: isms.dev/v1alpha1\nkind: Control\nmetadata: {name: c}\nspec:\n  id: A.5.1\n  title: t\n  owner: o\n  severity: high\n" + spec
	}
	const attested = "  attestation: {every: 90d, grace: 14d, approvers: {groups: [isms-approvers]}}\n"
	const evaluated = "  targets: {kinds: [{apiGroups: [apps], kinds: [Deployment]}]}\n  policy: {rego: \"package p\"}\n"
	attestation := func(spec string) string {
		return "apiVersion: isms.dev/v1alpha1\nkind: Attestation\nmetadata: {name: a}\nspec:\n  control: c\n  period: {from: '2026-01-01T00:00:00Z', to: '2026-03-31T00:00:00Z'}\n  statement: s\n" + spec
	}
	const digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	tests := map[string]struct {
		doc  string
		want string // "" for valid
	}{
		"an attested control":                  {doc: control(attested)},
		"an evaluated control":                 {doc: control(evaluated)},
		"a test-sized schedule":                {doc: control("  attestation: {every: 3s, grace: 1s, approvers: {users: [bob]}}\n")},
		"neither policy nor attestation":       {doc: control(""), want: "exactly one of spec.policy"},
		"an empty policy written out":          {doc: control("  targets: {kinds: [{apiGroups: [apps], kinds: [Deployment]}]}\n  policy: {}\n"), want: "exactly one of spec.policy.rego (inline Rego) and spec.policy.ref"},
		"both policy and attestation":          {doc: control(evaluated + attested), want: "exactly one of spec.policy"},
		"targets with an attestation":          {doc: control(attested + "  targets: {kinds: [{apiGroups: [apps], kinds: [Deployment]}]}\n"), want: "spec.targets is required with spec.policy and forbidden"},
		"a policy without targets":             {doc: control("  policy: {rego: \"package p\"}\n"), want: "spec.targets is required"},
		"parameters with an attestation":       {doc: control(attested + "  parameters: {a: 1}\n"), want: "belong to evaluated controls"},
		"no approvers":                         {doc: control("  attestation: {every: 90d, approvers: {}}\n"), want: "at least one approver"},
		"every of 0d":                          {doc: control("  attestation: {every: 0d, approvers: {users: [bob]}}\n"), want: "every must be between"},
		"every of 4 years":                     {doc: control("  attestation: {every: 1461d, approvers: {users: [bob]}}\n"), want: "every must be between"},
		"every under a second":                 {doc: control("  attestation: {every: 500ms, approvers: {users: [bob]}}\n"), want: "every must be between"},
		"every in weeks":                       {doc: control("  attestation: {every: 12w, approvers: {users: [bob]}}\n"), want: "spec.attestation.every"},
		"grace of two years":                   {doc: control("  attestation: {every: 90d, grace: 730d, approvers: {users: [bob]}}\n"), want: "grace must be at most"},
		"an attestation with an artifact":      {doc: attestation("  artifacts: [{name: review.pdf, uri: 'https://docs.example.com/review.pdf', sha256: " + digest + ", size: 10, mediaType: application/pdf}]\n")},
		"a period that ends before it starts":  {doc: strings.Replace(attestation(""), "to: '2026-03-31", "to: '2025-03-31", 1), want: "period.to must not be before"},
		"a digest in capitals":                 {doc: attestation("  artifacts: [{name: r, sha256: " + strings.ToUpper(digest) + "}]\n"), want: "sha256"},
		"an artifact uri that is not a URL":    {doc: attestation("  artifacts: [{name: r, sha256: " + digest + ", uri: 'not a url'}]\n"), want: "absolute URL"},
		"an unknown outcome":                   {doc: attestation("  decision: {outcome: Maybe}\n"), want: "spec.decision.outcome: Unsupported value"},
		"a statement beyond its bound":         {doc: strings.Replace(attestation(""), "statement: s", "statement: "+strings.Repeat("x", 8193), 1), want: "spec.statement: Too long"},
		"seventeen artifacts are too many":     {doc: attestation("  artifacts: [" + artifacts(17, digest) + "]\n"), want: "spec.artifacts: Too many"},
		"an attestation without its statement": {doc: strings.Replace(attestation(""), "  statement: s\n", "", 1), want: "spec.statement: Required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tc.doc), &obj); err != nil {
				t.Fatal(err)
			}
			kind, _ := obj["kind"].(string)
			err := v.Validate(context.Background(), schema.GroupVersionKind{Group: "isms.dev", Version: "v1alpha1", Kind: kind}, obj).ToAggregate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func artifacts(n int, digest string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("{name: a" + strings.Repeat("x", i) + ", sha256: " + digest + "}, ")
	}
	return b.String()
}
