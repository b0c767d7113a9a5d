package policy

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestCompactValueEqualsInterfaceToValue(t *testing.T) {
	c := NewConverter()
	objs := []map[string]any{
		object("a", true), object("b", false), object("a", true), object("c", true), {},
		{"list": []any{}, "n": json.Number("12.5e3"), "nested": []any{[]any{map[string]any{}}, map[string]any{"x": []any{"y"}}}},
	}
	for i, obj := range objs {
		want, err := ast.InterfaceToValue(obj)
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.Compact(obj)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []ast.Value{d.Value(), d.Value()} {
			if got.Compare(want) != 0 || got.Hash() != want.Hash() {
				t.Errorf("object %d: compact value differs\n got %v\nwant %v", i, got, want)
			}
		}
	}
}

func TestCompactSharesSubtreesSeenTwice(t *testing.T) {
	c := NewConverter()
	proxy := func(v ast.Value) *ast.Term {
		containers, err := v.Find(ast.MustParseRef("x.spec.template.spec.containers")[1:])
		if err != nil {
			t.Fatal(err)
		}
		return containers.(*ast.Array).Elem(1)
	}
	var ds []*Compact
	for i := range 10 {
		d, err := c.Compact(object(fmt.Sprintf("app-%d", i), true))
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	// A subtree becomes shared once it has been seen twice with all its children shared, so
	// sharing reaches a container after a few objects (one per level below it).
	if proxy(ds[8].Value()) != proxy(ds[9].Value()) {
		t.Error("the identical proxy containers of the 9th and 10th objects are not one term")
	}
	if proxy(ds[9].Value()) != proxy(ds[9].Value()) {
		t.Error("two values built from one compact form do not share the proxy container")
	}
	// The spine of a later object holds only what is its own: far less than the first's.
	if ds[9].Size() >= ds[0].Size() {
		t.Errorf("the 10th object's spine (%d bytes) is not smaller than the first's (%d)", ds[9].Size(), ds[0].Size())
	}
	if ds[0].Value() == ds[0].Value() {
		t.Error("two Value calls returned the same top-level value")
	}
}

func TestCompactCostsLessThanConvertedValues(t *testing.T) {
	const n = 5000
	objs := make([]map[string]any, n)
	for i := range objs {
		objs[i] = object(fmt.Sprintf("app-%d", i), i%10 == 0)
	}
	converted := heapPerObject(n, func() any {
		c := NewConverter()
		values := make([]ast.Value, n)
		for i, o := range objs {
			values[i], _ = c.Convert(o)
		}
		return []any{c, values}
	})
	compacted := heapPerObject(n, func() any {
		c := NewConverter()
		ds := make([]*Compact, n)
		for i, o := range objs {
			ds[i], _ = c.Compact(o)
		}
		return []any{c, ds} // with its tables: they are part of the cost
	})
	runtime.KeepAlive(objs) // else they are freed while the second form is measured
	t.Logf("per object: converted %d B, compact %d B", converted, compacted)
	if compacted*2 > converted {
		t.Errorf("compact objects take %d B each, converted values %d B: expected at most half", compacted, converted)
	}
}

// heapPerObject is the live heap that what build returns holds, divided by n.
func heapPerObject(n int, build func() any) int64 {
	heap := func() int64 {
		for range 3 {
			runtime.GC()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	base := heap()
	kept := build()
	grown := heap() - base
	runtime.KeepAlive(kept)
	return grown / int64(n)
}

func BenchmarkCompact(b *testing.B) {
	objs := make([]map[string]any, 256)
	for i := range objs {
		objs[i] = object(fmt.Sprintf("app-%d", i), i%10 == 0)
	}
	c := NewConverter()
	b.Run("Compact", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := c.Compact(objs[i%len(objs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	ds := make([]*Compact, len(objs))
	for i, o := range objs {
		ds[i], _ = c.Compact(o)
	}
	b.Run("Value", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			_ = ds[i%len(ds)].Value()
		}
	})
}
