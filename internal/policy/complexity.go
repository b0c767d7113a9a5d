package policy

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// Compiling is not interruptible (OPA's compiler takes no context), so what it costs is
// bounded by the source's shape, measured before it is compiled (see checkComplexity).
//
// OPA's type checker checks a comprehension's body once for every comprehension around it
// and again for each of theirs: its work doubles with each level of nesting. Twelve nested
// comprehensions, 200 bytes of Rego, keep it busy for a second, sixteen for half a minute,
// twenty for hours. And its work on one rule grows with the square of the rule's length: a
// rule of 4,000 assignments (60 KiB) takes seconds.
const (
	// MaxClosureDepth bounds how deeply comprehensions (and every) nest in one rule.
	MaxClosureDepth = 6
	// MaxClosureWork bounds the type checker's work on a module's comprehensions: each counts
	// 2 to the power of the number of comprehensions around it.
	MaxClosureWork = 4096
	// MaxRuleExpressions bounds the expressions of one rule, its comprehensions' included.
	// The library's longest rule has fewer than 30.
	MaxRuleExpressions = 256
)

// closureWork measures the comprehensions of a module as the type checker walks them.
type closureWork struct {
	work int
	// exprs counts the expressions of the rule being walked.
	exprs    int
	maxDepth int
	// deepest is where the deepest comprehension starts, for the error message.
	deepest *ast.Location
}

// checkComplexity refuses a module whose comprehensions nest deeper than MaxClosureDepth or
// whose comprehensions would cost the type checker more than MaxClosureWork.
func checkComplexity(m *ast.Module) *CompileError {
	var w closureWork
	for _, r := range m.Rules {
		w.exprs = 0
		w.walk(r, 0)
		if w.exprs > MaxRuleExpressions {
			return compileError("policy.rego:%d: a rule of %d expressions; the sandbox allows %d per rule (compiling a rule costs the square of its length): split it into smaller rules",
				r.Location.Row, w.exprs, MaxRuleExpressions)
		}
		if w.maxDepth > MaxClosureDepth {
			return compileError("policy.rego:%d: comprehensions nested deeper than %d levels, the sandbox's limit (compiling them doubles in cost with each level)",
				row(w.deepest), MaxClosureDepth)
		}
		if w.work > MaxClosureWork {
			return compileError("policy.rego:%d: too many nested comprehensions to compile in bounded time (the sandbox allows a weight of %d, counting each comprehension 2^depth); split the rule into smaller rules",
				r.Location.Row, MaxClosureWork)
		}
	}
	return nil
}

// walk visits x, in which closures are nested depth deep, and every closure under it.
func (w *closureWork) walk(x any, depth int) {
	ast.NewGenericVisitor(func(node any) bool {
		var loc *ast.Location
		switch c := node.(type) {
		case *ast.Expr:
			w.exprs++
			return false
		case *ast.ArrayComprehension:
			loc = c.Term.Location
		case *ast.SetComprehension:
			loc = c.Term.Location
		case *ast.ObjectComprehension:
			loc = c.Key.Location
		case *ast.Every:
			loc = c.Domain.Location
		default:
			return false
		}
		// Past the limits the exact count does not matter: stop before it overflows.
		if depth+1 > w.maxDepth {
			w.maxDepth, w.deepest = depth+1, loc
		}
		if w.maxDepth > MaxClosureDepth || w.work > MaxClosureWork {
			return true
		}
		w.work += 1 << depth
		w.walkChildren(node, depth+1)
		return true
	}).Walk(x)
}

// walkChildren walks the parts of a closure, one level deeper.
func (w *closureWork) walkChildren(node any, depth int) {
	switch c := node.(type) {
	case *ast.ArrayComprehension:
		w.walk(c.Term, depth)
		w.walk(c.Body, depth)
	case *ast.SetComprehension:
		w.walk(c.Term, depth)
		w.walk(c.Body, depth)
	case *ast.ObjectComprehension:
		w.walk(c.Key, depth)
		w.walk(c.Value, depth)
		w.walk(c.Body, depth)
	case *ast.Every:
		w.walk(c.Domain, depth)
		w.walk(c.Body, depth)
	}
}

func row(loc *ast.Location) int {
	if loc == nil {
		return 0
	}
	return loc.Row
}
