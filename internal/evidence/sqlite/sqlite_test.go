package sqlite_test

import (
	"context"
	"testing"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/sqlite"
	"github.com/isms-operator/isms-operator/internal/evidence/storetest"
)

var backend = storetest.Backend{
	Create: func(t *testing.T) string { return t.TempDir() },
	Open: func(t *testing.T, dir string) evidence.Store {
		st, err := sqlite.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		return st
	},
}

func TestSQLiteStore(t *testing.T) { storetest.Run(t, backend) }
