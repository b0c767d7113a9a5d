package policy

import (
	"context"
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func BenchmarkInventoryPut(b *testing.B) {
	for _, perNamespace := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("%d-per-namespace", perNamespace), func(b *testing.B) {
			c := NewConverter()
			values := make([]ast.Value, 256)
			for i := range values {
				values[i], _ = c.Convert(object(fmt.Sprintf("app-%d", i), false))
			}
			inv := NewInventory()
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				path := InventoryPath(fmt.Sprintf("ns-%d", i/perNamespace), "apps/v1", "Deployment", fmt.Sprintf("app-%d", i))
				if err := inv.Put(ctx, path, values[i%len(values)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
