package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
)

// Defaults for Options.
const (
	DefaultTimeout       = 250 * time.Millisecond
	DefaultMaxViolations = 20
	DefaultMaxMessageLen = 256
	defaultCacheSize     = 1024
)

// Options bound what one evaluation may cost and return.
type Options struct {
	// Timeout is the deadline of one evaluation of one subject.
	Timeout time.Duration
	// MaxViolations is how many violations of one subject are kept; the rest are counted.
	MaxViolations int
	// MaxMessageLen is the length, in bytes, at which a violation message is cut.
	MaxMessageLen int
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxViolations <= 0 {
		o.MaxViolations = DefaultMaxViolations
	}
	if o.MaxMessageLen <= 0 {
		o.MaxMessageLen = DefaultMaxMessageLen
	}
	return o
}

// Violation is one reason a subject fails a policy.
type Violation struct {
	Message string `json:"msg"`
	Details any    `json:"details,omitempty"`
}

// CompileError says why a policy could not be compiled. Its message is meant for the author of
// the policy, and is what a Control's PolicyReady condition shows.
type CompileError struct {
	Message string
}

func (e *CompileError) Error() string { return e.Message }

// ErrDeadline is returned when an evaluation runs past Options.Timeout.
var ErrDeadline = errors.New("policy evaluation exceeded its deadline")

// Engine compiles policies against one shared inventory and caches them by digest.
type Engine struct {
	opts     Options
	caps     *ast.Capabilities
	store    storage.Store
	watchdog *watchdog

	mu    sync.Mutex
	cache map[string]*compiled
	order []string // insertion order, for eviction
}

type compiled struct {
	policy *Policy
	err    error
}

// NewEngine returns an engine whose policies read data.inventory from inv.
func NewEngine(inv *Inventory, opts Options) *Engine {
	opts = opts.withDefaults()
	return &Engine{
		opts:     opts,
		caps:     sandboxCapabilities(),
		store:    inv.store,
		watchdog: newWatchdog(opts.Timeout),
		cache:    map[string]*compiled{},
	}
}

// Digest identifies a policy source: "sha256:<hex>".
func Digest(source string) string {
	sum := sha256.Sum256([]byte(source))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Compile parses, checks and prepares the policy, or returns the cached result for the same
// source. A *CompileError says what is wrong with the source.
func (e *Engine) Compile(ctx context.Context, source string) (*Policy, error) {
	digest := Digest(source)
	e.mu.Lock()
	if c, ok := e.cache[digest]; ok {
		e.mu.Unlock()
		return c.policy, c.err
	}
	e.mu.Unlock()

	// Compile outside the lock: it takes milliseconds and other controls keep evaluating.
	p, err := e.compile(ctx, digest, source)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("compiling policy: %w", ctx.Err()) // not the source's fault: don't cache
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.cache[digest]; ok { // another caller won the race
		return c.policy, c.err
	}
	if len(e.order) >= defaultCacheSize {
		delete(e.cache, e.order[0])
		e.order = e.order[1:]
	}
	e.cache[digest] = &compiled{policy: p, err: err}
	e.order = append(e.order, digest)
	return p, err
}

func (e *Engine) compile(ctx context.Context, digest, source string) (*Policy, error) {
	module, err := ast.ParseModuleWithOpts("policy.rego", source, ast.ParserOptions{
		RegoVersion:  ast.RegoV1,
		Capabilities: e.caps,
	})
	if err != nil {
		return nil, &CompileError{Message: err.Error()}
	}
	pkg := module.Package.Path.String()
	if pkg == "data.inventory" || strings.HasPrefix(pkg, "data.inventory.") {
		return nil, &CompileError{Message: fmt.Sprintf("package %s: data.inventory is reserved for the cluster inventory", strings.TrimPrefix(pkg, "data."))}
	}
	if !definesViolation(module) {
		return nil, &CompileError{Message: fmt.Sprintf(`package %s defines no "violation" rule: a policy must define violation contains {"msg": ..., "details": ...} if { ... }`, strings.TrimPrefix(pkg, "data."))}
	}

	query, err := rego.New(
		rego.ParsedModule(module),
		rego.Query(pkg+".violation"),
		rego.Store(e.store),
		rego.Capabilities(e.caps),
		rego.SetRegoVersion(ast.RegoV1),
		rego.EnablePrintStatements(false),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, &CompileError{Message: err.Error()}
	}
	return &Policy{Digest: digest, Package: strings.TrimPrefix(pkg, "data."), query: query, opts: e.opts, watchdog: e.watchdog}, nil
}

func definesViolation(m *ast.Module) bool {
	for _, r := range m.Rules {
		if r.Head.Ref().String() == "violation" {
			return true
		}
	}
	return false
}

// Policy is a compiled policy, safe for concurrent evaluation.
type Policy struct {
	Digest  string
	Package string

	query    rego.PreparedEvalQuery
	opts     Options
	watchdog *watchdog
}

// Result is the verdict on one subject.
type Result struct {
	// Violations are the reasons the subject fails, sorted by message; empty when it passes.
	Violations []Violation
	// Truncated counts the violations dropped beyond Options.MaxViolations.
	Truncated int
}

// Input is what a policy reads: the subject and the control's parameters, both already in the
// engine's value form. Parameters may be nil.
type Input struct {
	Object     ast.Value
	Parameters ast.Value
}

var (
	reviewKey     = ast.StringTerm("review")
	objectKey     = ast.StringTerm("object")
	parametersKey = ast.StringTerm("parameters")
	emptyObject   = ast.NewObject()
	noMetrics     = metrics.NoOp()
)

// Evaluate runs the policy against one subject within the engine's deadline.
func (p *Policy) Evaluate(ctx context.Context, in Input) (Result, error) {
	params := in.Parameters
	if params == nil {
		params = emptyObject
	}
	input := ast.NewObject(
		ast.Item(reviewKey, ast.NewTerm(ast.NewObject(ast.Item(objectKey, ast.NewTerm(in.Object))))),
		ast.Item(parametersKey, ast.NewTerm(params)),
	)

	// Left to itself, OPA starts a goroutine per evaluation to watch ctx. The watchdog halts it
	// instead, at its deadline or when ctx ends, and OPA's metrics, which nothing reads, are not
	// collected: at tens of thousands of evaluations a second both are garbage that matters.
	ev := p.watchdog.start(ctx)
	defer p.watchdog.stop(ev)
	rules := getRuleCache()
	defer putRuleCache(rules)
	rs, err := p.query.Eval(ctx, rego.EvalParsedInput(input), rego.EvalExternalCancel(ev.halt), rego.EvalMetrics(noMetrics), rego.EvalVirtualCache(rules))
	if err != nil {
		if ev.expired.Load() {
			return Result{}, fmt.Errorf("%w (%s)", ErrDeadline, p.opts.Timeout)
		}
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("evaluating policy %s: %w", p.Package, ctx.Err())
		}
		return Result{}, fmt.Errorf("evaluating policy %s: %w", p.Package, err)
	}
	return p.extract(rs), nil
}

// extract turns the violation set into bounded, deterministic violations.
func (p *Policy) extract(rs rego.ResultSet) Result {
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Result{}
	}
	set, _ := rs[0].Expressions[0].Value.([]any)
	if len(set) == 0 {
		return Result{}
	}
	violations := make([]Violation, 0, len(set))
	for _, v := range set {
		violations = append(violations, p.violation(v))
	}
	sort.SliceStable(violations, func(i, j int) bool { return violations[i].Message < violations[j].Message })
	res := Result{Violations: violations}
	if len(violations) > p.opts.MaxViolations {
		res.Truncated = len(violations) - p.opts.MaxViolations
		res.Violations = violations[:p.opts.MaxViolations]
	}
	return res
}

func (p *Policy) violation(v any) Violation {
	obj, ok := v.(map[string]any)
	if !ok {
		return Violation{Message: Truncate(fmt.Sprint(v), p.opts.MaxMessageLen)}
	}
	var out Violation
	switch msg := obj["msg"].(type) {
	case string:
		out.Message = msg
	case nil:
		out.Message = "policy violation (no msg)"
	default:
		out.Message = fmt.Sprint(msg)
	}
	out.Message = Truncate(out.Message, p.opts.MaxMessageLen)
	out.Details = obj["details"]
	return out
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 character, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "..."
	cut := n - len(mark)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
