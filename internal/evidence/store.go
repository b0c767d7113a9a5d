package evidence

import (
	"context"
	"time"

	"github.com/transparency-dev/merkle/compact"
)

// SegmentSize is the number of leaves in a retention segment: leaves are pruned a whole
// aligned segment at a time, and a pruned segment keeps its leaf hashes (32 bytes a leaf) so
// that every proof and every checkpoint still verifies.
const SegmentSize = 4096

// Record is one stored leaf with the columns the store indexes.
type Record struct {
	Index   uint64
	Time    time.Time
	Kind    Kind
	Control string // "" for operator markers
	// Key is the Finding's or ControlException's namespace/name for those kinds, else "".
	Key  string
	Data []byte // the canonical leaf encoding
}

// Head is the tree head stored with the last committed batch.
type Head struct {
	Size uint64
	Root []byte
	// Checkpoint is the signed note of this head (C2SP tlog-checkpoint body).
	Checkpoint []byte
	Time       time.Time
}

// Batch is what one Commit writes, all or nothing.
type Batch struct {
	// Records are the new leaves, with indexes from the old head's size on, in order.
	Records []Record
	// Nodes are the stored-level tree nodes completed by these leaves.
	Nodes []Node
	// Head is the new head; its checkpoint replaces the latest one.
	Head Head
	// KeepCheckpoint also adds the head's checkpoint to the checkpoint history.
	KeepCheckpoint bool
}

// Query selects records by control, kind and time; results are ordered by index.
type Query struct {
	Control string // "" selects the operator's markers
	Kinds   []Kind // empty means all kinds
	From    time.Time
	To      time.Time // exclusive; zero means no upper bound
	// AfterIndex, when set, skips records with index < AfterIndex (for paging).
	AfterIndex uint64
	Limit      int // at most this many; the store may cap it
}

// Store persists a ledger. It is a plain store: the Ledger computes hashes, proofs and
// signatures, so every backend shares them. Implementations must make Commit atomic and
// durable; a crash leaves the last committed batch as the head.
type Store interface {
	// Head returns the last committed head; a new store has size 0 and no checkpoint.
	Head(ctx context.Context) (Head, error)
	// Commit appends one batch atomically.
	Commit(ctx context.Context, b Batch) error
	// Records returns the stored (unpruned) leaves with index in [from, to), by index.
	Records(ctx context.Context, from, to uint64) ([]Record, error)
	// Find returns the leaves matching q, by index.
	Find(ctx context.Context, q Query) ([]Record, error)
	// Latest returns the last leaf of a control (or, for control "", of the operator) of the
	// given kind recorded at or before t; ok is false when there is none.
	Latest(ctx context.Context, control string, kind Kind, t time.Time) (r Record, ok bool, err error)
	// Controls lists every control that has a leaf, sorted.
	Controls(ctx context.Context) ([]string, error)
	// Nodes returns the stored hashes of the given nodes (nil for an unknown node).
	Nodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error)
	// Checkpoints returns the kept checkpoints with size in [minSize, maxSize], by size.
	Checkpoints(ctx context.Context, minSize, maxSize uint64) ([]Head, error)
	// PruneSegment removes the leaves of segment seg and keeps their hashes, atomically.
	PruneSegment(ctx context.Context, seg uint64, leafHashes []byte) error
	// PrunedHashes returns the kept leaf hashes of a pruned segment (nil if not pruned).
	PrunedHashes(ctx context.Context, seg uint64) ([]byte, error)
	// PrunedSegments returns how many segments from 0 on are pruned.
	PrunedSegments(ctx context.Context) (uint64, error)
	// Close releases the store.
	Close() error
}
