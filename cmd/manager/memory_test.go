package main

import "testing"

func TestSoftMemoryLimit(t *testing.T) {
	tests := map[string]struct {
		limit string
		set   bool
		want  int64
	}{
		"768Mi":               {"805306368", false, 724775731},
		"GOMEMLIMIT set wins": {"805306368", true, 0},
		"no limit":            {"", false, 0},
		"not a number":        {"768Mi", false, 0},
		"zero":                {"0", false, 0},
		// Without a limit on the container the downward API reports the node's allocatable.
		"node allocatable 8Gi": {"8589934592", false, 7730941132},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := softMemoryLimit(tc.limit, tc.set); got != tc.want {
				t.Errorf("softMemoryLimit(%q, %v) = %d, want %d", tc.limit, tc.set, got, tc.want)
			}
		})
	}
}
