package policy

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Compact is an object kept in a form that costs a fraction of its engine value and turns
// back into one in a few microseconds (Value). The engine's objects are heavy: each is a Go
// map with an element array and a key slice, so that a Deployment's unique parts (its
// metadata, labels, template and containers, which name the Deployment) cost about 9 KB even
// when everything it shares with other objects is shared.
//
// A Compact keeps only the object's spine, the objects and arrays that are its own, as a flat
// list of operations over term pointers. Everything below the spine is a term shared with
// other objects: keys and short strings are interned, and a subtree seen in more than one
// object (a probe, a securityContext, a resource list) is one engine value for all of them,
// as with Convert. A Deployment's spine is about 1.5 KB.
//
// A Compact is immutable and safe for concurrent use; each Value call builds a new value that
// shares the terms below the spine.
type Compact struct {
	ops   []byte
	terms []*ast.Term
	// nodes and entries count the spine's objects and arrays, and its objects' entries, so
	// that Value allocates their terms, and a scratch list for the entries, once.
	nodes, entries int
}

// The operations of a Compact's spine, in pre-order. Each value slot is either opTerm, the
// next term, or a nested object or array; an object's entries are each a key (the next term)
// followed by a value slot.
const (
	opTerm byte = iota
	opObject
	opArray
)

// seenOnceSize is the number of slots of the filter that remembers strings and subtrees seen
// once: they become shared terms the second time another object holds them, while the first
// sighting is still remembered. The filter is direct-mapped, so it costs 3 MiB however many
// objects pass.
const seenOnceSize = 1 << 18

// Compact converts a decoded JSON object into its compact form.
func (c *Converter) Compact(obj map[string]any) (*Compact, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seenOnce == nil {
		c.seenOnce = make([]uint64, seenOnceSize)
		c.seenOnceIn = make([]uint32, seenOnceSize)
	}
	c.compacts++
	out := &Compact{}
	if _, err := c.compact(obj, 0, out); err != nil {
		return nil, err
	}
	out.ops = append([]byte(nil), out.ops...)
	out.terms = append([]*ast.Term(nil), out.terms...)
	for i := 0; i < len(out.ops); {
		op := out.ops[i]
		i++
		if op == opTerm {
			continue
		}
		n, w := binary.Uvarint(out.ops[i:])
		i += w
		out.nodes++
		if op == opObject {
			out.entries += int(n)
		}
	}
	return out, nil
}

// compact appends x to out. It returns the term for x when x is a leaf or a shared subtree,
// which the caller appends as opTerm; otherwise it has appended x's spine and returns nil.
func (c *Converter) compact(x any, depth int, out *Compact) (*ast.Term, error) {
	switch x := x.(type) {
	case map[string]any:
		return c.compactObject(x, depth, out)
	case []any:
		return c.compactArray(x, depth, out)
	case string:
		return c.compactString(x), nil
	default:
		return c.convert(x, depth)
	}
}

// compactObject is compact for an object: its keys are interned terms, and below the top level
// an object whose values are all terms becomes one shared term, its spine taken back out of out,
// once another object held the same (sharedObject).
func (c *Converter) compactObject(x map[string]any, depth int, out *Compact) (*ast.Term, error) {
	opsMark, termsMark, kvMark := len(out.ops), len(out.terms), len(c.kv)
	defer func() { c.kv = c.kv[:kvMark] }()
	out.ops = binary.AppendUvarint(append(out.ops, opObject), uint64(len(x)))
	shareable := depth > 0
	for k, v := range x {
		kt := c.intern(k)
		out.terms = append(out.terms, kt)
		vt, err := c.compact(v, depth+1, out)
		if err != nil {
			return nil, err
		}
		if vt == nil {
			shareable = false
			continue
		}
		out.ops = append(out.ops, opTerm)
		out.terms = append(out.terms, vt)
		c.kv = append(c.kv, [2]*ast.Term{kt, vt})
	}
	if !shareable {
		return nil, nil
	}
	if t := c.sharedObject(c.kv[kvMark:]); t != nil {
		out.ops, out.terms = out.ops[:opsMark], out.terms[:termsMark]
		return t, nil
	}
	return nil, nil
}

// compactArray is compact for an array, shared like an object (compactObject).
func (c *Converter) compactArray(x []any, depth int, out *Compact) (*ast.Term, error) {
	opsMark, termsMark, arrMark := len(out.ops), len(out.terms), len(c.arr)
	defer func() { c.arr = c.arr[:arrMark] }()
	out.ops = binary.AppendUvarint(append(out.ops, opArray), uint64(len(x)))
	shareable := depth > 0
	for _, v := range x {
		vt, err := c.compact(v, depth+1, out)
		if err != nil {
			return nil, err
		}
		if vt == nil {
			shareable = false
			continue
		}
		out.ops = append(out.ops, opTerm)
		out.terms = append(out.terms, vt)
		c.arr = append(c.arr, vt)
	}
	if !shareable {
		return nil, nil
	}
	if t := c.sharedArray(c.arr[arrMark:]); t != nil {
		out.ops, out.terms = out.ops[:opsMark], out.terms[:termsMark]
		return t, nil
	}
	return nil, nil
}

// compactString returns the term for a string value. Like subtrees, and unlike keys, a string
// is interned only once a second object holds it: most strings only one object holds (a name,
// a uid, a resourceVersion, a timestamp), and an interned string costs a table entry and a
// weak pointer on top of its term.
func (c *Converter) compactString(s string) *ast.Term {
	if len(s) > c.maxStr {
		return ast.StringTerm(s)
	}
	if w, ok := c.strs[s]; ok {
		if t := w.Value(); t != nil {
			return t
		}
	}
	if c.seenBefore(maphash.String(stringSeed, s)) {
		return c.intern(s)
	}
	return ast.StringTerm(s)
}

var stringSeed = maphash.MakeSeed()

// sharedObject returns the one value for an object whose children are all shared, or nil the
// first time such an object is seen: an object that only one object holds stays in that
// object's spine, where it is cheaper.
func (c *Converter) sharedObject(items [][2]*ast.Term) *ast.Term {
	h := objectHash(items)
	if t := c.lookup(h); t != nil && sameObject(t, items) {
		return t
	}
	if !c.seenBefore(h) {
		return nil
	}
	t := ast.NewTerm(ast.NewObject(items...))
	c.store(h, t)
	return t
}

func (c *Converter) sharedArray(elems []*ast.Term) *ast.Term {
	h := arrayHash(elems)
	if t := c.lookup(h); t != nil && sameArray(t, elems) {
		return t
	}
	if !c.seenBefore(h) {
		return nil
	}
	t := ast.NewTerm(ast.NewArray(append([]*ast.Term(nil), elems...)...))
	c.store(h, t)
	return t
}

// seenBefore reports whether another object recently held a string or subtree with hash h,
// and remembers that this one does. Sightings within one object do not count: a subtree an
// object holds twice (its labels, say, as metadata.labels and in its pod template) costs less
// twice in its spine than once as a shared value only it uses.
func (c *Converter) seenBefore(h uint64) bool {
	h |= 1 // 0 marks an empty slot
	i := h % seenOnceSize
	if c.seenOnce[i] == h && c.seenOnceIn[i] != c.compacts {
		return true
	}
	c.seenOnce[i], c.seenOnceIn[i] = h, c.compacts
	return false
}

// Value builds the object's engine value. Values built from one Compact are equal and share
// everything below the spine; nothing may modify them.
func (d *Compact) Value() ast.Value {
	if d == nil {
		return nil
	}
	r := spineReader{d: d, block: make([]ast.Term, d.nodes), kv: make([][2]*ast.Term, 0, d.entries)}
	return r.value().Value
}

// Size is the number of bytes the compact form holds itself, excluding the shared terms.
func (d *Compact) Size() int {
	return len(d.ops) + 8*len(d.terms) + 48
}

type spineReader struct {
	d     *Compact
	op, t int
	// block holds the terms of the spine's objects and arrays, allocated at once.
	block []ast.Term
	// kv is scratch for objects' entries: ast.NewObject copies them.
	kv [][2]*ast.Term
}

func (r *spineReader) value() *ast.Term {
	op := r.d.ops[r.op]
	r.op++
	switch op {
	case opTerm:
		t := r.d.terms[r.t]
		r.t++
		return t
	case opObject:
		n := r.count()
		mark := len(r.kv)
		for range n {
			k := r.d.terms[r.t]
			r.t++
			v := r.value() // nested objects use r.kv beyond mark, and give it back
			r.kv = append(r.kv, [2]*ast.Term{k, v})
		}
		t := r.node()
		t.Value = ast.NewObject(r.kv[mark:]...)
		r.kv = r.kv[:mark]
		return t
	case opArray:
		n := r.count()
		elems := make([]*ast.Term, n) // kept by the array
		for i := range elems {
			elems[i] = r.value()
		}
		t := r.node()
		t.Value = ast.NewArray(elems...)
		return t
	default:
		panic(fmt.Sprintf("policy: corrupt compact value: operation %d at %d", op, r.op-1))
	}
}

func (r *spineReader) node() *ast.Term {
	t := &r.block[0]
	r.block = r.block[1:]
	return t
}

func (r *spineReader) count() int {
	n, w := binary.Uvarint(r.d.ops[r.op:])
	r.op += w
	return int(n)
}
