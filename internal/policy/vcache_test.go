package policy

import (
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestRuleCache(t *testing.T) {
	c := getRuleCache()
	p, q := ast.MustParseRef("data.p.violation"), ast.MustParseRef("data.p.helper")
	one := ast.IntNumberTerm(1)

	if v, undefined := c.Get(p); v != nil || undefined {
		t.Fatalf("empty cache: Get = %v, %t", v, undefined)
	}
	c.Put(p, one)
	c.Put(q, nil)
	if v, undefined := c.Get(ast.MustParseRef("data.p.violation")); v != one || undefined {
		t.Errorf("Get(p) = %v, %t; want 1, false", v, undefined)
	}
	if v, undefined := c.Get(q); v != nil || !undefined {
		t.Errorf("Get(q) = %v, %t; want undefined", v, undefined)
	}
	has := func(keys []ast.Ref, r ast.Ref) bool {
		return slices.ContainsFunc(keys, func(k ast.Ref) bool { return k.Equal(r) })
	}
	if got := c.Keys(); len(got) != 2 || !has(got, p) || !has(got, q) {
		t.Errorf("Keys = %v", got)
	}

	// A pushed frame starts empty and its entries go with it.
	c.Push()
	if v, _ := c.Get(p); v != nil {
		t.Errorf("a new frame sees %v", v)
	}
	c.Put(p, ast.IntNumberTerm(2))
	c.Pop()
	if v, _ := c.Get(p); v != one {
		t.Errorf("after Pop: Get(p) = %v, want 1", v)
	}

	// Recycled, it is empty.
	putRuleCache(c)
	c = getRuleCache()
	if v, undefined := c.Get(p); v != nil || undefined || len(c.Keys()) != 0 {
		t.Errorf("a recycled cache holds %v, %t, keys %v", v, undefined, c.Keys())
	}
	putRuleCache(c)
}
