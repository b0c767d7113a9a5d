package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// VerifyReport is the answer of /verify: whether the whole live log verifies against the
// ledger's key (evidence.VerifyStore) and, when it does not, the problem and the first bad
// index. Checkpoint is the head checkpoint that was verified, for the caller to check
// against a pinned key and against the checkpoints it saved.
type VerifyReport struct {
	Verified    bool   `json:"verified"`
	Size        uint64 `json:"size"`
	Pruned      uint64 `json:"pruned"`
	Checkpoints int    `json:"checkpoints"`
	Checkpoint  string `json:"checkpoint,omitempty"`
	// Problem, Index and Error describe a failed verification; Index is absent when the
	// problem names no leaf.
	Problem evidence.Problem `json:"problem,omitempty"`
	Index   *uint64          `json:"index,omitempty"`
	Error   string           `json:"error,omitempty"`
}

// ConsistencyProof is the answer of /consistency: the proof that the tree of size From is a
// prefix of the head's tree of size To, with the head's signed checkpoint.
type ConsistencyProof struct {
	From       uint64   `json:"from"`
	To         uint64   `json:"to"`
	Proof      [][]byte `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

// verify runs VerifyStore over the whole log. A log that does not verify is answered with
// 409 Conflict and the report, so that `curl -f` fails; one already running is 429.
func (h *handler) verify(w http.ResponseWriter, r *http.Request) {
	if !h.verifying.TryLock() {
		writeError(w, http.StatusTooManyRequests, errors.New("a verification of the whole log is already running; retry later"))
		return
	}
	defer h.verifying.Unlock()
	head := h.ledger.Head()
	sum, err := evidence.VerifyStore(r.Context(), h.ledger.Store(), h.ledger.VerifierKey())
	report := VerifyReport{Size: sum.Size, Pruned: sum.Pruned, Checkpoints: sum.Checkpoints}
	var ve *evidence.VerifyError
	switch {
	case err == nil:
		report.Verified, report.Checkpoint = true, string(head.Checkpoint)
		if sum.Size != head.Size {
			// Appends went on during the walk: the head read before it no longer matches.
			report.Checkpoint = ""
		}
		writeJSON(w, report)
	case errors.As(err, &ve):
		report.Problem, report.Error = ve.Problem, truncate(ve.Error(), maxErrorLen)
		if ve.HasIndex {
			report.Index = &ve.Index
		}
		writeJSONStatus(w, http.StatusConflict, report)
	default:
		writeError(w, http.StatusInternalServerError, fmt.Errorf("verifying the ledger: %w", err))
	}
}

// consistency proves that an older tree (a checkpoint a client saved) is a prefix of the
// head's. Only the head's checkpoint is served with it, so the proof always ends there.
func (h *handler) consistency(w http.ResponseWriter, r *http.Request) {
	from, err := uintParam(r, "from")
	head := h.ledger.Head()
	if err == nil && (from == 0 || from > head.Size) {
		err = fmt.Errorf("from must be in [1, %d], the ledger's size", head.Size)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	p, err := h.ledger.ConsistencyProof(r.Context(), from, head.Size)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, ConsistencyProof{From: from, To: head.Size, Proof: p, Checkpoint: string(head.Checkpoint)})
}
