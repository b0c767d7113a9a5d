package evidence

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Writer defaults.
const (
	DefaultQueueSize     = 65536
	DefaultBatchSize     = 2048
	DefaultFlushInterval = 250 * time.Millisecond
	// retryDelay is the pause after a failed batch before it is tried again.
	retryDelay = time.Second
)

// WriterOptions tune a Writer.
type WriterOptions struct {
	QueueSize     int           // leaves held before Enqueue drops; default DefaultQueueSize
	BatchSize     int           // leaves per transaction at most; default DefaultBatchSize
	FlushInterval time.Duration // a partial batch waits at most this long; default DefaultFlushInterval
	// Heartbeat is recorded in the operator-started marker; default DefaultHeartbeat.
	Heartbeat time.Duration
	// Version is the operator's version, recorded in its start and stop markers.
	Version string
	Now     func() time.Time
}

// WriterStats are the Writer's counters, for metrics and conditions.
type WriterStats struct {
	Enqueued uint64 // leaves accepted
	Dropped  uint64 // leaves refused because the queue was full
	Appended uint64 // leaves committed to the ledger
	Failed   uint64 // batch commits that failed (each is retried)
	QueueLen int
	// LastAppendLag is how long the last committed batch's oldest leaf waited in the queue.
	LastAppendLag time.Duration
	LastError     string
}

// Writer takes leaves off the evaluation path: Enqueue never blocks, and Start commits them
// in batches. A crash loses at most what was still queued; the ledger itself stays whole.
type Writer struct {
	ledger *Ledger
	opts   WriterOptions
	wake   chan struct{}

	mu      sync.Mutex
	queue   []queued
	lastErr string

	enqueued, dropped, appended, failed atomic.Uint64
	lag                                 atomic.Int64
}

type queued struct {
	leaf Leaf
	at   time.Time
}

// NewWriter returns a Writer for a ledger, with the operator-started marker queued first:
// create it when the operator starts, before anything is enqueued, and run it with Start.
func NewWriter(l *Ledger, opts WriterOptions) *Writer {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Writer{ledger: l, opts: opts, wake: make(chan struct{}, 1)}
	w.Enqueue(w.marker(KindOperatorStarted))
	return w
}

// Enqueue queues leaves to be appended together, all or none: it returns false, and counts
// them dropped, when they are invalid or the queue has no room for all of them. The caller
// should then keep its previous Recorded state so the change is recorded next time.
func (w *Writer) Enqueue(leaves ...Leaf) bool {
	for _, l := range leaves {
		if _, err := EncodeLeaf(l); err != nil {
			w.dropped.Add(uint64(len(leaves)))
			w.setError("invalid leaf dropped: " + err.Error())
			return false
		}
	}
	now := w.opts.Now()
	w.mu.Lock()
	if len(w.queue)+len(leaves) > w.opts.QueueSize {
		w.mu.Unlock()
		w.dropped.Add(uint64(len(leaves)))
		return false
	}
	for _, l := range leaves {
		w.queue = append(w.queue, queued{leaf: l, at: now})
	}
	full := len(w.queue) >= w.opts.BatchSize
	w.mu.Unlock()
	w.enqueued.Add(uint64(len(leaves)))
	if full {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// Stats returns the current counters.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	qlen, lastErr := len(w.queue), w.lastErr
	w.mu.Unlock()
	return WriterStats{Enqueued: w.enqueued.Load(), Dropped: w.dropped.Load(), Appended: w.appended.Load(),
		Failed: w.failed.Load(), QueueLen: qlen, LastAppendLag: time.Duration(w.lag.Load()), LastError: lastErr}
}

func (w *Writer) setError(msg string) {
	w.mu.Lock()
	w.lastErr = truncate(msg, MaxMessageLen)
	w.mu.Unlock()
}

// Start commits queued leaves until ctx is done, then records a clean stop and flushes what
// is left. Its signature fits controller-runtime's Runnable.
func (w *Writer) Start(ctx context.Context) error {
	tick := time.NewTicker(w.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return w.drain()
		case <-tick.C:
		case <-w.wake:
		}
		for w.flush(ctx) {
		}
	}
}

// drain writes the stop marker and everything queued, retrying a failed batch within a
// bounded grace period (one failure used to end the drain and lose the stop marker).
func (w *Writer) drain() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w.Enqueue(w.marker(KindOperatorStopped))
	for w.Stats().QueueLen > 0 && ctx.Err() == nil {
		w.flush(ctx)
	}
	if s := w.Stats(); s.QueueLen > 0 {
		return fmt.Errorf("%d leaves not written within the grace period: %s", s.QueueLen, s.LastError)
	}
	return nil
}

func (w *Writer) marker(kind Kind) Leaf {
	return Leaf{V: LeafVersion, Kind: kind, Time: w.opts.Now().UTC(),
		Operator: &OperatorEvent{HeartbeatSeconds: int64(w.opts.Heartbeat / time.Second), Version: w.opts.Version}}
}

// flush commits one batch from the head of the queue; it reports whether a full batch was
// committed (so more may be waiting). A failed batch stays queued and is retried.
func (w *Writer) flush(ctx context.Context) bool {
	w.mu.Lock()
	n := min(len(w.queue), w.opts.BatchSize)
	batch := append([]queued(nil), w.queue[:n]...)
	w.mu.Unlock()
	if n == 0 {
		return false
	}
	leaves := make([]Leaf, n)
	for i, q := range batch {
		leaves[i] = q.leaf
	}
	if _, err := w.ledger.Append(ctx, leaves); err != nil {
		w.failed.Add(1)
		w.setError(err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(retryDelay):
		}
		return false
	}
	w.mu.Lock()
	w.queue = append(w.queue[:0], w.queue[n:]...)
	w.mu.Unlock()
	w.appended.Add(uint64(n))
	w.lag.Store(int64(w.opts.Now().Sub(batch[0].at)))
	return n == w.opts.BatchSize
}
