package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/isms-operator/isms-operator/internal/browsertest"
	"github.com/isms-operator/isms-operator/internal/report"
)

// The HTML report, checked as a person would: opened in headless Chromium, on a screen and
// with its print stylesheet at the printed page's width, it has every section, its tables
// fit the page, its charts are drawn, and nothing a Control's author wrote ran.

// layoutProbe is appended to a copy of the page (the report itself has no script): it
// measures the laid-out page and leaves the result in the DOM for --dump-dom.
const layoutProbe = `<script>
(function () {
  var de = document.documentElement, width = de.clientWidth;
  var out = {width: width, scrollWidth: de.scrollWidth, scripts: document.scripts.length,
    images: document.images.length, pwned: de.dataset.pwned || "", sections: [], tables: [],
    svgs: document.querySelectorAll("figure.chart svg").length,
    bars: document.querySelectorAll("#chart-findings rect.opened, #chart-findings rect.closed").length - 2,
    dots: document.querySelectorAll("#chart-compliance circle.dot").length};
  document.querySelectorAll("main > section").forEach(function (s) {
    var h = s.querySelector("h2");
    out.sections.push({id: s.id, heading: h ? h.textContent : ""});
  });
  document.querySelectorAll("table").forEach(function (t) {
    var r = t.getBoundingClientRect(), cells = 0;
    t.querySelectorAll("td, th").forEach(function (c) { if (c.scrollWidth > c.clientWidth + 1) cells++; });
    out.tables.push({id: t.id, right: r.right, rows: t.rows.length, overflowingCells: cells});
  });
  var pre = document.createElement("pre");
  pre.id = "layout-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>`

type layoutResult struct {
	Width, ScrollWidth float64
	Scripts, Images    int
	Pwned              string
	Sections           []struct{ ID, Heading string }
	Tables             []struct {
		ID               string
		Right            float64
		Rows             int
		OverflowingCells int
	}
	SVGs, Bars, Dots int
}

// reportTables are the tables the fixture report fills, in order.
var reportTables = []string{"table-scope-controls", "table-due-periods", "table-evaluations",
	"table-gaps", "table-findings", "table-nonconformities", "table-recommendations",
	"table-requirements", "table-kpis", "table-exceptions", "table-accepted-risks", "table-follow-ups", "table-statuses"}

// A4 is 210 mm wide; the print stylesheet's margins leave 186 mm: 703 CSS pixels.
const printedPageWidth = 703

func TestHTMLReportInChromium(t *testing.T) {
	browser := browsertest.Chromium(t)
	computed, err := report.Compute(goldenInput(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("generated report with hostile Control texts", func(t *testing.T) {
		checkInChromium(t, browser, fixtureReport(1), "fixture", reportTables)
	})
	t.Run("computed from a generated ledger", func(t *testing.T) {
		checkInChromium(t, browser, computed, "computed", nil)
	})
}

// checkInChromium lays the report out on screen and printed and checks it (wantTables, when
// set, are the tables it must have, in order), prints it to PDF and takes a screenshot.
func checkInChromium(t *testing.T, browser *browsertest.Browser, r report.Report, name string, wantTables []string) {
	page := renderHTML(t, r)
	dir := t.TempDir()
	screen := writeProbedPage(t, dir, "screen.html", page, false)
	printed := writeProbedPage(t, dir, "print.html", page, true)
	for view, c := range map[string]struct {
		url   string
		width int
	}{
		"screen 1280px":         {screen, 1280},
		"screen 800px":          {screen, 800},
		"print stylesheet (A4)": {printed, printedPageWidth},
	} {
		t.Run(view, func(t *testing.T) {
			got := probeLayout(t, browser, c.url, c.width)
			checkLayout(t, got, float64(c.width), len(r.KPIs.Weeks), wantTables)
		})
	}
	keep := screenshotDir(t)
	checkPrintedPDF(t, browser, keep, name, page)
	shot := filepath.Join(keep, "report-"+name+".png")
	browser.Screenshot(browsertest.FileURL(writePage(t, dir, "shot.html", page)), 1280, 2400, shot)
	t.Logf("screenshot of the report: %s", shot)
}

// screenshotDir is REPORT_SCREENSHOT_DIR when set (to look at the page, its PDF and the
// screenshot after the test), else the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("REPORT_SCREENSHOT_DIR"); dir != "" {
		return dir
	}
	return t.TempDir()
}

func writePage(t *testing.T, dir, name string, page []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, page, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeProbedPage writes the page with layoutProbe before </body>; print applies the print
// stylesheet on screen, so the probe measures the printed layout.
func writeProbedPage(t *testing.T, dir, name string, page []byte, print bool) string {
	t.Helper()
	if print {
		if bytes.Count(page, []byte(`<style media="print">`)) != 1 {
			t.Fatal(`the page has no single <style media="print">`)
		}
		page = bytes.Replace(page, []byte(`<style media="print">`), []byte(`<style media="all">`), 1)
	}
	page = bytes.Replace(page, []byte("</body>"), []byte(layoutProbe+"</body>"), 1)
	return browsertest.FileURL(writePage(t, dir, name, page))
}

var layoutResultElement = regexp.MustCompile(`(?s)<pre id="layout-result">(.*?)</pre>`)

func probeLayout(t *testing.T, b *browsertest.Browser, url string, width int) layoutResult {
	t.Helper()
	dom := b.DumpDOM(url, width, 900)
	m := layoutResultElement.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the layout probe left no result in the DOM (did the page load?):\n%.2000s", dom)
	}
	var got layoutResult
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &got); err != nil {
		t.Fatalf("layout result %q: %v", m[1], err)
	}
	return got
}

func checkLayout(t *testing.T, got layoutResult, window float64, weeks int, wantTables []string) {
	t.Helper()
	if got.Width < window-20 || got.Width > window {
		t.Fatalf("page laid out %v px wide in a %v px window", got.Width, window)
	}
	if got.ScrollWidth > got.Width {
		t.Errorf("page scrolls sideways: %v px of content in %v px", got.ScrollWidth, got.Width)
	}
	if got.Scripts != 1 || got.Images != 0 || got.Pwned != "" {
		t.Errorf("a Control's markup ran or rendered: %d scripts (want only the probe), %d images, pwned=%q",
			got.Scripts, got.Images, got.Pwned)
	}
	var ids []string
	for _, s := range got.Sections {
		ids = append(ids, s.ID)
		if strings.TrimSpace(s.Heading) == "" {
			t.Errorf("section %q has no heading", s.ID)
		}
	}
	if fmt.Sprint(ids) != fmt.Sprint(reportSections) {
		t.Errorf("sections = %v, want %v", ids, reportSections)
	}
	var tables []string
	for _, tbl := range got.Tables {
		tables = append(tables, tbl.ID)
		if tbl.Right > got.Width+0.5 || tbl.OverflowingCells > 0 {
			t.Errorf("table %q overflows: right edge %.1f of %.0f px, %d cells overflow",
				tbl.ID, tbl.Right, got.Width, tbl.OverflowingCells)
		}
	}
	if wantTables != nil && fmt.Sprint(tables) != fmt.Sprint(wantTables) {
		t.Errorf("tables = %v, want %v", tables, wantTables)
	}
	if got.SVGs != 2 || got.Dots != weeks || got.Bars != 2*weeks {
		t.Errorf("charts: %d svgs, %d compliance points, %d finding bars; want 2, %d, %d",
			got.SVGs, got.Dots, got.Bars, weeks, 2*weeks)
	}
}

var (
	pdfPage     = regexp.MustCompile(`/Type\s*/Page\b[^s]`)
	pdfMediaBox = regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]`)
)

// checkPrintedPDF prints the page as a browser's print dialog does: on A4, one page at least
// per section (each starts a page).
func checkPrintedPDF(t *testing.T, b *browsertest.Browser, dir, name string, page []byte) {
	t.Helper()
	out := filepath.Join(dir, "report-"+name+".pdf")
	b.PrintToPDF(browsertest.FileURL(writePage(t, dir, "report-"+name+".html", page)), out)
	pdf, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if pages := len(pdfPage.FindAll(pdf, -1)); pages < len(reportSections)+1 {
		t.Errorf("printed %d pages, want at least %d (the title, then a page break before each section)",
			pages, len(reportSections)+1)
	}
	box := pdfMediaBox.FindSubmatch(pdf)
	if box == nil || !strings.HasPrefix(string(box[1]), "59") || !strings.HasPrefix(string(box[2]), "84") {
		t.Errorf("printed page size is not A4 (595×842 pt): MediaBox %q", box)
	}
}
