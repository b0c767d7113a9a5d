package gather

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
	"github.com/isms-operator/isms-operator/internal/report"
)

// Source is what a report reads of an evidence ledger: the state at an instant, with its
// inclusion proofs (GET /evidence/at), and the export bundle of a span (GET /evidence/export).
type Source interface {
	At(ctx context.Context, t time.Time) (evidence.Snapshot, error)
	Export(ctx context.Context, w io.Writer, from, to time.Time) error
}

// VerificationError is ledger data that does not verify against the verifier key.
type VerificationError struct{ Err error }

func (e *VerificationError) Error() string { return e.Err.Error() }
func (e *VerificationError) Unwrap() error { return e.Err }

// LedgerSource reads a ledger in the process that holds it (the manager).
func LedgerSource(l *evidence.Ledger) Source { return ledgerSource{l} }

type ledgerSource struct{ l *evidence.Ledger }

func (s ledgerSource) At(ctx context.Context, t time.Time) (evidence.Snapshot, error) {
	return s.l.At(ctx, t)
}

func (s ledgerSource) Export(ctx context.Context, w io.Writer, from, to time.Time) error {
	_, err := s.l.Export(ctx, w, from, to)
	return err
}

// ClientSource reads a ledger through the manager's endpoint, at most maxBundleBytes of the
// export bundle.
func ClientSource(c *evidenceclient.Client, maxBundleBytes int64) Source {
	return clientSource{c, maxBundleBytes}
}

type clientSource struct {
	c   *evidenceclient.Client
	max int64
}

func (s clientSource) At(ctx context.Context, t time.Time) (evidence.Snapshot, error) {
	return s.c.At(ctx, t)
}

func (s clientSource) Export(ctx context.Context, w io.Writer, from, to time.Time) error {
	_, err := s.c.Export(ctx, w, from, to, s.max)
	return err
}

// FromLedger computes the report of in.Period from the ledger: the state at the period's
// start (verified as `kubectl isms evidence at` verifies it), then the period's bundle,
// streamed into the computation and verified entry by entry against key. Nothing is written
// to disk and the entries are not held in memory.
func FromLedger(ctx context.Context, in report.Input, src Source, key string) (report.Report, error) {
	start, err := src.At(ctx, in.Period.From)
	if err != nil {
		return report.Report{}, fmt.Errorf("reading the ledger's state at the period's start: %w", err)
	}
	if _, err := evidenceclient.VerifyAt(start, key, in.Period.From); err != nil {
		return report.Report{}, &VerificationError{fmt.Errorf("the state at the period's start: %w", err)}
	}
	in.Start = &start
	end, err := src.At(ctx, in.Period.To)
	if err != nil {
		return report.Report{}, fmt.Errorf("reading the ledger's state at the period's end: %w", err)
	}
	if _, err := evidenceclient.VerifyAt(end, key, in.Period.To); err != nil {
		return report.Report{}, &VerificationError{fmt.Errorf("the state at the period's end: %w", err)}
	}
	soaNote := ApplySoA(&in, end.SoAs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		err := src.Export(ctx, pw, in.Period.From, in.Period.To)
		pw.CloseWithError(err)
		exported <- err
	}()
	r, err := FromBundle(in, pr, key)
	_ = pr.Close() // a computation that stopped early ends the export's writes
	cancel()
	if soaNote != "" {
		r.Methodology.Description += " Note: " + soaNote + "."
	}
	if exportErr := <-exported; err != nil && exportFailed(exportErr) {
		return r, fmt.Errorf("exporting the period: %w", exportErr)
	}
	return r, err
}

// exportFailed tells an export that failed by itself, whose cut stream then explains the
// computation's error, from one that stopped because the computation closed the pipe.
func exportFailed(err error) bool {
	return err != nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, context.Canceled)
}

// errStopped ends a bundle read that the computation no longer wants.
var errStopped = errors.New("stopped")

// FromBundle verifies an export bundle against key as it streams its entries into the
// computation; the report cites the bundle's end checkpoint. Entries before the period only
// set up the state in force when it began.
func FromBundle(in report.Input, r io.Reader, key string) (report.Report, error) {
	var sum evidence.BundleSummary
	in.Entries = bundleEntries(r, key, &sum)
	rep, err := report.Compute(in)
	if err != nil {
		var ve *evidence.VerifyError
		if errors.As(err, &ve) {
			return rep, &VerificationError{err}
		}
		return rep, err
	}
	rep.Checkpoint = report.Checkpoint{Size: sum.End.Size, Root: sum.End.Root, Text: string(sum.EndNote)}
	rep.Scope.Origin = sum.Manifest.Origin
	return rep, nil
}

func bundleEntries(r io.Reader, key string, sum *evidence.BundleSummary) iter.Seq2[evidence.Entry, error] {
	return func(yield func(evidence.Entry, error) bool) {
		s, err := evidence.ReadBundle(r, key, evidence.DefaultLimits, func(e evidence.Entry) error {
			if !yield(e, nil) {
				return errStopped
			}
			return nil
		})
		*sum = s
		if err != nil && !errors.Is(err, errStopped) {
			yield(evidence.Entry{}, err)
		}
	}
}
