// Package frameworks holds the catalogs of the frameworks Controls map to (ISO/IEC
// 27001:2022 Annex A, SOC 2, NIST SP 800-53 rev. 5, the CIS Kubernetes Benchmark), checks a
// Control's spec.frameworks against them, and computes a framework's coverage by Controls.
//
// The catalogs are data the binary ships: one YAML file per framework in catalogs/, read and
// validated once (Default). Titles are short descriptions of our own, never a standard's
// control text.
package frameworks

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

// catalogFiles are the embedded catalogs, one file per framework, named <name>.yaml.
//
//go:embed catalogs/*.yaml
var catalogFiles embed.FS

// Catalog is the list of a framework's requirements, in groups (ISO themes, SOC 2 series,
// NIST families, CIS sections).
type Catalog struct {
	// Name is the framework as Controls name it in spec.frameworks[].framework.
	Name  string `json:"name"`
	Title string `json:"title"`
	// IDPattern matches every well-formed requirement id; its first submatch is the id of the
	// requirement's group.
	IDPattern string `json:"idPattern"`
	// GroupKind is what the framework calls its groups: theme, series, family or section.
	GroupKind    string        `json:"groupKind"`
	Groups       []Group       `json:"groups"`
	Requirements []Requirement `json:"requirements"`

	idPattern *regexp.Regexp
	byID      map[string]int
	groupByID map[string]int
}

// Group is a theme, family or section of a framework.
type Group struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Complete is true when the catalog lists every requirement of the group, so that an id
	// of the group it lacks is certainly wrong. Otherwise it lists only those the policy
	// library maps to.
	Complete bool `json:"complete,omitempty"`
}

// Requirement is one control or criterion of a framework.
type Requirement struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Group is the id of its Group.
	Group string `json:"group"`
}

// Requirement returns the requirement of the catalog with that id.
func (c *Catalog) Requirement(id string) (Requirement, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Requirement{}, false
	}
	return c.Requirements[i], true
}

// Group returns the group of the catalog with that id.
func (c *Catalog) Group(id string) (Group, bool) {
	i, ok := c.groupByID[id]
	if !ok {
		return Group{}, false
	}
	return c.Groups[i], true
}

// Complete reports whether the catalog lists every requirement of the framework.
func (c *Catalog) Complete() bool {
	for _, g := range c.Groups {
		if !g.Complete {
			return false
		}
	}
	return true
}

// groupOf returns the group a well-formed id belongs to, or false for an id the pattern does
// not match.
func (c *Catalog) groupOf(id string) (string, bool) {
	m := c.idPattern.FindStringSubmatch(id)
	if m == nil || len(m) < 2 {
		return "", false
	}
	return m[1], true
}

// Set is the catalogs known to the binary, by framework name.
type Set struct {
	catalogs []*Catalog // sorted by name
	byName   map[string]*Catalog
}

// Catalogs returns the catalogs sorted by name.
func (s *Set) Catalogs() []*Catalog { return s.catalogs }

// Lookup returns the catalog of a framework, or false for a framework the set has none for
// (a custom framework).
func (s *Set) Lookup(name string) (*Catalog, bool) {
	c, ok := s.byName[name]
	return c, ok
}

// Names returns the framework names of the set, sorted.
func (s *Set) Names() []string {
	names := make([]string, len(s.catalogs))
	for i, c := range s.catalogs {
		names[i] = c.Name
	}
	return names
}

// defaultSet reads the embedded catalogs once.
var defaultSet = sync.OnceValues(func() (*Set, error) {
	sub, err := fs.Sub(catalogFiles, "catalogs")
	if err != nil {
		return nil, err
	}
	return Load(sub)
})

// Default returns the catalogs embedded in the binary. They are validated by this package's
// tests, so a failure to load them is a build defect: Default panics on it rather than have
// every caller handle an error no input can cause.
func Default() *Set {
	s, err := defaultSet()
	if err != nil {
		panic(fmt.Sprintf("the embedded framework catalogs are invalid: %v", err))
	}
	return s
}

// Load reads and validates every *.yaml file at the root of fsys as a catalog. Errors name
// the file.
func Load(fsys fs.FS) (*Set, error) {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	s := &Set{byName: map[string]*Catalog{}}
	var errs []error
	for _, f := range files {
		c, err := loadCatalog(fsys, f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		if _, dup := s.byName[c.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: framework %q is defined twice", f, c.Name))
			continue
		}
		s.byName[c.Name] = c
		s.catalogs = append(s.catalogs, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(s.catalogs, func(i, j int) bool { return s.catalogs[i].Name < s.catalogs[j].Name })
	return s, nil
}

// loadCatalog reads one catalog file, whose name must be the framework's.
func loadCatalog(fsys fs.FS, file string) (*Catalog, error) {
	raw, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	c := &Catalog{}
	if err := yaml.UnmarshalStrict(raw, c); err != nil {
		return nil, err
	}
	if want := strings.TrimSuffix(path.Base(file), ".yaml"); c.Name != want {
		return nil, fmt.Errorf("name %q must be the file's name, %q", c.Name, want)
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	return c, nil
}

// index checks the catalog's shape and builds its lookups: a title on everything, unique
// group and requirement ids, and each requirement's id well-formed and in the group it names.
func (c *Catalog) index() error {
	var err error
	if c.Title == "" || c.GroupKind == "" || len(c.Groups) == 0 || len(c.Requirements) == 0 {
		return errors.New("title, groupKind, groups and requirements are required")
	}
	if c.idPattern, err = regexp.Compile(c.IDPattern); err != nil || c.idPattern.NumSubexp() < 1 {
		return fmt.Errorf("idPattern %q must be a regular expression whose first group is the requirement's group", c.IDPattern)
	}
	c.groupByID = map[string]int{}
	for i, g := range c.Groups {
		if _, dup := c.groupByID[g.ID]; dup || g.ID == "" || g.Title == "" {
			return fmt.Errorf("groups[%d]: id %q must be set and unique, and a title given", i, g.ID)
		}
		c.groupByID[g.ID] = i
	}
	c.byID = map[string]int{}
	for i, r := range c.Requirements {
		if _, dup := c.byID[r.ID]; dup || r.Title == "" || len(r.Title) > maxTitleLen {
			return fmt.Errorf("requirements[%d] %q: the id must be unique and the title set, at most %d characters", i, r.ID, maxTitleLen)
		}
		if g, ok := c.groupOf(r.ID); !ok || g != r.Group {
			return fmt.Errorf("requirements[%d] %q: the id must match idPattern with group %q", i, r.ID, r.Group)
		}
		if _, ok := c.groupByID[r.Group]; !ok {
			return fmt.Errorf("requirements[%d] %q: group %q is not among the groups", i, r.ID, r.Group)
		}
		c.byID[r.ID] = i
	}
	return nil
}

// maxTitleLen keeps titles short: a short description, not a standard's text.
const maxTitleLen = 64
