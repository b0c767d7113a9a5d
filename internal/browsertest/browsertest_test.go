package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The browser runs the page's script and the dump shows what it wrote: the window width it
// laid the page out at, so a test can trust the widths it asks for.
func TestDumpDOMRunsScriptsAtTheWindowWidth(t *testing.T) {
	b := Chromium(t)
	page := filepath.Join(t.TempDir(), "page.html")
	html := `<!doctype html><html><body><p id="out">not run</p>
<script>document.getElementById("out").textContent = "width=" + document.documentElement.clientWidth;</script>
</body></html>`
	if err := os.WriteFile(page, []byte(html), 0o600); err != nil {
		t.Fatal(err)
	}
	dom := b.DumpDOM(FileURL(page), 700, 500)
	if !strings.Contains(dom, `<p id="out">width=700</p>`) {
		t.Fatalf("dumped DOM does not show the script's result at width 700:\n%s", dom)
	}
}

func TestScreenshotWritesAPNG(t *testing.T) {
	b := Chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "page.html")
	if err := os.WriteFile(page, []byte(`<!doctype html><h1>hello</h1>`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "shot.png")
	b.Screenshot(FileURL(page), 400, 300, out)
	png, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("screenshot is not a PNG: % x", png[:min(8, len(png))])
	}
}
