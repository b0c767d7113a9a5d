// Package policies is the isms-operator policy library: ready-made Rego policies mapped to
// ISO/IEC 27001:2022 Annex A, each in its own directory with metadata, unit tests and example
// manifests. Load reads the library from a directory, LoadFS from any file system, and FS
// holds the library embedded in the binary.
//
// Layout of one policy (see README.md in this directory):
//
//	<name>/policy.yaml                metadata (Metadata)
//	<name>/policy.rego                the policy, one Rego v1 module defining violation
//	<name>/policy_test.rego           its OPA unit tests (test_* rules); more *_test.rego allowed
//	<name>/examples/allowed/*.yaml    manifests that comply
//	<name>/examples/disallowed/*.yaml manifests that violate the policy
//
// An example file is a multi-document YAML: the first document is the subject evaluated,
// the others are inventory objects loaded into data.inventory before the evaluation.
package policies

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// FS is the library as shipped in the binary, rooted at this directory: pass it to LoadFS.
//
//go:embed */policy.yaml */policy.rego */*_test.rego */examples
var FS embed.FS

// File names inside a policy directory.
const (
	MetadataFile   = "policy.yaml"
	RegoFile       = "policy.rego"
	TestFileSuffix = "_test.rego"
	ExamplesDir    = "examples"
)

// The metadata shares its shapes with a Control's spec, so that a Control is generated from
// it as is.
type (
	// Severity ranks the consequence of a failure: critical, high, medium, low or info.
	Severity = ismsv1.Severity
	// FrameworkMapping is a Control's spec.frameworks entry.
	FrameworkMapping = ismsv1.FrameworkMapping
	// KindSelector is a Control's spec.targets.kinds and spec.inventory entry.
	KindSelector = ismsv1.KindSelector
	// Targets is a Control's spec.targets.
	Targets = ismsv1.Targets
)

// Metadata is the content of policy.yaml. Frameworks, Targets and Inventory are the types of
// the same fields of a Control's spec (api/v1alpha1).
type Metadata struct {
	// ID identifies the policy in reports and Controls, e.g. ISMS-LIB-020.
	ID string `json:"id"`
	// Title is a one-line statement of the control (at most 256 characters).
	Title string `json:"title"`
	// Description gives the rationale, the scope and the remediation (at most 8192 characters).
	Description string `json:"description"`
	// Severity is one of critical, high, medium, low, info.
	Severity Severity `json:"severity"`
	// Frameworks maps the policy to requirements, iso27001-2022 first.
	Frameworks []FrameworkMapping `json:"frameworks"`
	// Targets are the kinds the policy evaluates and the namespaces it skips.
	Targets Targets `json:"targets"`
	// Inventory names further kinds the policy reads from data.inventory.
	Inventory []KindSelector `json:"inventory,omitempty"`
	// WhenKindsNotServed is the Control's spec.whenKindsNotServed: NotApplicable for a policy
	// on another tool's kinds, so that a cluster without the tool shows it, neither failing
	// nor passing. Empty: the Control's default, Error.
	WhenKindsNotServed string `json:"whenKindsNotServed,omitempty"`
	// Parameters are the default input.parameters, used by the examples and generated Controls.
	Parameters map[string]any `json:"parameters,omitempty"`
	// ParametersSchema is an OpenAPI v3 schema (type object) describing the parameters.
	ParametersSchema map[string]any `json:"parametersSchema,omitempty"`
}

// Source is a Rego file of a policy.
type Source struct {
	// Path is the file's path as given to Load (or within the fs.FS given to LoadFS).
	Path string
	Text string
}

// Example is one example manifest of a policy.
type Example struct {
	Path string
	// Allowed is true for examples/allowed, false for examples/disallowed.
	Allowed bool
	// Subject is the first document: the object evaluated, as decoded JSON (numbers are
	// json.Number).
	Subject map[string]any
	// Inventory are the other documents, loaded into data.inventory before evaluating.
	Inventory []map[string]any
}

// Policy is one policy of the library.
type Policy struct {
	// Name is the directory name, e.g. no-privileged-containers.
	Name string
	// Dir is the policy's directory as given to Load (or within the fs.FS).
	Dir      string
	Metadata Metadata
	Rego     Source
	Tests    []Source
	Examples []Example
}

// ControlName is the name of the Control generated from the policy: isms-lib-<name>.
func (p *Policy) ControlName() string { return "isms-lib-" + p.Name }

// PolicyName is the name of the Policy object (isms.dev/v1alpha1 Policy) generated from the
// policy, which the generated Control references: isms-lib-<name>, as the Control.
func (p *Policy) PolicyName() string { return "isms-lib-" + p.Name }

// Package is the Rego package the policy must declare: isms.library.<name with underscores>.
func (p *Policy) Package() string {
	return "isms.library." + strings.ReplaceAll(p.Name, "-", "_")
}

var namePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Load reads every policy in dir: each subdirectory is a policy, except testdata and names
// starting with "." or "_". Policies are returned sorted by name. Errors name the file.
func Load(dir string) ([]Policy, error) {
	ps, err := LoadFS(os.DirFS(dir))
	if err != nil {
		return nil, err
	}
	for i := range ps {
		p := &ps[i]
		p.Dir = filepath.Join(dir, filepath.FromSlash(p.Dir))
		p.Rego.Path = filepath.Join(dir, filepath.FromSlash(p.Rego.Path))
		for j := range p.Tests {
			p.Tests[j].Path = filepath.Join(dir, filepath.FromSlash(p.Tests[j].Path))
		}
		for j := range p.Examples {
			p.Examples[j].Path = filepath.Join(dir, filepath.FromSlash(p.Examples[j].Path))
		}
	}
	return ps, nil
}

// LoadFS reads the library from fsys, whose root holds the policy directories (e.g. FS).
// Paths in the result and in errors are relative to that root.
func LoadFS(fsys fs.FS) ([]Policy, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading policy library: %w", err)
	}
	var out []Policy
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			continue
		}
		p, err := loadPolicy(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func loadPolicy(fsys fs.FS, name string) (Policy, error) {
	p := Policy{Name: name, Dir: name}
	if !namePattern.MatchString(name) {
		return p, fmt.Errorf("%s: policy directory name must be kebab-case ([a-z0-9-])", name)
	}

	metaPath := path.Join(name, MetadataFile)
	raw, err := fs.ReadFile(fsys, metaPath)
	if err != nil {
		return p, fmt.Errorf("%s: %w", metaPath, err)
	}
	if err := yaml.UnmarshalStrict(raw, &p.Metadata); err != nil {
		return p, fmt.Errorf("%s: %w", metaPath, err)
	}
	if err := p.Metadata.validate(); err != nil {
		return p, fmt.Errorf("%s: %w", metaPath, err)
	}

	p.Rego.Path = path.Join(name, RegoFile)
	src, err := fs.ReadFile(fsys, p.Rego.Path)
	if err != nil {
		return p, fmt.Errorf("%s: %w", p.Rego.Path, err)
	}
	p.Rego.Text = string(src)

	if p.Tests, err = readTests(fsys, name); err != nil {
		return p, err
	}
	if p.Examples, err = readExamples(fsys, name); err != nil {
		return p, err
	}
	return p, nil
}

// readTests reads the policy's Rego tests: the *_test.rego files of its directory.
func readTests(fsys fs.FS, name string) ([]Source, error) {
	files, err := fs.ReadDir(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var tests []Source
	for _, f := range files {
		if f.IsDir() || !strings.HasSuffix(f.Name(), TestFileSuffix) {
			continue
		}
		tp := path.Join(name, f.Name())
		text, err := fs.ReadFile(fsys, tp)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tp, err)
		}
		tests = append(tests, Source{Path: tp, Text: string(text)})
	}
	return tests, nil
}

// readExamples reads the policy's examples, allowed ones first; either directory may be
// missing.
func readExamples(fsys fs.FS, name string) ([]Example, error) {
	var examples []Example
	for _, kind := range []struct {
		dir     string
		allowed bool
	}{{"allowed", true}, {"disallowed", false}} {
		dir := path.Join(name, ExamplesDir, kind.dir)
		files, err := fs.ReadDir(fsys, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		for _, f := range files {
			if f.IsDir() || !(strings.HasSuffix(f.Name(), ".yaml") || strings.HasSuffix(f.Name(), ".yml")) {
				continue
			}
			ex, err := readExample(fsys, path.Join(dir, f.Name()))
			if err != nil {
				return nil, err
			}
			ex.Allowed = kind.allowed
			examples = append(examples, ex)
		}
	}
	return examples, nil
}

var validSeverity = map[Severity]bool{
	"critical": true, "high": true, "medium": true, "low": true, "info": true,
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// validate checks what a Control generated from the metadata needs.
func (m *Metadata) validate() error {
	switch {
	case !idPattern.MatchString(m.ID) || len(m.ID) > 63:
		return fmt.Errorf("id %q must match %s and have at most 63 characters", m.ID, idPattern)
	case m.Title == "" || len(m.Title) > 256:
		return fmt.Errorf("title must be set and have at most 256 characters")
	case len(m.Description) > 8192:
		return fmt.Errorf("description has %d characters, at most 8192 are allowed", len(m.Description))
	case !validSeverity[m.Severity]:
		return fmt.Errorf("severity %q must be one of critical, high, medium, low, info", m.Severity)
	case len(m.Targets.Kinds) == 0:
		return fmt.Errorf("targets.kinds must name at least one kind")
	}
	for _, f := range m.Frameworks {
		if f.Framework == "" || len(f.Requirements) == 0 {
			return fmt.Errorf("frameworks: each entry needs a framework and at least one requirement")
		}
	}
	if m.ParametersSchema != nil && m.ParametersSchema["type"] != "object" {
		return fmt.Errorf("parametersSchema must be an OpenAPI schema of type object")
	}
	return nil
}

// readExample decodes a multi-document YAML example.
func readExample(fsys fs.FS, p string) (Example, error) {
	ex := Example{Path: p}
	raw, err := fs.ReadFile(fsys, p)
	if err != nil {
		return ex, fmt.Errorf("%s: %w", p, err)
	}
	docs, err := DecodeDocuments(raw)
	if err != nil {
		return ex, fmt.Errorf("%s: %w", p, err)
	}
	if len(docs) == 0 {
		return ex, fmt.Errorf("%s: no YAML document: the first document must be the subject", p)
	}
	for i, d := range docs {
		if d["apiVersion"] == nil || d["kind"] == nil || nestedString(d, "metadata", "name") == "" {
			return ex, fmt.Errorf("%s: document %d needs apiVersion, kind and metadata.name", p, i+1)
		}
	}
	ex.Subject, ex.Inventory = docs[0], docs[1:]
	return ex, nil
}

// DecodeDocuments decodes a multi-document YAML (or JSON) stream into objects, skipping empty
// documents. Numbers are json.Number, as in objects decoded from the API server.
func DecodeDocuments(raw []byte) ([]map[string]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var out []map[string]any
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("document %d: not an object: %w", i, err)
		}
		out = append(out, obj)
	}
}

func nestedString(obj map[string]any, keys ...string) string {
	var cur any = obj
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}
