package version

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPick(t *testing.T) {
	tests := map[string]struct{ linked, recorded, want string }{
		"linker wins":       {"v0.4.0", "v0.0.0-2026", "v0.4.0"},
		"toolchain's":       {"", "v0.0.0-20261125-abcdef", "v0.0.0-20261125-abcdef"},
		"blank linker":      {"  ", "(devel)", "(devel)"},
		"neither":           {"", "", Unknown},
		"bounded":           {strings.Repeat("9", 100), "", strings.Repeat("9", maxLen)},
		"linker trimmed":    {" v1.2.3\n", "", "v1.2.3"},
		"recorded, bounded": {"", strings.Repeat("a", 70), strings.Repeat("a", maxLen)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := pick(tc.linked, tc.recorded); got != tc.want {
				t.Errorf("pick(%q, %q) = %q, want %q", tc.linked, tc.recorded, got, tc.want)
			}
		})
	}
}

func TestLabelValue(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"tag":           {"v0.4.0", "v0.4.0"},
		"build suffix":  {"v0.4.0+dirty", "v0.4.0-dirty"},
		"devel":         {"(devel)", "devel"},
		"pseudo":        {"v0.0.0-20261125120000-0123456789ab", "v0.0.0-20261125120000-0123456789ab"},
		"too long":      {strings.Repeat("a", 70), strings.Repeat("a", 63)},
		"cut at a dash": {strings.Repeat("a", 62) + "-b", strings.Repeat("a", 62)},
		"nothing left":  {"()", Unknown},
		"non-ASCII":     {"v1-é", "v1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := LabelValue(tc.in); got != tc.want {
				t.Errorf("LabelValue(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestBuildsStampTheVersion: the Makefile and the Dockerfile set this package's variables by
// their full path; a rename here without them would leave every image reporting the
// toolchain's "(devel)".
func TestBuildsStampTheVersion(t *testing.T) {
	const pkg = "github.com/isms-operator/isms-operator/internal/version"
	for _, file := range []string{"Makefile", "Dockerfile"} {
		data, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"version", "commit"} {
			if want := "-X " + pkg + "." + v + "="; !strings.Contains(string(data), want) {
				t.Errorf("%s does not pass %q to go build", file, want)
			}
		}
	}
}
