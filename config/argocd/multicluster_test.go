package argocd_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// The fields of Open Cluster Management's Policy, ConfigurationPolicy, Placement and
// PlacementBinding that docs/examples/ocm uses (OCM's Go module is not served here).
type (
	ocmPolicy struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   objectMeta `json:"metadata"`
		Spec       struct {
			Disabled        bool `json:"disabled"`
			PolicyTemplates []struct {
				ObjectDefinition configurationPolicy `json:"objectDefinition"`
			} `json:"policy-templates"`
		} `json:"spec"`
	}
	configurationPolicy struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   objectMeta `json:"metadata"`
		Spec       struct {
			RemediationAction string `json:"remediationAction"`
			Severity          string `json:"severity"`
			ObjectTemplates   []struct {
				ComplianceType   string         `json:"complianceType"`
				ObjectDefinition ismsv1.Control `json:"objectDefinition"`
			} `json:"object-templates"`
		} `json:"spec"`
	}
	placement struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   objectMeta `json:"metadata"`
		Spec       struct {
			Predicates []struct {
				RequiredClusterSelector struct {
					LabelSelector metav1.LabelSelector `json:"labelSelector"`
				} `json:"requiredClusterSelector"`
			} `json:"predicates"`
		} `json:"spec"`
	}
	placementBinding struct {
		APIVersion   string     `json:"apiVersion"`
		Kind         string     `json:"kind"`
		Metadata     objectMeta `json:"metadata"`
		PlacementRef struct {
			APIGroup string `json:"apiGroup"`
			Kind     string `json:"kind"`
			Name     string `json:"name"`
		} `json:"placementRef"`
		Subjects []struct {
			APIGroup string `json:"apiGroup"`
			Kind     string `json:"kind"`
			Name     string `json:"name"`
		} `json:"subjects"`
	}
)

var ocmExample = filepath.Join(repoRoot, "docs", "examples", "ocm", "isms-controls-policy.yaml")

// TestOCMExample decodes the OCM example exactly, compiles the Control it enforces with the
// operator's engine, and checks that the inform template reads the Control's Compliant
// condition, which the operator sets True for Pass and NotApplicable.
func TestOCMExample(t *testing.T) {
	data, err := os.ReadFile(ocmExample)
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(data, []byte("\n---\n"))
	if len(docs) != 3 {
		t.Fatalf("%s: %d documents, want a Policy, a Placement and a PlacementBinding", ocmExample, len(docs))
	}
	var pol ocmPolicy
	var pl placement
	var pb placementBinding
	decodeStrict(t, docs[0], &pol)
	decodeStrict(t, docs[1], &pl)
	decodeStrict(t, docs[2], &pb)
	if pb.PlacementRef.Name != pl.Metadata.Name || len(pb.Subjects) != 1 || pb.Subjects[0].Name != pol.Metadata.Name {
		t.Errorf("the PlacementBinding binds %s to %+v, want Placement %s to Policy %s", pb.PlacementRef.Name, pb.Subjects, pl.Metadata.Name, pol.Metadata.Name)
	}
	if tmpls := pol.Spec.PolicyTemplates; len(tmpls) != 2 {
		t.Fatalf("want two ConfigurationPolicies (enforce the Control, inform on its compliance), got %d", len(tmpls))
	}
	deployed, compliant := pol.Spec.PolicyTemplates[0].ObjectDefinition, pol.Spec.PolicyTemplates[1].ObjectDefinition
	if deployed.Spec.RemediationAction != "enforce" || compliant.Spec.RemediationAction != "inform" {
		t.Errorf("remediation actions %q, %q; want enforce, then inform (OCM must not try to write the status)",
			deployed.Spec.RemediationAction, compliant.Spec.RemediationAction)
	}
	control := deployed.Spec.ObjectTemplates[0].ObjectDefinition
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := evaluation.Define(ctx, policy.NewEngine(policy.NewInventory(), policy.Options{}), &control, nil); err != nil {
		t.Errorf("the enforced Control cannot be evaluated: %v", err)
	}
	check := compliant.Spec.ObjectTemplates[0].ObjectDefinition
	cond := meta.FindStatusCondition(check.Status.Conditions, ismsv1.ConditionCompliant)
	if check.Name != control.Name || cond == nil || cond.Status != metav1.ConditionTrue {
		t.Errorf("the inform template checks %s for %+v, want Control %s with condition %s True", check.Name, cond, control.Name, ismsv1.ConditionCompliant)
	}
}
