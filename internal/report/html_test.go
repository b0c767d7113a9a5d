package report_test

import (
	"bytes"
	"html/template"
	"regexp"
	"strings"
	"testing"

	"github.com/isms-operator/isms-operator/internal/report"
)

// reportSections are the sections an ISMS audit-report template has, in order, by element id.
var reportSections = []string{"objectives", "scope", "criteria", "methodology", "findings",
	"nonconformities", "recommendations", "compliance", "kpis", "exceptions", "follow-ups",
	"conclusion", "evidence"}

// externalRef matches a tag attribute that loads or links to another resource than the
// page's own anchors (#id) and the SVG namespace declaration.
var externalRef = regexp.MustCompile(`<[a-zA-Z][^>]*\s(?:src|href|xlink:href|action|data)\s*=\s*"(?:[^#"]|#[^a-zA-Z])[^"]*"`)

func renderHTML(t *testing.T, r report.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The page is one file: no script, no external asset, and the Controls' markup stays text.
func TestWriteHTMLIsSelfContainedAndEscaped(t *testing.T) {
	page := string(renderHTML(t, fixtureReport(1)))
	for _, banned := range []string{"<script", "<img", "<link", "<iframe", "<object", "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q", banned)
		}
	}
	for _, ref := range externalRef.FindAllString(page, -1) {
		t.Errorf("page refers to something outside itself: %s", ref)
	}
	for _, text := range hostileTexts[:3] {
		if !strings.Contains(page, template.HTMLEscapeString(text)) {
			t.Errorf("hostile text %q does not appear escaped", text)
		}
	}
	if n := strings.Count(page, `id="objectives"`); n != 1 {
		t.Errorf("id=objectives appears %d times, want 1 (a Control's text forged a section)", n)
	}
}

// An empty report still renders every section and both charts, without a division by zero.
func TestWriteHTMLEmptyReport(t *testing.T) {
	page := string(renderHTML(t, report.Report{}))
	for _, id := range reportSections {
		if !strings.Contains(page, `<section id="`+id+`">`) {
			t.Errorf("empty report lacks section %q", id)
		}
	}
	if strings.Count(page, "no weeks in the period") != 2 || strings.Contains(page, "NaN") {
		t.Errorf("empty charts are not drawn as empty")
	}
}
