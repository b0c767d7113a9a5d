package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/config/crd"
	"github.com/isms-operator/isms-operator/internal/crdschema"
	"github.com/isms-operator/isms-operator/internal/exception"
	"github.com/isms-operator/isms-operator/internal/offline"
)

// input is what `eval -f` read: the Controls, the Policies they may reference, the
// ControlExceptions that may exempt their failures and every other object.
type input struct {
	controls   []ismsv1.Control
	policies   []ismsv1.Policy
	exceptions []ismsv1.ControlException
	objects    *manifests
	// where each Control, Policy and ControlException came from, for messages: "file: document N".
	controlSource   map[string]string
	policySource    map[string]string
	exceptionSource map[string]string
	// seen maps every other object's identity to where it came from, for SARIF and JUnit.
	seen map[string]location
}

func newInput() *input {
	return &input{
		objects:       &manifests{},
		controlSource: map[string]string{}, policySource: map[string]string{}, exceptionSource: map[string]string{},
		seen: map[string]location{},
	}
}

// stdinName is the file name of standard input in messages and reports.
const stdinName = "<stdin>"

// kustomizeGroup is the group of kustomization.yaml files, which are skipped.
const kustomizeGroup = "kustomize.config.k8s.io"

// manifestExtensions are the files read from directories; files named explicitly are read
// whatever their extension.
var manifestExtensions = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// load reads the paths: files, directories (recursively, *.yaml, *.yml and *.json in lexical
// order) and "-" for stdin, one document at a time. Every error names the file and the
// document.
func load(paths []string, stdin io.Reader) (*input, error) {
	return loadWithKustomizations(paths, nil, stdin)
}

// loadWithKustomizations reads the paths as load does, then renders the kustomizations of
// the directories kdirs (eval -k); the bounds hold for all of them together.
func loadWithKustomizations(paths, kdirs []string, stdin io.Reader) (*input, error) {
	in, budget, err := loadPaths(paths, stdin)
	if err != nil {
		return nil, err
	}
	for _, dir := range kdirs {
		if err := in.addKustomization(dir, &budget); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// loadPaths reads the paths, and returns what the inputs may still hold.
func loadPaths(paths []string, stdin io.Reader) (*input, int64, error) {
	in := newInput()
	budget := int64(MaxInputBytes) // what all the inputs together may still hold
	stdinRead := false
	for _, p := range paths {
		if p == "-" {
			if stdinRead {
				return nil, 0, usagef("-f -: standard input can be read only once")
			}
			stdinRead = true
			r := newBoundedReader("standard input", stdin, budget)
			if err := in.add(stdinName, r); err != nil {
				return nil, 0, err
			}
			budget -= r.n
			continue
		}
		files, err := manifestFiles(p)
		if err != nil {
			return nil, 0, err
		}
		for _, f := range files {
			if err := in.addFile(f, &budget); err != nil {
				return nil, 0, err
			}
		}
	}
	return in, budget, nil
}

// manifestFiles returns p if it is not a directory, else the manifests under it in lexical
// order.
func manifestFiles(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, usagef("-f %s: %v", p, errors.Unwrap(err))
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && manifestExtensions[strings.ToLower(filepath.Ext(path))] {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, usagef("-f %s: %v", p, err)
	}
	sort.Strings(files)
	return files, nil
}

// Input bounds. Manifests are written by people and read by CI: these keep a mistake (a link
// to /dev/zero, a pipe that never ends, a generated file of gigabytes) from exhausting the
// machine. Only regular files are read, each up to MaxManifestBytes, and standard input too.
// Documents are decoded one at a time, but every object of the inputs is kept until the
// Controls are known (they may come last), as its JSON (about the size of its YAML), and
// those of the kinds the Controls read become Subjects, which evaluation needs all at once
// (policies read data.inventory across objects): MaxObjects bounds what they cost.
const (
	MaxManifestBytes = 32 << 20
	MaxInputBytes    = 256 << 20
	MaxObjects       = 100_000
)

// maxObjects is MaxObjects, lowered by tests.
var maxObjects = MaxObjects

// addFile decodes a regular file (a link is followed, to a regular file only) of at most
// MaxManifestBytes, and at most *budget, which it decreases by what it read.
func (in *input) addFile(path string, budget *int64) error {
	if info, err := os.Stat(path); err != nil {
		return usagef("%s: %v", path, errors.Unwrap(err))
	} else if !info.Mode().IsRegular() {
		return usagef("%s: not a regular file (%s): only files and directories of files are read", path, info.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return usagef("%s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return usagef("%s: not a regular file", path) // replaced since it was looked at
	}
	r := newBoundedReader(path, f, *budget)
	if err := in.add(path, r); err != nil {
		return err
	}
	*budget -= r.n
	return nil
}

// boundedReader reads r, failing with an input error once it has read more than
// MaxManifestBytes or the budget.
type boundedReader struct {
	name  string
	r     io.Reader
	limit int64
	n     int64 // read so far
}

func newBoundedReader(name string, r io.Reader, budget int64) *boundedReader {
	return &boundedReader{name: name, r: r, limit: min(int64(MaxManifestBytes), budget)}
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if room := b.limit + 1 - b.n; int64(len(p)) > room {
		p = p[:room] // one byte past the limit tells that there is more
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case b.n > b.limit && b.limit < MaxManifestBytes:
		return 0, usagef("%s: the inputs together hold more than %d MiB, the limit", b.name, MaxInputBytes>>20)
	case b.n > b.limit:
		return 0, usagef("%s: more than %d MiB, the limit of one input", b.name, MaxManifestBytes>>20)
	case err != nil && !errors.Is(err, io.EOF):
		return n, usagef("reading %s: %v", b.name, err)
	}
	return n, err
}

// location is where an object of the inputs came from. Its String is what messages say.
type location struct {
	File     string // the path as given, or <stdin>
	Document int    // from 1, counting the documents of File
	Line     int    // the document's first line with content; 0 when unknown
	Item     int    // a List's item: its index plus one; 0 when the document is not a List
	// Rendered: File is a kustomization and Document the object's rank in its output (-k).
	Rendered bool
}

func (l location) String() string {
	switch {
	case l.Rendered:
		return l.renderedAt()
	case l.Item > 0:
		return fmt.Sprintf("%s: document %d, items[%d]", l.File, l.Document, l.Item-1)
	default:
		return fmt.Sprintf("%s: document %d", l.File, l.Document)
	}
}

// add decodes a stream of YAML documents (or one JSON document), one document at a time, and
// files each object.
func (in *input) add(file string, r io.Reader) error {
	docs := &documentReader{r: bufio.NewReader(r)}
	for doc := 1; ; doc++ {
		chunk, line, err := docs.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		where := location{File: file, Document: doc, Line: line}
		var ue usageError
		if errors.As(err, &ue) {
			return err // the reader's bounds, which name the file
		} else if err != nil {
			return usagef("%s: %v", where, err)
		}
		if err := in.addDocument(where, chunk); err != nil {
			return err
		}
	}
}

// documentReader splits a stream into YAML documents at the lines that start with ---, as
// k8s.io/apimachinery's YAMLReader does (same documents, same numbering), and counts lines, so
// that SARIF and JUnit can point at the line a document starts on.
type documentReader struct {
	r     *bufio.Reader
	lines int // read so far
}

// next returns the next document and the number of its first line that is neither blank nor
// a comment (0 if none), or io.EOF.
func (d *documentReader) next() ([]byte, int, error) {
	var doc bytes.Buffer
	start := 0
	for {
		line, err := d.r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		if len(line) > 0 {
			d.lines++
		}
		if rest, isSeparator := bytes.CutPrefix(line, []byte("---")); isSeparator {
			if trimmed := bytes.TrimSpace(rest); len(trimmed) > 0 && trimmed[0] != '#' {
				return nil, 0, fmt.Errorf("line %d: invalid YAML document separator: %s", d.lines, trimmed)
			}
			if doc.Len() > 0 {
				return doc.Bytes(), start, nil
			}
		} else {
			if trimmed := bytes.TrimSpace(line); start == 0 && len(trimmed) > 0 && trimmed[0] != '#' {
				start = d.lines
			}
			doc.Write(line)
		}
		if err != nil { // io.EOF
			if doc.Len() > 0 {
				return doc.Bytes(), start, nil
			}
			return nil, 0, io.EOF
		}
	}
}

// addDocument decodes one YAML document strictly and files its object, or a List's items.
func (in *input) addDocument(where location, chunk []byte) error {
	// Strict, as the API server decodes: a key given twice is an error, not the later one.
	js, err := yaml.YAMLToJSONStrict(chunk)
	if err != nil {
		return usagef("%s: %v", where, err)
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || string(js) == "null" {
		return nil
	}
	obj, err := decodeJSONObject(js)
	if err != nil {
		return usagef("%s: not an object: %v", where, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	if !u.IsList() {
		return in.addObject(where, u, js)
	}
	items, _, _ := unstructured.NestedSlice(obj, "items")
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return usagef("%s: items[%d]: not an object", where, i)
		}
		itemJSON, err := json.Marshal(m)
		if err != nil {
			return usagef("%s: items[%d]: %v", where, i, err)
		}
		item := where
		item.Item = i + 1
		if err := in.addObject(item, &unstructured.Unstructured{Object: m}, itemJSON); err != nil {
			return err
		}
	}
	return nil
}

// decodeJSONObject decodes a JSON object, its numbers as json.Number, as the API server's
// unstructured decoding keeps them.
func decodeJSONObject(js []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// addObject files a decoded object, whose JSON is js: a Control, Policy or ControlException
// as such, any other object as a manifest.
func (in *input) addObject(where location, u *unstructured.Unstructured, js []byte) error {
	if gv, err := schema.ParseGroupVersion(u.GetAPIVersion()); err == nil && gv.Group == kustomizeGroup {
		return nil // a kustomization.yaml in a manifests directory: not an object of the cluster
	}
	if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
		return usagef("%s: an object needs apiVersion, kind and metadata.name", where)
	}
	gvk := u.GroupVersionKind()
	if gvk.GroupVersion() == ismsv1.GroupVersion {
		if handled, err := in.addISMSObject(where, gvk.Kind, u); handled || err != nil {
			return err
		}
	}
	id := objectID(gvk.Group, gvk.Kind, u.GetNamespace(), u.GetName())
	if other, ok := in.seen[id]; ok {
		return usagef("%s: %s %s is also defined in %s", where, gvk.Kind, qualified(u.GetNamespace(), u.GetName()), other)
	}
	if in.objects.Len() >= maxObjects {
		return usagef("%s: the inputs hold more than %d objects besides Controls, Policies and ControlExceptions, the limit", where, maxObjects)
	}
	in.seen[id] = where
	in.objects.add(gvk, u, js)
	return nil
}

// crdSchemas validates isms.dev objects with the CRDs the API server holds; compiled once.
var crdSchemas = sync.OnceValues(func() (*crdschema.Validator, error) { return crdschema.Load(crd.Bases, "bases") })

// validateAsAPIServer applies the CRD's defaults to u and checks its schema and CEL rules.
func validateAsAPIServer(where location, u *unstructured.Unstructured) error {
	v, err := crdSchemas()
	if err != nil {
		return fmt.Errorf("loading the embedded CRDs: %w", err) // a build without them: not the input's fault
	}
	if !v.Knows(u.GroupVersionKind()) {
		return nil
	}
	if errs := v.Validate(context.Background(), u.GroupVersionKind(), u.Object); len(errs) > 0 {
		return usagef("%s: %s %s: %v", where, u.GetKind(), u.GetName(), errs.ToAggregate())
	}
	return nil
}

// addISMSObject files a Control, Policy or ControlException, and reports whether u is one.
// Each is first checked as the API server would check it (validateAsAPIServer).
func (in *input) addISMSObject(where location, kind string, u *unstructured.Unstructured) (bool, error) {
	switch kind {
	case "Control", "Policy", "ControlException":
		if err := validateAsAPIServer(where, u); err != nil {
			return true, err
		}
	}
	switch kind {
	case "Control":
		c, err := decodeControl(u)
		if err != nil {
			return true, usagef("%s: Control %s: %v", where, u.GetName(), err)
		}
		if err := fileOnce(in.controlSource, where, kind, c.Name); err != nil {
			return true, err
		}
		in.controls = append(in.controls, *c)
	case "Policy":
		p, err := decodePolicy(u)
		if err != nil {
			return true, usagef("%s: Policy %s: %v", where, u.GetName(), err)
		}
		if err := fileOnce(in.policySource, where, kind, p.Name); err != nil {
			return true, err
		}
		in.policies = append(in.policies, *p)
	case "ControlException":
		ex, err := decodeControlException(u)
		if err != nil {
			return true, usagef("%s: ControlException %s: %v", where, u.GetName(), err)
		}
		if err := fileOnce(in.exceptionSource, where, kind, ex.Name); err != nil {
			return true, err
		}
		in.exceptions = append(in.exceptions, *ex)
	default:
		return false, nil
	}
	return true, nil
}

// fileOnce records where the object of a kind and name came from, and rejects a second one.
func fileOnce(sources map[string]string, where location, kind, name string) error {
	if other, ok := sources[name]; ok {
		return usagef("%s: %s %s is also defined in %s", where, kind, name, other)
	}
	sources[name] = where.String()
	return nil
}

// origin returns where a failing subject was read from. A subject the loader read without a
// namespace was put in defaultNamespace by the evaluation.
func (in *input) origin(s offline.FailingSubject, defaultNamespace string) (location, bool) {
	gv, err := schema.ParseGroupVersion(s.APIVersion)
	if err != nil {
		return location{}, false
	}
	if where, ok := in.seen[objectID(gv.Group, s.Kind, s.Namespace, s.Name)]; ok {
		return where, true
	}
	if s.Namespace != defaultNamespace {
		return location{}, false
	}
	where, ok := in.seen[objectID(gv.Group, s.Kind, "", s.Name)]
	return where, ok
}

// objectID is an object's identity among the inputs.
func objectID(group, kind, namespace, name string) string {
	return strings.Join([]string{group, kind, namespace, name}, "/")
}

// decodeControl decodes a Control strictly and checks what the API server's schema would
// reject and the evaluation needs.
func decodeControl(u *unstructured.Unstructured) (*ismsv1.Control, error) {
	js, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	var c ismsv1.Control
	if err := yaml.UnmarshalStrict(js, &c); err != nil {
		return nil, err
	}
	s := &c.Spec
	switch {
	case s.ID == "":
		return nil, errors.New("spec.id is required")
	case offlineSeverity(s.Severity) == 0:
		return nil, fmt.Errorf("spec.severity %q must be one of critical, high, medium, low, info", s.Severity)
	case s.Attestation != nil:
		// Attested: nothing to evaluate here (offline.Evaluate reports it Pending).
	case len(s.Targets.Kinds) == 0:
		return nil, errors.New("spec.targets.kinds must name at least one kind")
	case (strings.TrimSpace(s.Policy.Rego) == "") == (s.Policy.Ref == nil):
		return nil, errors.New("exactly one of spec.policy.rego (inline Rego) and spec.policy.ref (a Policy) must be set")
	case s.Policy.Ref != nil && s.Policy.Ref.Name == "":
		return nil, errors.New("spec.policy.ref.name is required")
	}
	return &c, nil
}

// decodePolicy decodes a Policy strictly and checks what the API server's schema would reject.
// A Rego that does not compile or an unusable parametersSchema is reported on the Controls
// that reference the Policy, as the operator does.
func decodePolicy(u *unstructured.Unstructured) (*ismsv1.Policy, error) {
	js, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	var p ismsv1.Policy
	if err := yaml.UnmarshalStrict(js, &p); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.Spec.Rego) == "" {
		return nil, errors.New("spec.rego is required")
	}
	return &p, nil
}

// decodeControlException decodes a ControlException strictly and checks what the API server
// would reject (the CRD's schema and CEL rules: exception.Validate; approvedAt in the future:
// exception.ValidateApproval). One that has expired is valid: it exempts nothing.
func decodeControlException(u *unstructured.Unstructured) (*ismsv1.ControlException, error) {
	js, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	var ex ismsv1.ControlException
	if err := yaml.UnmarshalStrict(js, &ex); err != nil {
		return nil, err
	}
	errs := exception.Validate(&ex)
	errs = append(errs, exception.ValidateApproval(&ex, time.Now())...)
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &ex, nil
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
