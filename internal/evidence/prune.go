package evidence

import (
	"context"
	"fmt"
	"time"
)

// DefaultRetention is how long leaves are kept before their segment may be pruned.
const DefaultRetention = 3 * 365 * 24 * time.Hour

// PruneReport says what Prune removed.
type PruneReport struct {
	Segments uint64 // segments pruned by this call
	// PrunedBefore is the index below which every leaf is now pruned.
	PrunedBefore uint64
}

// Prune removes, oldest first, whole segments of SegmentSize leaves whose last leaf is older
// than now minus retention. A pruned segment keeps its leaf hashes, and the tree nodes and
// checkpoints stay, so every proof still verifies; its leaves read as pruned, not missing.
func (l *Ledger) Prune(ctx context.Context, now time.Time, retention time.Duration) (PruneReport, error) {
	if retention <= 0 {
		retention = DefaultRetention
	}
	cutoff := now.Add(-retention)
	var rep PruneReport
	seg, err := l.store.PrunedSegments(ctx)
	if err != nil {
		return rep, err
	}
	size := l.Head().Size
	for ; (seg+1)*SegmentSize <= size; seg++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		done, err := l.pruneSegment(ctx, seg, cutoff)
		if err != nil || !done {
			rep.PrunedBefore = seg * SegmentSize
			return rep, err
		}
		rep.Segments++
	}
	rep.PrunedBefore = seg * SegmentSize
	return rep, nil
}

// pruneSegment prunes one full segment if its last leaf is older than cutoff.
func (l *Ledger) pruneSegment(ctx context.Context, seg uint64, cutoff time.Time) (bool, error) {
	lo, hi := seg*SegmentSize, (seg+1)*SegmentSize
	last, err := l.store.Records(ctx, hi-1, hi)
	if err != nil {
		return false, err
	}
	if len(last) != 1 {
		return false, fmt.Errorf("leaf %d missing: cannot prune segment %d", hi-1, seg)
	}
	if !last[0].Time.Before(cutoff) {
		return false, nil
	}
	recs, err := l.store.Records(ctx, lo, hi)
	if err != nil {
		return false, err
	}
	if uint64(len(recs)) != SegmentSize {
		return false, fmt.Errorf("segment %d has %d leaves, want %d", seg, len(recs), SegmentSize)
	}
	hashes := make([]byte, 0, SegmentSize*32)
	for _, r := range recs {
		hashes = append(hashes, LeafHash(r.Data)...)
	}
	return true, l.store.PruneSegment(ctx, seg, hashes)
}

// PrunedBefore returns the index below which every leaf has been pruned (0 when none
// has), so a caller can say that history before it is pruned rather than absent.
func (l *Ledger) PrunedBefore(ctx context.Context) (uint64, error) {
	seg, err := l.store.PrunedSegments(ctx)
	return seg * SegmentSize, err
}
