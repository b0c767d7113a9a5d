package assets

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/policies"
)

// The library policies whose parameters name the labels the register reads. Their policy.yaml
// is the one place the label names are written; the register never has a copy of its own.
const (
	// OwnerPolicy requires an owner label on every Namespace; the owner label is the first of
	// its parameter labels.
	OwnerPolicy = "namespace-owner-label"
	// ClassificationPolicy requires a data classification on every Namespace: the label of its
	// parameter label, with a value among its parameter levels.
	ClassificationPolicy = "namespace-data-classification"
)

// LabelNames are the labels that say who owns an asset and how its data is classified.
type LabelNames struct {
	Owner          string `json:"owner"`
	Classification string `json:"classification"`
	// Levels are the classification levels; a value outside them is no classification.
	// Empty: any non-blank value counts.
	Levels []string `json:"levels,omitempty"`
}

// labelParameters are the parameters of the two policies the label names come from.
type labelParameters struct {
	Labels []string `json:"labels"`
	Label  string   `json:"label"`
	Levels []string `json:"levels"`
}

// LabelNamesOf reads the label names from the parameters of the library's policies (as shipped
// in the binary, policies.FS), overridden by the parameters of a Control made from the same
// policy (the same spec.id), since that Control is what requires the labels in the cluster.
func LabelNamesOf(controls []ismsv1.Control) (LabelNames, error) {
	owner, err := parametersOf(OwnerPolicy, controls)
	if err != nil {
		return LabelNames{}, err
	}
	class, err := parametersOf(ClassificationPolicy, controls)
	if err != nil {
		return LabelNames{}, err
	}
	names := LabelNames{Classification: strings.TrimSpace(class.Label), Levels: class.Levels}
	if len(owner.Labels) > 0 {
		names.Owner = strings.TrimSpace(owner.Labels[0])
	}
	if names.Owner == "" || names.Classification == "" {
		return LabelNames{}, fmt.Errorf("the library policies %s and %s name no owner or classification label", OwnerPolicy, ClassificationPolicy)
	}
	return names, nil
}

// parametersOf returns the parameters of the named library policy, or those of the first
// Control with the policy's id that sets the parameter the register reads.
func parametersOf(policy string, controls []ismsv1.Control) (labelParameters, error) {
	raw, err := fs.ReadFile(policies.FS, path.Join(policy, policies.MetadataFile))
	if err != nil {
		return labelParameters{}, fmt.Errorf("reading the library policy %s: %w", policy, err)
	}
	var md policies.Metadata
	if err := yaml.Unmarshal(raw, &md); err != nil {
		return labelParameters{}, fmt.Errorf("decoding the library policy %s: %w", policy, err)
	}
	js, err := json.Marshal(md.Parameters)
	if err != nil {
		return labelParameters{}, err
	}
	var p labelParameters
	if err := json.Unmarshal(js, &p); err != nil {
		return labelParameters{}, fmt.Errorf("the parameters of the library policy %s: %w", policy, err)
	}
	for i := range controls {
		c := &controls[i]
		if c.Spec.ID != md.ID || c.Spec.Parameters == nil {
			continue
		}
		var own labelParameters
		if json.Unmarshal(c.Spec.Parameters.Raw, &own) != nil {
			continue // the policy reports parameters it cannot read; the defaults stand here
		}
		if len(own.Labels) > 0 {
			p.Labels = own.Labels
		}
		if own.Label != "" {
			p.Label = own.Label
		}
		if own.Levels != nil {
			p.Levels = own.Levels
		}
		break
	}
	return p, nil
}
