package evidenceclient

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// ParseKey parses a note verifier key text, as saved from `kubectl isms evidence key` or the
// ConfigMap isms-evidence.
func ParseKey(text string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("not a note verifier key (<name>+<hash>+<key>): %s", Clean(err.Error(), MaxMessageLen))
	}
	return v, nil
}

// VerifyAt checks an At answer for instant t against the verifier key: every evidence leaf
// is included in the tree of a checkpoint signed by the key (evidence.VerifySnapshot), the
// answer names that checkpoint, and each control's result, counts, digest, generation and
// open Findings are those of its evidence leaves, recorded at or before t. It returns the
// checkpoint the proofs verified against.
func VerifyAt(s evidence.Snapshot, key string, t time.Time) (evidence.Checkpoint, error) {
	v, err := ParseKey(key)
	if err != nil {
		return evidence.Checkpoint{}, err
	}
	if err := evidence.VerifySnapshot(s, key); err != nil {
		return evidence.Checkpoint{}, err
	}
	cp, err := evidence.OpenCheckpoint([]byte(s.Checkpoint), v)
	if err != nil {
		return cp, err
	}
	if s.Size != cp.Size || !bytes.Equal(s.Root, cp.Root) {
		return cp, fmt.Errorf("the answer's size %d and root are not those of its checkpoint (size %d)", s.Size, cp.Size)
	}
	if !s.At.Equal(t) {
		return cp, fmt.Errorf("the answer is for %s, not the instant asked", FormatTime(s.At))
	}
	seen := map[string]bool{}
	for _, c := range s.Controls {
		if seen[c.Control] {
			return cp, fmt.Errorf("control %q is answered twice", Clean(c.Control, 100))
		}
		seen[c.Control] = true
		if err := CheckClaims(c, s.At); err != nil {
			return cp, fmt.Errorf("control %q: %w", Clean(c.Control, 100), err)
		}
	}
	return cp, nil
}

// CheckClaims checks that one control's answer says what its evidence leaves say. The
// inclusion proofs show the leaves are the log's; this shows the answer is read from them.
func CheckClaims(c evidence.ControlAt, t time.Time) error {
	for _, e := range c.Evidence {
		if e.Leaf.Time.After(t) {
			return fmt.Errorf("evidence leaf %d was recorded after the instant", e.Index)
		}
		if e.Leaf.Control != "" && e.Leaf.Control != c.Control {
			return fmt.Errorf("evidence leaf %d is of control %q", e.Index, Clean(e.Leaf.Control, 100))
		}
	}
	if c.Result == evidence.ResultNotEvaluated {
		if len(c.OpenFindings) > 0 {
			return fmt.Errorf("NotEvaluated with open Findings")
		}
		return nil
	}
	if len(c.Evidence) == 0 || c.Evidence[0].Leaf.State == nil {
		return fmt.Errorf("result %s rests on no control or heartbeat leaf", c.Result)
	}
	st := c.Evidence[0]
	s := st.Leaf.State
	if c.Result != s.Result || c.Digest != s.Digest || c.Generation != s.Generation {
		return fmt.Errorf("result %s, digest or generation differ from leaf %d", c.Result, st.Index)
	}
	return checkCountsAndFindings(c, st)
}

// checkCountsAndFindings checks the counts against the state leaf or a later subject leaf,
// and each open Finding against an open finding leaf of its name.
func checkCountsAndFindings(c evidence.ControlAt, st evidence.Proved) error {
	counts, findings := st.Leaf.State.Counts, map[string]bool{}
	for _, e := range c.Evidence[1:] {
		switch {
		case e.Leaf.Subject != nil && e.Index > st.Index:
			counts = e.Leaf.Subject.Counts
		case e.Leaf.Finding != nil && e.Leaf.Finding.Open:
			findings[e.Leaf.Finding.Namespace+"/"+e.Leaf.Finding.Name] = true
		default:
			return fmt.Errorf("evidence leaf %d is not a later subject leaf or an open Finding", e.Index)
		}
	}
	if c.Counts != counts {
		return fmt.Errorf("counts %+v are not those of the evidence (%+v)", c.Counts, counts)
	}
	for _, f := range c.OpenFindings {
		if !findings[f] {
			return fmt.Errorf("open Finding %q has no open finding leaf", Clean(f, 100))
		}
		delete(findings, f)
	}
	if len(findings) > 0 {
		return fmt.Errorf("%d open finding leaves are not listed as open Findings", len(findings))
	}
	return nil
}

// CheckSaved checks the log's head against checkpoints saved outside the cluster: the head
// is signed by the key, and every saved checkpoint (signed by the key) is a prefix of it, by
// a consistency proof from the endpoint. A saved checkpoint the head does not extend means
// the log was rewritten or truncated after it was saved (a fork). It returns the head.
func (c *Client) CheckSaved(ctx context.Context, v note.Verifier, saved map[string][]byte) (evidence.Checkpoint, error) {
	raw, err := c.Checkpoint(ctx)
	if err != nil {
		return evidence.Checkpoint{}, err
	}
	head, err := evidence.OpenCheckpoint(raw, v)
	if err != nil {
		return head, &evidence.VerifyError{Problem: evidence.ProblemCheckpoint, Detail: "the endpoint's checkpoint: " + err.Error()}
	}
	for name, text := range saved {
		cp, err := evidence.OpenCheckpoint(text, v)
		if err != nil {
			return head, &evidence.VerifyError{Problem: evidence.ProblemCheckpoint, Detail: name + ": " + err.Error()}
		}
		if err := c.checkExtends(ctx, v, cp, head); err != nil {
			return head, fmt.Errorf("saved checkpoint %s (size %d): %w", name, cp.Size, err)
		}
	}
	return head, nil
}

func (c *Client) checkExtends(ctx context.Context, v note.Verifier, saved, head evidence.Checkpoint) error {
	fork := func(detail string) error {
		return &evidence.VerifyError{Problem: evidence.ProblemTree, Index: saved.Size, HasIndex: true, Detail: detail}
	}
	if saved.Size > head.Size {
		return fork(fmt.Sprintf("the log's head has size %d, smaller: the log was truncated", head.Size))
	}
	p, err := c.Consistency(ctx, saved.Size)
	if err != nil {
		return err
	}
	proved, err := evidence.OpenCheckpoint([]byte(p.Checkpoint), v)
	if err != nil {
		return &evidence.VerifyError{Problem: evidence.ProblemCheckpoint, Detail: "the consistency proof's checkpoint: " + err.Error()}
	}
	if p.From != saved.Size || p.To != proved.Size {
		return fmt.Errorf("the consistency proof is for sizes %d -> %d, not %d -> %d", p.From, p.To, saved.Size, proved.Size)
	}
	if err := evidence.VerifyConsistency(saved.Size, proved.Size, p.Proof, saved.Root, proved.Root); err != nil {
		return fork(fmt.Sprintf("the log of size %d does not extend it: the log was rewritten (%v)", proved.Size, err))
	}
	return nil
}
