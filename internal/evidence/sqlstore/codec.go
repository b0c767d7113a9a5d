package sqlstore

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"sync"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// Leaves are stored deflated with a preset dictionary of the leaf format's keys and common
// values: a 200-byte subject leaf stores in about 75 bytes, which halves the database (see
// the evidence package doc). Compression is a storage detail: leaf hashes, proofs and
// bundles use the canonical bytes, and a stored leaf that does not inflate to them fails
// verification like any other tampering.
//
// A stored value starts with its codec byte; the dictionary of a codec never changes, a new
// dictionary gets a new codec byte.
const codecDeflateV1 byte = 1

// dictionaryV1 is deflate's preset dictionary: the most common strings last (closest).
const dictionaryV1 = `{"control":"","finding":{"from":"Open","name":"","namespace":"","open":true,"to":"Resolved"},` +
	`"exception":{"from":"Active","name":"","namespace":"","to":"Expired"},"operator":{"heartbeatSeconds":3600,"version":""},` +
	`"kind":"operator-started","kind":"operator-stopped","kind":"exception","kind":"finding","kind":"control",` +
	`"message":"","result":"Error","result":"NotEvaluated","result":"Pass","from":"Unknown","to":"Excepted","to":"Errored",` +
	`"kind":"heartbeat","state":{"counts":{"errored":1,"excepted":1,"failing":1},"digest":"sha256:",` +
	`"generation":1,"heartbeatSeconds":3600,"result":"Fail"},"time":"2026-01-01T00:00:00.000Z","v":1}` +
	`{"control":"","kind":"subject","subject":{"counts":{"failing":1},"from":"Failing","id":"apps/v1/Deployment/","to":"Passing"},` +
	`"time":"2026-01-01T00:00:00.000Z","v":1}{"control":"","kind":"subject","subject":{"counts":{"failing":1},"from":"Passing",` +
	`"id":"apps/v1/Deployment/","to":"Failing"},"time":"2026-`

var (
	writers = sync.Pool{New: func() any {
		w, _ := flate.NewWriterDict(nil, flate.BestCompression, []byte(dictionaryV1))
		return w
	}}
	readers = sync.Pool{New: func() any { return flate.NewReaderDict(bytes.NewReader(nil), []byte(dictionaryV1)) }}
)

// encodeData returns the stored form of a canonical leaf.
func encodeData(leaf []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(leaf)/2 + 8)
	buf.WriteByte(codecDeflateV1)
	w := writers.Get().(*flate.Writer)
	defer writers.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(leaf); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeData returns the canonical leaf of a stored value, reading at most one byte more
// than a leaf may hold so a hostile value cannot inflate without bound.
func decodeData(stored []byte) ([]byte, error) {
	if len(stored) == 0 || stored[0] != codecDeflateV1 {
		return nil, fmt.Errorf("stored leaf has an unknown codec")
	}
	r := readers.Get().(io.ReadCloser)
	defer readers.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(stored[1:]), []byte(dictionaryV1)); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, evidence.MaxLeafBytes+1))
	if err != nil {
		return nil, fmt.Errorf("inflating stored leaf: %w", err)
	}
	if len(out) > evidence.MaxLeafBytes {
		return nil, fmt.Errorf("stored leaf inflates beyond %d bytes", evidence.MaxLeafBytes)
	}
	return out, nil
}
