package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
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
	// MaxCompileErrorLen bounds a compile error's message: OPA quotes the offending source
	// line, which a hostile policy can make as long as the Control allows, and the message
	// ends up in the Control's status and in an Event.
	MaxCompileErrorLen = 1024
)

// Options bound what one evaluation may cost and return.
type Options struct {
	// Timeout is the deadline of one evaluation of one subject.
	Timeout time.Duration
	// MaxViolations is how many violations of one subject are kept; the rest are counted.
	MaxViolations int
	// MaxMessageLen is the length, in bytes, at which a violation message is cut.
	MaxMessageLen int
	// HeapLimit is the memory guard's limit in bytes (see watchdog.heapOverLimit): above it,
	// evaluations that run for more than a moment are halted. 0 takes it from the Go memory
	// limit (GOMEMLIMIT, which the Deployment derives from its memory limit): 80% of it, or no
	// guard when no limit is set.
	HeapLimit uint64
	// Now, when set, is the wall clock policies read (time.now_ns), in place of the real one:
	// for tests that move time.
	Now func() time.Time
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
	if o.HeapLimit == 0 {
		o.HeapLimit = heapLimitFromGoMemLimit(debug.SetMemoryLimit(-1))
	}
	return o
}

// heapLimitFromGoMemLimit is the memory guard's default: 80% of the Go memory limit, leaving
// the collector room to work before the guard halts anything; none without a limit.
func heapLimitFromGoMemLimit(limit int64) uint64 {
	if limit <= 0 || limit == math.MaxInt64 {
		return 0
	}
	return uint64(limit) / 5 * 4
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

// compileError returns a *CompileError with its message bounded by MaxCompileErrorLen.
func compileError(format string, args ...any) *CompileError {
	return &CompileError{Message: Truncate(fmt.Sprintf(format, args...), MaxCompileErrorLen)}
}

// ErrDeadline is returned when an evaluation runs past Options.Timeout.
var ErrDeadline = errors.New("policy evaluation exceeded its deadline")

// ErrMemoryGuard is returned when the memory guard halts an evaluation (Options.HeapLimit).
var ErrMemoryGuard = errors.New("policy evaluation halted by the memory guard")

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
		watchdog: newWatchdog(opts.Timeout, opts.HeapLimit),
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

func (e *Engine) compile(ctx context.Context, digest, source string) (p *Policy, err error) {
	// A panic in OPA's parser or compiler is the source's doing as far as its author can
	// tell: it becomes a compile error (cached like one), not a crashed operator or webhook.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, compileError("the Rego compiler failed on this policy: %v", r)
		}
	}()
	module, err := ast.ParseModuleWithOpts("policy.rego", source, ast.ParserOptions{
		RegoVersion:  ast.RegoV1,
		Capabilities: e.caps,
	})
	if err != nil {
		return nil, compileError("%s", err)
	}
	pkg := module.Package.Path.String()
	if pkg == "data.inventory" || strings.HasPrefix(pkg, "data.inventory.") {
		return nil, compileError("package %s: data.inventory is reserved for the cluster inventory", strings.TrimPrefix(pkg, "data."))
	}
	if err := checkViolationRules(module, strings.TrimPrefix(pkg, "data.")); err != nil {
		return nil, err
	}
	if err := checkComplexity(module); err != nil {
		return nil, err
	}
	// Of the source, before the compiler rewrites the module.
	reads, volatile := InventoryReadsOf(module), VolatileCallsOf(module)

	query, err := rego.New(
		rego.ParsedModule(module),
		rego.Query(pkg+".violation"),
		rego.Store(e.store),
		rego.Capabilities(e.caps),
		rego.SetRegoVersion(ast.RegoV1),
		rego.EnablePrintStatements(false),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, compileError("%s", err)
	}
	return &Policy{Digest: digest, Package: strings.TrimPrefix(pkg, "data."), InventoryReads: reads,
		VolatileCalls: volatile, query: query, opts: e.opts, watchdog: e.watchdog}, nil
}

// violationContract is how a policy must define its result, quoted in compile errors.
const violationContract = `violation contains {"msg": ..., "details": ...} if { ... }`

// checkViolationRules refuses a module whose violation is not a set of objects, as far as
// the source shows: a "violation if" or "violation := ..." rule is a single value, which
// the set query would silently read as no violations, and so as a pass for ever. What the
// source cannot show (a variable's value) is checked at evaluation (violationOf).
func checkViolationRules(m *ast.Module, pkg string) *CompileError {
	found := false
	for _, r := range m.Rules {
		if r.Head.Ref().String() != "violation" {
			continue
		}
		found = true
		line := r.Location.Row
		if r.Default || r.Head.RuleKind() != ast.MultiValue {
			return compileError("policy.rego:%d: violation must be a set of objects: write %s", line, violationContract)
		}
		if err := checkViolationElement(r.Head.Key, line); err != nil {
			return err
		}
	}
	if !found {
		return compileError(`package %s defines no "violation" rule: a policy must define %s`, pkg, violationContract)
	}
	return nil
}

// checkViolationElement refuses a literal element that is not an object with a string msg.
func checkViolationElement(key *ast.Term, line int) *CompileError {
	if key == nil {
		return nil
	}
	switch v := key.Value.(type) {
	case ast.String, ast.Number, ast.Boolean, ast.Null, *ast.Array, ast.Set:
		return compileError("policy.rego:%d: each violation must be an object with a string \"msg\", not %s: write %s", line, ast.ValueName(v), violationContract)
	case ast.Object:
		msg := v.Get(ast.StringTerm("msg"))
		if msg == nil {
			return compileError("policy.rego:%d: a violation object has no \"msg\": write %s", line, violationContract)
		}
		switch msg.Value.(type) {
		case ast.Number, ast.Boolean, ast.Null, *ast.Array, ast.Object, ast.Set:
			return compileError("policy.rego:%d: a violation's \"msg\" must be a string, not %s", line, ast.ValueName(msg.Value))
		}
	}
	return nil
}

// Policy is a compiled policy, safe for concurrent evaluation.
type Policy struct {
	Digest  string
	Package string
	// InventoryReads are the kinds the policy reads from data.inventory (InventoryReadsOf).
	InventoryReads InventoryReads
	// VolatileCalls are the builtins the policy calls whose result can change with time alone
	// (VolatileCallsOf): its verdict on an unchanged object is never reused.
	VolatileCalls []string

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
	rs, err := p.eval(ev, input, rules)
	if err != nil {
		if ev.expired.Load() {
			return Result{}, fmt.Errorf("%w (%s)", ErrDeadline, p.opts.Timeout)
		}
		if heap := ev.overHeap.Load(); heap > 0 {
			return Result{}, fmt.Errorf("%w: the operator's heap reached %d MiB (the guard is at %d MiB) while this evaluation ran", ErrMemoryGuard, heap>>20, p.opts.HeapLimit>>20)
		}
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("evaluating policy %s: %w", p.Package, ctx.Err())
		}
		return Result{}, fmt.Errorf("evaluating policy %s: %w", p.Package, err)
	}
	return p.extract(rs)
}

func (p *Policy) eval(ev *evaluation, input ast.Value, rules *ruleCache) (rego.ResultSet, error) {
	if p.opts.Now != nil {
		return p.query.Eval(ev, rego.EvalParsedInput(input), rego.EvalExternalCancel(ev.halt), rego.EvalMetrics(noMetrics), rego.EvalVirtualCache(rules), rego.EvalTime(p.opts.Now()))
	}
	return p.query.Eval(ev, rego.EvalParsedInput(input), rego.EvalExternalCancel(ev.halt), rego.EvalMetrics(noMetrics), rego.EvalVirtualCache(rules))
}

// Volatile reports whether the policy's verdict can change with time alone (VolatileCalls).
func (p *Policy) Volatile() bool { return len(p.VolatileCalls) > 0 }

// extract turns the violation set into bounded, deterministic violations. Anything but a set
// of objects with a string msg is an error, never a pass.
func (p *Policy) extract(rs rego.ResultSet) (Result, error) {
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Result{}, nil
	}
	set, ok := rs[0].Expressions[0].Value.([]any)
	if !ok {
		return Result{}, fmt.Errorf("policy %s: violation is %T, not a set of objects", p.Package, rs[0].Expressions[0].Value)
	}
	if len(set) == 0 {
		return Result{}, nil
	}
	violations := make([]Violation, 0, len(set))
	for _, v := range set {
		violation, err := p.violationOf(v)
		if err != nil {
			return Result{}, err
		}
		violations = append(violations, violation)
	}
	sort.SliceStable(violations, func(i, j int) bool { return violations[i].Message < violations[j].Message })
	res := Result{Violations: violations}
	if len(violations) > p.opts.MaxViolations {
		res.Truncated = len(violations) - p.opts.MaxViolations
		res.Violations = violations[:p.opts.MaxViolations]
	}
	return res, nil
}

// violationOf reads one element of the violation set: an object with a string msg.
func (p *Policy) violationOf(v any) (Violation, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return Violation{}, fmt.Errorf("policy %s: a violation is %s, not an object with a string \"msg\"", p.Package, jsonKind(v))
	}
	msg, ok := obj["msg"].(string)
	if !ok {
		return Violation{}, fmt.Errorf("policy %s: a violation's \"msg\" is %s, not a string", p.Package, jsonKind(obj["msg"]))
	}
	return Violation{Message: Truncate(msg, p.opts.MaxMessageLen), Details: obj["details"]}, nil
}

// jsonKind names the JSON kind of a value decoded from the engine, for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "missing or null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "a number"
	}
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
