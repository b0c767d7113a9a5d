package policy

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// ruleCache is the cache of rule results OPA keeps during one evaluation (a
// topdown.VirtualCache), recycled between evaluations. OPA's own builds a tree of hash maps per
// evaluation: a sixth of the bytes a sweep allocated. An evaluation caches a handful of rules,
// so a list searched by hash is as fast, and once recycled it allocates nothing.
type ruleCache struct {
	frames [][]ruleResult
}

type ruleResult struct {
	hash      int
	ref       ast.Ref
	value     *ast.Term
	undefined bool
}

var _ topdown.VirtualCache = (*ruleCache)(nil)

var ruleCaches = sync.Pool{New: func() any { return &ruleCache{frames: make([][]ruleResult, 1, 4)} }}

// getRuleCache returns an empty cache; putRuleCache takes it back after the evaluation.
func getRuleCache() *ruleCache { return ruleCaches.Get().(*ruleCache) }

func putRuleCache(c *ruleCache) {
	for i := range c.frames {
		clear(c.frames[i]) // drop the references to this evaluation's values
		c.frames[i] = c.frames[i][:0]
	}
	c.frames = c.frames[:1]
	ruleCaches.Put(c)
}

// Push implements topdown.VirtualCache.
func (c *ruleCache) Push() {
	if len(c.frames) < cap(c.frames) {
		c.frames = c.frames[:len(c.frames)+1]
		return
	}
	c.frames = append(c.frames, nil)
}

// Pop implements topdown.VirtualCache.
func (c *ruleCache) Pop() {
	top := len(c.frames) - 1
	if top <= 0 {
		return
	}
	clear(c.frames[top])
	c.frames[top] = c.frames[top][:0]
	c.frames = c.frames[:top]
}

func (c *ruleCache) find(ref ast.Ref) *ruleResult {
	h := ref.Hash()
	top := c.frames[len(c.frames)-1]
	for i := range top {
		if top[i].hash == h && top[i].ref.Equal(ref) {
			return &top[i]
		}
	}
	return nil
}

// Get implements topdown.VirtualCache: the value recorded for ref, or whether it was recorded
// as undefined.
func (c *ruleCache) Get(ref ast.Ref) (*ast.Term, bool) {
	if r := c.find(ref); r != nil {
		return r.value, r.undefined
	}
	return nil, false
}

// Put implements topdown.VirtualCache; a nil value records ref as undefined.
func (c *ruleCache) Put(ref ast.Ref, value *ast.Term) {
	r := c.find(ref)
	if r == nil {
		top := len(c.frames) - 1
		c.frames[top] = append(c.frames[top], ruleResult{hash: ref.Hash(), ref: ref})
		r = &c.frames[top][len(c.frames[top])-1]
	}
	if value != nil {
		r.value, r.undefined = value, false
	} else {
		r.undefined = true
	}
}

// Keys implements topdown.VirtualCache.
func (c *ruleCache) Keys() []ast.Ref {
	top := c.frames[len(c.frames)-1]
	keys := make([]ast.Ref, len(top))
	for i := range top {
		keys[i] = top[i].ref
	}
	return keys
}
