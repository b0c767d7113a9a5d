package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// zeros is an endless input, like /dev/zero or a pipe whose writer never stops.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// What a mistake or a hostile repository can hand to eval is refused as bad input (exit code
// 2), naming the file, instead of hanging or reading without end.
func TestLoadRefusesWhatItCannotBound(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zeroLink := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zeroLink); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(sub, "in.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	duplicate := write("dup.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n")
	tests := map[string]struct {
		paths []string
		stdin io.Reader
		want  string
	}{
		"a link to /dev/zero":     {paths: []string{zeroLink}, want: "zero.yaml: not a regular file"},
		"a named pipe":            {paths: []string{fifo}, want: "pipe.yaml: not a regular file"},
		"a directory with a pipe": {paths: []string{sub}, want: "in.yaml: not a regular file"},
		"endless standard input":  {paths: []string{"-"}, stdin: zeros{}, want: "standard input: more than 32 MiB"},
		"a key given twice":       {paths: []string{duplicate}, want: `dup.yaml: document 1: yaml: unmarshal errors:`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := load(tc.paths, tc.stdin)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a usage error saying %q", err, tc.want)
			}
		})
	}
}

// A panic anywhere in a command is a bug, reported with exit code 3, not a crash that exits 2
// like bad input.
func TestPanicIsAnInternalError(t *testing.T) {
	var stderr strings.Builder
	code := func() int {
		defer func() { _ = recover() }()
		return run(context.Background(), []string{"eval", "-f", "-"}, panicReader{}, io.Discard, &stderr)
	}()
	if code != exitInternal || !strings.Contains(stderr.String(), "internal error: boom") {
		t.Errorf("exit code %d, stderr %q; want %d and the panic reported", code, stderr.String(), exitInternal)
	}
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("boom") }

// The loader decodes one document at a time and keeps each object as its JSON, not decoded:
// what it holds is about the size of the input, where decoded objects would hold six times
// that (and the previous loader held the whole file besides).
func TestLoadHoldsAboutTheInputsSize(t *testing.T) {
	dir := t.TempDir()
	n := writeDeployments(t, dir, 4<<20, 2<<20)
	size := int64(0)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += info.Size()
	}
	base := liveHeap()
	in, err := load([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	held := liveHeap() - base
	if in.objects.Len() != n {
		t.Fatalf("loaded %d objects, want %d", in.objects.Len(), n)
	}
	ratio := held / float64(size)
	t.Logf("%d objects, %.1f MiB of manifests: the loaded input holds %.1f MiB (%.2f×)", n, float64(size)/(1<<20), held/(1<<20), ratio)
	if ratio > 1.5 {
		t.Errorf("the loaded input holds %.1f MiB for %.1f MiB of manifests (%.1f×), want at most 1.5×", held/(1<<20), float64(size)/(1<<20), ratio)
	}
	runtime.KeepAlive(in)
}

// Every object becomes a Subject that evaluation keeps: their number is bounded, with a
// message that says so.
func TestLoadBoundsTheObjects(t *testing.T) {
	defer func(n int) { maxObjects = n }(maxObjects)
	maxObjects = 3
	var manifest strings.Builder
	for i := range 4 {
		fmt.Fprintf(&manifest, "---\n{apiVersion: v1, kind: ConfigMap, metadata: {name: c%d}}\n", i)
	}
	manifest.WriteString("---\n{apiVersion: isms.dev/v1alpha1, kind: Policy, metadata: {name: p}, spec: {rego: 'package p'}}\n")
	_, err := load([]string{"-"}, strings.NewReader(manifest.String()))
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "<stdin>: document 4: the inputs hold more than 3 objects") {
		t.Fatalf("err = %v, want a usage error naming document 4 and the limit", err)
	}
	maxObjects = 4
	if _, err := load([]string{"-"}, strings.NewReader(manifest.String())); err != nil {
		t.Fatalf("4 objects and a Policy: %v", err)
	}
}

// The loader numbers documents as apimachinery's YAMLReader does (error messages say
// "document N") and knows the line each starts on, which SARIF and JUnit point at.
func TestLoadKnowsEachObjectsDocumentAndLine(t *testing.T) {
	const manifest = "---\n# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n" +
		"---\n---\n\n" + // an empty separator, then a blank document: numbered, as YAMLReader does
		"--- # the third document\n\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n" +
		"- {apiVersion: v1, kind: Secret, metadata: {name: c}}"
	in, err := load([]string{"-"}, strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]location{
		objectID("", "ConfigMap", "", "a"): {File: "<stdin>", Document: 1, Line: 3},
		objectID("", "Secret", "", "b"):    {File: "<stdin>", Document: 3, Line: 11, Item: 1},
		objectID("", "Secret", "", "c"):    {File: "<stdin>", Document: 3, Line: 11, Item: 2},
	}
	if len(in.seen) != len(want) {
		t.Fatalf("loaded %v, want %v", in.seen, want)
	}
	for id, w := range want {
		if got := in.seen[id]; got != w {
			t.Errorf("%s: at %+v, want %+v", id, got, w)
		}
	}
	if got := in.seen[objectID("", "Secret", "", "c")].String(); got != "<stdin>: document 3, items[1]" {
		t.Errorf("message location %q", got)
	}
	_, err = load([]string{"-"}, strings.NewReader("a: 1\n--- !!map\nb: 2\n"))
	if err == nil || !strings.Contains(err.Error(), "<stdin>: document 1: line 2: invalid YAML document separator: !!map") {
		t.Errorf("a separator followed by more than a comment: %v", err)
	}
}
