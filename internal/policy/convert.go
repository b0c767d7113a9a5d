package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unsafe"
	"weak"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Converter turns decoded JSON (what unstructured.Unstructured holds) into the engine's value
// form, sharing what objects have in common: identical subtrees (a container's
// securityContext, a probe, a label set), object keys and short strings become one term each,
// however many objects hold them. A Deployment's value shrinks from about 28 KB to about 9 KB
// this way, the conversion is about twice as fast, and evaluation is no slower.
//
// Sharing is safe because nothing writes into these values: topdown builds new values and
// never mutates input, and the inventory store only inserts into the directory objects above
// an object's path. The top level of each value is never shared.
//
// The tables hold weak pointers: a term that no cached object uses any more is collected, and
// its entry is dropped when the tables have doubled since they were last swept. A Converter is
// safe for concurrent use.
type Converter struct {
	mu     sync.Mutex
	strs   map[string]weak.Pointer[ast.Term]
	nodes  map[uint64]weak.Pointer[ast.Term]
	live   int // entries after the last sweep
	kv     [][2]*ast.Term
	arr    []*ast.Term
	maxStr int
	// seenOnce remembers the hashes of strings and subtrees Compact has seen once, and in
	// which call (see seenBefore).
	seenOnce   []uint64
	seenOnceIn []uint32
	compacts   uint32
}

// maxInternedString: longer strings (messages, certificates, scripts) are rarely shared.
const maxInternedString = 64

// NewConverter returns an empty converter.
func NewConverter() *Converter {
	return &Converter{
		strs:   map[string]weak.Pointer[ast.Term]{},
		nodes:  map[uint64]weak.Pointer[ast.Term]{},
		maxStr: maxInternedString,
	}
}

// Convert converts a decoded JSON object.
func (c *Converter) Convert(obj map[string]any) (ast.Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.convert(obj, 0)
	if err != nil {
		return nil, err
	}
	return t.Value, nil
}

// Entries is the number of live and not yet swept table entries.
func (c *Converter) Entries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.strs) + len(c.nodes)
}

// Sweep drops the entries whose terms have been collected.
func (c *Converter) Sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep()
}

func (c *Converter) convert(x any, depth int) (*ast.Term, error) {
	switch x := x.(type) {
	case nil:
		return ast.InternedNullTerm, nil
	case bool:
		if x {
			return ast.InternedBooleanTrue, nil
		}
		return ast.InternedBooleanFalse, nil
	case string:
		if len(x) > c.maxStr {
			return ast.StringTerm(x), nil
		}
		return c.intern(x), nil
	case map[string]any:
		mark := len(c.kv)
		defer func() { c.kv = c.kv[:mark] }()
		for k, v := range x {
			vt, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			c.kv = append(c.kv, [2]*ast.Term{c.intern(k), vt})
		}
		if depth == 0 {
			return ast.NewTerm(ast.NewObject(c.kv[mark:]...)), nil
		}
		return c.object(c.kv[mark:]), nil
	case []any:
		mark := len(c.arr)
		defer func() { c.arr = c.arr[:mark] }()
		for _, v := range x {
			vt, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			c.arr = append(c.arr, vt)
		}
		if depth == 0 {
			return ast.NewTerm(ast.NewArray(append([]*ast.Term(nil), c.arr[mark:]...)...)), nil
		}
		return c.array(c.arr[mark:]), nil
	default:
		return convertNumber(x)
	}
}

// convertNumber converts what is left of decoded JSON: numbers, int64 and float64 in
// unstructured objects, json.Number from a decoder. Small integers are OPA's interned terms.
func convertNumber(x any) (*ast.Term, error) {
	var v ast.Value
	var err error
	if n, ok := x.(json.Number); ok {
		v, err = ast.NumberChecked(string(n))
	} else {
		v, err = ast.InterfaceToValue(x)
	}
	if err != nil {
		return nil, fmt.Errorf("converting %T: %w", x, err)
	}
	if n, ok := v.(ast.Number); ok {
		if t := ast.InternedIntNumberTermFromString(string(n)); t != nil {
			return t, nil
		}
	}
	return ast.NewTerm(v), nil
}

// intern returns the one term for a short string. Numbers are not interned here (beyond OPA's
// own small integers): they are rarely long-lived duplicates outside the subtrees that are.
func (c *Converter) intern(s string) *ast.Term {
	if w, ok := c.strs[s]; ok {
		if t := w.Value(); t != nil {
			return t
		}
	}
	s = strings.Clone(s) // own copy: the table may outlive the object it came from
	t := &ast.Term{Value: ast.String(s)}
	c.strs[s] = weak.Make(t)
	c.maybeSweep()
	return t
}

// object returns the shared term for an object with these items. Children are shared first
// (bottom-up), so two objects are equal exactly when their keys and children are the same
// pointers: the table is keyed by a hash of those pointers and checked by pointer, never by a
// deep comparison. The hash ignores order, as maps are iterated in any order.
func (c *Converter) object(items [][2]*ast.Term) *ast.Term {
	h := objectHash(items)
	if t := c.lookup(h); t != nil && sameObject(t, items) {
		return t
	}
	t := ast.NewTerm(ast.NewObject(items...))
	c.store(h, t)
	return t
}

func (c *Converter) array(elems []*ast.Term) *ast.Term {
	h := arrayHash(elems)
	if t := c.lookup(h); t != nil && sameArray(t, elems) {
		return t
	}
	t := ast.NewTerm(ast.NewArray(append([]*ast.Term(nil), elems...)...))
	c.store(h, t)
	return t
}

func objectHash(items [][2]*ast.Term) uint64 {
	h := mix(uint64(len(items)) + 0x9e3779b97f4a7c15)
	for _, kv := range items {
		h += mix(mix(ptr(kv[0])) ^ ptr(kv[1]))
	}
	return h
}

func arrayHash(elems []*ast.Term) uint64 {
	h := mix(uint64(len(elems)) + 0x7f4a7c159e3779b9)
	for _, e := range elems {
		h = mix(h ^ ptr(e))
	}
	return h ^ 0xa5a5a5a5a5a5a5a5 // arrays and objects never meet
}

func (c *Converter) lookup(h uint64) *ast.Term {
	if w, ok := c.nodes[h]; ok {
		return w.Value()
	}
	return nil
}

// store records a term; a colliding entry is replaced, which loses only sharing.
func (c *Converter) store(h uint64, t *ast.Term) {
	c.nodes[h] = weak.Make(t)
	c.maybeSweep()
}

func (c *Converter) maybeSweep() {
	if len(c.strs)+len(c.nodes) > 2*c.live+4096 {
		c.sweep()
	}
}

func (c *Converter) sweep() {
	for k, w := range c.strs {
		if w.Value() == nil {
			delete(c.strs, k)
		}
	}
	for k, w := range c.nodes {
		if w.Value() == nil {
			delete(c.nodes, k)
		}
	}
	c.live = len(c.strs) + len(c.nodes)
}

func ptr(t *ast.Term) uint64 { return uint64(uintptr(unsafe.Pointer(t))) }

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func sameObject(t *ast.Term, items [][2]*ast.Term) bool {
	o, ok := t.Value.(ast.Object)
	if !ok || o.Len() != len(items) {
		return false
	}
	for _, kv := range items {
		if o.Get(kv[0]) != kv[1] {
			return false
		}
	}
	return true
}

func sameArray(t *ast.Term, elems []*ast.Term) bool {
	a, ok := t.Value.(*ast.Array)
	if !ok || a.Len() != len(elems) {
		return false
	}
	for i, e := range elems {
		if a.Elem(i) != e {
			return false
		}
	}
	return true
}
