package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// nestedComprehensions are chains of comprehensions, each depth deep, side by side, 16 to a
// rule: the shape whose type checking doubles in cost with each level.
func nestedComprehensions(chains, depth int) string {
	var b strings.Builder
	b.WriteString("package p\n\nviolation contains {\"msg\": \"x\"} if false\n")
	for i := range chains {
		if i%16 == 0 {
			fmt.Fprintf(&b, "r%d if {\n", i)
		}
		fmt.Fprintf(&b, "\tx%d := %s1%s\n\tx%d == 2\n", i, strings.Repeat("[y | y := ", depth), strings.Repeat("]", depth), i)
		if i%16 == 15 || i == chains-1 {
			b.WriteString("}\n")
		}
	}
	return b.String()
}

// longRule is a rule of n assignments, each of the one before.
func longRule(n int) string {
	var b strings.Builder
	b.WriteString("package p\n\nviolation contains {\"msg\": \"x\"} if {\n\tx0 := input.a\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "\tx%d := x%d\n", i, i-1)
	}
	b.WriteString("}\n")
	return b.String()
}

// longRules are rules of the longest length allowed, up to size bytes in all.
func longRules(size int) string {
	var b strings.Builder
	b.WriteString("package p\n\nviolation contains {\"msg\": \"x\"} if false\n")
	for r := 0; b.Len() < size-4096; r++ {
		fmt.Fprintf(&b, "r%d if {\n\tx0 := input.a\n", r)
		for i := 1; i < MaxRuleExpressions; i++ {
			fmt.Fprintf(&b, "\tx%d := x%d\n", i, i-1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func TestComplexityBound(t *testing.T) {
	tests := map[string]struct {
		source string
		// refused is in the compile error when the source is refused, empty when it compiles
		// as far as the bound is concerned.
		refused string
	}{
		"six levels":       {source: nestedComprehensions(1, MaxClosureDepth)},
		"seven levels":     {source: nestedComprehensions(1, MaxClosureDepth+1), refused: "comprehensions nested deeper than 6 levels"},
		"twenty levels":    {source: nestedComprehensions(1, 20), refused: "comprehensions nested deeper than 6 levels"},
		"every in every":   {source: "package p\n\nviolation contains {\"msg\": \"x\"} if {\n" + strings.Repeat("every a in input.x {\n", 8) + "true\n" + strings.Repeat("}\n", 8) + "}\n", refused: "nested deeper than 6 levels"},
		"64 chains of six": {source: nestedComprehensions(64, MaxClosureDepth)},
		"66 chains of six": {source: nestedComprehensions(66, MaxClosureDepth), refused: "too many nested comprehensions"},
		"60 flat ones":     {source: nestedComprehensions(60, 1)},
		"1700 flat ones":   {source: nestedComprehensions(1700, 1)},
		"a long rule":      {source: longRule(MaxRuleExpressions - 1)},
		"a too long rule":  {source: longRule(4000), refused: "a rule of 4000 expressions"},
		"many long rules":  {source: longRules(60000)},
	}
	engine := NewEngine(NewInventory(), Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := engine.Compile(context.Background(), tc.source)
			took := time.Since(start)
			var ce *CompileError
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("compile failed with %T, not a *CompileError: %v", err, err)
			}
			refusedByBound := err != nil && strings.Contains(err.Error(), "the sandbox")
			switch {
			case tc.refused == "" && refusedByBound:
				t.Fatalf("refused by the bound: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("compile error %v, want one containing %q", err, tc.refused)
			}
			// What the bound admits compiles in well under a second; the margin is for a loaded CI
			// machine, and six times more under the race detector (CI saw 7s there with other
			// builds running). Without the bound the deep shapes take minutes.
			if len(tc.source) > 1<<16 {
				t.Fatalf("%d bytes: over the CRD's maxLength, the API server would refuse it first", len(tc.source))
			}
			if limit := compileTimeLimit(); took > limit {
				t.Fatalf("compiling took %v, over %v", took, limit)
			}
			t.Logf("%d bytes, %v: %v", len(tc.source), took, err)
		})
	}
}

func compileTimeLimit() time.Duration {
	if raceEnabled {
		return 30 * time.Second
	}
	return 5 * time.Second
}
