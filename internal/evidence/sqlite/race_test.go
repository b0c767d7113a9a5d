//go:build race

package sqlite_test

// raceEnabled: the race detector is on, and single-goroutine measurements skip (they take
// ten times longer and measure nothing it checks).
const raceEnabled = true
