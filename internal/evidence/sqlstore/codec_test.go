package sqlstore

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"
)

func TestCodecRoundTripsAndShrinksLeaves(t *testing.T) {
	leaf := []byte(`{"control":"iso-8.09-config","kind":"subject","subject":{"counts":{"failing":12},"from":"Passing","id":"apps/v1/Deployment/team-a/web-1","to":"Failing"},"time":"2026-03-14T09:00:00.123Z","v":1}`)
	stored, err := encodeData(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) > len(leaf)/2 {
		t.Fatalf("a %d-byte subject leaf stores in %d bytes, want at most half", len(leaf), len(stored))
	}
	back, err := decodeData(stored)
	if err != nil || !bytes.Equal(back, leaf) {
		t.Fatalf("round trip: %q, %v", back, err)
	}
}

func TestCodecRejectsHostileValues(t *testing.T) {
	var bomb bytes.Buffer
	bomb.WriteByte(codecDeflateV1)
	w, _ := flate.NewWriterDict(&bomb, flate.BestCompression, []byte(dictionaryV1))
	_, _ = w.Write([]byte(strings.Repeat("x", 1<<20)))
	_ = w.Close()
	if _, err := decodeData(bomb.Bytes()); err == nil {
		t.Fatal("a value inflating to 1 MiB was accepted")
	}
	if _, err := decodeData([]byte(`{"v":1}`)); err == nil {
		t.Fatal("a value without the codec byte was accepted")
	}
	if _, err := decodeData([]byte{codecDeflateV1, 0xff, 0xff}); err == nil {
		t.Fatal("a corrupt deflate stream was accepted")
	}
}
