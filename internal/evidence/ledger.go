package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// DefaultCheckpointEvery is how often a batch's checkpoint is also kept in the checkpoint
// history (every batch's checkpoint replaces the latest one).
const DefaultCheckpointEvery = 10 * time.Minute

// Options tune a Ledger.
type Options struct {
	// CheckpointEvery keeps at most one checkpoint per interval in the history; the first
	// batch after Open always keeps one. Zero means DefaultCheckpointEvery.
	CheckpointEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Ledger is an append-only Merkle log of evidence leaves over a Store, with signed
// checkpoints. Its methods are safe for concurrent use; appends are serialised.
type Ledger struct {
	store Store
	keys  Keys
	opts  Options
	nodes nodeSource

	mu       sync.Mutex // guards the fields below and serialises Append
	rng      *compact.Range
	head     Head
	lastKept time.Time
	lastTime time.Time
}

// Open loads a ledger from its store. It fails when the stored tree does not match the
// stored head or the head was signed with another key.
func Open(ctx context.Context, store Store, keys Keys, opts Options) (*Ledger, error) {
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = DefaultCheckpointEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Ledger{store: store, keys: keys, opts: opts, nodes: nodeSource{store: store}}
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Reload reads the head and the tree from the store again. A replica that becomes the
// leader calls it before it appends: another replica may have appended to a shared store
// (PostgreSQL) since this one opened it, and a batch built on an old head would be refused.
func (l *Ledger) Reload(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.load(ctx)
}

// load reads the head and the tree, and checks them against each other and the key; the
// ledger's fields change only when it succeeds. Callers hold l.mu (or own l).
func (l *Ledger) load(ctx context.Context) error {
	head, err := l.store.Head(ctx)
	if err != nil {
		return fmt.Errorf("reading ledger head: %w", err)
	}
	if err := l.checkHead(head); err != nil {
		return err
	}
	rng, err := l.nodes.rangeAt(ctx, head.Size)
	if err != nil {
		return fmt.Errorf("loading ledger tree: %w", err)
	}
	var lastTime time.Time
	if head.Size > 0 {
		root, err := rng.GetRootHash(nil)
		if err != nil || !bytes.Equal(root, head.Root) {
			return fmt.Errorf("ledger tree of size %d does not match its head", head.Size)
		}
		last, err := l.store.Records(ctx, head.Size-1, head.Size)
		if err == nil && len(last) == 1 {
			lastTime = last[0].Time
		}
	}
	// The first batch after a (re)load keeps its checkpoint, as after Open.
	l.rng, l.head, l.lastTime, l.lastKept = rng, head, lastTime, time.Time{}
	return nil
}

func (l *Ledger) checkHead(head Head) error {
	if head.Size == 0 {
		return nil
	}
	cp, err := OpenCheckpoint(head.Checkpoint, l.keys.Verifier)
	if err != nil {
		return fmt.Errorf("ledger head: %w (was the signing key replaced?)", err)
	}
	if cp.Size != head.Size || !bytes.Equal(cp.Root, head.Root) {
		return errors.New("ledger head does not match its checkpoint")
	}
	return nil
}

// Head returns the latest committed head and its signed checkpoint.
func (l *Ledger) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head
}

// VerifierKey returns the public key text that verifies this ledger's checkpoints.
func (l *Ledger) VerifierKey() string { return l.keys.VerifierKey }

// Store returns the ledger's store.
func (l *Ledger) Store() Store { return l.store }

// Append writes leaves as one batch: encoded, hashed into the tree, and committed with a new
// signed checkpoint, all or nothing. Times are kept to the millisecond, and a leaf older than
// the last recorded one is stamped with that time, so the log's times never go backwards. It
// returns the first leaf's index.
func (l *Ledger) Append(ctx context.Context, leaves []Leaf) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first := l.head.Size
	if len(leaves) == 0 {
		return first, nil
	}
	records, lastTime, err := l.encode(leaves, first)
	if err != nil {
		return 0, err
	}
	rng, nodes, err := l.extend(records)
	if err != nil {
		return 0, err
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return 0, err
	}
	now := l.opts.Now().UTC()
	size := first + uint64(len(records))
	signed, err := SignCheckpoint(l.keys.Signer, size, root)
	if err != nil {
		return 0, fmt.Errorf("signing checkpoint: %w", err)
	}
	head := Head{Size: size, Root: root, Checkpoint: signed, Time: now}
	keep := l.lastKept.IsZero() || now.Sub(l.lastKept) >= l.opts.CheckpointEvery
	if err := l.store.Commit(ctx, Batch{Records: records, Nodes: nodes, Head: head, KeepCheckpoint: keep}); err != nil {
		if !l.committedDespite(head) {
			return 0, fmt.Errorf("committing %d leaves: %w", len(records), err)
		}
	}
	l.rng, l.head, l.lastTime = rng, head, lastTime
	if keep {
		l.lastKept = now
	}
	return first, nil
}

// committedDespite reports whether a batch whose Commit returned an error was committed all
// the same: the store's head is the batch's head. A commit can land and still fail to report
// it (the context ended or the connection broke after the database committed). The batch
// was then retried with the same indexes and refused forever on the leaves' key, so the
// writer stopped recording. The head is read with a context of its own, because the
// caller's may be the one that ended.
func (l *Ledger) committedDespite(want Head) bool {
	ctx, cancel := context.WithTimeout(context.Background(), headCheckTimeout)
	defer cancel()
	got, err := l.store.Head(ctx)
	return err == nil && got.Size == want.Size && bytes.Equal(got.Root, want.Root)
}

// headCheckTimeout bounds committedDespite's read of the head.
const headCheckTimeout = 5 * time.Second

// encode turns leaves into records with consecutive indexes from first.
func (l *Ledger) encode(leaves []Leaf, first uint64) ([]Record, time.Time, error) {
	records := make([]Record, len(leaves))
	last := l.lastTime
	for i, leaf := range leaves {
		leaf.Time = leaf.Time.UTC().Truncate(time.Millisecond)
		if leaf.Time.Before(last) {
			leaf.Time = last
		}
		last = leaf.Time
		data, err := EncodeLeaf(leaf)
		if err != nil {
			return nil, last, fmt.Errorf("leaf %d of the batch: %w", i, err)
		}
		records[i] = Record{Index: first + uint64(i), Time: leaf.Time, Kind: leaf.Kind,
			Control: leaf.Control, Key: leaf.key(), Data: data}
	}
	return records, last, nil
}

// key is the store's Key column of a leaf.
func (l Leaf) key() string {
	switch {
	case l.Finding != nil:
		return l.Finding.Namespace + "/" + l.Finding.Name
	case l.Exception != nil:
		return l.Exception.Namespace + "/" + l.Exception.Name
	}
	return ""
}

// extend appends the records' hashes to a copy of the tree and collects the stored-level
// nodes they complete; the ledger's own tree changes only once the batch is committed.
func (l *Ledger) extend(records []Record) (*compact.Range, []Node, error) {
	hashes := l.rng.Hashes()
	rng, err := rangeFactory.NewRange(0, l.rng.End(), append([][]byte(nil), hashes...))
	if err != nil {
		return nil, nil, err
	}
	var nodes []Node
	visit := func(id compact.NodeID, hash []byte) {
		if isStoredLevel(id.Level) {
			nodes = append(nodes, Node{ID: id, Hash: hash})
		}
	}
	for _, r := range records {
		if err := rng.Append(LeafHash(r.Data), visit); err != nil {
			return nil, nil, err
		}
	}
	return rng, nodes, nil
}

// InclusionProof returns the proof that leaf index is in the tree of the given size.
func (l *Ledger) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if err := l.checkSize(size); err != nil {
		return nil, err
	}
	return l.nodes.inclusion(ctx, index, size)
}

// ConsistencyProof returns the proof that the tree of size1 is a prefix of that of size2.
func (l *Ledger) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	if err := l.checkSize(size2); err != nil {
		return nil, err
	}
	return l.nodes.consistency(ctx, size1, size2)
}

// RootAt returns the root hash of the tree of the given size.
func (l *Ledger) RootAt(ctx context.Context, size uint64) ([]byte, error) {
	if err := l.checkSize(size); err != nil {
		return nil, err
	}
	return l.nodes.rootAt(ctx, size)
}

func (l *Ledger) checkSize(size uint64) error {
	if head := l.Head(); size > head.Size {
		return fmt.Errorf("tree size %d is beyond the ledger's size %d", size, head.Size)
	}
	return nil
}

// VerifyInclusion checks an inclusion proof of a leaf hash against a root (RFC 6962).
func VerifyInclusion(index, size uint64, leafHash []byte, p [][]byte, root []byte) error {
	return proof.VerifyInclusion(hasher, index, size, leafHash, p, root)
}

// VerifyConsistency checks a consistency proof between two roots (RFC 6962).
func VerifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	return proof.VerifyConsistency(hasher, size1, size2, p, root1, root2)
}
