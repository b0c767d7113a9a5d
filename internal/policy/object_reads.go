package policy

import (
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ObjectReads is what a policy's source shows it can read of input.review.object, by the
// value of the object's own top-level kind field (ObjectReadsOf). The zero value reads the
// whole object of every kind.
type ObjectReads struct {
	// byKind holds the reads for the kinds the policy's kind guards name; other, for any
	// other kind and for an object without a string kind. other nil: the whole object.
	byKind map[string]*ObjectPaths
	other  *ObjectPaths
}

// Paths returns the paths the policy can read of an object whose kind field is kind
// (hasKind false: absent or not a string), or nil when it can read anything.
func (r ObjectReads) Paths(kind string, hasKind bool) *ObjectPaths {
	if hasKind {
		if p, ok := r.byKind[kind]; ok {
			return p
		}
	}
	return r.other
}

// ObjectPaths is a set of paths under an object, as a trie keyed by field name. A node is
// the field at its path: Whole, the field's entire value; otherwise the field with only the
// children listed (an object with none of them, and a non-object value whole). The nil
// *ObjectPaths is the whole object.
type ObjectPaths struct {
	Whole    bool
	Children map[string]*ObjectPaths
}

// add records path, down to its node; whole makes that node Whole.
func (p *ObjectPaths) add(path []string, whole bool) {
	n := p
	for _, k := range path {
		if n.Whole {
			return
		}
		c := n.Children[k]
		if c == nil {
			if n.Children == nil {
				n.Children = map[string]*ObjectPaths{}
			}
			c = &ObjectPaths{}
			n.Children[k] = c
		}
		n = c
	}
	if whole {
		n.Whole, n.Children = true, nil
	}
}

// Union returns the paths either of p or q holds: nil (the whole object) if either is.
func (p *ObjectPaths) Union(q *ObjectPaths) *ObjectPaths {
	if p == nil || q == nil {
		return nil
	}
	out := &ObjectPaths{}
	out.merge(p)
	out.merge(q)
	return out
}

func (p *ObjectPaths) merge(q *ObjectPaths) {
	if p.Whole || q.Whole {
		p.Whole, p.Children = true, nil
		return
	}
	for k, c := range q.Children {
		if p.Children == nil {
			p.Children = map[string]*ObjectPaths{}
		}
		if p.Children[k] == nil {
			p.Children[k] = &ObjectPaths{}
		}
		p.Children[k].merge(c)
	}
}

// String lists the paths, sorted: a whole field as a.b, a field kept with none of its
// children as a.b{}; "*" for the whole object.
func (p *ObjectPaths) String() string {
	if p == nil {
		return "*"
	}
	var out []string
	p.list("", &out)
	sort.Strings(out)
	return strings.Join(out, " ")
}

func (p *ObjectPaths) list(prefix string, out *[]string) {
	for k, c := range p.Children {
		switch path := prefix + k; {
		case c.Whole:
			*out = append(*out, path)
		case len(c.Children) == 0:
			*out = append(*out, path+"{}")
		default:
			c.list(path+".", out)
		}
	}
}

// maxSpecializedKinds bounds the kinds a policy's reads are specialized for: a policy whose
// guards name more is analysed once, without specialization.
const maxSpecializedKinds = 64

// ObjectReadsOf finds, without evaluating anything, the paths of input.review.object a
// module can read, for each kind of object. It errs to reading more, and to the whole object
// whenever it is not sure; leaving out a path a policy reads could make it pass without
// evidence. Each occurrence of the object, or of a variable or function result that holds a
// part of it, reads the whole value at its path, except:
//
//   - a reference input.review.object.a.b, or v.a.b for a variable v holding a part, goes
//     down literal string keys; any other key (a variable, _, a number, a call) reads the whole
//     value before it. input, or input.review, used in any other way reads the whole object;
//     input.parameters is not the object.
//   - v := x, and v = x where v occurs nowhere else in the rule but as the head of references,
//     make v hold x's paths, tracked by name over the whole rule; what v's uses read is read.
//     Destructuring reads the whole of what it unifies. A path a variable, a parameter or a
//     reference holds is read as far as it exists (a field kept without its children), as
//     the assignment or the call fails without it.
//   - a call of one of the module's functions analyses its clauses with each parameter
//     holding its argument's paths, or its value when it is a literal with no variables
//     (memoized, and bounded by maxObjectAnalysisWork); a parameter that is a pattern reads its
//     argument whole. A clause's value holding a part makes the call's result hold it. A call
//     with an output argument, and every other call (builtins), reads its arguments whole,
//     except object.get(x, path, default), which reads x down the literal strings path starts
//     with (path a string or an array, or a parameter holding one); of x input or
//     input.review, those strings are read as the reference they spell (so
//     object.get(input, "parameters", {}) reads nothing of the object).
//   - a body whose top-level conjunction has a kind guard, x.kind == "K" (or =, either side),
//     or x.kind in {"K", ...} (a set or array of literal strings), with x the object itself
//     (input.review.object, a function parameter given the object, or a variable assigned it
//     with := earlier in the body), cannot succeed for another kind: for that kind, what
//     follows the guard and the rule's value are not read. A guard is evaluated in its place
//     (x is bound by then), so what comes before it is read as usual. No refinement under
//     not, in comprehensions or every; each branch of an else chain is its own body. kind
//     is always read.
//
// Every rule of the module is analysed, reachable from violation or not. A with modifier on
// input or on a function, an import of input, a Rego construct the analysis does not know
// and a fixpoint or work bound that runs out all read the whole object.
//
// The reads are computed at once for each kind the guards name, and once for all the others
// (which fail every guard, as an object without a string kind does): nothing is computed or
// locked at evaluation.
func ObjectReadsOf(m *ast.Module) ObjectReads {
	for _, imp := range m.Imports {
		if ref, ok := imp.Path.Value.(ast.Ref); ok && ref.HasPrefix(ast.InputRootRef) {
			return ObjectReads{}
		}
	}
	kinds := guardKinds(m)
	if len(kinds) > maxSpecializedKinds {
		return ObjectReads{other: analyseObjectReads(m, "", false, false)}
	}
	reads := ObjectReads{other: analyseObjectReads(m, "", false, true), byKind: map[string]*ObjectPaths{}}
	for k := range kinds {
		reads.byKind[k] = analyseObjectReads(m, k, true, true)
	}
	return reads
}

// guardKinds are the literal kinds that expressions shaped as kind guards name anywhere in
// the module: a superset of the guards', so that every other kind fails all of them.
func guardKinds(m *ast.Module) map[string]bool {
	kinds := map[string]bool{}
	for _, r := range m.Rules {
		ast.WalkExprs(r, func(e *ast.Expr) bool {
			if lits, ok := guardShape(e, func(*ast.Term) bool { return true }); ok {
				for _, k := range lits {
					kinds[k] = true
				}
			}
			return false
		})
	}
	return kinds
}

// maxObjectAnalysisWork bounds the rule clauses one analysis may go through, calls included.
const maxObjectAnalysisWork = 20000

func analyseObjectReads(m *ast.Module, kind string, hasKind, refine bool) *ObjectPaths {
	a := &objectAnalysis{kind: kind, hasKind: hasKind, refine: refine, reads: &ObjectPaths{},
		funcs: map[string][]*ast.Rule{}, rules: map[ast.Var]bool{}, memo: map[string]abstractValue{}}
	for _, r := range m.Rules {
		a.rules[r.Head.Name] = true
		if len(r.Head.Args) == 0 {
			continue
		}
		for _, ref := range []ast.Ref{r.Head.Ref(), m.Package.Path.Extend(r.Head.Ref())} {
			a.funcs[ref.String()] = append(a.funcs[ref.String()], r)
			a.funcRefs = append(a.funcRefs, ref)
		}
	}
	for _, r := range m.Rules {
		a.readWhole(a.rule(r, nil)) // a function's value too: see callee
	}
	if a.whole || a.reads.Whole {
		return nil
	}
	a.reads.add([]string{"kind"}, true)
	return a.reads
}

// objectAnalysis is one analysis of a module, for one kind.
type objectAnalysis struct {
	kind     string
	hasKind  bool
	refine   bool
	funcs    map[string][]*ast.Rule // the module's function clauses, by name and by path
	funcRefs []ast.Ref
	rules    map[ast.Var]bool // the module's rule names, which are no local variables
	memo     map[string]abstractValue
	work     int
	reads    *ObjectPaths
	// whole: the policy can read the whole object, for the reason why says.
	whole bool
	why   string
}

func (a *objectAnalysis) setWhole(why string) {
	if !a.whole {
		a.whole, a.why = true, why
	}
}

// abstractValue is what a term holds of the object: the values at paths (none: nothing
// tracked), whether it is the object itself for sure (for kind guards), and a constant.
type abstractValue struct {
	paths  [][]string
	object bool
	// constant is the value of a literal with no variables: what a function parameter given
	// one holds (for object.get paths).
	constant *ast.Term
}

func (x abstractValue) child(key string) abstractValue {
	out := abstractValue{paths: make([][]string, len(x.paths))}
	for i, p := range x.paths {
		out.paths[i] = append(slices.Clip(p), key)
	}
	return out
}

// union is what a term holds when it may be x or y: never the object or a constant for sure.
func (x abstractValue) union(y abstractValue) abstractValue {
	out := abstractValue{paths: slices.Clone(x.paths)}
	for _, p := range y.paths {
		if !slices.ContainsFunc(out.paths, func(q []string) bool { return slices.Equal(p, q) }) {
			out.paths = append(out.paths, p)
		}
	}
	return out
}

func (x abstractValue) key() string {
	var b strings.Builder
	if x.object {
		b.WriteString("o")
	}
	if x.constant != nil {
		b.WriteString("=" + x.constant.String())
	}
	for _, p := range x.paths {
		b.WriteString("|" + strings.Join(p, "\x00"))
	}
	return b.String()
}

func (a *objectAnalysis) readWhole(x abstractValue) {
	for _, p := range x.paths {
		if len(p) == 0 {
			a.setWhole("the whole object")
		}
		a.reads.add(p, true)
	}
}

// exists records that the values at x's paths are read as far as they exist: a variable
// assigned one, or a function given one, depends on it being there.
func (a *objectAnalysis) exists(x abstractValue) {
	for _, p := range x.paths {
		a.reads.add(p, false)
	}
}
