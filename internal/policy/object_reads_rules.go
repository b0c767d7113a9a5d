package policy

import (
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The rule-by-rule part of ObjectReadsOf: see its doc comment for the rules.

// objectScope is what one branch of a rule (a body and its value) knows of its variables.
type objectScope struct {
	// vars hold parts of the object, by name over the whole branch.
	vars map[ast.Var]abstractValue
	// object are the variables that hold the object itself for sure: parameters given it,
	// and variables assigned it with := in the body, before the guard that reads them.
	object map[ast.Var]bool
	// plain counts each variable's occurrences in the rule other than as a reference's head.
	plain map[ast.Var]int
}

// maxBindingRounds bounds the rounds of the fixpoint that finds what variables hold.
const maxBindingRounds = 16

// rule analyses every branch of a rule clause, its parameters holding args (none: nothing
// tracked), and returns what the clause's values may hold.
func (a *objectAnalysis) rule(r *ast.Rule, args []abstractValue) abstractValue {
	a.work++
	if a.work > maxObjectAnalysisWork {
		a.setWhole("the analysis ran out of work")
		return abstractValue{}
	}
	plain := plainOccurrences(r)
	var out abstractValue
	for b := r; b != nil; b = b.Else {
		out = out.union(a.branch(r.Head.Args, b, args, plain))
	}
	return out
}

// branch analyses one body of a rule and the value it gives.
func (a *objectAnalysis) branch(params ast.Args, b *ast.Rule, args []abstractValue, plain map[ast.Var]int) abstractValue {
	s := &objectScope{vars: map[ast.Var]abstractValue{}, object: map[ast.Var]bool{}, plain: plain}
	a.bindParams(s, params, args)
	live, fails := a.liveBody(s, b.Body)
	var head []*ast.Term
	if !fails {
		head = headTerms(b.Head)
	}
	a.bindLocals(s, live, head)
	for _, e := range live {
		a.expr(s, e)
	}
	if fails {
		return abstractValue{}
	}
	for _, t := range head[:len(head)-1] {
		a.readWhole(a.eval(s, t))
	}
	return a.eval(s, head[len(head)-1]) // the value: read whole by the caller, or tracked
}

// headTerms are the terms of a rule head that are evaluated: those of its reference after
// the name, its key, and last its value (a null term when it has none).
func headTerms(h *ast.Head) []*ast.Term {
	var terms []*ast.Term
	if ref := h.Ref(); len(ref) > 1 {
		terms = append(terms, ref[1:]...)
	}
	if h.Key != nil {
		terms = append(terms, h.Key)
	}
	if h.Value != nil {
		return append(terms, h.Value)
	}
	return append(terms, ast.NullTerm())
}

func (a *objectAnalysis) bindParams(s *objectScope, params ast.Args, args []abstractValue) {
	for i, p := range params {
		if i >= len(args) {
			return
		}
		if v, ok := p.Value.(ast.Var); ok {
			s.vars[v], s.object[v] = args[i], args[i].object
			continue
		}
		a.readWhole(args[i]) // a pattern: unified with the whole argument
	}
}

// liveBody returns the part of body that is evaluated for the analysis's kind: all of it,
// or up to a kind guard that fails, and then fails says so.
func (a *objectAnalysis) liveBody(s *objectScope, body ast.Body) (live ast.Body, fails bool) {
	if !a.refine {
		return body, false
	}
	for i, e := range body {
		if v, ok := a.objectAssignment(s, e); ok {
			s.object[v] = true
			continue
		}
		if kinds, ok := guardShape(e, func(t *ast.Term) bool { return a.isObject(s, t) }); ok && !a.kindIn(kinds) {
			return body[:i+1], true
		}
	}
	return body, false
}

func (a *objectAnalysis) kindIn(kinds []string) bool {
	return a.hasKind && slices.Contains(kinds, a.kind)
}

// objectAssignment recognizes v := x, x the object itself.
func (a *objectAnalysis) objectAssignment(s *objectScope, e *ast.Expr) (ast.Var, bool) {
	if !e.IsAssignment() || e.IsNegated() || len(e.With) > 0 || len(e.Operands()) != 2 {
		return "", false
	}
	v, ok := e.Operand(0).Value.(ast.Var)
	return v, ok && a.isObject(s, e.Operand(1))
}

// isObject reports whether t is input.review.object itself for sure.
func (a *objectAnalysis) isObject(s *objectScope, t *ast.Term) bool {
	switch v := t.Value.(type) {
	case ast.Ref:
		return v.Equal(objectRef)
	case ast.Var:
		return s.object[v]
	}
	return false
}

var objectRef = ast.MustParseRef("input.review.object")

// guardShape recognizes a kind guard, x.kind == "K" (or =, either side) or x.kind in a set
// or array of literal strings, with x a term isX accepts, and returns the kinds it admits.
func guardShape(e *ast.Expr, isX func(*ast.Term) bool) ([]string, bool) {
	if e.IsNegated() || len(e.With) > 0 || !e.IsCall() || len(e.Operands()) != 2 {
		return nil, false
	}
	op, x, y := e.Operator(), e.Operand(0), e.Operand(1)
	switch {
	case op.Equal(ast.Equal.Ref()) || op.Equal(ast.Equality.Ref()):
		if isKindRef(y, isX) {
			x, y = y, x
		}
		lit, ok := y.Value.(ast.String)
		return []string{string(lit)}, ok && isKindRef(x, isX)
	case op.Equal(ast.Member.Ref()):
		lits, ok := literalStrings(y)
		return lits, ok && isKindRef(x, isX)
	}
	return nil, false
}

// isKindRef recognizes x.kind, x a term isX accepts.
func isKindRef(t *ast.Term, isX func(*ast.Term) bool) bool {
	ref, ok := t.Value.(ast.Ref)
	if !ok || len(ref) < 2 || !ref[len(ref)-1].Equal(ast.StringTerm("kind")) {
		return false
	}
	if len(ref) == 2 {
		return isX(ref[0])
	}
	return isX(ast.NewTerm(ref[:len(ref)-1]))
}

// literalStrings returns the elements of a set or array of literal strings.
func literalStrings(t *ast.Term) ([]string, bool) {
	var elems []*ast.Term
	switch v := t.Value.(type) {
	case ast.Set:
		elems = v.Slice()
	case *ast.Array:
		for i := range v.Len() {
			elems = append(elems, v.Elem(i))
		}
	default:
		return nil, false
	}
	lits := make([]string, 0, len(elems))
	for _, e := range elems {
		s, ok := e.Value.(ast.String)
		if !ok {
			return nil, false
		}
		lits = append(lits, string(s))
	}
	return lits, true
}

// bindLocals finds what the branch's variables hold: a fixpoint over its assignments.
func (a *objectAnalysis) bindLocals(s *objectScope, body ast.Body, head []*ast.Term) {
	for range maxBindingRounds {
		changed := false
		visit := func(e *ast.Expr) bool {
			if v, rhs, ok := a.binding(s, e); ok {
				changed = s.bind(v, a.eval(s, rhs)) || changed
			}
			return false
		}
		ast.WalkExprs(body, visit)
		for _, t := range head {
			ast.WalkExprs(t, visit)
		}
		if !changed {
			return
		}
	}
	a.setWhole("no fixpoint for variables")
}

// bind adds x to what v holds, and reports whether that changed it.
func (s *objectScope) bind(v ast.Var, x abstractValue) bool {
	before := s.vars[v]
	after := before.union(x)
	if len(after.paths) == len(before.paths) {
		return false
	}
	s.vars[v] = after
	return true
}

// binding recognizes v := x, and v = x or x = v with v occurring nowhere else in the rule
// but as the head of references (so that the unification binds v, and compares nothing).
func (a *objectAnalysis) binding(s *objectScope, e *ast.Expr) (ast.Var, *ast.Term, bool) {
	if e.IsNegated() || len(e.Operands()) != 2 {
		return "", nil, false
	}
	x, y := e.Operand(0), e.Operand(1)
	if e.IsAssignment() {
		v, ok := x.Value.(ast.Var)
		return v, y, ok
	}
	if !e.IsEquality() {
		return "", nil, false
	}
	if v, ok := x.Value.(ast.Var); ok && a.unbound(s, v) {
		return v, y, true
	}
	if v, ok := y.Value.(ast.Var); ok && a.unbound(s, v) {
		return v, x, true
	}
	return "", nil, false
}

func (a *objectAnalysis) unbound(s *objectScope, v ast.Var) bool {
	return s.plain[v] == 1 && !a.rules[v] && !v.Equal(ast.InputRootDocument.Value) && !v.Equal(ast.DefaultRootDocument.Value)
}

// plainOccurrences counts each variable's occurrences in a rule other than as the head of
// a reference.
func plainOccurrences(r *ast.Rule) map[ast.Var]int {
	n := map[ast.Var]int{}
	var vis *ast.GenericVisitor
	vis = ast.NewGenericVisitor(func(x any) bool {
		switch x := x.(type) {
		case ast.Ref:
			if _, isVar := x[0].Value.(ast.Var); !isVar {
				vis.Walk(x[0])
			}
			for _, t := range x[1:] {
				vis.Walk(t)
			}
			return true
		case ast.Var:
			n[x]++
		}
		return false
	})
	vis.Walk(r)
	return n
}

// expr records what one expression reads.
func (a *objectAnalysis) expr(s *objectScope, e *ast.Expr) {
	a.withs(s, e.With)
	if _, rhs, ok := a.binding(s, e); ok {
		a.eval(s, rhs) // what the variable holds is read by its uses (bindLocals)
		return
	}
	switch t := e.Terms.(type) {
	case *ast.Term:
		a.readWhole(a.eval(s, t))
	case []*ast.Term:
		a.readWhole(a.call(s, t[0], t[1:])) // also when the last operand is an output
	case *ast.SomeDecl:
		for _, sym := range t.Symbols {
			a.readWhole(a.eval(s, sym))
		}
	case *ast.Every:
		for _, x := range []*ast.Term{t.Key, t.Value, t.Domain} {
			if x != nil {
				a.readWhole(a.eval(s, x))
			}
		}
		a.body(s, t.Body)
	case *ast.Not:
		a.body(s, t.Body)
	case *ast.LogicalAnd:
		a.body(s, t.Lhs)
		a.body(s, t.Rhs)
	case *ast.LogicalOr:
		a.body(s, t.Lhs)
		a.body(s, t.Rhs)
	default:
		a.setWhole("an expression of a kind not known")
	}
}

func (a *objectAnalysis) body(s *objectScope, body ast.Body) {
	for _, e := range body {
		a.expr(s, e)
	}
}

// withs records what with modifiers read: their values, and the whole object when one
// replaces input, or a function (whose calls the analysis would then misread).
func (a *objectAnalysis) withs(s *objectScope, ws []*ast.With) {
	for _, w := range ws {
		target, ok := w.Target.Value.(ast.Ref)
		if !ok || !target.HasPrefix(ast.DefaultRootRef) || a.coversFunction(target) {
			a.setWhole("a with modifier on input or on a function")
		}
		a.readWhole(a.eval(s, w.Value))
	}
}

func (a *objectAnalysis) coversFunction(target ast.Ref) bool {
	for _, f := range a.funcRefs {
		if f.HasPrefix(target) {
			return true
		}
	}
	return false
}

// eval records what evaluating t reads, and returns what its value holds of the object.
func (a *objectAnalysis) eval(s *objectScope, t *ast.Term) abstractValue {
	switch v := t.Value.(type) {
	case ast.Ref:
		return a.ref(s, v)
	case ast.Var:
		if v.Equal(ast.InputRootDocument.Value) {
			a.setWhole("input taken whole")
		}
		x := s.vars[v]
		x.object = s.object[v]
		return x
	case ast.Call:
		return a.call(s, v[0], v[1:])
	case ast.String, ast.Number, ast.Boolean, ast.Null:
		return abstractValue{constant: t}
	case *ast.Array:
		if ast.IsConstant(v) {
			return abstractValue{constant: t}
		}
		v.Foreach(func(e *ast.Term) { a.readWhole(a.eval(s, e)) })
	case ast.Set:
		v.Foreach(func(e *ast.Term) { a.readWhole(a.eval(s, e)) })
	case ast.Object:
		v.Foreach(func(k, e *ast.Term) { a.readWhole(a.eval(s, k)); a.readWhole(a.eval(s, e)) })
	default:
		a.comprehension(s, t)
	}
	return abstractValue{}
}

// comprehension records what a comprehension reads: its body and its terms, read whole.
func (a *objectAnalysis) comprehension(s *objectScope, t *ast.Term) {
	switch v := t.Value.(type) {
	case *ast.ArrayComprehension:
		a.body(s, v.Body)
		a.readWhole(a.eval(s, v.Term))
	case *ast.SetComprehension:
		a.body(s, v.Body)
		a.readWhole(a.eval(s, v.Term))
	case *ast.ObjectComprehension:
		a.body(s, v.Body)
		a.readWhole(a.eval(s, v.Key))
		a.readWhole(a.eval(s, v.Value))
	default:
		a.setWhole("a term of a kind not known") // a term the analysis does not know (a template string...)
	}
}

// ref records what a reference reads, and returns what its value holds.
func (a *objectAnalysis) ref(s *objectScope, r ast.Ref) abstractValue {
	base, keys := a.refBase(s, r)
	for i, k := range keys {
		key, ok := k.Value.(ast.String)
		if !ok {
			a.readWhole(base)
			for _, k := range keys[i:] {
				a.readWhole(a.eval(s, k))
			}
			return abstractValue{}
		}
		base = base.child(string(key))
	}
	a.exists(base)
	return base
}

// refBase returns what a reference's head holds, and the keys that follow it.
func (a *objectAnalysis) refBase(s *objectScope, r ast.Ref) (abstractValue, ast.Ref) {
	switch h := r[0].Value.(type) {
	case ast.Var:
		if !h.Equal(ast.InputRootDocument.Value) {
			return a.eval(s, r[0]), r[1:]
		}
		switch {
		case r.HasPrefix(objectRef):
			return abstractValue{paths: [][]string{{}}, object: len(r) == len(objectRef)}, r[len(objectRef):]
		case len(r) > 1 && r[1].Equal(parametersKey):
			return abstractValue{}, r[2:]
		}
		a.setWhole("input or input.review taken whole") // input, or input.review, taken whole or by a key not known here
		return abstractValue{}, r[1:]
	case ast.Call:
		return a.call(s, h[0], h[1:]), r[1:]
	}
	a.readWhole(a.eval(s, r[0]))
	return abstractValue{}, r[1:]
}

// call records what a call reads, and returns what its result holds: a call of one of the
// module's functions is analysed with its arguments (callee); any other reads them whole.
func (a *objectAnalysis) call(s *objectScope, op *ast.Term, args []*ast.Term) abstractValue {
	name := op.String()
	if name == ast.ObjectGet.Name && len(args) == 3 {
		return a.objectGet(s, args)
	}
	clauses := a.funcs[name]
	if _, builtin := ast.BuiltinMap[name]; builtin || len(clauses) == 0 || len(args) != len(clauses[0].Head.Args) {
		a.readWhole(a.eval(s, op))
		for _, t := range args {
			a.readWhole(a.eval(s, t))
		}
		return abstractValue{}
	}
	vals := make([]abstractValue, len(args))
	for i, t := range args {
		vals[i] = a.eval(s, t)
	}
	return a.callee(name, clauses, vals)
}

// callee analyses a function's clauses for arguments holding vals, once per vals. The
// module-wide pass also analyses each clause with nothing tracked, and reads its value
// whole: that covers the calls the analysis reads as builtin calls, whatever they return.
func (a *objectAnalysis) callee(name string, clauses []*ast.Rule, vals []abstractValue) abstractValue {
	key := name
	for _, v := range vals {
		key += "\x01" + v.key()
	}
	if res, ok := a.memo[key]; ok {
		return res
	}
	a.memo[key] = abstractValue{} // Rego has no recursion; this only ends a cycle early
	var res abstractValue
	for _, c := range clauses {
		res = res.union(a.rule(c, vals))
	}
	a.memo[key] = res
	return res
}

// objectGet records what object.get(x, path, default) reads: the whole value at x's paths
// followed by the literal strings path starts with (path a string, or an array), which is
// where object.get goes (path may be a parameter given a constant); each value on the way is kept as far as it is an object, and any
// other value whole, so that it finds the same.
func (a *objectAnalysis) objectGet(s *objectScope, args []*ast.Term) abstractValue {
	path := a.eval(s, args[1])
	a.readWhole(path)
	if path.constant == nil {
		path.constant = args[1]
	}
	keys := objectGetKeys(path.constant)
	x, keys := a.objectGetBase(s, args[0], keys)
	for _, k := range keys {
		key, ok := k.Value.(ast.String)
		if !ok {
			break
		}
		x = x.child(string(key))
	}
	a.readWhole(x)
	a.readWhole(a.eval(s, args[2]))
	return abstractValue{}
}

// objectGetKeys are the keys of an object.get path: the string itself, or the array's
// elements; none for anything else.
func objectGetKeys(path *ast.Term) []*ast.Term {
	switch v := path.Value.(type) {
	case ast.String:
		return []*ast.Term{path}
	case *ast.Array:
		keys := make([]*ast.Term, 0, v.Len())
		for i := range v.Len() {
			keys = append(keys, v.Elem(i))
		}
		return keys
	}
	return nil
}

// objectGetBase is what object.get's object argument holds, and the keys that go on from it.
// Of input (or input.review), the literal keys that lead to the object or to the parameters
// are taken as the reference they spell, as in object.get(input, "parameters", {}) or
// object.get(input, ["review", "object", "spec"], {}); any other key takes input whole.
func (a *objectAnalysis) objectGetBase(s *objectScope, object *ast.Term, keys []*ast.Term) (abstractValue, []*ast.Term) {
	ref, ok := object.Value.(ast.Ref)
	if !ok || !ref[0].Equal(ast.InputRootDocument) || len(ref) > 2 || len(ref) == 2 && !ref[1].Equal(reviewKey) {
		return a.eval(s, object), keys
	}
	ref = ref.Copy()
	for len(ref) < len(objectRef) && len(keys) > 0 {
		if _, ok := keys[0].Value.(ast.String); !ok {
			break
		}
		ref, keys = append(ref, keys[0]), keys[1:]
		if ref[len(ref)-1].Equal(parametersKey) && len(ref) == 2 {
			return abstractValue{}, nil // input.parameters: nothing of the object
		}
	}
	return a.eval(s, ast.NewTerm(ref)), keys
}
