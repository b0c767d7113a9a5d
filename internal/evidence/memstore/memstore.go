// Package memstore is an in-memory evidence.Store, for tests of code that records evidence
// and as the reference the SQL stores are held to.
package memstore

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/transparency-dev/merkle/compact"
)

// Store keeps a ledger in memory. Its zero value is not usable; call New.
type Store struct {
	mu          sync.RWMutex
	head        evidence.Head
	leaves      map[uint64]evidence.Record
	nodes       map[compact.NodeID][]byte
	checkpoints []evidence.Head
	pruned      map[uint64][]byte
	controls    map[string]bool
}

// New returns an empty store.
func New() *Store {
	return &Store{leaves: map[uint64]evidence.Record{}, nodes: map[compact.NodeID][]byte{},
		pruned: map[uint64][]byte{}, controls: map[string]bool{}}
}

// Head returns the head.
func (s *Store) Head(context.Context) (evidence.Head, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.head, nil
}

// Commit appends a batch.
func (s *Store) Commit(_ context.Context, b evidence.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b.Records) == 0 || b.Records[0].Index != s.head.Size {
		return errors.New("batch does not start at the head")
	}
	for _, r := range b.Records {
		s.leaves[r.Index] = r
		if r.Control != "" {
			s.controls[r.Control] = true
		}
	}
	for _, n := range b.Nodes {
		s.nodes[n.ID] = n.Hash
	}
	s.head = b.Head
	if b.KeepCheckpoint {
		s.checkpoints = append(s.checkpoints, b.Head)
	}
	return nil
}

// Records returns the leaves in [from, to).
func (s *Store) Records(_ context.Context, from, to uint64) ([]evidence.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []evidence.Record
	for i := from; i < to && i < s.head.Size; i++ {
		if r, ok := s.leaves[i]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Find scans every leaf: fine for tests.
func (s *Store) Find(_ context.Context, q evidence.Query) ([]evidence.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []evidence.Record
	for _, r := range s.leaves {
		if matches(r, q) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func matches(r evidence.Record, q evidence.Query) bool {
	if r.Control != q.Control || r.Time.Before(q.From) || r.Index < q.AfterIndex {
		return false
	}
	if !q.To.IsZero() && !r.Time.Before(q.To) {
		return false
	}
	if len(q.Kinds) == 0 {
		return true
	}
	for _, k := range q.Kinds {
		if k == r.Kind {
			return true
		}
	}
	return false
}

// Latest returns the control's last leaf of kind at or before t.
func (s *Store) Latest(_ context.Context, control string, kind evidence.Kind, t time.Time) (evidence.Record, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best evidence.Record
	found := false
	for _, r := range s.leaves {
		if r.Control != control || r.Kind != kind || r.Time.After(t) {
			continue
		}
		if !found || r.Time.After(best.Time) || (r.Time.Equal(best.Time) && r.Index > best.Index) {
			best, found = r, true
		}
	}
	return best, found, nil
}

// Controls lists the controls with leaves.
func (s *Store) Controls(context.Context) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.controls))
	for c := range s.controls {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// Nodes returns stored node hashes.
func (s *Store) Nodes(_ context.Context, ids []compact.NodeID) ([][]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = s.nodes[id]
	}
	return out, nil
}

// Checkpoints returns kept checkpoints with size in [minSize, maxSize].
func (s *Store) Checkpoints(_ context.Context, minSize, maxSize uint64) ([]evidence.Head, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []evidence.Head
	for _, c := range s.checkpoints {
		if c.Size >= minSize && c.Size <= maxSize {
			out = append(out, c)
		}
	}
	return out, nil
}

// PruneSegment drops a segment's leaves, keeping their hashes.
func (s *Store) PruneSegment(_ context.Context, seg uint64, hashes []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruned[seg] = append([]byte(nil), hashes...)
	for i := seg * evidence.SegmentSize; i < (seg+1)*evidence.SegmentSize; i++ {
		delete(s.leaves, i)
	}
	return nil
}

// PrunedHashes returns a pruned segment's leaf hashes.
func (s *Store) PrunedHashes(_ context.Context, seg uint64) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.pruned[seg], nil
}

// PrunedSegments returns how many segments from 0 on are pruned.
func (s *Store) PrunedSegments(context.Context) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n uint64
	for s.pruned[n] != nil {
		n++
	}
	return n, nil
}

// Close does nothing.
func (s *Store) Close() error { return nil }

// Tamper gives tests write access to a stored leaf's bytes, as an attacker with access to
// the database would have.
func (s *Store) Tamper(index uint64, fn func(*evidence.Record)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.leaves[index]
	fn(&r)
	s.leaves[index] = r
}

// Delete removes a stored leaf, as an attacker would.
func (s *Store) Delete(index uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.leaves, index)
}

var _ evidence.Store = (*Store)(nil)
