// Package browsertest opens HTML files in headless Chromium for tests that check a page as a
// person would see it: its DOM after layout, a screenshot, a printed PDF.
//
// Debian's chromium package provides the browser; hack/install-test-deps.sh installs it and
// `make test` sets ISMS_REQUIRE_CHROMIUM=1, so a missing browser fails there. Elsewhere (go
// test on a laptop without it) a test that needs it skips, saying why.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing browser into a test failure.
const RequireEnv = "ISMS_REQUIRE_CHROMIUM"

// browserNames are the executables tried on PATH, Debian's name first.
var browserNames = []string{"chromium", "chromium-browser"}

// runTimeout bounds one browser run: a page that never finishes loading must not hang the
// test suite.
const runTimeout = 90 * time.Second

// maxOutput bounds what a run may print (a dumped DOM): the pages tested are a few MB at most.
const maxOutput = 64 << 20

// Browser runs one headless Chromium per call, each with its own throwaway profile.
type Browser struct {
	path string
	t    testing.TB
}

// Chromium returns the browser, or skips the test when none is installed (fails instead when
// RequireEnv is set, as under `make test`), and skips under the race detector.
func Chromium(t testing.TB) *Browser {
	t.Helper()
	if raceEnabled {
		t.Skip("the browser checks run without the race detector (make test); skipped under -race")
	}
	for _, name := range browserNames {
		if path, err := exec.LookPath(name); err == nil {
			return &Browser{path: path, t: t}
		}
	}
	msg := "headless Chromium not found on PATH (tried chromium, chromium-browser): " +
		"install Debian's chromium package (hack/install-test-deps.sh does) or run make test"
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s; %s is set, so the browser is required", msg, RequireEnv)
	}
	t.Skip(msg)
	return nil
}

// FileURL returns the file:// URL of a local file.
func FileURL(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return (&url.URL{Scheme: "file", Path: abs}).String()
}

// DumpDOM loads the page at a width×height window, runs its scripts, and returns the
// serialized DOM (what the page's inline scripts left in it: attributes, text).
func (b *Browser) DumpDOM(pageURL string, width, height int) string {
	b.t.Helper()
	return string(b.run(pageURL, width, height, "--dump-dom"))
}

// Screenshot writes a PNG of the page's first width×height pixels to out.
func (b *Browser) Screenshot(pageURL string, width, height int, out string) {
	b.t.Helper()
	b.run(pageURL, width, height, "--screenshot="+out, "--hide-scrollbars")
	b.requireFile(out)
}

// PrintToPDF prints the page with its print stylesheet (A4 unless the page's @page says
// otherwise) to out.
func (b *Browser) PrintToPDF(pageURL string, out string) {
	b.t.Helper()
	b.run(pageURL, 1280, 1024, "--print-to-pdf="+out, "--no-pdf-header-footer")
	b.requireFile(out)
}

func (b *Browser) requireFile(path string) {
	b.t.Helper()
	info, err := os.Stat(path)
	if err != nil || info.Size() == 0 {
		b.t.Fatalf("chromium wrote no %s: %v", path, err)
	}
}

// run starts the browser on the page and returns its stdout; it fails the test on an error
// or a timeout.
func (b *Browser) run(pageURL string, width, height int, mode ...string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	args := append([]string{
		"--headless=new", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--disable-dev-shm-usage", "--mute-audio",
		"--user-data-dir=" + b.t.TempDir(),
		fmt.Sprintf("--window-size=%d,%d", width, height),
		// Let the page's scripts and layout settle before the dump or the capture.
		"--virtual-time-budget=5000",
	}, mode...)
	args = append(args, pageURL)
	cmd := exec.CommandContext(ctx, b.path, args...)
	// Chromium forks renderer and utility processes: run it in its own process group and
	// kill the whole group on timeout, so no orphan outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr limitedBuffer
	stdout.limit, stderr.limit = maxOutput, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		b.t.Fatalf("chromium %v: timed out after %s; stderr:\n%s", mode, runTimeout, stderr.String())
	}
	if err != nil {
		b.t.Fatalf("chromium %v: %v; stderr:\n%s", mode, err, stderr.String())
	}
	return stdout.Bytes()
}

// limitedBuffer keeps the first limit bytes written to it and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.limit - l.Len(); room < len(p) {
		if room > 0 {
			l.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return l.Buffer.Write(p)
}
