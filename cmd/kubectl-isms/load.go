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
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/config/crd"
	"github.com/isms-operator/isms-operator/internal/crdschema"
	"github.com/isms-operator/isms-operator/internal/exception"
)

// input is what `eval -f` read: the Controls, the Policies they may reference, the
// ControlExceptions that may exempt their failures and every other object.
type input struct {
	controls   []ismsv1.Control
	policies   []ismsv1.Policy
	exceptions []ismsv1.ControlException
	objects    []*unstructured.Unstructured
	// where each Control, Policy and ControlException came from, for messages: "file: document N".
	controlSource   map[string]string
	policySource    map[string]string
	exceptionSource map[string]string
}

// kustomizeGroup is the group of kustomization.yaml files, which are skipped.
const kustomizeGroup = "kustomize.config.k8s.io"

// manifestExtensions are the files read from directories; files named explicitly are read
// whatever their extension.
var manifestExtensions = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// load reads the paths: files, directories (recursively, *.yaml, *.yml and *.json in lexical
// order) and "-" for stdin. Every error names the file and the document.
func load(paths []string, stdin io.Reader) (*input, error) {
	in := &input{controlSource: map[string]string{}, policySource: map[string]string{}, exceptionSource: map[string]string{}}
	seen := map[string]string{} // object identity -> source
	stdinRead := false
	budget := int64(MaxInputBytes) // what all the inputs together may still hold
	for _, p := range paths {
		if p == "-" {
			if stdinRead {
				return nil, usagef("-f -: standard input can be read only once")
			}
			stdinRead = true
			raw, err := readBounded("standard input", stdin, budget)
			if err != nil {
				return nil, err
			}
			budget -= int64(len(raw))
			if err := in.add("<stdin>", raw, seen); err != nil {
				return nil, err
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, usagef("-f %s: %v", p, errors.Unwrap(err))
		}
		var files []string
		if info.IsDir() {
			err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
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
		} else {
			files = []string{p}
		}
		for _, f := range files {
			raw, err := readManifestFile(f, budget)
			if err != nil {
				return nil, err
			}
			budget -= int64(len(raw))
			if err := in.add(f, raw, seen); err != nil {
				return nil, err
			}
		}
	}
	return in, nil
}

// Input bounds. Manifests are written by people and read by CI: these keep a mistake (a link
// to /dev/zero, a pipe that never ends, a generated file of gigabytes) from exhausting the
// machine. Only regular files are read, each up to MaxManifestBytes, and standard input too.
const (
	MaxManifestBytes = 32 << 20
	MaxInputBytes    = 256 << 20
)

// readManifestFile reads a regular file (a link is followed, to a regular file only) of at
// most MaxManifestBytes, and at most budget.
func readManifestFile(path string, budget int64) ([]byte, error) {
	if info, err := os.Stat(path); err != nil {
		return nil, usagef("%s: %v", path, errors.Unwrap(err))
	} else if !info.Mode().IsRegular() {
		return nil, usagef("%s: not a regular file (%s): only files and directories of files are read", path, info.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("%s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return nil, usagef("%s: not a regular file", path) // replaced since it was looked at
	}
	return readBounded(path, f, budget)
}

// readBounded reads r to its end, refusing more than MaxManifestBytes or budget.
func readBounded(name string, r io.Reader, budget int64) ([]byte, error) {
	limit := min(int64(MaxManifestBytes), budget)
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, usagef("reading %s: %v", name, err)
	}
	if int64(len(raw)) > limit {
		if limit < MaxManifestBytes {
			return nil, usagef("%s: the inputs together hold more than %d MiB, the limit", name, MaxInputBytes>>20)
		}
		return nil, usagef("%s: more than %d MiB, the limit of one input", name, MaxManifestBytes>>20)
	}
	return raw, nil
}

// add decodes a file of YAML documents (or one JSON document) and files each object.
func (in *input) add(file string, raw []byte, seen map[string]string) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for doc := 1; ; doc++ {
		chunk, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		where := fmt.Sprintf("%s: document %d", file, doc)
		if err != nil {
			return usagef("%s: %v", where, err)
		}
		// Strict, as the API server decodes: a key given twice is an error, not the later one.
		js, err := yaml.YAMLToJSONStrict(chunk)
		if err != nil {
			return usagef("%s: %v", where, err)
		}
		js = bytes.TrimSpace(js)
		if len(js) == 0 || string(js) == "null" {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return usagef("%s: not an object: %v", where, err)
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.IsList() {
			items, _, _ := unstructured.NestedSlice(obj, "items")
			for i, item := range items {
				m, ok := item.(map[string]any)
				if !ok {
					return usagef("%s: items[%d]: not an object", where, i)
				}
				if err := in.addObject(fmt.Sprintf("%s, items[%d]", where, i), &unstructured.Unstructured{Object: m}, seen); err != nil {
					return err
				}
			}
			continue
		}
		if err := in.addObject(where, u, seen); err != nil {
			return err
		}
	}
}

func (in *input) addObject(where string, u *unstructured.Unstructured, seen map[string]string) error {
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
	id := strings.Join([]string{gvk.Group, gvk.Kind, u.GetNamespace(), u.GetName()}, "/")
	if other, ok := seen[id]; ok {
		return usagef("%s: %s %s is also defined in %s", where, gvk.Kind, qualified(u.GetNamespace(), u.GetName()), other)
	}
	seen[id] = where
	in.objects = append(in.objects, u)
	return nil
}

// crdSchemas validates isms.dev objects with the CRDs the API server holds; compiled once.
var crdSchemas = sync.OnceValues(func() (*crdschema.Validator, error) { return crdschema.Load(crd.Bases, "bases") })

// validateAsAPIServer applies the CRD's defaults to u and checks its schema and CEL rules.
func validateAsAPIServer(where string, u *unstructured.Unstructured) error {
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
func (in *input) addISMSObject(where, kind string, u *unstructured.Unstructured) (bool, error) {
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
func fileOnce(sources map[string]string, where, kind, name string) error {
	if other, ok := sources[name]; ok {
		return usagef("%s: %s %s is also defined in %s", where, kind, name, other)
	}
	sources[name] = where
	return nil
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
