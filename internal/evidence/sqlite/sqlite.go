// Package sqlite is the embedded evidence store: one SQLite database file in the evidence
// directory, through the pure-Go modernc.org/sqlite driver (no cgo).
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/isms-operator/isms-operator/internal/evidence/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database's file name in the evidence directory.
const FileName = "ledger.db"

// Dialect is SQLite's schema. idx is the rowid, so a leaf's row holds no second key, and
// the (control_id, kind, t) index ends in the rowid by itself.
var Dialect = sqlstore.Dialect{
	Name: "sqlite",
	Schema: []string{
		`CREATE TABLE IF NOT EXISTS leaves (idx INTEGER PRIMARY KEY, t INTEGER NOT NULL, kind INTEGER NOT NULL,
			control_id INTEGER NOT NULL, k TEXT, data BLOB NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS leaves_by_control ON leaves (control_id, kind, t)`,
		`CREATE TABLE IF NOT EXISTS controls (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`,
		`CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,
			checkpoint BLOB NOT NULL, t INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL,
			checkpoint BLOB NOT NULL, t INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS pruned (seg INTEGER PRIMARY KEY, hashes BLOB NOT NULL)`,
	},
}

// Open opens (creating if needed, mode 0700) the evidence directory's database. It runs in
// WAL mode with synchronous=NORMAL: a process crash never loses a committed batch, a power
// loss may lose the last ones, and neither corrupts the log.
func Open(ctx context.Context, dir string) (*sqlstore.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating evidence directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s, err := sqlstore.New(ctx, db, Dialect)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return s, nil
}
