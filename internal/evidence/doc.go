// Package evidence is the evidence ledger: a tamper-evident record, kept outside etcd, of
// every control's state over time, that an auditor can query and verify offline.
//
// # What is recorded
//
// State, not every evaluation. Each leaf is one typed record (Leaf) of one kind:
//   - control: a control's result, counts, policy digest, generation or error changed, or
//     it was evaluated for the first time since the operator started (a baseline);
//   - heartbeat: the control is still evaluated and unchanged (hourly by default);
//   - subject: one subject changed state (started failing, passed again, excepted,
//     errored), with the control's counts after that evaluation;
//   - finding and exception: a Finding's state or a ControlException's phase changed;
//   - operator-started and operator-stopped: the operator's lifecycle markers.
//
// Decide is the pure recorder: given what was last recorded for a control and its new
// state, it returns the leaves to write. A full sweep that changes nothing writes nothing
// until the heartbeat is due. Passing subjects are not listed one by one; a baseline after
// each start lists the non-passing ones from state Unknown, so the state after a start
// never depends on anything before it.
//
// At answers "what was the state at instant t" from the control's last control or
// heartbeat leaf at or before t, but only while it covers t: for two heartbeat intervals,
// and not past an operator start or stop recorded after it. Elsewhere the answer is
// NotEvaluated with a reason: an outage never reads as a pass carried over.
//
// # Format and proofs
//
// A leaf is canonical JSON: compact, keys sorted (struct fields declared in key order),
// no HTML escaping, UTC times to the millisecond. DecodeLeaf accepts only the canonical
// bytes (it re-encodes and compares), so a record has exactly one leaf hash.
//
// Leaves form an RFC 6962 Merkle tree (github.com/transparency-dev/merkle: SHA-256, leaf
// hash H(0x00||leaf), node hash H(0x01||l||r)). After every batch the ledger signs a
// checkpoint in the C2SP tlog-checkpoint form ("<origin>\n<size>\n<base64 root>\n") as an
// ed25519 signed note (golang.org/x/mod/sumdb/note); the origin is the key's name. The
// latest checkpoint is replaced at each batch, and one every Options.CheckpointEvery
// (10 minutes) is kept in a history. Inclusion proofs tie a leaf to a checkpoint,
// consistency proofs tie an older checkpoint to a newer one. Stores keep the tree nodes
// at every fourth level (StoredLevelStride), about one node per 15 leaves; the levels in
// between are recomputed from at most 8 nodes below, and leaf hashes from the leaves.
//
// An export bundle (Ledger.Export, VerifyBundle) is a tar of manifest.json, the kept
// checkpoints at or before the first leaf and at or after the last (or the head),
// tree.json (the compact ranges before and after the leaves and the consistency proof
// between the checkpoints), leafhashes (32 bytes a leaf) and entries.jsonl (one canonical
// leaf a line). The verifier checks both signatures and their consistency, rebuilds the
// end root from prefix + leaf hashes + suffix (which proves the hashes are exactly the
// log's leaves in that range), then hashes every entry against its leaf hash, so a
// modified, removed or reordered entry is named by its index and a truncated log by the
// first missing one. VerifyStore does the same over a whole live store, and VerifySnapshot
// checks an At answer.
//
// # Storage
//
// Store is a plain store interface; the Ledger computes hashes, proofs and signatures, so
// every backend shares them and passes the same suite (storetest). The SQLite store
// (package sqlite, pure Go) keeps one database file in the evidence directory beside the
// signing key (ledger.key, generated with mode 0600 when missing); the PostgreSQL store
// (package postgres) is the same schema for scale-out. A batch is one transaction, guarded
// by the head's size: a crash loses at most the batch in flight, never the log's
// integrity. Leaves are stored deflated with a preset dictionary (sqlstore).
//
// Retention (Ledger.Prune, default 3 years) removes whole segments of SegmentSize leaves
// whose last leaf is older than the retention; a pruned segment keeps its leaf hashes, and
// the tree nodes and checkpoints stay, so every proof still verifies and its leaves read
// as pruned, not missing.
//
// Writer takes appends off the evaluation path: Enqueue never blocks (a full queue drops
// and counts), and batches are committed when full or every FlushInterval.
//
// # Sizing
//
// The sizing workload is 100 controls of 10,000 subjects, 1% of subjects changing state a
// day, sweeps every 10 minutes, hourly heartbeats. Per control and day that is 100 subject
// leaves and 24 heartbeats, so 12,400 leaves a day and 4.5 million a year.
// TestYearOfEvidenceFitsUnder1GiB (package sqlite) runs that workload through Decide into
// SQLite and measures 130 bytes a leaf (row ~99, index ~24, tree nodes ~4, checkpoints
// ~2): about 560 MiB a year. Stored as plain JSON it was 284 bytes a leaf, 1.19 GiB.
//
// Benchmarks (package sqlite, 2-core machine): BenchmarkAppend about 27,000 leaves/s in
// batches of 2,048 (deflate's per-leaf reset is about a third of the time); BenchmarkAt,
// every control's answer with its proofs for 100 controls over a year of the workload
// (-evidence.days=365, 4.5 million leaves), 77 ms.
package evidence
