// Package api serves an evidence ledger over plain net/http, as JSON: the operator's query
// endpoint behind its authentication and authorisation filter (this package has none).
//
//	GET /log?control=C&from=T&to=T[&heartbeats=true][&after=N][&limit=N]  {"entries": [...], "next": N}
//	GET /at?t=T                                                            an evidence.Snapshot
//	GET /export?from=T&to=T                                                a tar bundle
//	GET /checkpoint                                                        the latest signed checkpoint
//	GET /key                                                               the verifier key text
//	GET /verify                                                            a VerifyReport of the whole log
//	GET /consistency?from=N                                                a ConsistencyProof to the head
//
// Times are RFC 3339. Mount it under a prefix with http.StripPrefix.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// maxParamLen bounds every query parameter.
const maxParamLen = 512

// LogPage is the answer of /log: next is the index to pass as after for the next page,
// absent on the last page.
type LogPage struct {
	Entries []evidence.Entry `json:"entries"`
	Next    *uint64          `json:"next,omitempty"`
}

// New returns the handler of a ledger.
func New(l *evidence.Ledger) http.Handler {
	h := &handler{ledger: l}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /log", h.log)
	mux.HandleFunc("GET /at", h.at)
	mux.HandleFunc("GET /export", h.export)
	mux.HandleFunc("GET /checkpoint", h.checkpoint)
	mux.HandleFunc("GET /key", h.key)
	mux.HandleFunc("GET /verify", h.verify)
	mux.HandleFunc("GET /consistency", h.consistency)
	return mux
}

type handler struct {
	ledger *evidence.Ledger
	// verifying admits one whole-log verification at a time: each reads every leaf.
	verifying sync.Mutex
}

func (h *handler) log(w http.ResponseWriter, r *http.Request) {
	q, err := logQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	entries, err := h.ledger.Log(r.Context(), q)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	page := LogPage{Entries: entries}
	limit := q.Limit
	if limit <= 0 || limit > evidence.MaxLogEntries {
		limit = evidence.MaxLogEntries
	}
	if len(entries) == limit {
		next := entries[len(entries)-1].Index + 1
		page.Next = &next
	}
	writeJSON(w, page)
}

func logQuery(r *http.Request) (evidence.LogQuery, error) {
	var q evidence.LogQuery
	var err error
	if q.Control, err = param(r, "control", true); err != nil {
		return q, err
	}
	if q.From, err = timeParam(r, "from"); err != nil {
		return q, err
	}
	if q.To, err = timeParam(r, "to"); err != nil {
		return q, err
	}
	hb, err := param(r, "heartbeats", false)
	if err != nil {
		return q, err
	}
	q.Heartbeats = hb == "true"
	after, err := uintParam(r, "after")
	if err != nil {
		return q, err
	}
	limit, err := uintParam(r, "limit")
	q.AfterIndex, q.Limit = after, int(min(limit, evidence.MaxLogEntries))
	return q, err
}

func (h *handler) at(w http.ResponseWriter, r *http.Request) {
	t, err := timeParam(r, "t")
	if err == nil && t.IsZero() {
		err = errors.New("t is required")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	snap, err := h.ledger.At(r.Context(), t)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, snap)
}

// export streams the bundle; an error after the first byte can only cut the stream, which
// the verifier then reports as a malformed bundle.
func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	from, err := timeParam(r, "from")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	to, err := timeParam(r, "to")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="evidence.tar"`)
	if _, err := h.ledger.Export(r.Context(), w, from, to); err != nil {
		writeError(w, http.StatusInternalServerError, err)
	}
}

func (h *handler) checkpoint(w http.ResponseWriter, _ *http.Request) {
	head := h.ledger.Head()
	if head.Size == 0 {
		writeError(w, http.StatusNotFound, errors.New("the ledger is empty"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(head.Checkpoint)
}

func (h *handler) key(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, h.ledger.VerifierKey())
}

func param(r *http.Request, name string, required bool) (string, error) {
	v := r.URL.Query().Get(name)
	if len(v) > maxParamLen {
		return "", fmt.Errorf("%s is longer than %d bytes", name, maxParamLen)
	}
	if required && v == "" {
		return "", fmt.Errorf("%s is required", name)
	}
	return v, nil
}

func timeParam(r *http.Request, name string) (time.Time, error) {
	v, err := param(r, name, false)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not an RFC 3339 time", name)
	}
	return t, nil
}

func uintParam(r *http.Request, name string) (uint64, error) {
	v, err := param(r, name, false)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a non-negative integer", name)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// maxErrorLen bounds an error message in an answer.
const maxErrorLen = 1024

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSONStatus(w, code, map[string]string{"error": truncate(err.Error(), maxErrorLen)})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
