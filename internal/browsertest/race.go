//go:build race

package browsertest

// raceEnabled: the race detector is on. The browser checks run in make test without it: a
// page's layout has no data race to find, and Chromium would cost the race run another minute.
const raceEnabled = true
