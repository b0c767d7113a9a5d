package policy

import (
	"context"
	"io/fs"
	"testing"

	"github.com/isms-operator/isms-operator/internal/policy/policytest"
	"github.com/isms-operator/isms-operator/policies"
)

// BenchmarkCompactValueOf compares building a Deployment whole and with the paths that the
// library's drop-all-capabilities and no-privileged-containers read of it.
func BenchmarkCompactValueOf(b *testing.B) {
	engine := NewEngine(NewInventory(), Options{})
	var paths *ObjectPaths = &ObjectPaths{}
	for _, name := range []string{"drop-all-capabilities", "no-privileged-containers"} {
		src, err := fs.ReadFile(policies.FS, name+"/policy.rego")
		if err != nil {
			b.Fatal(err)
		}
		p, err := engine.Compile(context.Background(), string(src))
		if err != nil {
			b.Fatal(err)
		}
		paths = paths.Union(p.ObjectReads.Paths("Deployment", true))
	}
	b.Logf("paths: %s", paths)
	c := NewConverter()
	compacts := make([]*Compact, 256)
	for i := range compacts {
		var err error
		if compacts[i], err = c.Compact(policytest.BenchDeployment(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Value", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_ = compacts[i%len(compacts)].Value()
		}
	})
	b.Run("ValueOf", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_ = compacts[i%len(compacts)].ValueOf(paths)
		}
	})
}
