package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// documentArtifacts reads the Documents of --document, which must name the control, and
// returns them as artifacts: named after the Document (as the operator matches them), with its
// location, digest, size and media type. The files are not read: the Document already holds
// the digest of the version under review.
func (o *attestOptions) documentArtifacts(ctx context.Context, c client.Client, control string) ([]ismsv1.Document, []ismsv1.AttestationArtifact, error) {
	var docs []ismsv1.Document
	var out []ismsv1.AttestationArtifact
	for _, name := range o.documents {
		var d ismsv1.Document
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &d); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil, usagef("--document: document %q not found", name)
			}
			return nil, nil, fmt.Errorf("reading document %s: %w", name, err)
		}
		if d.Spec.Control != control {
			return nil, nil, usagef("--document %s: its review evidences control %q, not %q", name, d.Spec.Control, control)
		}
		if slices.ContainsFunc(out, func(a ismsv1.AttestationArtifact) bool { return a.Name == d.Name }) {
			return nil, nil, usagef("--document %s given twice", name)
		}
		l := d.Spec.Location
		docs = append(docs, d)
		out = append(out, ismsv1.AttestationArtifact{Name: d.Name, URI: l.URI, SHA256: l.SHA256, Size: l.Size, MediaType: l.MediaType})
	}
	return docs, out, nil
}

// documentsStatement is the statement of a review of documents when none is given.
func documentsStatement(docs []ismsv1.Document) string {
	parts := make([]string, len(docs))
	for i, d := range docs {
		parts[i] = fmt.Sprintf("%s, version %s (sha256 %s)", d.Spec.Title, d.Spec.Version, d.Spec.Location.SHA256)
	}
	return "Reviewed and approved for the period: " + strings.Join(parts, "; ") + "."
}

// noteLeftOut tells which Documents of the control the attestation leaves out: once it is
// approved and in force, they show NotApproved until an attestation includes them again.
func noteLeftOut(ctx context.Context, c client.Client, a *ismsv1.Attestation, w io.Writer) error {
	var list ismsv1.DocumentList
	if err := c.List(ctx, &list); err != nil {
		return fmt.Errorf("listing documents: %w", err)
	}
	var left []string
	for _, d := range list.Items {
		included := slices.ContainsFunc(a.Spec.Artifacts, func(art ismsv1.AttestationArtifact) bool {
			return art.Name == d.Name || art.SHA256 == d.Spec.Location.SHA256
		})
		if d.Spec.Control == a.Spec.Control && !included {
			left = append(left, d.Name)
		}
	}
	if len(left) > 0 {
		fmt.Fprintf(w, "note: the documents %s of control %s are not in this attestation: once it is approved they show NotApproved (add --document NAME for each)\n",
			strings.Join(left, ", "), a.Spec.Control)
	}
	return nil
}
