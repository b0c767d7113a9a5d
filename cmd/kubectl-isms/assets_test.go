package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/isms-operator/isms-operator/internal/assets"
)

// TestPrintAssets checks the table: inherited labels marked, missing ones dashed, Findings
// that may concern an asset counted apart, hostile names cut to one cell.
func TestPrintAssets(t *testing.T) {
	r := &AssetsReport{Register: assets.Register{
		Labels: assets.LabelNames{Owner: "isms.dev/owner", Classification: "isms.dev/data-classification"},
		Total:  2, Unowned: 1, Unclassified: 1,
		Assets: []assets.Asset{
			{Kind: "Namespace", Name: "sandbox", Unowned: true, Unclassified: true, Controls: []string{"ns-owner"},
				FailingControls: []string{"ns-owner"}, OpenFindings: []string{"isms-system/ns-owner"}},
			{Kind: "Deployment", Namespace: "pay", Name: "api\x1b[31m\nevil", Owner: "team-pay", Classification: "confidential", ClassificationInherited: true,
				Controls: []string{"a", "b"}, UnlistedFindings: []string{"pay/b"}},
		},
	}, Warnings: []string{"Findings could be read only in namespace pay"}}
	var out bytes.Buffer
	printAssets(&out, r)
	lines := strings.Split(out.String(), "\n")
	want := []string{
		"Assets: 2   unowned 1   unclassified 1   (labels isms.dev/owner, isms.dev/data-classification)",
		"Warning: Findings could be read only in namespace pay",
		"",
		"KIND        NAMESPACE  NAME",
	}
	for i, w := range want {
		if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
			t.Fatalf("line %d: want prefix %q\n%s", i, w, out.String())
		}
	}
	for _, w := range [][]string{
		{"Namespace", "(none)", "sandbox", "-", "-", "1", "1", "ns-owner"},
		{"Deployment", "pay", "team-pay", "confidential", "(ns)", "2", "0+1?", "(none)"},
	} {
		if !slicesContainRow(lines, w) {
			t.Errorf("no row with %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String(), "\x1b") || len(lines) != 7 {
		t.Errorf("a control character or a line break reached the terminal (%d lines):\n%q", len(lines), out.String())
	}
}

func slicesContainRow(lines, fields []string) bool {
	for _, l := range lines {
		got := strings.Fields(l)
		ok := len(got) > 0 && got[0] == fields[0]
		for _, f := range fields[1:] {
			ok = ok && strings.Contains(l, f)
		}
		if ok {
			return true
		}
	}
	return false
}
