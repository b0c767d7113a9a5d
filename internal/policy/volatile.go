package policy

import (
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// clockBuiltins read the wall clock without OPA marking them nondeterministic: x509 chain
// verification checks validity against the current time unless told another.
var clockBuiltins = []string{
	"time.now_ns",
	"crypto.x509.parse_and_verify_certificates",
	"crypto.x509.parse_and_verify_certificates_with_options",
}

// volatileBuiltins are the builtins whose result can change between two evaluations of the
// same input: the clock and the others OPA marks nondeterministic (rand.intn, uuid.rfc4122,
// io.jwt.decode_verify, which checks expiry against the clock, ...). time.parse_ns and the
// other time.* helpers are pure functions of their arguments and are not among them.
var volatileBuiltins = func() map[string]bool {
	names := map[string]bool{}
	for name, b := range ast.BuiltinMap {
		if b.Nondeterministic {
			names[name] = true
		}
	}
	for _, name := range clockBuiltins {
		names[name] = true
	}
	return names
}()

// VolatileCallsOf finds, without evaluating anything, the builtins a module refers to whose
// result can change with time alone (volatileBuiltins), sorted. A policy that refers to any
// is volatile: its verdict on an unchanged object may change, so the evaluator never reuses
// it. Any reference counts, a call or a `with` that replaces the builtin alike: erring
// towards volatile costs only evaluations.
func VolatileCallsOf(m *ast.Module) []string {
	found := map[string]bool{}
	vis := ast.NewGenericVisitor(func(x any) bool {
		if ref, ok := x.(ast.Ref); ok && len(ref) > 0 {
			if _, isVar := ref[0].Value.(ast.Var); isVar {
				if name := ref.String(); volatileBuiltins[name] {
					found[name] = true
				}
			}
		}
		return false
	})
	for _, r := range m.Rules {
		vis.Walk(r)
	}
	names := make([]string, 0, len(found))
	for name := range found {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
