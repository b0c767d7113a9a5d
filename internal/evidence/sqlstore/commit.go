package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// Commit appends a batch in one transaction, guarded by the head's size so a second writer
// on the same database fails instead of forking the log.
func (s *Store) Commit(ctx context.Context, b evidence.Batch) (err error) {
	if len(b.Records) == 0 {
		return fmt.Errorf("empty batch")
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
	newControls, err := s.internControls(ctx, tx, b.Records)
	if err != nil {
		return err
	}
	if err := s.insertLeaves(ctx, tx, b.Records, newControls); err != nil {
		return err
	}
	if err := s.insertNodes(ctx, tx, b.Nodes); err != nil {
		return err
	}
	if err := s.moveHead(ctx, tx, b.Records[0].Index, b.Head, b.KeepCheckpoint); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.mu.Lock()
	for name, id := range newControls {
		s.controls[name], s.names[id] = id, name
	}
	s.mu.Unlock()
	return nil
}

// internControls gives ids to the batch's controls this Store has not seen, inside the
// transaction: the id another replica gave a control on a shared database (PostgreSQL), or a
// new one. (Without the look-up, a replica that became the leader after another had added a
// control failed every batch of its term on the names' uniqueness.)
func (s *Store) internControls(ctx context.Context, tx *sql.Tx, recs []evidence.Record) (map[string]int64, error) {
	fresh := map[string]int64{}
	var names []string
	for _, r := range recs {
		if _, ok := s.controlID(r.Control); !ok {
			if _, seen := fresh[r.Control]; !seen {
				fresh[r.Control] = 0
				names = append(names, r.Control)
			}
		}
	}
	sort.Strings(names)
	for _, name := range names {
		var id int64
		err := tx.QueryRowContext(ctx, s.q("SELECT id FROM controls WHERE name = ?"), name).Scan(&id)
		switch {
		case err == nil:
			fresh[name] = id
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("looking up control %q: %w", name, err)
		}
		row := tx.QueryRowContext(ctx, s.q("SELECT COALESCE(MAX(id), 0) + 1 FROM controls"))
		if err := row.Scan(&id); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO controls (id, name) VALUES (?, ?)"), id, name); err != nil {
			return nil, fmt.Errorf("adding control %q: %w", name, err)
		}
		fresh[name] = id
	}
	return fresh, nil
}

func (s *Store) idOf(name string, fresh map[string]int64) int64 {
	if id, ok := fresh[name]; ok {
		return id
	}
	id, _ := s.controlID(name)
	return id
}

func (s *Store) insertLeaves(ctx context.Context, tx *sql.Tx, recs []evidence.Record, fresh map[string]int64) error {
	for at := 0; at < len(recs); at += maxRowsPerInsert {
		chunk := recs[at:min(at+maxRowsPerInsert, len(recs))]
		args := make([]any, 0, 6*len(chunk))
		for _, r := range chunk {
			var key any
			if r.Key != "" {
				key = r.Key
			}
			data, err := encodeData(r.Data)
			if err != nil {
				return fmt.Errorf("compressing leaf %d: %w", r.Index, err)
			}
			args = append(args, int64(r.Index), nanos(r.Time), kindCode(r.Kind), s.idOf(r.Control, fresh), key, data)
		}
		query := "INSERT INTO leaves (idx, t, kind, control_id, k, data) VALUES " + values(len(chunk), 6)
		if _, err := tx.ExecContext(ctx, s.q(query), args...); err != nil {
			return fmt.Errorf("inserting leaves: %w", err)
		}
	}
	return nil
}

func (s *Store) insertNodes(ctx context.Context, tx *sql.Tx, nodes []evidence.Node) error {
	for at := 0; at < len(nodes); at += maxRowsPerInsert {
		chunk := nodes[at:min(at+maxRowsPerInsert, len(nodes))]
		args := make([]any, 0, 2*len(chunk))
		for _, n := range chunk {
			args = append(args, nodeKey(n.ID), n.Hash)
		}
		query := "INSERT INTO nodes (id, hash) VALUES " + values(len(chunk), 2)
		if _, err := tx.ExecContext(ctx, s.q(query), args...); err != nil {
			return fmt.Errorf("inserting tree nodes: %w", err)
		}
	}
	return nil
}

// moveHead replaces the head of size oldSize with h, and keeps its checkpoint if asked.
func (s *Store) moveHead(ctx context.Context, tx *sql.Tx, oldSize uint64, h evidence.Head, keep bool) error {
	var res sql.Result
	var err error
	if oldSize == 0 {
		res, err = tx.ExecContext(ctx, s.q("INSERT INTO head (id, size, root, checkpoint, t) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"),
			int64(h.Size), h.Root, h.Checkpoint, nanos(h.Time))
	} else {
		res, err = tx.ExecContext(ctx, s.q("UPDATE head SET size = ?, root = ?, checkpoint = ?, t = ? WHERE id = 1 AND size = ?"),
			int64(h.Size), h.Root, h.Checkpoint, nanos(h.Time), int64(oldSize))
	}
	if err != nil {
		return fmt.Errorf("moving the head: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errConcurrentWriter
	}
	if !keep {
		return nil
	}
	_, err = tx.ExecContext(ctx, s.q("INSERT INTO checkpoints (size, root, checkpoint, t) VALUES (?, ?, ?, ?) ON CONFLICT (size) DO NOTHING"),
		int64(h.Size), h.Root, h.Checkpoint, nanos(h.Time))
	return err
}

// values returns "(?, ?), (?, ?)" for rows of cols placeholders.
func values(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}
