package evidence_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/memstore"
)

func soaDecision(name, version, decision string, at time.Time) evidence.Leaf {
	return evidence.Leaf{V: 1, Kind: evidence.KindSoA, Time: at, SoA: &evidence.SoADecision{Name: name, Version: version,
		Framework: "iso27001-2022", Decision: decision, Digest: "sha256:" + strings.Repeat(version[len(version)-1:], 64),
		DecidedBy: "bob", DecidedAt: at.Format(time.RFC3339)}}
}

// TestAtShowsTheSoAInForce: At answers which version of each statement was approved last at
// the instant, ignoring rejections and later approvals, with proofs that verify.
func TestAtShowsTheSoAInForce(t *testing.T) {
	ctx := context.Background()
	keys := newKeys(t)
	l, err := evidence.Open(ctx, memstore.New(), keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	if _, err := l.Append(ctx, []evidence.Leaf{
		soaDecision("payments", "2026.1", evidence.SoAApproved, t0),
		subject("c1", 0, t0.Add(time.Hour)),
		soaDecision("identity", "1", evidence.SoAApproved, t0.Add(2*day)),
		soaDecision("payments", "2026.2", evidence.SoARejected, t0.Add(10*day)),
		soaDecision("payments", "2026.3", evidence.SoAApproved, t0.Add(20*day)),
	}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		at   time.Time
		want []string // name@version
	}{
		"before any approval":           {t0.Add(-time.Hour), nil},
		"after the first":               {t0.Add(day), []string{"payments@2026.1"}},
		"after a rejection":             {t0.Add(15 * day), []string{"identity@1", "payments@2026.1"}},
		"after the next approval":       {t0.Add(30 * day), []string{"identity@1", "payments@2026.3"}},
		"at the instant of an approval": {t0.Add(20 * day), []string{"identity@1", "payments@2026.3"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			snap, err := l.At(ctx, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range snap.SoAs {
				got = append(got, p.Leaf.SoA.Name+"@"+p.Leaf.SoA.Version)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("in force: %q, want %q", got, tc.want)
			}
			if err := evidence.VerifySnapshot(snap, keys.VerifierKey); err != nil {
				t.Fatalf("the snapshot does not verify: %v", err)
			}
			for _, c := range snap.Controls {
				if c.Control != "c1" {
					t.Fatalf("a statement shows up as control %q", c.Control)
				}
			}
		})
	}
	snap, _ := l.At(ctx, t0.Add(30*day))
	snap.SoAs[0].Leaf.SoA.Version = "forged"
	if err := evidence.VerifySnapshot(snap, keys.VerifierKey); err == nil {
		t.Fatal("a forged statement version verified")
	}
}
