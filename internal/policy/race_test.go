//go:build race

package policy

// raceEnabled: the race detector is on, and compiles run several times slower.
const raceEnabled = true
