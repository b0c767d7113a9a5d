package policy

import (
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// InventoryKind is a kind as data.inventory keys it: by group version ("v1" for the core
// group, "networking.k8s.io/v1") and kind.
type InventoryKind struct {
	GroupVersion string
	Kind         string
}

// InventoryReads is what a policy's source shows it reads from data.inventory.
type InventoryReads struct {
	// Kinds are the kinds the policy names with literal strings, sorted.
	Kinds []InventoryKind
	// Dynamic: the policy also reads data.inventory in a way the source does not resolve to
	// kinds: a group version or kind held in a variable, data.inventory (or data) passed whole
	// to walk or a rule, a partial path such as data.inventory.namespace[ns] read by anything
	// but object.get with a literal path.
	Dynamic bool
}

// InventoryReadsOf finds, without evaluating anything, the kinds a module reads from
// data.inventory: references such as
//
//	data.inventory.namespace[ns]["networking.k8s.io/v1"].NetworkPolicy
//	data.inventory.cluster.v1.Namespace[name]
//
// (through an import alias too), and object.get calls whose object is data.inventory or a
// path under it and whose key completes that path with literal strings:
//
//	object.get(data.inventory, ["namespace", ns, "networking.k8s.io/v1", "NetworkPolicy"], {})
//	object.get(data.inventory.namespace[ns], ["v1", "LimitRange"], {})
//
// The namespace and the object's name may be variables; the group version and the kind must
// be literals, or the read counts as Dynamic.
func InventoryReadsOf(m *ast.Module) InventoryReads {
	a := &inventoryAnalysis{aliases: map[ast.Var]ast.Ref{}, kinds: map[InventoryKind]bool{}}
	for _, imp := range m.Imports {
		if ref, ok := imp.Path.Value.(ast.Ref); ok && ref.HasPrefix(ast.DefaultRootRef) {
			a.aliases[imp.Name()] = ref
		}
	}
	vis := ast.NewGenericVisitor(a.visit)
	for _, r := range m.Rules {
		vis.Walk(r)
	}
	reads := InventoryReads{Dynamic: a.dynamic}
	for k := range a.kinds {
		reads.Kinds = append(reads.Kinds, k)
	}
	sort.Slice(reads.Kinds, func(i, j int) bool {
		x, y := reads.Kinds[i], reads.Kinds[j]
		return x.GroupVersion < y.GroupVersion || x.GroupVersion == y.GroupVersion && x.Kind < y.Kind
	})
	return reads
}

type inventoryAnalysis struct {
	// aliases are the imports of documents under data, by the name the module uses.
	aliases map[ast.Var]ast.Ref
	kinds   map[InventoryKind]bool
	dynamic bool
}

// visit handles the nodes that can read data (and walks their parts itself); it returns false
// to let the walk descend into any other node.
func (a *inventoryAnalysis) visit(x any) bool {
	switch x := x.(type) {
	case *ast.Expr:
		if x.IsCall() && isObjectGet(x.Operator()) {
			a.objectGet(x.Operands())
			for _, w := range x.With {
				ast.NewGenericVisitor(a.visit).Walk(w)
			}
			return true
		}
	case ast.Call:
		if len(x) > 0 && isObjectGet(x[0].Value) {
			a.objectGet(x[1:])
			return true
		}
	case ast.Ref:
		if path, ok := a.dataPath(x); ok {
			a.read(path)
			a.walkTerms(x[1:])
			return true
		}
	case ast.Var:
		if _, ok := a.dataPath(ast.Ref{ast.NewTerm(x)}); ok {
			a.read(nil) // data, or an imported document under it, taken whole
		}
	}
	return false
}

func (a *inventoryAnalysis) walkTerms(terms []*ast.Term) {
	vis := ast.NewGenericVisitor(a.visit)
	for _, t := range terms {
		vis.Walk(t)
	}
}

// objectGet records object.get(object, key, default): when object is a document under data,
// the read is of its path followed by the key (an array of keys or a single one).
func (a *inventoryAnalysis) objectGet(operands []*ast.Term) {
	if len(operands) == 0 {
		return
	}
	var path []*ast.Term
	var ok bool
	switch v := operands[0].Value.(type) {
	case ast.Ref:
		path, ok = a.dataPath(v)
	case ast.Var:
		path, ok = a.dataPath(ast.Ref{operands[0]})
	}
	if !ok {
		a.walkTerms(operands)
		return
	}
	if len(operands) > 1 {
		path = append(path, keyTerms(operands[1])...)
	}
	a.read(path)
	if ref, isRef := operands[0].Value.(ast.Ref); isRef {
		a.walkTerms(ref[1:])
	}
	a.walkTerms(operands[1:])
}

// keyTerms are the keys object.get follows: the elements of a literal array, or the key
// itself. A key that is not a literal (a variable holding a path) is one unknown key: where a
// group version or kind is expected, read finds a variable and counts the read as Dynamic.
func keyTerms(key *ast.Term) []*ast.Term {
	switch v := key.Value.(type) {
	case *ast.Array:
		terms := make([]*ast.Term, 0, v.Len())
		for i := range v.Len() {
			terms = append(terms, v.Elem(i))
		}
		return terms
	case ast.String:
		return []*ast.Term{key}
	}
	return []*ast.Term{ast.VarTerm("$unknown")}
}

// dataPath returns the terms after data of a reference to a document under data, with an
// import alias expanded, and false for anything else (input, a local variable, a call).
func (a *inventoryAnalysis) dataPath(ref ast.Ref) ([]*ast.Term, bool) {
	head, ok := ref[0].Value.(ast.Var)
	if !ok {
		return nil, false
	}
	if alias, ok := a.aliases[head]; ok {
		ref = alias.Concat(ref[1:])
	} else if !head.Equal(ast.DefaultRootDocument.Value) {
		return nil, false
	}
	return append([]*ast.Term(nil), ref[1:]...), true
}

// read records a read of the document at path under data.
func (a *inventoryAnalysis) read(path []*ast.Term) {
	if len(path) == 0 {
		a.dynamic = true // data itself
		return
	}
	root, ok := path[0].Value.(ast.String)
	if !ok {
		a.dynamic = true // data[x] may be data.inventory
		return
	}
	if root != "inventory" || len(path) == 1 {
		// Under another root: the policy's own rules, as a policy cannot define data.inventory.
		a.dynamic = a.dynamic || root == "inventory"
		return
	}
	var keys []*ast.Term // [groupVersion, kind, name...]
	switch scope := path[1].Value; {
	case scope.Compare(ast.String("namespace")) == 0:
		keys = path[min(3, len(path)):] // data.inventory.namespace[ns][gv][kind]
	case scope.Compare(ast.String("cluster")) == 0:
		keys = path[2:] // data.inventory.cluster[gv][kind]
	default:
		if _, literal := scope.(ast.String); literal {
			return // nothing is stored there
		}
	}
	if len(keys) < 2 {
		a.dynamic = true
		return
	}
	groupVersion, ok1 := keys[0].Value.(ast.String)
	kind, ok2 := keys[1].Value.(ast.String)
	if !ok1 || !ok2 {
		a.dynamic = true
		return
	}
	a.kinds[InventoryKind{GroupVersion: string(groupVersion), Kind: string(kind)}] = true
}

func isObjectGet(v ast.Value) bool {
	ref, ok := v.(ast.Ref)
	return ok && ref.Equal(ast.ObjectGet.Ref())
}
