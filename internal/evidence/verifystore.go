package evidence

import (
	"bytes"
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
)

// StoreSummary is what VerifyStore checked.
type StoreSummary struct {
	Size        uint64
	Pruned      uint64 // leaves pruned, verified through their kept hashes
	Checkpoints int    // kept checkpoints whose roots were recomputed
}

// verifyChunk is how many leaves VerifyStore reads at a time.
const verifyChunk = 8192

// VerifyStore checks a whole live ledger against its verifier key: the head's checkpoint is
// signed by the key, every leaf is present (or in a pruned segment), canonical and agrees
// with its indexed columns, the stored tree nodes agree with the leaves, and the root
// recomputed from the leaves matches every kept checkpoint and the head. A failure is a
// *VerifyError with the first bad index it can name.
func VerifyStore(ctx context.Context, st Store, verifierKey string) (StoreSummary, error) {
	var sum StoreSummary
	v, err := parseVerifier(verifierKey)
	if err != nil {
		return sum, err
	}
	head, err := st.Head(ctx)
	if err != nil {
		return sum, err
	}
	sum.Size = head.Size
	if head.Size == 0 {
		return sum, nil
	}
	if cp, err := OpenCheckpoint(head.Checkpoint, v); err != nil {
		return sum, bad(ProblemCheckpoint, "head: "+err.Error())
	} else if cp.Size != head.Size || !bytes.Equal(cp.Root, head.Root) {
		return sum, bad(ProblemCheckpoint, "head does not match its checkpoint")
	}
	kept, err := st.Checkpoints(ctx, 1, head.Size)
	if err != nil {
		return sum, err
	}
	checks := append(kept, head)
	for _, c := range kept {
		if _, err := openSized(c.Checkpoint, v, c.Size, fmt.Sprintf("kept (size %d)", c.Size)); err != nil {
			return sum, err
		}
	}
	w := &storeWalker{st: st, rng: rangeFactory.NewEmptyRange(0), checks: checks, sum: &sum}
	return sum, w.walk(ctx, head.Size)
}

// storeWalker recomputes a stored tree leaf by leaf.
type storeWalker struct {
	st       Store
	rng      *compact.Range
	checks   []Head // checkpoints by size, the head last
	verified uint64 // size of the last checkpoint verified
	sum      *StoreSummary
	pending  []Node // stored-level nodes recomputed since the last comparison
}

func (w *storeWalker) walk(ctx context.Context, size uint64) error {
	for at := uint64(0); at < size; at += verifyChunk {
		hi := min(at+verifyChunk, size)
		hashes, err := w.chunkHashes(ctx, at, hi)
		if err != nil {
			return err
		}
		for i, h := range hashes {
			if err := w.append(ctx, at+uint64(i), h); err != nil {
				return err
			}
		}
		if err := w.compareNodes(ctx); err != nil {
			return err
		}
	}
	return nil
}

// chunkHashes returns the leaf hashes of [at, hi), checking each stored leaf.
func (w *storeWalker) chunkHashes(ctx context.Context, at, hi uint64) ([][]byte, error) {
	recs, err := w.st.Records(ctx, at, hi)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, hi-at)
	for _, r := range recs {
		if r.Index < at || r.Index >= hi {
			return nil, badIndex(ProblemBundle, r.Index, "store returned a leaf outside the range asked")
		}
		if err := checkRecord(r); err != nil {
			return nil, err
		}
		out[r.Index-at] = LeafHash(r.Data)
	}
	for i := range out {
		if out[i] != nil {
			continue
		}
		seg := (at + uint64(i)) / SegmentSize
		kept, err := w.st.PrunedHashes(ctx, seg)
		if err != nil {
			return nil, err
		}
		off := (at + uint64(i) - seg*SegmentSize) * 32
		if uint64(len(kept)) < off+32 {
			return nil, badIndex(ProblemMissing, at+uint64(i), "")
		}
		out[i] = kept[off : off+32]
		w.sum.Pruned++
	}
	return out, nil
}

// checkRecord checks that a stored leaf is canonical and agrees with its indexed columns.
func checkRecord(r Record) error {
	leaf, err := DecodeLeaf(r.Data)
	if err != nil {
		return badIndex(ProblemMalformed, r.Index, err.Error())
	}
	if leaf.Kind != r.Kind || leaf.Control != r.Control || !leaf.Time.Equal(r.Time) || leaf.key() != r.Key {
		return badIndex(ProblemModified, r.Index, "indexed columns do not match the leaf")
	}
	return nil
}

// append adds one leaf hash, compares the stored nodes it completes, and checks the root at
// each checkpoint size reached.
func (w *storeWalker) append(ctx context.Context, index uint64, h []byte) error {
	if err := w.rng.Append(h, func(id compact.NodeID, hash []byte) {
		if isStoredLevel(id.Level) {
			w.pending = append(w.pending, Node{ID: id, Hash: hash})
		}
	}); err != nil {
		return err
	}
	for len(w.checks) > 0 && w.checks[0].Size == index+1 {
		root, err := w.rng.GetRootHash(nil)
		if err != nil || !bytes.Equal(root, w.checks[0].Root) {
			if err := w.compareNodes(ctx); err != nil {
				return err // names a narrower window than the checkpoint can
			}
			return badIndex(ProblemTree, w.verified, fmt.Sprintf("the leaves after the last verified size %d do not make the root of the checkpoint of size %d", w.verified, index+1))
		}
		w.verified = index + 1
		w.sum.Checkpoints++
		w.checks = w.checks[1:]
	}
	return nil
}

// compareNodes checks recomputed nodes against the stored ones: a mismatch at the lowest
// stored level narrows a tampered leaf to one window of 2^StoredLevelStride leaves.
func (w *storeWalker) compareNodes(ctx context.Context) error {
	nodes := w.pending
	w.pending = nil
	if len(nodes) == 0 {
		return nil
	}
	ids := make([]compact.NodeID, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	stored, err := w.st.Nodes(ctx, ids)
	if err != nil {
		return err
	}
	for i, n := range nodes {
		if !bytes.Equal(stored[i], n.Hash) {
			begin, end := n.ID.Coverage()
			return badIndex(ProblemModified, begin, fmt.Sprintf("a leaf in [%d, %d) does not match the stored tree", begin, end))
		}
	}
	return nil
}
