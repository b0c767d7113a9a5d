package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/postgres"
	"github.com/isms-operator/isms-operator/internal/evidence/postgres/pgtest"
)

// TestClustersShareAServerInSeparateSchemas backs docs/multicluster.md: the ledger's tables
// have fixed names and no cluster column, so clusters that share one PostgreSQL keep one
// schema each, named by search_path in the URL (pgx sends it as a run-time parameter). Each
// ledger then grows, signs and verifies on its own, under a key named after its cluster.
func TestClustersShareAServerInSeparateSchemas(t *testing.T) {
	server := pgtest.Start(t)
	url := server.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	clusters := map[string]int{"prod_eu_1": 3, "prod_us_1": 5} // schema: leaves appended
	for schema := range clusters {
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
	}

	keys := map[string]evidence.Keys{}
	for schema, n := range clusters {
		k, err := evidence.LoadOrCreateKeys(t.TempDir(), "isms-operator/evidence/"+strings.ReplaceAll(schema, "_", "-"))
		if err != nil {
			t.Fatal(err)
		}
		keys[schema] = k
		ledger := openLedger(ctx, t, url+"&search_path="+schema, k)
		leaves := make([]evidence.Leaf, n)
		for i := range leaves {
			leaves[i] = evidence.Leaf{V: 1, Kind: evidence.KindOperatorStarted, Time: time.Unix(int64(1_790_000_000+i), 0).UTC(),
				Operator: &evidence.OperatorEvent{HeartbeatSeconds: 3600}}
		}
		if _, err := ledger.Append(ctx, leaves); err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		_ = ledger.Store().Close()
	}

	for schema, n := range clusters {
		ledger := openLedger(ctx, t, url+"&search_path="+schema, keys[schema])
		if got := ledger.Head().Size; got != uint64(n) {
			t.Errorf("%s: the ledger holds %d leaves, want its own %d", schema, got, n)
		}
		if origin := strings.SplitN(string(ledger.Head().Checkpoint), "\n", 2)[0]; !strings.HasSuffix(origin, strings.ReplaceAll(schema, "_", "-")) {
			t.Errorf("%s: checkpoint origin %q does not name the cluster", schema, origin)
		}
		if _, err := evidence.VerifyStore(ctx, ledger.Store(), keys[schema].VerifierKey); err != nil {
			t.Errorf("%s: %v", schema, err)
		}
		_ = ledger.Store().Close()
	}
}

func openLedger(ctx context.Context, t *testing.T, url string, keys evidence.Keys) *evidence.Ledger {
	t.Helper()
	store, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := evidence.Open(ctx, store, keys, evidence.Options{})
	if err != nil {
		_ = store.Close()
		t.Fatal(err)
	}
	return ledger
}
