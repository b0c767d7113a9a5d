package fault

import (
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/sqlite"
)

// verifyLedger stops the manager cleanly and checks the evidence ledger it was SIGKILLed
// over and over in the middle of writing: the whole log verifies against its signing key
// (every leaf, tree node and kept checkpoint), the starts were recorded, and the last leaf is
// the clean stop. A kill that tore a batch, or a restart that forked the tree, fails here.
func (h *harness) verifyLedger(kills int) {
	if err := h.mgr.Stop(); err != nil {
		h.fail("stopping the manager: %v", err)
	}
	st, err := sqlite.Open(h.ctx, h.evidenceDir)
	if err != nil {
		h.t.Fatalf("opening the ledger: %v", err)
	}
	defer func() { _ = st.Close() }()
	keys, err := evidence.LoadOrCreateKeys(h.evidenceDir, evidence.DefaultKeyName)
	if err != nil {
		h.t.Fatalf("reading the ledger's key: %v", err)
	}
	sum, err := evidence.VerifyStore(h.ctx, st, keys.VerifierKey)
	if err != nil {
		h.t.Fatalf("the ledger does not verify after %d kills: %v", kills, err)
	}
	markers, err := st.Find(h.ctx, evidence.Query{Kinds: []evidence.Kind{evidence.KindOperatorStarted, evidence.KindOperatorStopped}, Limit: 10000})
	if err != nil {
		h.t.Fatal(err)
	}
	starts := 0
	for _, m := range markers {
		if m.Kind == evidence.KindOperatorStarted {
			starts++
		}
	}
	// A manager killed within moments of starting may not have written its start yet.
	if starts < kills/2 {
		h.t.Errorf("%d operator-started leaves for %d starts", starts, kills+1)
	}
	if n := len(markers); n == 0 || markers[n-1].Kind != evidence.KindOperatorStopped {
		h.t.Errorf("the ledger does not end with the clean stop")
	}
	h.t.Logf("ledger: %d leaves verified, %d kept checkpoints, %d starts recorded", sum.Size, sum.Checkpoints, starts)
}
