package evidence

import (
	"bytes"
	"strings"
	"testing"
)

func attestationLeaf(step string) Leaf {
	return Leaf{V: LeafVersion, Kind: KindAttestation, Control: "a-5-1", Time: t0,
		Attestation: &AttestationChange{Name: "q1", Step: step, SubmittedBy: "alice", DecidedBy: "bob",
			PeriodFrom: "2026-01-01T00:00:00Z", PeriodTo: "2026-03-31T00:00:00Z",
			Artifacts: []ArtifactDigest{{Name: "policy.pdf", SHA256: strings.Repeat("ab", 32), Size: 1024}}}}
}

func TestAttestationLeafIsCanonical(t *testing.T) {
	b, err := EncodeLeaf(attestationLeaf(StepApproved))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"attestation":{"artifacts":[{"name":"policy.pdf","sha256":"` + strings.Repeat("ab", 32) + `","size":1024}],` +
		`"decidedBy":"bob","name":"q1","periodFrom":"2026-01-01T00:00:00Z","periodTo":"2026-03-31T00:00:00Z","step":"Approved","submittedBy":"alice"},` +
		`"control":"a-5-1","kind":"attestation","time":"2026-03-14T09:00:00Z","v":1}`
	if string(b) != want {
		t.Fatalf("encoded\n%s\nwant\n%s", b, want)
	}
	back, err := DecodeLeaf(b)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := EncodeLeaf(back); !bytes.Equal(again, b) {
		t.Fatalf("round trip changed the bytes: %s", again)
	}
}

func TestAttestationLeafValidation(t *testing.T) {
	cases := map[string]func(l *Leaf){
		"an unknown step":          func(l *Leaf) { l.Attestation.Step = "Approvedish" },
		"a digest in capitals":     func(l *Leaf) { l.Attestation.Artifacts[0].SHA256 = strings.Repeat("AB", 32) },
		"a short digest":           func(l *Leaf) { l.Attestation.Artifacts[0].SHA256 = "abc" },
		"a period time not UTC":    func(l *Leaf) { l.Attestation.PeriodFrom = "2026-01-01T01:00:00+01:00" },
		"a long artifact name":     func(l *Leaf) { l.Attestation.Artifacts[0].Name = strings.Repeat("x", MaxArtifactNameLen+1) },
		"no name":                  func(l *Leaf) { l.Attestation.Name = "" },
		"no control":               func(l *Leaf) { l.Control = "" },
		"a second payload":         func(l *Leaf) { l.Finding = &FindingChange{Name: "f", To: "Open"} },
		"seventeen artifacts":      func(l *Leaf) { l.Attestation.Artifacts = make([]ArtifactDigest, 17) },
		"a negative artifact size": func(l *Leaf) { l.Attestation.Artifacts[0].Size = -1 },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			l := attestationLeaf(StepSubmitted)
			spoil(&l)
			if _, err := EncodeLeaf(l); err == nil {
				t.Fatal("encoded an invalid leaf")
			}
		})
	}
	// The largest attestation leaf fits: 16 artifacts with the longest names.
	l := attestationLeaf(StepExpired)
	l.Attestation.Artifacts = nil
	for range MaxLeafArtifacts {
		l.Attestation.Artifacts = append(l.Attestation.Artifacts, ArtifactDigest{Name: strings.Repeat("n", MaxArtifactNameLen), SHA256: strings.Repeat("0", 64), Size: 1 << 40})
	}
	l.Control, l.Attestation.Name = strings.Repeat("c", MaxNameLen), strings.Repeat("a", MaxNameLen)
	l.Attestation.SubmittedBy, l.Attestation.DecidedBy = strings.Repeat("s", MaxUserLen), strings.Repeat("d", MaxUserLen)
	if _, err := EncodeLeaf(l); err != nil {
		t.Fatalf("the largest attestation leaf: %v", err)
	}
}
