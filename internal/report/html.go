package report

import (
	_ "embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// The HTML report: one self-contained file (inline CSS, inline SVG charts, no script, no
// external asset) that reads on screen and printed. html/template escapes every value: the
// names, descriptions and remediation texts come from Controls people write.

//go:embed html_template.html
var htmlTemplateText string

var htmlTemplate = template.Must(template.New("report").Funcs(htmlFuncs).Parse(htmlTemplateText))

// maxHTMLText bounds each free text the page shows (a description, a reason): a Control's
// text is user input, and one runaway string must not make the page unprintable.
const maxHTMLText = 4096

// htmlView is what the template renders: the report and its charts.
type htmlView struct {
	Report
	ComplianceChart svgChart
	FindingsChart   svgChart
}

// WriteHTML writes the report as one self-contained HTML page.
func WriteHTML(w io.Writer, r Report) error {
	view := htmlView{
		Report:          r,
		ComplianceChart: complianceChart(r.KPIs.Weeks),
		FindingsChart:   findingsChart(r.KPIs.Weeks),
	}
	if err := htmlTemplate.Execute(w, view); err != nil {
		return fmt.Errorf("rendering the HTML report: %w", err)
	}
	return nil
}

var htmlFuncs = template.FuncMap{
	"date":     htmlDate,
	"datetime": htmlDateTime,
	"pct":      htmlPercent,
	"dur":      htmlDuration,
	"hex":      hex.EncodeToString,
	"clip":     clipText,
	"join":     func(s []string) string { return clipText(strings.Join(s, ", ")) },
	"status":   statusClass,
	"severity": severityClass,
	"num":      func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"addf":     func(a, b float64) float64 { return a + b },
	"halff":    func(a float64) float64 { return a / 2 },
}

func htmlDate(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02")
}

func htmlDateTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func htmlPercent(share float64) string {
	return fmt.Sprintf("%.1f %%", 100*clampShare(share))
}

// htmlDuration writes a duration as an auditor reads it: days, hours, minutes.
func htmlDuration(d Duration) string {
	v := d.D().Round(time.Minute)
	if v <= 0 {
		return "–"
	}
	days, rest := v/(24*time.Hour), v%(24*time.Hour)
	hours, minutes := rest/time.Hour, (rest%time.Hour)/time.Minute
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%dh", hours))
	}
	if minutes > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%dm", minutes))
	}
	return strings.Join(parts, " ")
}

// clipText cuts s to maxHTMLText bytes at a rune boundary, marking the cut.
func clipText(s string) string {
	if len(s) <= maxHTMLText {
		return s
	}
	cut := maxHTMLText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (truncated)"
}

// statusClass is the CSS class that colours a requirement's status.
func statusClass(s Status) string {
	switch s {
	case StatusCompliant:
		return "ok"
	case StatusNonCompliant:
		return "bad"
	case StatusNotEvaluated, StatusNoEvidence:
		return "warn"
	default:
		return "muted"
	}
}

// severityClass is the CSS class of a grade.
func severityClass(s Severity) string {
	switch s {
	case SeverityMajor:
		return "bad"
	case SeverityMinor:
		return "warn"
	default:
		return "muted"
	}
}
