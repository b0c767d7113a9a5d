package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/internal/report"
	"github.com/isms-operator/isms-operator/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	goldenFrom = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	goldenTo   = goldenFrom.AddDate(0, 0, 56)
)

// goldenInput is the fixed generated ledger of the golden files: 6 controls, 8 weeks.
func goldenInput(t testing.TB) report.Input {
	catalog, ok := frameworks.Default().Lookup("iso27001-2022")
	if !ok {
		t.Fatal("no iso27001-2022 catalog")
	}
	l := reporttest.Generate(reporttest.Shape{From: goldenFrom, To: goldenTo, Controls: 6, Subjects: 200,
		Heartbeat: time.Hour, IncidentsPerControl: 2, Seed: 7})
	return report.Input{Catalog: catalog, Period: report.Period{From: goldenFrom, To: goldenTo}, Controls: l.Controls,
		Entries: l.Entries(), DuePeriods: reporttest.DuePeriods, Origin: "isms.example/evidence",
		Checkpoint: reporttest.Checkpoint, Now: func() time.Time { return goldenTo.Add(time.Hour) },
		Risks: goldenRisks(), RisksReadAt: goldenTo.Add(time.Hour)}
}

// goldenRisks are a register's accepted Risks: one in force throughout, one whose acceptance
// expires inside the period, and two the report leaves out (expired before, created after).
func goldenRisks() []report.Risk {
	return []report.Risk{
		{Name: "legacy-registry", Title: "Images from the legacy registry", Owner: "platform", AcceptedBy: "ciso@example.com",
			Justification: "Migration planned for Q3; the registry is internal.", AcceptedUntil: goldenTo.AddDate(0, 6, 0),
			Created: goldenFrom.AddDate(0, -2, 0), InherentScore: 12, ResidualScore: 8, ResidualLevel: "Medium", Appetite: 9,
			Controls: []string{"ctl-001", "ctl-not-mapped"}},
		{Name: "batch-root", Title: "Batch jobs run as root", Owner: "data", AcceptedBy: "ciso@example.com",
			Justification: "Vendor image.", AcceptedUntil: goldenFrom.AddDate(0, 0, 20), Created: goldenFrom.AddDate(0, 0, 3),
			InherentScore: 16, ResidualScore: 16, ResidualLevel: "High", Appetite: 12, Controls: []string{"ctl-004"}},
		{Name: "old-acceptance", Owner: "web", AcceptedBy: "cto", AcceptedUntil: goldenFrom.AddDate(0, 0, -1), Appetite: 4},
		{Name: "future-risk", Owner: "web", AcceptedBy: "cto", Created: goldenTo, AcceptedUntil: goldenTo.AddDate(1, 0, 0), Appetite: 4},
	}
}

func TestGolden(t *testing.T) {
	r, err := report.Compute(goldenInput(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(*bytes.Buffer, report.Report) error{
		"report.md":   func(b *bytes.Buffer, r report.Report) error { return report.WriteMarkdown(b, r) },
		"report.json": func(b *bytes.Buffer, r report.Report) error { return report.WriteJSON(b, r) },
	} {
		t.Run(name, func(t *testing.T) {
			var got bytes.Buffer
			if err := write(&got, r); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/report/ -run TestGolden -update)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from the golden file; if the change is intended, rerun with -update and review the diff", path)
			}
		})
	}
}
