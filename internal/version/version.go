// Package version says which build of the operator is running: the version and commit the
// Makefile and the Dockerfile stamp into the binaries with -ldflags "-X ...", or, for a plain
// `go build` or `go install`, what the Go toolchain recorded from the module and Git.
package version

import (
	"runtime/debug"
	"strings"
)

// Set at link time (see LDFlags in the Makefile and the Dockerfile):
//
//	-X github.com/isms-operator/isms-operator/internal/version.version=v0.4.0
//	-X github.com/isms-operator/isms-operator/internal/version.commit=<git sha>
var (
	version string
	commit  string
)

// maxLen bounds what is recorded: the version goes into evidence markers and labels.
const maxLen = 64

// LeaseLabel, on the manager's leader election Lease, is the leader's version (LabelValue of
// it), so that `kubectl isms version` can tell which operator version runs.
const LeaseLabel = "isms.dev/operator-version"

// Unknown is reported when neither the linker nor the toolchain recorded a version.
const Unknown = "unknown"

// Version is the operator's version: the linker's, else the module version Go recorded
// (a tag, or a pseudo-version of the commit; "(devel)" without Git), else Unknown.
func Version() string {
	return pick(version, buildInfo().version)
}

// Commit is the Git commit the binary was built from: the linker's, else the one Go
// recorded (with "-dirty" when the tree had changes), else Unknown.
func Commit() string {
	return pick(commit, buildInfo().commit)
}

func pick(linked, recorded string) string {
	v := strings.TrimSpace(linked)
	if v == "" {
		v = recorded
	}
	if v == "" {
		return Unknown
	}
	return v[:min(len(v), maxLen)]
}

type recorded struct{ version, commit string }

func buildInfo() recorded {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return recorded{}
	}
	r := recorded{version: info.Main.Version}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			r.commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && r.commit != "" {
		r.commit += "-dirty"
	}
	return r
}

// LabelValue is v made a valid Kubernetes label value (at most 63 characters of
// [A-Za-z0-9._-], starting and ending with a letter or digit): other characters become "-",
// so "v0.4.0+dirty" reads "v0.4.0-dirty" and "(devel)" reads "devel".
func LabelValue(v string) string {
	b := []byte(v)
	for i, c := range b {
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			b[i] = '-'
		}
	}
	s := string(b[:min(len(b), 63)])
	s = strings.TrimFunc(s, func(r rune) bool { return !isAlnum(byte(r)) }) // all ASCII by now
	if s == "" {
		return Unknown
	}
	return s
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
