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

// TestReplicasOpenTogether: the replicas of an HA install open one new database at the same
// moment. The HA test found that the loser of the race on CREATE TABLE IF NOT EXISTS failed
// with a duplicate key, and its manager exited.
func TestReplicasOpenTogether(t *testing.T) {
	url := pgtest.Start(t).NewDatabase(t)
	const replicas = 6
	errs := make(chan error, replicas)
	var start sync.WaitGroup
	start.Add(1)
	for range replicas {
		go func() {
			start.Wait()
			st, err := postgres.Open(context.Background(), url)
			if err == nil {
				err = st.Close()
			}
			errs <- err
		}()
	}
	start.Done()
	for range replicas {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
