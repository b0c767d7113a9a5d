package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/postgres"
	"github.com/isms-operator/isms-operator/internal/evidence/postgres/pgtest"
	"github.com/isms-operator/isms-operator/internal/evidence/storetest"
)

// TestPostgresStore runs the store suite against a real server started for it. The server
// starts on the first Create, so the crash test's child process (which only opens) starts
// none.
func TestPostgresStore(t *testing.T) {
	var once sync.Once
	var server *pgtest.Server
	storetest.Run(t, storetest.Backend{
		Create: func(sub *testing.T) string {
			once.Do(func() { server = pgtest.Start(t) })
			if server == nil {
				sub.FailNow()
			}
			return server.NewDatabase(sub)
		},
		Open: func(sub *testing.T, url string) evidence.Store {
			st, err := postgres.Open(context.Background(), url)
			if err != nil {
				sub.Fatal(err)
			}
			return st
		},
	})
}
