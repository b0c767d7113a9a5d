package policy

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ValueOf builds the object's engine value with only the given paths (ObjectPaths): what a
// policy cannot read is left out, which spares the cost of building it. A subtree left out is
// skipped over without allocating; an array on a path, and any shared subtree, is kept whole.
// nil paths build the whole value, as Value. Values are immutable and shared like Value's.
func (d *Compact) ValueOf(paths *ObjectPaths) ast.Value {
	if d == nil || paths == nil || paths.Whole {
		return d.Value()
	}
	r := spineReader{d: d, block: make([]ast.Term, d.nodes), kv: make([][2]*ast.Term, 0, d.entries)}
	return r.valueOf(paths).Value
}

// Kind returns the value of the object's top-level kind field, and false when it has none or
// it is not a string.
func (d *Compact) Kind() (string, bool) {
	if d == nil || len(d.ops) == 0 || d.ops[0] != opObject {
		return "", false
	}
	r := spineReader{d: d, op: 1}
	for range r.count() {
		k := r.d.terms[r.t]
		r.t++
		if k.Value.Compare(kindKey) == 0 && r.d.ops[r.op] == opTerm {
			s, ok := r.d.terms[r.t].Value.(ast.String)
			return string(s), ok
		}
		r.skip()
	}
	return "", false
}

var kindKey = ast.String("kind")

// valueOf is value for a slot whose paths are p: an object keeps only p's children.
func (r *spineReader) valueOf(p *ObjectPaths) *ast.Term {
	if p.Whole || r.d.ops[r.op] != opObject {
		return r.value()
	}
	r.op++
	n := r.count()
	mark := len(r.kv)
	for range n {
		k := r.d.terms[r.t]
		r.t++
		child := p.Children[keyString(k)]
		if child == nil {
			r.skip()
			continue
		}
		r.kv = append(r.kv, [2]*ast.Term{k, r.valueOf(child)})
	}
	t := r.node()
	t.Value = ast.NewObject(r.kv[mark:]...)
	r.kv = r.kv[:mark]
	return t
}

func keyString(k *ast.Term) string {
	if s, ok := k.Value.(ast.String); ok {
		return string(s)
	}
	return "" // keys are strings: JSON objects
}

// skip advances past one value slot without building it.
func (r *spineReader) skip() {
	op := r.d.ops[r.op]
	r.op++
	switch op {
	case opTerm:
		r.t++
	case opObject:
		for range r.count() {
			r.t++ // the key
			r.skip()
		}
	case opArray:
		for range r.count() {
			r.skip()
		}
	default:
		panic(fmt.Sprintf("policy: corrupt compact value: operation %d at %d", op, r.op-1))
	}
}
