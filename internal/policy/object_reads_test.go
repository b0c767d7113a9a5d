package policy

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/isms-operator/isms-operator/internal/policy/policytest"
)

func TestObjectReadsOf(t *testing.T) {
	for _, c := range policytest.ObjectReadsCases {
		t.Run(c.Name, func(t *testing.T) {
			m, err := ast.ParseModuleWithOpts("policy.rego", policytest.ObjectReadsSource(c), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				t.Fatal(err)
			}
			reads := ObjectReadsOf(m)
			if got := reads.Paths("Deployment", true).String(); got != c.Deployment {
				t.Errorf("Deployment: got %q, want %q", got, c.Deployment)
			}
			if got := reads.Paths("Pod", true).String(); got != c.Pod {
				t.Errorf("Pod: got %q, want %q", got, c.Pod)
			}
		})
	}
}
