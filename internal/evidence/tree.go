package evidence

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// StoredLevelStride says which tree levels are stored: every node at a level that is a
// positive multiple of it. Leaf hashes (level 0) come from the leaves themselves, and levels
// in between are recomputed from at most 2^(stride-1) stored nodes below. This stores about
// one node per 15 leaves instead of one per leaf.
const StoredLevelStride = 4

// hasher is RFC 6962 SHA-256: leaf hash H(0x00||leaf), node hash H(0x01||left||right).
var hasher = rfc6962.DefaultHasher

var rangeFactory = compact.RangeFactory{Hash: hasher.HashChildren}

// LeafHash returns the RFC 6962 leaf hash of an encoded leaf.
func LeafHash(encoded []byte) []byte { return hasher.HashLeaf(encoded) }

// isStoredLevel says whether nodes at level are kept in the store.
func isStoredLevel(level uint) bool { return level > 0 && level%StoredLevelStride == 0 }

// Node is one stored Merkle tree node hash.
type Node struct {
	ID   compact.NodeID
	Hash []byte
}

// nodeSource reads node hashes of the tree from a store. With a memo (see withMemo) it
// remembers the nodes it read, for a run of proofs that share their upper nodes.
type nodeSource struct {
	store Store
	memo  map[compact.NodeID][]byte
}

// withMemo returns a source that remembers nodes: use one per query, since the tree only
// grows and a node's hash never changes once complete.
func (s nodeSource) withMemo() nodeSource {
	return nodeSource{store: s.store, memo: map[compact.NodeID][]byte{}}
}

// hashes returns the hashes of the given nodes, all of them below the tree's current size.
func (s nodeSource) hashes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := s.hash(ctx, id)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// hash returns one node's hash: stored, a leaf hash, or recomputed from the nearest stored
// level below.
func (s nodeSource) hash(ctx context.Context, id compact.NodeID) ([]byte, error) {
	if h, ok := s.memo[id]; ok {
		return h, nil
	}
	h, err := s.read(ctx, id)
	if err == nil && s.memo != nil {
		s.memo[id] = h
	}
	return h, err
}

func (s nodeSource) read(ctx context.Context, id compact.NodeID) ([]byte, error) {
	if isStoredLevel(id.Level) {
		got, err := s.store.Nodes(ctx, []compact.NodeID{id})
		if err != nil {
			return nil, err
		}
		if len(got) != 1 || len(got[0]) == 0 {
			return nil, fmt.Errorf("tree node %d/%d missing from the store", id.Level, id.Index)
		}
		return got[0], nil
	}
	base := id.Level - id.Level%StoredLevelStride
	begin, end := id.Coverage()
	width := uint64(1) << base
	below, err := s.level(ctx, base, begin/width, end/width)
	if err != nil {
		return nil, err
	}
	for len(below) > 1 {
		next := make([][]byte, 0, len(below)/2)
		for i := 0; i+1 < len(below); i += 2 {
			next = append(next, hasher.HashChildren(below[i], below[i+1]))
		}
		below = next
	}
	return below[0], nil
}

// level returns the hashes of nodes [from, to) at a level that is 0 or stored.
func (s nodeSource) level(ctx context.Context, level uint, from, to uint64) ([][]byte, error) {
	if level == 0 {
		return leafHashes(ctx, s.store, from, to)
	}
	ids := make([]compact.NodeID, 0, to-from)
	for i := from; i < to; i++ {
		ids = append(ids, compact.NewNodeID(level, i))
	}
	got, err := s.store.Nodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, h := range got {
		if len(h) == 0 {
			return nil, fmt.Errorf("tree node %d/%d missing from the store", level, from+uint64(i))
		}
	}
	return got, nil
}

// leafHashes returns the leaf hashes of [from, to): hashed from stored leaves, or taken from
// the hashes kept for pruned segments.
func leafHashes(ctx context.Context, st Store, from, to uint64) ([][]byte, error) {
	recs, err := st.Records(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, to-from)
	for _, r := range recs {
		if r.Index >= from && r.Index < to {
			out[r.Index-from] = LeafHash(r.Data)
		}
	}
	for i := range out {
		if out[i] == nil {
			if err := fillPruned(ctx, st, from, out); err != nil {
				return nil, err
			}
			break
		}
	}
	return out, nil
}

// fillPruned fills the missing hashes of out (leaves from..) from pruned segments.
func fillPruned(ctx context.Context, st Store, from uint64, out [][]byte) error {
	segs := map[uint64][]byte{}
	for i := range out {
		if out[i] != nil {
			continue
		}
		idx := from + uint64(i)
		seg := idx / SegmentSize
		hashes, ok := segs[seg]
		if !ok {
			var err error
			if hashes, err = st.PrunedHashes(ctx, seg); err != nil {
				return err
			}
			segs[seg] = hashes
		}
		off := (idx - seg*SegmentSize) * 32
		if uint64(len(hashes)) < off+32 {
			return fmt.Errorf("leaf %d missing from the store", idx)
		}
		out[i] = hashes[off : off+32]
	}
	return nil
}

// rangeAt rebuilds the compact range [0, size) from the store.
func (s nodeSource) rangeAt(ctx context.Context, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := s.hashes(ctx, ids)
	if err != nil {
		return nil, err
	}
	return rangeFactory.NewRange(0, size, hashes)
}

// rootAt returns the root hash of the tree of the given size.
func (s nodeSource) rootAt(ctx context.Context, size uint64) ([]byte, error) {
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	r, err := s.rangeAt(ctx, size)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// inclusion returns the RFC 6962 inclusion proof of leaf index in the tree of size.
func (s nodeSource) inclusion(ctx context.Context, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return s.rehash(ctx, nodes)
}

// consistency returns the RFC 6962 consistency proof between trees of size1 and size2.
func (s nodeSource) consistency(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return s.rehash(ctx, nodes)
}

func (s nodeSource) rehash(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := s.hashes(ctx, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, hasher.HashChildren)
}
