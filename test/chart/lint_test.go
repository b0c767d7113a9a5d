package chart

import (
	"path/filepath"
	"testing"

	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"

	"github.com/isms-operator/isms-operator/test/install"
)

// TestHelmLint: `helm lint --strict` finds nothing to warn about (it checks Chart.yaml, the
// templates' YAML and Kubernetes names, and values.yaml against the schema).
func TestHelmLint(t *testing.T) {
	result := lint.All(filepath.Join(install.RepoRoot(), Dir), nil, Namespace, true)
	for _, m := range result.Messages {
		if m.Severity >= support.WarningSev {
			t.Error(m)
		} else {
			t.Log(m)
		}
	}
}
