package evidence

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func subjectLeaf(control, id string, from, to SubjectState, at time.Time) Leaf {
	return Leaf{V: LeafVersion, Kind: KindSubject, Control: control, Time: at,
		Subject: &SubjectTransition{Counts: Counts{Failing: 3}, From: from, ID: id, To: to}}
}

func stateLeaf(kind Kind, control string, result Result, at time.Time) Leaf {
	return Leaf{V: LeafVersion, Kind: kind, Control: control, Time: at,
		State: &State{Counts: Counts{Failing: 1}, Digest: "sha256:ab", Generation: 2, HeartbeatSeconds: 3600, Result: result}}
}

func TestEncodeLeafIsCanonicalAndRoundTrips(t *testing.T) {
	leaves := map[string]Leaf{
		"subject":  subjectLeaf("c1", "apps/v1/Deployment/ns/web<&>", SubjectPassing, SubjectFailing, t0),
		"control":  stateLeaf(KindControl, "c1", ResultFail, t0.Add(time.Millisecond)),
		"finding":  {V: 1, Kind: KindFinding, Control: "c1", Time: t0, Finding: &FindingChange{Name: "f", Namespace: "ns", To: "Open", Open: true}},
		"operator": {V: 1, Kind: KindOperatorStarted, Time: t0, Operator: &OperatorEvent{HeartbeatSeconds: 3600}},
	}
	for name, l := range leaves {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeLeaf(l)
			if err != nil {
				t.Fatal(err)
			}
			again, err := EncodeLeaf(l)
			if err != nil || !bytes.Equal(b, again) {
				t.Fatalf("encoding is not deterministic: %s vs %s", b, again)
			}
			back, err := DecodeLeaf(b)
			if err != nil {
				t.Fatalf("decoding %s: %v", b, err)
			}
			rt, _ := EncodeLeaf(back)
			if !bytes.Equal(rt, b) {
				t.Fatalf("round trip changed the bytes: %s vs %s", b, rt)
			}
		})
	}
}

func TestEncodedKeysAreSorted(t *testing.T) {
	b, err := EncodeLeaf(stateLeaf(KindControl, "c1", ResultPass, t0))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"control":"c1","kind":"control","state":{"counts":{"failing":1},"digest":"sha256:ab","generation":2,"heartbeatSeconds":3600,"result":"Pass"},"time":"2026-03-14T09:00:00Z","v":1}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestDecodeLeafRejectsNonCanonical(t *testing.T) {
	good, err := EncodeLeaf(stateLeaf(KindControl, "c1", ResultPass, t0))
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	cases := map[string]string{
		"reordered keys":    strings.Replace(s, `{"control":"c1","kind":"control",`, `{"kind":"control","control":"c1",`, 1),
		"space after colon": strings.Replace(s, `"control":"c1"`, `"control": "c1"`, 1),
		"trailing newline":  s + "\n",
		"leading space":     " " + s,
		"escaped letter":    strings.Replace(s, `"c1"`, `"\u00631"`, 1),
		"zero count spelt":  strings.Replace(s, `{"failing":1}`, `{"errored":0,"failing":1}`, 1),
		"other time zone":   strings.Replace(s, `2026-03-14T09:00:00Z`, `2026-03-14T10:00:00+01:00`, 1),
		"trailing zeros":    strings.Replace(s, `09:00:00Z`, `09:00:00.000Z`, 1),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if in == s {
				t.Fatal("the case did not change the input")
			}
			if _, err := DecodeLeaf([]byte(in)); err == nil {
				t.Fatalf("accepted %s", in)
			}
		})
	}
	if _, err := DecodeLeaf([]byte(cases["reordered keys"])); !errors.Is(err, ErrNonCanonical) {
		t.Fatalf("reordered keys: got %v, want ErrNonCanonical", err)
	}
}

func TestDecodeLeafRejectsInvalid(t *testing.T) {
	cases := map[string]string{
		"unknown field":   `{"control":"c1","extra":1,"kind":"control","state":{"counts":{},"heartbeatSeconds":1,"result":"Pass"},"time":"2026-03-14T09:00:00Z","v":1}`,
		"two payloads":    `{"control":"c1","kind":"control","operator":{},"state":{"counts":{},"heartbeatSeconds":1,"result":"Pass"},"time":"2026-03-14T09:00:00Z","v":1}`,
		"wrong payload":   `{"control":"c1","kind":"subject","state":{"counts":{},"heartbeatSeconds":1,"result":"Pass"},"time":"2026-03-14T09:00:00Z","v":1}`,
		"bad result":      `{"control":"c1","kind":"control","state":{"counts":{},"heartbeatSeconds":1,"result":"Maybe"},"time":"2026-03-14T09:00:00Z","v":1}`,
		"no control":      `{"kind":"control","state":{"counts":{},"heartbeatSeconds":1,"result":"Pass"},"time":"2026-03-14T09:00:00Z","v":1}`,
		"version 2":       `{"control":"c1","kind":"control","state":{"counts":{},"heartbeatSeconds":1,"result":"Pass"},"time":"2026-03-14T09:00:00Z","v":2}`,
		"too long":        `{"control":"` + strings.Repeat("x", MaxLeafBytes) + `"}`,
		"self transition": `{"control":"c1","kind":"subject","subject":{"counts":{},"from":"Failing","id":"s","to":"Failing"},"time":"2026-03-14T09:00:00Z","v":1}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeLeaf([]byte(in)); err == nil {
				t.Fatalf("accepted %s", in)
			}
		})
	}
	ok := `{"control":"c1","kind":"control","state":{"counts":{},"heartbeatSeconds":1,"result":"Pass"},"time":"2026-03-14T09:00:00Z","v":1}`
	if _, err := DecodeLeaf([]byte(ok)); err != nil {
		t.Fatalf("the valid base case is rejected: %v", err)
	}
}

func TestLoadOrCreateKeys(t *testing.T) {
	dir := t.TempDir()
	keys, err := LoadOrCreateKeys(dir, "cluster-a/evidence")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode())
	}
	again, err := LoadOrCreateKeys(dir, "ignored")
	if err != nil || again.VerifierKey != keys.VerifierKey {
		t.Fatalf("reloaded key %q (%v), want %q", again.VerifierKey, err, keys.VerifierKey)
	}
	if !strings.HasPrefix(keys.VerifierKey, "cluster-a/evidence+") {
		t.Fatalf("verifier key %q does not carry the key name", keys.VerifierKey)
	}
	signed, err := SignCheckpoint(keys.Signer, 3, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(signed), "cluster-a/evidence\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n") {
		t.Fatalf("checkpoint is not in the tlog-checkpoint form:\n%s", signed)
	}
	cp, err := OpenCheckpoint(signed, again.Verifier)
	if err != nil || cp.Size != 3 {
		t.Fatalf("open checkpoint: %+v, %v", cp, err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFileName), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeys(dir, "x"); err == nil {
		t.Fatal("a garbage key file loaded")
	}
}
