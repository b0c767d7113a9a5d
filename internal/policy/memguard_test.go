package policy

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// crossProduct builds a hundred million pairs, step by step, without a bounded builtin: only
// the deadline or the memory guard stops it.
const crossProduct = `package isms.cross

r := numbers.range(1, 10000)

violation contains {"msg": "built"} if {
	pairs := [[a, b] | some a in r; some b in r]
	count(pairs) > 0
}`

const quick = `package isms.quick

violation contains {"msg": "no name"} if not input.review.object.metadata.name`

// With the heap over the guard's limit (here: any heap), an evaluation that keeps building is
// halted long before its deadline, with an error of its own; a quick one is not.
func TestMemoryGuardHaltsWhatKeepsBuilding(t *testing.T) {
	const timeout = 20 * time.Second
	eng := NewEngine(NewInventory(), Options{Timeout: timeout, HeapLimit: 1})
	ctx := context.Background()
	cross, err := eng.Compile(ctx, crossProduct)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = cross.Evaluate(ctx, Input{Object: ast.NewObject()})
	if !errors.Is(err, ErrMemoryGuard) {
		t.Fatalf("cross product under the guard: err = %v, want ErrMemoryGuard", err)
	}
	if took := time.Since(began); took > timeout/4 {
		t.Fatalf("the guard took %s to halt the evaluation", took)
	}
	q, err := eng.Compile(ctx, quick)
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Evaluate(ctx, Input{Object: ast.NewObject()})
	if err != nil || len(res.Violations) != 1 {
		t.Fatalf("a quick evaluation under the guard: %+v, %v", res, err)
	}
}

// Without a guard the same evaluation runs to its deadline: the guard is what halts it above.
func TestWithoutMemoryGuardTheDeadlineHalts(t *testing.T) {
	eng := NewEngine(NewInventory(), Options{Timeout: 300 * time.Millisecond, HeapLimit: math.MaxUint64})
	cross, err := eng.Compile(context.Background(), crossProduct)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cross.Evaluate(context.Background(), Input{Object: ast.NewObject()})
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("err = %v, want ErrDeadline", err)
	}
}

func TestHeapLimitFromGoMemLimit(t *testing.T) {
	for limit, want := range map[int64]uint64{
		math.MaxInt64: 0, // GOMEMLIMIT unset
		0:             0,
		-1:            0,
		1000 << 20:    800 << 20,
	} {
		if got := heapLimitFromGoMemLimit(limit); got != want {
			t.Errorf("heapLimitFromGoMemLimit(%d) = %d, want %d", limit, got, want)
		}
	}
}
