package chart

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/isms-operator/isms-operator/test/install"
)

// TestEveryValueIsDocumented: docs/install.md's Helm section names every value of values.yaml
// (as `a.b.c`, or `.c` after its sibling), so that a new value cannot go undocumented.
func TestEveryValueIsDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(install.RepoRoot(), "docs/install.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(raw), "## Install with Helm\n")
	section, _, _ = strings.Cut(section, "\n## ")
	if !found {
		t.Fatal(`docs/install.md has no "## Install with Helm" section`)
	}
	ch, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	paths := leafPaths("", ch.Values)
	if !slices.Contains(paths, "webhook.certMode") {
		t.Fatalf("leaf paths %v miss webhook.certMode", paths)
	}
	for _, p := range paths {
		last := p[strings.LastIndex(p, ".")+1:]
		if !strings.Contains(section, "`"+p+"`") && !strings.Contains(section, "`."+last+"`") {
			t.Errorf("docs/install.md's Helm section does not document %s", p)
		}
	}
}

// leafPaths are the dotted paths of values that are not maps, or are empty maps.
func leafPaths(prefix string, values map[string]any) []string {
	var out []string
	for k, v := range values {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			out = append(out, leafPaths(prefix+k+".", m)...)
		} else {
			out = append(out, prefix+k)
		}
	}
	slices.Sort(out)
	return out
}
