// Package groundtruth is the estate the process tests run the manager against (test/fault,
// test/ha): Deployments and Namespaces drawn from a seeded generator, five library Controls that
// judge them, and the ground truth of which (control, namespace) pairs fail, decided in plain
// Go from the objects alone, to compare the Findings and Controls a user reads with.
package groundtruth

import (
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/isms-operator/isms-operator/internal/library"
	"github.com/isms-operator/isms-operator/policies"
)

// CreateControls installs the library Controls of Controls() and their Policies, as
// `kubectl apply -k config/library` would.
func CreateControls(ctx context.Context, c client.Client) error {
	lib, err := policies.LoadFS(policies.FS)
	if err != nil {
		return err
	}
	controls, pols, err := library.Controls(lib, library.DefaultOwner)
	if err != nil {
		return err
	}
	want := Controls()
	created := 0
	for i := range controls {
		if !slices.Contains(want, controls[i].Name) {
			continue
		}
		if err := c.Create(ctx, &pols[i]); err != nil {
			return err
		}
		if err := c.Create(ctx, &controls[i]); err != nil {
			return err
		}
		created++
	}
	if created != len(want) {
		return fmt.Errorf("the library has %d of the controls %v", created, want)
	}
	return nil
}
