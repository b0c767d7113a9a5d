package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/transparency-dev/merkle/compact"
)

// The kinds as small integers, so a leaf's row and index entry stay short.
var kindCodes = map[evidence.Kind]int{
	evidence.KindControl: 1, evidence.KindHeartbeat: 2, evidence.KindSubject: 3, evidence.KindFinding: 4,
	evidence.KindException: 5, evidence.KindOperatorStarted: 6, evidence.KindOperatorStopped: 7,
	evidence.KindAttestation: 8, evidence.KindSoA: 9,
}

var kindsByCode = func() map[int]evidence.Kind {
	m := map[int]evidence.Kind{}
	for k, c := range kindCodes {
		m[c] = k
	}
	return m
}()

func kindCode(k evidence.Kind) int { return kindCodes[k] }

// nodeKey packs a stored node's level (a multiple of the stride) and index into one key.
func nodeKey(id compact.NodeID) int64 {
	return int64(id.Level/evidence.StoredLevelStride)<<56 | int64(id.Index)
}

// maxFindRows caps one Find.
const maxFindRows = 100000

const leafColumns = "idx, t, kind, control_id, k, data"

// Head returns the stored head.
func (s *Store) Head(ctx context.Context) (evidence.Head, error) {
	var h evidence.Head
	var size, t int64
	err := s.db.QueryRowContext(ctx, "SELECT size, root, checkpoint, t FROM head WHERE id = 1").Scan(&size, &h.Root, &h.Checkpoint, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return evidence.Head{}, nil
	}
	if err != nil {
		return h, fmt.Errorf("reading head: %w", err)
	}
	h.Size, h.Time = uint64(size), fromNanos(t)
	return h, nil
}

// Records returns the stored leaves in [from, to).
func (s *Store) Records(ctx context.Context, from, to uint64) ([]evidence.Record, error) {
	return s.queryLeaves(ctx, "SELECT "+leafColumns+" FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx", int64(from), int64(to))
}

// Find returns the leaves matching q.
func (s *Store) Find(ctx context.Context, q evidence.Query) ([]evidence.Record, error) {
	id, ok, err := s.lookupControl(ctx, q.Control)
	if err != nil || !ok {
		return nil, err
	}
	where := []string{"control_id = ?", "t >= ?", "idx >= ?"}
	args := []any{id, nanos(q.From), int64(q.AfterIndex)}
	if !q.To.IsZero() {
		where, args = append(where, "t < ?"), append(args, nanos(q.To))
	}
	if len(q.Kinds) > 0 {
		marks := make([]string, len(q.Kinds))
		for i, k := range q.Kinds {
			marks[i], args = "?", append(args, kindCode(k))
		}
		where = append(where, "kind IN ("+strings.Join(marks, ", ")+")")
	}
	limit := q.Limit
	if limit <= 0 || limit > maxFindRows {
		limit = maxFindRows
	}
	query := "SELECT " + leafColumns + " FROM leaves WHERE " + strings.Join(where, " AND ") + " ORDER BY idx LIMIT ?"
	return s.queryLeaves(ctx, query, append(args, limit)...)
}

// Latest returns the control's last leaf of kind at or before t.
func (s *Store) Latest(ctx context.Context, control string, kind evidence.Kind, t time.Time) (evidence.Record, bool, error) {
	id, ok, err := s.lookupControl(ctx, control)
	if err != nil || !ok {
		return evidence.Record{}, false, err
	}
	recs, err := s.queryLeaves(ctx, "SELECT "+leafColumns+" FROM leaves WHERE control_id = ? AND kind = ? AND t <= ? ORDER BY t DESC, idx DESC LIMIT 1",
		id, kindCode(kind), nanos(t))
	if err != nil || len(recs) == 0 {
		return evidence.Record{}, false, err
	}
	return recs[0], true, nil
}

func (s *Store) queryLeaves(ctx context.Context, query string, args ...any) ([]evidence.Record, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("reading leaves: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []evidence.Record
	var ids []int64
	for rows.Next() {
		var idx, t, controlID int64
		var kind int
		var key sql.NullString
		var r evidence.Record
		var stored []byte
		if err := rows.Scan(&idx, &t, &kind, &controlID, &key, &stored); err != nil {
			return nil, fmt.Errorf("reading leaves: %w", err)
		}
		data, err := decodeData(stored)
		if err != nil {
			return nil, fmt.Errorf("leaf %d: %w", idx, err)
		}
		r.Data = data
		r.Index, r.Time, r.Kind, r.Key = uint64(idx), fromNanos(t), kindsByCode[kind], key.String
		out, ids = append(out, r), append(ids, controlID)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.nameRecords(ctx, out, ids)
}

// nameRecords sets each record's control from its id, reloading the names once when one is
// unknown: another replica appended it to the shared database.
func (s *Store) nameRecords(ctx context.Context, recs []evidence.Record, ids []int64) error {
	reloaded := false
	for i, id := range ids {
		name, ok := s.controlName(id)
		if !ok && !reloaded {
			if err := s.loadControls(ctx); err != nil {
				return err
			}
			reloaded = true
			name, ok = s.controlName(id)
		}
		if !ok {
			return fmt.Errorf("leaf %d: unknown control id %d", recs[i].Index, id)
		}
		recs[i].Control = name
	}
	return nil
}

// Controls lists the controls with leaves.
func (s *Store) Controls(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name FROM controls ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}
