package document

import (
	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
)

// InputOf is what the decision needs of a Document, its control's schedule and the control's
// Attestations. The previous approval is read from the Document's status.
func InputOf(doc *ismsv1.Document, sched attestation.Schedule, items []ismsv1.Attestation) Input {
	in := Input{
		Document:     Document{Name: doc.Name, Version: doc.Spec.Version, SHA256: doc.Spec.Location.SHA256},
		Schedule:     sched,
		Attestations: make([]Attestation, len(items)),
	}
	for i := range items {
		a := &items[i]
		in.Attestations[i].Record = attestation.RecordOf(a)
		for _, art := range a.Spec.Artifacts {
			in.Attestations[i].Artifacts = append(in.Attestations[i].Artifacts, Artifact{Name: art.Name, SHA256: art.SHA256})
		}
	}
	if p := doc.Status.Approved; p != nil {
		in.Previous = &Approval{Attestation: p.Attestation, SHA256: p.SHA256, Version: p.Version, By: p.ApprovedBy}
		if p.ApprovedAt != nil {
			in.Previous.At = p.ApprovedAt.Time
		}
	}
	return in
}
