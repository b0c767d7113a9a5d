package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/transparency-dev/merkle/compact"
)

// Nodes returns the stored hashes of ids (nil where unknown).
func (s *Store) Nodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	pos := make(map[int64][]int, len(ids))
	for i, id := range ids {
		pos[nodeKey(id)] = append(pos[nodeKey(id)], i)
	}
	for at := 0; at < len(ids); at += maxRowsPerInsert {
		chunk := ids[at:min(at+maxRowsPerInsert, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = nodeKey(id)
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
		if err := s.scanNodes(ctx, "SELECT id, hash FROM nodes WHERE id IN ("+marks+")", args, pos, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) scanNodes(ctx context.Context, query string, args []any, pos map[int64][]int, out [][]byte) error {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return fmt.Errorf("reading tree nodes: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var key int64
		var hash []byte
		if err := rows.Scan(&key, &hash); err != nil {
			return err
		}
		for _, i := range pos[key] {
			out[i] = hash
		}
	}
	return rows.Err()
}

// Checkpoints returns the kept checkpoints with size in [minSize, maxSize].
func (s *Store) Checkpoints(ctx context.Context, minSize, maxSize uint64) ([]evidence.Head, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT size, root, checkpoint, t FROM checkpoints WHERE size >= ? AND size <= ? ORDER BY size"),
		int64(minSize), int64(maxSize))
	if err != nil {
		return nil, fmt.Errorf("reading checkpoints: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []evidence.Head
	for rows.Next() {
		var h evidence.Head
		var size, t int64
		if err := rows.Scan(&size, &h.Root, &h.Checkpoint, &t); err != nil {
			return nil, err
		}
		h.Size, h.Time = uint64(size), fromNanos(t)
		out = append(out, h)
	}
	return out, rows.Err()
}

// PruneSegment keeps a segment's leaf hashes and deletes its leaves, atomically.
func (s *Store) PruneSegment(ctx context.Context, seg uint64, leafHashes []byte) (err error) {
	if len(leafHashes) != evidence.SegmentSize*32 {
		return fmt.Errorf("segment %d: %d bytes of leaf hashes, want %d", seg, len(leafHashes), evidence.SegmentSize*32)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, s.q("INSERT INTO pruned (seg, hashes) VALUES (?, ?)"), int64(seg), leafHashes); err != nil {
		return fmt.Errorf("keeping segment %d hashes: %w", seg, err)
	}
	lo, hi := int64(seg*evidence.SegmentSize), int64((seg+1)*evidence.SegmentSize)
	if _, err = tx.ExecContext(ctx, s.q("DELETE FROM leaves WHERE idx >= ? AND idx < ?"), lo, hi); err != nil {
		return fmt.Errorf("pruning segment %d: %w", seg, err)
	}
	return tx.Commit()
}

// PrunedHashes returns a pruned segment's leaf hashes.
func (s *Store) PrunedHashes(ctx context.Context, seg uint64) ([]byte, error) {
	var hashes []byte
	err := s.db.QueryRowContext(ctx, s.q("SELECT hashes FROM pruned WHERE seg = ?"), int64(seg)).Scan(&hashes)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return hashes, nil
}

// PrunedSegments returns how many segments from 0 on are pruned.
func (s *Store) PrunedSegments(ctx context.Context) (uint64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seg) + 1, 0) FROM pruned").Scan(&n)
	return uint64(n), err
}

var _ evidence.Store = (*Store)(nil)
