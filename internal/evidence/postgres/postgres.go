// Package postgres is the scale-out evidence store: the same schema on PostgreSQL through
// pgx (its database/sql driver).
package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/isms-operator/isms-operator/internal/evidence/sqlstore"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Dialect is PostgreSQL's schema.
var Dialect = sqlstore.Dialect{
	Name:     "postgres",
	Numbered: true,
	Schema: []string{
		`CREATE TABLE IF NOT EXISTS leaves (idx BIGINT PRIMARY KEY, t BIGINT NOT NULL, kind SMALLINT NOT NULL,
			control_id INTEGER NOT NULL, k TEXT, data BYTEA NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS leaves_by_control ON leaves (control_id, kind, t, idx)`,
		`CREATE TABLE IF NOT EXISTS controls (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`,
		`CREATE TABLE IF NOT EXISTS nodes (id BIGINT PRIMARY KEY, hash BYTEA NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY, size BIGINT NOT NULL, root BYTEA NOT NULL,
			checkpoint BYTEA NOT NULL, t BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS checkpoints (size BIGINT PRIMARY KEY, root BYTEA NOT NULL,
			checkpoint BYTEA NOT NULL, t BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS pruned (seg BIGINT PRIMARY KEY, hashes BYTEA NOT NULL)`,
	},
	// A transaction-level advisory lock (released at commit) under a key of the ledger's own:
	// the replicas of an HA install open the store at the same time.
	SchemaLock: `SELECT pg_advisory_xact_lock(7419832650111)`,
}

// Open connects to the database at url (a PostgreSQL connection URL or DSN) and creates the
// schema if needed.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("opening evidence database: %w", err)
	}
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connecting to evidence database: %w", err)
	}
	s, err := sqlstore.New(ctx, db, Dialect)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}
