package evidence

import (
	"bytes"
	"strings"
	"testing"
)

func soaLeaf(decision string) Leaf {
	return Leaf{V: LeafVersion, Kind: KindSoA, Time: t0,
		SoA: &SoADecision{Name: "payments", Version: "2026.1", Framework: "iso27001-2022", Decision: decision,
			Digest: "sha256:" + strings.Repeat("ab", 32), DecidedBy: "bob", DecidedAt: "2026-03-14T09:00:00Z", EditedBy: "alice"}}
}

func TestSoALeafIsCanonical(t *testing.T) {
	b, err := EncodeLeaf(soaLeaf(SoAApproved))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"soa","soa":{"decidedAt":"2026-03-14T09:00:00Z","decidedBy":"bob","decision":"Approved",` +
		`"digest":"sha256:` + strings.Repeat("ab", 32) + `","editedBy":"alice","framework":"iso27001-2022","name":"payments","version":"2026.1"},` +
		`"time":"2026-03-14T09:00:00Z","v":1}`
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

func TestSoALeafValidation(t *testing.T) {
	cases := map[string]func(l *Leaf){
		"an unknown decision":     func(l *Leaf) { l.SoA.Decision = "Approvedish" },
		"a digest without prefix": func(l *Leaf) { l.SoA.Digest = strings.Repeat("ab", 32) },
		"a digest in capitals":    func(l *Leaf) { l.SoA.Digest = "sha256:" + strings.Repeat("AB", 32) },
		"a short digest":          func(l *Leaf) { l.SoA.Digest = "sha256:abc" },
		"a time not in UTC":       func(l *Leaf) { l.SoA.DecidedAt = "2026-03-14T10:00:00+01:00" },
		"no decision time":        func(l *Leaf) { l.SoA.DecidedAt = "" },
		"no name":                 func(l *Leaf) { l.SoA.Name = "" },
		"no version":              func(l *Leaf) { l.SoA.Version = "" },
		"a long version":          func(l *Leaf) { l.SoA.Version = strings.Repeat("v", MaxSoAVersionLen+1) },
		"no decider":              func(l *Leaf) { l.SoA.DecidedBy = "" },
		"a long editor":           func(l *Leaf) { l.SoA.EditedBy = strings.Repeat("e", MaxUserLen+1) },
		"a control":               func(l *Leaf) { l.Control = "c1" },
		"a second payload":        func(l *Leaf) { l.Finding = &FindingChange{Name: "f", To: "Open"} },
		"no payload":              func(l *Leaf) { l.SoA = nil },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			l := soaLeaf(SoARejected)
			spoil(&l)
			if _, err := EncodeLeaf(l); err == nil {
				t.Fatal("encoded an invalid leaf")
			}
		})
	}
	// The largest soa leaf fits.
	l := soaLeaf(SoAApproved)
	l.SoA.Name, l.SoA.Framework, l.SoA.Version = strings.Repeat("n", MaxNameLen), strings.Repeat("f", MaxNameLen), strings.Repeat("v", MaxSoAVersionLen)
	l.SoA.DecidedBy, l.SoA.EditedBy = strings.Repeat("d", MaxUserLen), strings.Repeat("e", MaxUserLen)
	if _, err := EncodeLeaf(l); err != nil {
		t.Fatalf("the largest soa leaf: %v", err)
	}
}
