package policy

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// object builds a Deployment-like object as an informer hands it over: integers as int64.
func object(name string, privileged bool) map[string]any {
	var m map[string]any
	data := fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment",
		"metadata":{"name":%q,"namespace":"shop","labels":{"app":%q,"team":"payments"}},
		"spec":{"replicas":3,"template":{"spec":{"containers":[
			{"name":"app","image":"registry.example.com/app:1.2.3","securityContext":{"privileged":%t,"capabilities":{"drop":["ALL"]}},
			 "resources":{"limits":{"cpu":"500m","memory":"256Mi"}},"ports":[{"containerPort":8080}]},
			{"name":"proxy","image":"registry.example.com/proxy:1.4.0","securityContext":{"privileged":false,"capabilities":{"drop":["ALL"]}}}]}}},
		"status":{"ratio":0.5,"empty":null,"long":%q}}`, name, name, privileged, strings.Repeat("x", 100))
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		panic(err)
	}
	return toInt64(m).(map[string]any)
}

// toInt64 makes whole numbers int64, as unstructured objects hold them.
func toInt64(x any) any {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			x[k] = toInt64(v)
		}
	case []any:
		for i, v := range x {
			x[i] = toInt64(v)
		}
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	}
	return x
}

func TestConvertEqualsInterfaceToValue(t *testing.T) {
	c := NewConverter()
	for i, obj := range []map[string]any{object("a", true), object("b", false), object("a", true), {}, {"list": []any{}, "n": json.Number("12.5e3")}} {
		want, err := ast.InterfaceToValue(obj)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Convert(obj)
		if err != nil {
			t.Fatal(err)
		}
		if got.Compare(want) != 0 || got.Hash() != want.Hash() {
			t.Errorf("object %d: converted value differs\n got %v\nwant %v", i, got, want)
		}
	}
}

func TestConvertSharesIdenticalSubtrees(t *testing.T) {
	c := NewConverter()
	a, _ := c.Convert(object("a", true))
	b, _ := c.Convert(object("b", true))
	proxy := func(v ast.Value) *ast.Term {
		containers, err := v.Find(ast.MustParseRef("x.spec.template.spec.containers")[1:])
		if err != nil {
			t.Fatal(err)
		}
		return containers.(*ast.Array).Elem(1)
	}
	if proxy(a) != proxy(b) {
		t.Error("the identical proxy containers of two objects are not one term")
	}
	labels := func(v ast.Value) ast.Value {
		l, _ := v.Find(ast.MustParseRef("x.metadata.labels")[1:])
		return l
	}
	if labels(a).Compare(labels(b)) == 0 {
		t.Fatal("test objects should differ in their labels")
	}
	if a == b {
		t.Error("two objects share their top level")
	}
}

func TestConvertForgetsWhatNoObjectUses(t *testing.T) {
	c := NewConverter()
	var keep []ast.Value
	for i := range 2000 {
		v, err := c.Convert(object(fmt.Sprintf("app-%d", i), i%2 == 0))
		if err != nil {
			t.Fatal(err)
		}
		if i < 10 {
			keep = append(keep, v)
		}
	}
	before := c.Entries()
	runtime.GC()
	runtime.GC()
	c.Sweep()
	after := c.Entries()
	if after >= before/2 {
		t.Errorf("entries went from %d to %d after the values were dropped; expected most to go", before, after)
	}
	runtime.KeepAlive(keep)
	// What is still in use keeps being shared.
	v, _ := c.Convert(object("app-1", false))
	if v.Compare(keep[1]) != 0 {
		t.Error("a re-converted object differs from the kept one")
	}
}

func TestConvertIsSafeForConcurrentUse(t *testing.T) {
	c := NewConverter()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				obj := object(fmt.Sprintf("g%d-%d", g, i), i%3 == 0)
				want, _ := ast.InterfaceToValue(object(fmt.Sprintf("g%d-%d", g, i), i%3 == 0))
				got, err := c.Convert(obj)
				if err != nil || got.Compare(want) != 0 {
					t.Errorf("goroutine %d object %d: %v", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkConvert(b *testing.B) {
	objs := make([]map[string]any, 256)
	for i := range objs {
		objs[i] = object(fmt.Sprintf("app-%d", i), i%10 == 0)
	}
	b.Run("InterfaceToValue", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := ast.InterfaceToValue(objs[i%len(objs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Converter", func(b *testing.B) {
		b.ReportAllocs()
		c := NewConverter()
		for i := range b.N {
			if _, err := c.Convert(objs[i%len(objs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
