package offline

import (
	"context"
	"testing"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// An attested control among evaluated ones is reported Pending, not an error, and does not
// stop the others being evaluated.
func TestAttestedControlsArePendingOffline(t *testing.T) {
	attested := control("a-5-1", "high", "", ismsv1.Targets{}, func(c *ismsv1.Control) {
		c.Spec.Attestation = &ismsv1.ControlAttestationSchedule{Every: "365d", Approvers: ismsv1.AttestationApprovers{Groups: []string{"isms"}}}
	})
	report, err := Evaluate(context.Background(), []ismsv1.Control{attested, control("priv", "high", privilegedRego, deployments)}, objects(t, manifests), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ismsv1.ControlResult{}
	for _, c := range report.Controls {
		got[c.Name] = c.Result
	}
	if got["a-5-1"] != ismsv1.ResultPending || got["priv"] != ismsv1.ResultFail {
		t.Fatalf("results = %v, want a-5-1 Pending and priv Fail", got)
	}
}
