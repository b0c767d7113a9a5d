// Package sqlstore is the evidence.Store on a SQL database through database/sql, shared by
// the SQLite and PostgreSQL backends: they differ only in their Dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dialect is what differs between the SQL databases.
type Dialect struct {
	Name string
	// Schema creates the tables and indexes if missing.
	Schema []string
	// SchemaLock, when set, runs first in the schema's transaction and holds a lock until it
	// commits: replicas starting together on one database would otherwise race on the
	// CREATE ... IF NOT EXISTS statements (PostgreSQL refuses the loser with a duplicate key).
	SchemaLock string
	// Numbered placeholders ($1, $2...) instead of "?".
	Numbered bool
}

// Store is an evidence.Store on one database. Leaves are rows of leaves (idx, t, kind,
// control_id, k, data) indexed by (control_id, kind, t); controls are interned to small ids.
type Store struct {
	db      *sql.DB
	dialect Dialect

	mu       sync.Mutex
	controls map[string]int64 // name -> id; id 0 is the operator
	names    map[int64]string
}

// maxRowsPerInsert keeps a multi-row insert under every database's parameter limit.
const maxRowsPerInsert = 500

// New wraps an open database, creating the schema if needed.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	if err := createSchema(ctx, db, d); err != nil {
		return nil, fmt.Errorf("creating evidence schema: %w", err)
	}
	s := &Store{db: db, dialect: d, controls: map[string]int64{"": 0}, names: map[int64]string{0: ""}}
	if err := s.loadControls(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// createSchema runs the dialect's schema in one transaction, after its lock.
func createSchema(ctx context.Context, db *sql.DB, d Dialect) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	stmts := d.Schema
	if d.SchemaLock != "" {
		stmts = append([]string{d.SchemaLock}, stmts...)
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// DB returns the underlying database (for tests and sizing).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// q rewrites "?" placeholders for the dialect.
func (s *Store) q(query string) string {
	if !s.dialect.Numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) loadControls(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name FROM controls")
	if err != nil {
		return fmt.Errorf("loading controls: %w", err)
	}
	defer func() { _ = rows.Close() }()
	s.mu.Lock()
	defer s.mu.Unlock()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		s.controls[name], s.names[id] = id, name
	}
	return rows.Err()
}

func (s *Store) controlName(id int64) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, ok := s.names[id]
	return name, ok
}

// lookupControl is controlID, reloading the names once on a miss: on a shared database
// another replica may have added the control since this Store loaded them.
func (s *Store) lookupControl(ctx context.Context, name string) (int64, bool, error) {
	if id, ok := s.controlID(name); ok {
		return id, true, nil
	}
	if err := s.loadControls(ctx); err != nil {
		return 0, false, err
	}
	id, ok := s.controlID(name)
	return id, ok, nil
}

// controlID returns a known control's id; ok is false for a control with no leaves.
func (s *Store) controlID(name string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.controls[name]
	return id, ok
}

// nanos is a time as stored: Unix nanoseconds, with times outside int64's range (the zero
// time of an open bound) clamped to its ends.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

var errConcurrentWriter = fmt.Errorf("the ledger head moved: another writer is appending to this store")
