package evidence

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/transparency-dev/merkle/compact"
)

// Bundle member names, in the order they are written and must be read.
const (
	bundleManifest        = "manifest.json"
	bundleStartCheckpoint = "checkpoint-start"
	bundleEndCheckpoint   = "checkpoint-end"
	bundleTree            = "tree.json"
	bundleLeafHashes      = "leafhashes"
	bundleEntries         = "entries.jsonl"
)

// BundleVersion is the version of the export bundle format.
const BundleVersion = 1

// Manifest describes an export bundle: the leaves [First, End) recorded in [From, To), and
// the checkpoints around them.
type Manifest struct {
	Version int       `json:"version"`
	Origin  string    `json:"origin"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	First   uint64    `json:"first"`
	End     uint64    `json:"end"`
	// StartSize is the size of the start checkpoint (<= First); 0 means the empty tree and
	// no checkpoint-start member.
	StartSize uint64 `json:"startSize"`
	EndSize   uint64 `json:"endSize"`
	// PrunedBefore is the index below which the ledger's leaves were pruned at export.
	PrunedBefore uint64 `json:"prunedBefore,omitempty"`
}

// bundleTreeHashes are the hashes that tie the entries to the checkpoints: the compact
// ranges of the leaves before and after them, and the consistency proof start -> end.
type bundleTreeHashes struct {
	Prefix      [][]byte `json:"prefix"`
	Suffix      [][]byte `json:"suffix"`
	Consistency [][]byte `json:"consistency"`
}

// Export writes a tar bundle of the leaves recorded in [from, to) that verifies offline with
// VerifyBundle: the entries, their leaf hashes, a kept checkpoint at or before the first and
// one at or after the last (the current head if none), and the hashes tying them together.
func (l *Ledger) Export(ctx context.Context, w io.Writer, from, to time.Time) (Manifest, error) {
	head := l.Head()
	m, err := l.planExport(ctx, head, from.UTC(), to.UTC())
	if err != nil {
		return m, err
	}
	start, end, err := l.exportCheckpoints(ctx, head, &m)
	if err != nil {
		return m, err
	}
	tree, err := l.exportTree(ctx, m)
	if err != nil {
		return m, err
	}
	tw := tar.NewWriter(w)
	if err := writeBundleHead(tw, m, start, end, tree); err != nil {
		return m, err
	}
	if err := l.writeLeafMembers(ctx, tw, m); err != nil {
		return m, err
	}
	return m, tw.Close()
}

// planExport finds the index range of [from, to) among the unpruned leaves of head.
func (l *Ledger) planExport(ctx context.Context, head Head, from, to time.Time) (Manifest, error) {
	m := Manifest{Version: BundleVersion, Origin: l.keys.Signer.Name(), From: from, To: to}
	pruned, err := l.store.PrunedSegments(ctx)
	if err != nil {
		return m, err
	}
	lo := min(pruned*SegmentSize, head.Size)
	m.PrunedBefore = lo
	if m.First, err = l.firstAtOrAfter(ctx, lo, head.Size, from); err != nil {
		return m, err
	}
	if m.End, err = l.firstAtOrAfter(ctx, m.First, head.Size, to); err != nil {
		return m, err
	}
	return m, nil
}

// firstAtOrAfter returns the first index in [lo, hi) whose leaf time is >= t (hi if none):
// leaf times never go backwards, so a binary search on the index finds it.
func (l *Ledger) firstAtOrAfter(ctx context.Context, lo, hi uint64, t time.Time) (uint64, error) {
	var searchErr error
	n := sort.Search(int(hi-lo), func(i int) bool {
		recs, err := l.store.Records(ctx, lo+uint64(i), lo+uint64(i)+1)
		if err != nil || len(recs) != 1 {
			if searchErr == nil {
				searchErr = fmt.Errorf("leaf %d unreadable: %v", lo+uint64(i), err)
			}
			return true
		}
		return !recs[0].Time.Before(t)
	})
	return lo + uint64(n), searchErr
}

// exportCheckpoints picks the start and end checkpoints and records their sizes in m.
func (l *Ledger) exportCheckpoints(ctx context.Context, head Head, m *Manifest) (start, end *Head, err error) {
	before, err := l.store.Checkpoints(ctx, 0, m.First)
	if err != nil {
		return nil, nil, err
	}
	if len(before) > 0 {
		start = &before[len(before)-1]
		m.StartSize = start.Size
	}
	after, err := l.store.Checkpoints(ctx, max(m.End, 1), head.Size)
	if err != nil {
		return nil, nil, err
	}
	end = &head
	if len(after) > 0 {
		end = &after[0]
	}
	if end.Size == 0 {
		return nil, nil, fmt.Errorf("the ledger is empty: nothing to export")
	}
	m.EndSize = end.Size
	return start, end, nil
}

func (l *Ledger) exportTree(ctx context.Context, m Manifest) (bundleTreeHashes, error) {
	var t bundleTreeHashes
	var err error
	if t.Prefix, err = l.nodes.hashes(ctx, compact.RangeNodes(0, m.First, nil)); err != nil {
		return t, err
	}
	if t.Suffix, err = l.nodes.hashes(ctx, compact.RangeNodes(m.End, m.EndSize, nil)); err != nil {
		return t, err
	}
	t.Consistency, err = l.nodes.consistency(ctx, m.StartSize, m.EndSize)
	return t, err
}

func writeBundleHead(tw *tar.Writer, m Manifest, start, end *Head, tree bundleTreeHashes) error {
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := writeMember(tw, bundleManifest, mb); err != nil {
		return err
	}
	if start != nil {
		if err := writeMember(tw, bundleStartCheckpoint, start.Checkpoint); err != nil {
			return err
		}
	}
	if err := writeMember(tw, bundleEndCheckpoint, end.Checkpoint); err != nil {
		return err
	}
	tb, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	return writeMember(tw, bundleTree, tb)
}

func writeMember(tw *tar.Writer, name string, data []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// exportChunk is how many leaves are read from the store at a time.
const exportChunk = 4096

// writeLeafMembers writes the leaf hashes and then the entries, one canonical leaf a line;
// the sizes are known up front, so each is read from the store twice instead of buffered.
func (l *Ledger) writeLeafMembers(ctx context.Context, tw *tar.Writer, m Manifest) error {
	n := m.End - m.First
	if err := tw.WriteHeader(&tar.Header{Name: bundleLeafHashes, Mode: 0o644, Size: int64(n * 32), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	size, err := l.eachLeaf(ctx, m, func(r Record) error { _, err := tw.Write(LeafHash(r.Data)); return err })
	if err != nil {
		return err
	}
	if size, err = l.eachLeaf(ctx, m, nil); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: bundleEntries, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	bw := bufio.NewWriter(tw)
	if _, err := l.eachLeaf(ctx, m, func(r Record) error {
		if _, err := bw.Write(r.Data); err != nil {
			return err
		}
		return bw.WriteByte('\n')
	}); err != nil {
		return err
	}
	return bw.Flush()
}

// eachLeaf calls fn (if set) on each leaf of the range and returns the entries' byte size.
func (l *Ledger) eachLeaf(ctx context.Context, m Manifest, fn func(Record) error) (int64, error) {
	var size int64
	for at := m.First; at < m.End; at += exportChunk {
		hi := min(at+exportChunk, m.End)
		recs, err := l.store.Records(ctx, at, hi)
		if err != nil {
			return 0, err
		}
		if uint64(len(recs)) != hi-at {
			return 0, fmt.Errorf("leaves [%d, %d) incomplete in the store", at, hi)
		}
		for _, r := range recs {
			size += int64(len(r.Data)) + 1
			if fn != nil {
				if err := fn(r); err != nil {
					return 0, err
				}
			}
		}
	}
	return size, nil
}
