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
		Checkpoint: reporttest.Checkpoint, Now: func() time.Time { return goldenTo.Add(time.Hour) }}
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
