// Package evidencetest tampers with evidence bundles, for the tests (of the ledger and of
// kubectl isms evidence) that check each kind of tampering is caught.
package evidencetest

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// RewriteBundle applies edit to each member of a tar bundle; an edit that returns nil drops
// the member.
func RewriteBundle(t testing.TB, bundle []byte, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(bundle))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if data = edit(hdr.Name, data); data == nil {
			continue
		}
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// EditEntries is an edit for RewriteBundle that rewrites the bundle's entries, one leaf a
// line, with fn.
func EditEntries(fn func(lines []string) []string) func(string, []byte) []byte {
	return func(name string, data []byte) []byte {
		if name != "entries.jsonl" {
			return data
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		return []byte(strings.Join(fn(lines), "\n") + "\n")
	}
}
