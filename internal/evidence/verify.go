package evidence

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Problem names what is wrong with a ledger or bundle.
type Problem string

// The problems a verification reports.
const (
	ProblemModified   Problem = "leaf hash mismatch (entry modified, removed or reordered)"
	ProblemMissing    Problem = "entry missing (log truncated or entry removed)"
	ProblemExtra      Problem = "unexpected entry after the end"
	ProblemMalformed  Problem = "entry not a canonical leaf"
	ProblemTree       Problem = "tree hashes do not match the signed checkpoint"
	ProblemCheckpoint Problem = "checkpoint not valid or not signed by the log's key"
	ProblemBundle     Problem = "bundle malformed"
)

// VerifyError is a failed verification: the problem and, when one is known, the first bad
// leaf index.
type VerifyError struct {
	Problem  Problem
	Index    uint64
	HasIndex bool
	Detail   string
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	if e.HasIndex {
		fmt.Fprintf(&b, "leaf %d: ", e.Index)
	}
	b.WriteString(string(e.Problem))
	if e.Detail != "" {
		b.WriteString(": " + truncate(e.Detail, 300))
	}
	return b.String()
}

func badIndex(p Problem, index uint64, detail string) *VerifyError {
	return &VerifyError{Problem: p, Index: index, HasIndex: true, Detail: detail}
}

func bad(p Problem, detail string) *VerifyError { return &VerifyError{Problem: p, Detail: detail} }

// Limits bound what VerifyBundle reads from a hostile bundle.
type Limits struct {
	MaxLeaves      uint64 // leaves in the bundle (their hashes are held in memory)
	MaxMemberBytes int64  // size of any member but the leaf hashes and entries
}

// DefaultLimits allow about two years of a large cluster's ledger (see the package doc).
var DefaultLimits = Limits{MaxLeaves: 20_000_000, MaxMemberBytes: 1 << 20}

// BundleSummary is what a verified bundle holds.
type BundleSummary struct {
	Manifest Manifest
	Entries  uint64
	// End is the bundle's end checkpoint, and EndNote its signed note.
	End     Checkpoint
	EndNote []byte
}

func parseVerifier(key string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(key))
	if err != nil {
		return nil, bad(ProblemCheckpoint, "verifier key: "+err.Error())
	}
	return v, nil
}

// bundleReader reads the members of a bundle in their fixed order.
type bundleReader struct {
	tr     *tar.Reader
	limits Limits
	next   *tar.Header
	// endNote is the signed end checkpoint, once read.
	endNote []byte
}

// member returns the next member if it has the given name (nil, nil if it has another).
func (b *bundleReader) member(name string) (*tar.Header, error) {
	if b.next == nil {
		hdr, err := b.tr.Next()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, bad(ProblemBundle, "reading tar: "+err.Error())
		}
		if hdr.Typeflag != tar.TypeReg || !knownMember(hdr.Name) {
			return nil, bad(ProblemBundle, fmt.Sprintf("unexpected member %q", truncate(hdr.Name, 100)))
		}
		b.next = hdr
	}
	if b.next.Name != name {
		return nil, nil
	}
	hdr := b.next
	b.next = nil
	return hdr, nil
}

func knownMember(name string) bool {
	switch name {
	case bundleManifest, bundleStartCheckpoint, bundleEndCheckpoint, bundleTree, bundleLeafHashes, bundleEntries:
		return true
	}
	return false
}

// small reads a required (or, if optional, possibly absent) small member whole.
func (b *bundleReader) small(name string, optional bool) ([]byte, error) {
	hdr, err := b.member(name)
	if err != nil || (hdr == nil && optional) {
		return nil, err
	}
	if hdr == nil {
		return nil, bad(ProblemBundle, "missing or out-of-order member "+name)
	}
	if hdr.Size < 0 || hdr.Size > b.limits.MaxMemberBytes {
		return nil, bad(ProblemBundle, fmt.Sprintf("member %s is %d bytes, more than %d", name, hdr.Size, b.limits.MaxMemberBytes))
	}
	data, err := io.ReadAll(io.LimitReader(b.tr, hdr.Size))
	if err != nil {
		return nil, bad(ProblemBundle, "reading "+name+": "+err.Error())
	}
	return data, nil
}

func decodeStrict(data []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad(ProblemBundle, what+": "+err.Error())
	}
	return nil
}

// VerifyBundle checks an export bundle offline against the log's verifier key: both
// checkpoints are signed by it and consistent, the leaf hashes with the tree hashes around
// them make the end checkpoint's root, and every entry is the canonical leaf of its hash, in
// order, none missing. A failure is a *VerifyError naming the first bad index it can.
func VerifyBundle(r io.Reader, verifierKey string, limits Limits) (BundleSummary, error) {
	return ReadBundle(r, verifierKey, limits, nil)
}

// ReadBundle verifies a bundle as VerifyBundle does and hands each entry, once checked
// against its leaf hash (itself checked against the end checkpoint's root), to each in index
// order; an error from each stops the read. The entries are streamed, not held.
func ReadBundle(r io.Reader, verifierKey string, limits Limits, each func(Entry) error) (BundleSummary, error) {
	var sum BundleSummary
	v, err := parseVerifier(verifierKey)
	if err != nil {
		return sum, err
	}
	br := &bundleReader{tr: tar.NewReader(r), limits: limits}
	m, start, end, err := readBundleHead(br, v)
	if err != nil {
		return sum, err
	}
	sum.Manifest, sum.End, sum.EndNote = m, end, br.endNote
	tree, err := readTree(br, m, start, end)
	if err != nil {
		return sum, err
	}
	hashes, err := readLeafHashes(br, m)
	if err != nil {
		return sum, err
	}
	if err := checkRoot(m, tree, hashes, end); err != nil {
		return sum, err
	}
	sum.Entries, err = checkEntries(br, m, hashes, each)
	return sum, err
}

// readBundleHead reads the manifest and checkpoints and checks the signatures and the
// sizes; it returns the start and end checkpoints.
func readBundleHead(br *bundleReader, v note.Verifier) (m Manifest, start, end Checkpoint, err error) {
	raw, err := br.small(bundleManifest, false)
	if err != nil {
		return m, start, end, err
	}
	if err := decodeStrict(raw, &m, "manifest"); err != nil {
		return m, start, end, err
	}
	if m.Version != BundleVersion || m.First > m.End || m.End > m.EndSize || m.StartSize > m.First {
		return m, start, end, bad(ProblemBundle, "manifest ranges are inconsistent")
	}
	if m.End-m.First > br.limits.MaxLeaves {
		return m, start, end, bad(ProblemBundle, fmt.Sprintf("%d leaves, more than the limit %d", m.End-m.First, br.limits.MaxLeaves))
	}
	start = Checkpoint{Root: hasher.EmptyRoot()}
	if raw, err = br.small(bundleStartCheckpoint, true); err != nil {
		return m, start, end, err
	}
	if raw != nil {
		if start, err = openSized(raw, v, m.StartSize, "start"); err != nil {
			return m, start, end, err
		}
	} else if m.StartSize != 0 {
		return m, start, end, bad(ProblemBundle, "start checkpoint missing")
	}
	if raw, err = br.small(bundleEndCheckpoint, false); err != nil {
		return m, start, end, err
	}
	br.endNote = raw
	end, err = openSized(raw, v, m.EndSize, "end")
	return m, start, end, err
}

func openSized(raw []byte, v note.Verifier, size uint64, which string) (Checkpoint, error) {
	cp, err := OpenCheckpoint(raw, v)
	if err != nil {
		return cp, bad(ProblemCheckpoint, which+" checkpoint: "+err.Error())
	}
	if cp.Size != size {
		return cp, bad(ProblemBundle, fmt.Sprintf("%s checkpoint has size %d, manifest says %d", which, cp.Size, size))
	}
	return cp, nil
}

func readLeafHashes(br *bundleReader, m Manifest) ([][]byte, error) {
	hdr, err := br.member(bundleLeafHashes)
	if err != nil {
		return nil, err
	}
	n := m.End - m.First
	if hdr == nil {
		return nil, bad(ProblemBundle, "missing or out-of-order member "+bundleLeafHashes)
	}
	if hdr.Size != int64(n*32) {
		have := uint64(max(hdr.Size, 0)) / 32
		return nil, badIndex(ProblemMissing, m.First+min(have, n), fmt.Sprintf("%d leaf hashes, want %d", have, n))
	}
	buf := make([]byte, n*32)
	if _, err := io.ReadFull(br.tr, buf); err != nil {
		return nil, bad(ProblemBundle, "reading leaf hashes: "+err.Error())
	}
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i] = buf[i*32 : i*32+32]
	}
	return hashes, nil
}

// maxTreeHashes bounds the hashes of tree.json: compact ranges and a consistency proof of a
// tree below 2^64 leaves hold at most 2*64 each.
const maxTreeHashes = 2 * 64

// readTree reads the tree hashes and checks the consistency of start and end with them.
func readTree(br *bundleReader, m Manifest, start, end Checkpoint) (bundleTreeHashes, error) {
	var t bundleTreeHashes
	raw, err := br.small(bundleTree, false)
	if err != nil {
		return t, err
	}
	if err := decodeStrict(raw, &t, "tree hashes"); err != nil {
		return t, err
	}
	for _, list := range [][][]byte{t.Prefix, t.Suffix, t.Consistency} {
		if len(list) > maxTreeHashes {
			return t, bad(ProblemBundle, "too many tree hashes")
		}
		for _, h := range list {
			if len(h) != sha256.Size {
				return t, bad(ProblemBundle, "a tree hash is not 32 bytes")
			}
		}
	}
	if err := VerifyConsistency(m.StartSize, m.EndSize, t.Consistency, start.Root, end.Root); err != nil {
		return t, badIndex(ProblemTree, m.StartSize, "start and end checkpoints are not consistent: "+err.Error())
	}
	return t, nil
}

// checkRoot rebuilds the end checkpoint's root from the leaves before, in and after the
// range; a match proves the leaf hashes are exactly the log's leaves [First, End).
func checkRoot(m Manifest, t bundleTreeHashes, hashes [][]byte, end Checkpoint) error {
	rng, err := rangeFactory.NewRange(0, m.First, t.Prefix)
	if err != nil {
		return badIndex(ProblemTree, m.First, "prefix hashes: "+err.Error())
	}
	for _, h := range hashes {
		if err := rng.Append(h, nil); err != nil {
			return bad(ProblemTree, err.Error())
		}
	}
	suffix, err := rangeFactory.NewRange(m.End, m.EndSize, t.Suffix)
	if err != nil {
		return badIndex(ProblemTree, m.End, "suffix hashes: "+err.Error())
	}
	if err := rng.AppendRange(suffix, nil); err != nil {
		return bad(ProblemTree, err.Error())
	}
	root, err := rng.GetRootHash(nil)
	if err != nil || !bytes.Equal(root, end.Root) {
		return badIndex(ProblemTree, m.First, fmt.Sprintf("leaves [%d, %d) with the hashes around them do not make the end checkpoint's root", m.First, m.End))
	}
	return nil
}

// checkEntries reads the entries one line at a time and checks each against its leaf hash.
func checkEntries(br *bundleReader, m Manifest, hashes [][]byte, each func(Entry) error) (uint64, error) {
	hdr, err := br.member(bundleEntries)
	if err != nil {
		return 0, err
	}
	if hdr == nil {
		if len(hashes) == 0 {
			return 0, nil
		}
		return 0, badIndex(ProblemMissing, m.First, "no entries member")
	}
	sc := bufio.NewScanner(io.LimitReader(br.tr, hdr.Size))
	sc.Buffer(make([]byte, 0, 64*1024), MaxLeafBytes+1)
	var n uint64
	for sc.Scan() {
		index := m.First + n
		if n >= uint64(len(hashes)) {
			return n, badIndex(ProblemExtra, index, "")
		}
		line := sc.Bytes()
		if !bytes.Equal(LeafHash(line), hashes[n]) {
			return n, badIndex(ProblemModified, index, "")
		}
		leaf, err := DecodeLeaf(line)
		if err != nil {
			return n, badIndex(ProblemMalformed, index, err.Error())
		}
		if each != nil {
			if err := each(Entry{Index: index, LeafHash: hashes[n], Leaf: leaf}); err != nil {
				return n, err
			}
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, badIndex(ProblemMalformed, m.First+n, err.Error())
	}
	if n < uint64(len(hashes)) {
		return n, badIndex(ProblemMissing, m.First+n, fmt.Sprintf("%d entries, want %d", n, len(hashes)))
	}
	if _, err := br.tr.Next(); err != io.EOF {
		return n, bad(ProblemBundle, "members after the entries")
	}
	return n, nil
}
