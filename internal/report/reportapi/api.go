// Package reportapi serves the audit report of a period over plain net/http, computed in the
// process that holds the evidence ledger (the manager) by the path `kubectl isms report`
// takes (package gather). It has no authentication or authorisation of its own: the manager
// mounts it at /evidence/report, behind the filter of the other ledger endpoints.
//
//	GET /report?framework=F&from=T&to=T[&format=md|json|html|oscal][&override=ID=GRADE[:reason]]...
//
// from and to are RFC 3339 times or dates (a date-only to includes that day), at most
// report.MaxPeriod apart; framework defaults to iso27001-2022 and format to md.
package reportapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/report"
	"github.com/isms-operator/isms-operator/internal/report/gather"
)

// Bounds of one request.
const (
	// DefaultTimeout bounds the computation of one report (a year of 100 controls takes
	// about 5 s on two cores).
	DefaultTimeout = 2 * time.Minute
	// DefaultMaxBytes bounds a rendered report.
	DefaultMaxBytes = 32 << 20
	// maxParamLen bounds every query parameter, maxOverrides their count.
	maxParamLen  = 512
	maxOverrides = 100
	// maxErrorLen bounds an error message in an answer.
	maxErrorLen = 1024
)

// Objects lists the cluster's Controls and Risks, e.g. from the manager's cache.
type Objects func(ctx context.Context) ([]ismsv1.Control, []ismsv1.Risk, error)

// Options configure the handler.
type Options struct {
	Ledger  *evidence.Ledger
	Objects Objects
	// Statements lists the cluster's Statements of Applicability; nil means none.
	Statements func(ctx context.Context) ([]ismsv1.StatementOfApplicability, error)
	// DuePeriods are the operator's Finding due periods (its --due-* flags); nil means
	// finding.DefaultWorkflow's.
	DuePeriods map[ismsv1.Severity]time.Duration
	// Timeout and MaxBytes: zero means DefaultTimeout and DefaultMaxBytes.
	Timeout  time.Duration
	MaxBytes int
	// Now is the clock of the Risks' read time; nil means time.Now.
	Now func() time.Time
}

type format struct {
	write       func(io.Writer, report.Report) error
	contentType string
	extension   string
}

var formats = map[string]format{
	"md":    {report.WriteMarkdown, "text/markdown; charset=utf-8", "md"},
	"json":  {report.WriteJSON, "application/json", "json"},
	"html":  {report.WriteHTML, "text/html; charset=utf-8", "html"},
	"oscal": {report.WriteOSCAL, "application/json", "oscal.json"},
}

// New returns the handler of GET /report.
func New(opts Options) http.Handler {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	mux := http.NewServeMux()
	h := &handler{opts: opts, computing: make(chan struct{}, 1)}
	mux.HandleFunc("GET /report", h.report)
	return mux
}

type handler struct {
	opts Options
	// computing admits one report at a time: each reads the period's whole ledger.
	computing chan struct{}
}

func (h *handler) report(w http.ResponseWriter, r *http.Request) {
	req, f, err := h.request(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	in, err := gather.Input(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	select {
	case h.computing <- struct{}{}:
		defer func() { <-h.computing }()
	default:
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusTooManyRequests, errors.New("another report is being computed; retry later"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	body, code, err := h.compute(ctx, in, f)
	if err != nil {
		writeError(w, code, err)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s-%s.%s"`, in.Catalog.Name,
		in.Period.From.Format("20060102"), in.Period.To.Format("20060102"), f.extension))
	_, _ = w.Write(body)
}

// request reads the query.
func (h *handler) request(r *http.Request) (gather.Request, format, error) {
	q := r.URL.Query()
	for name, values := range q {
		for _, v := range values {
			if len(v) > maxParamLen {
				return gather.Request{}, format{}, fmt.Errorf("%s is longer than %d bytes", policy.Truncate(name, 64), maxParamLen)
			}
		}
	}
	if len(q["override"]) > maxOverrides {
		return gather.Request{}, format{}, fmt.Errorf("more than %d overrides", maxOverrides)
	}
	name := q.Get("format")
	if name == "" {
		name = "md"
	}
	f, ok := formats[name]
	if !ok {
		return gather.Request{}, format{}, fmt.Errorf("format must be md, json, html or oscal; got %q", policy.Truncate(name, 40))
	}
	framework := q.Get("framework")
	if framework == "" {
		framework = "iso27001-2022"
	}
	return gather.Request{Framework: framework, From: q.Get("from"), To: q.Get("to"), Overrides: q["override"],
		DuePeriods: h.opts.DuePeriods}, f, nil
}

// compute reads the Controls, Risks and ledger, computes the report and renders it, within
// MaxBytes. It returns the body, or the status code and error of the failure.
func (h *handler) compute(ctx context.Context, in report.Input, f format) ([]byte, int, error) {
	controls, risks, err := h.opts.Objects(ctx)
	if err != nil {
		return nil, http.StatusServiceUnavailable, fmt.Errorf("reading the Controls and Risks: %w", err)
	}
	gather.AddObjects(&in, controls, risks, h.opts.Now())
	if h.opts.Statements != nil {
		statements, err := h.opts.Statements(ctx)
		if err != nil {
			return nil, http.StatusServiceUnavailable, fmt.Errorf("reading the Statements of Applicability: %w", err)
		}
		gather.AddStatements(&in, statements)
	}
	l := h.opts.Ledger
	rep, err := gather.FromLedger(ctx, in, gather.LedgerSource(l), l.VerifierKey())
	var ve *gather.VerificationError
	switch {
	case errors.As(err, &ve):
		return nil, http.StatusInternalServerError, fmt.Errorf("the ledger does not verify against its own key: %w", err)
	case ctx.Err() != nil:
		return nil, http.StatusServiceUnavailable, fmt.Errorf("the report took longer than %s: ask for a shorter period", h.opts.Timeout)
	case err != nil:
		return nil, http.StatusInternalServerError, err
	}
	buf := &cappedBuffer{max: h.opts.MaxBytes}
	if err := f.write(buf, rep); err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, http.StatusInternalServerError, fmt.Errorf("the report is larger than %d bytes: ask for a shorter period", h.opts.MaxBytes)
		}
		return nil, http.StatusInternalServerError, err
	}
	return buf.Bytes(), http.StatusOK, nil
}

var errTooLarge = errors.New("too large")

// cappedBuffer is a buffer that refuses to grow past max bytes.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

// writeError answers as the other ledger endpoints do: {"error": message}.
func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": policy.Truncate(err.Error(), maxErrorLen)})
}
