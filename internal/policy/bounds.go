package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// A builtin runs to completion once called: the evaluation deadline halts an evaluation only
// between steps. A policy could otherwise ask one call for gigabytes (sprintf with a width of
// a million, numbers.range over a billion, concat or replace that double a string at each
// step), and the process would be killed before any deadline. So the builtins whose output
// can outgrow their input are wrapped: before the call, the output's size is estimated from
// the operands and charged to the evaluation's budget, and a call over its limit or over the
// budget halts the evaluation (topdown.Halt: an error, never undefined, so never a pass).
// The wrappers replace OPA's implementations for the whole process, as the sandbox is the
// only way this program evaluates Rego (the operator and kubectl isms alike).
const (
	// MaxBuiltinStringBytes bounds one string a builtin may build.
	MaxBuiltinStringBytes = 1 << 20
	// MaxBuiltinElements bounds one collection a builtin may build.
	MaxBuiltinElements = 100_000
	// MaxFormatWidth bounds a width or precision in a sprintf format.
	MaxFormatWidth = 1000
	// MaxMarshalIndent bounds json.marshal_with_options' prefix and indent: they are written
	// once per line of the output.
	MaxMarshalIndent = 64
	// EvaluationBudgetBytes bounds what the bounded builtins may build in one evaluation of
	// one subject, so that a loop of calls cannot retain gigabytes before its deadline.
	EvaluationBudgetBytes = 16 << 20
	// elementBytes is what one element of a built collection is charged.
	elementBytes = 32
)

// budgetKey finds the running evaluation (see evaluation.Value) from a builtin's context.
type budgetKey struct{}

// charge takes n bytes from the evaluation's budget, or says why the call may not run.
func charge(ctx context.Context, builtin string, n int64) error {
	if ctx == nil {
		return nil // folded at compile time, from the policy's own constants
	}
	ev, _ := ctx.Value(budgetKey{}).(*evaluation)
	if ev == nil {
		return nil // evaluated outside Policy.Evaluate (the library's Rego unit tests): each call is still bounded
	}
	if used := ev.spent.Add(n); used > EvaluationBudgetBytes {
		return topdown.Halt{Err: fmt.Errorf("%s: the evaluation built more than %d MiB, the sandbox's budget for one object", builtin, EvaluationBudgetBytes>>20)}
	}
	return nil
}

// estimate returns the size of what a call would build, in bytes, or an error when one part
// of it is over its own limit.
type estimate func(operands []*ast.Term) (int64, error)

// boundedBuiltins are the wrapped builtins and how their output is estimated.
var boundedBuiltins = map[string]estimate{
	ast.Sprintf.Name:                sprintfSize,
	ast.Concat.Name:                 concatSize,
	ast.Replace.Name:                replaceSize,
	ast.ReplaceN.Name:               replaceNSize,
	ast.NumbersRange.Name:           rangeSize,
	ast.NumbersRangeStep.Name:       rangeSize,
	ast.ArrayConcat.Name:            arrayConcatSize,
	ast.Split.Name:                  splitSize,
	ast.JSONMarshalWithOptions.Name: marshalOptionsSize,
	ast.Upper.Name:                  firstStringSize,
	ast.Lower.Name:                  firstStringSize,
	ast.StringReverse.Name:          firstStringSize,
	ast.Base64Encode.Name:           firstStringSize,
	ast.HexEncode.Name:              firstStringSize,
}

func init() {
	for name, size := range boundedBuiltins {
		registerBounded(name, size)
	}
}

func registerBounded(name string, size estimate) {
	impl := topdown.GetBuiltin(name)
	if impl == nil {
		panic("policy: no builtin " + name + " to bound") // OPA renamed it: the tests catch this
	}
	topdown.RegisterBuiltinFunc(name, func(bctx topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
		n, err := size(operands)
		if err != nil {
			return topdown.Halt{Err: fmt.Errorf("%s: %w", name, err)}
		}
		if err := charge(bctx.Context, name, n); err != nil {
			return err
		}
		return impl(bctx, operands, iter)
	})
}

func stringOf(t *ast.Term) (string, bool) {
	s, ok := t.Value.(ast.String)
	return string(s), ok
}

func overString(n int64) error {
	if n > MaxBuiltinStringBytes {
		return fmt.Errorf("the result would be %d bytes, over the sandbox's limit of %d", n, MaxBuiltinStringBytes)
	}
	return nil
}

func overElements(n int64) error {
	if n > MaxBuiltinElements {
		return fmt.Errorf("the result would have %d elements, over the sandbox's limit of %d", n, MaxBuiltinElements)
	}
	return nil
}

// firstStringSize is for builtins whose output is about as long as their string operand.
func firstStringSize(operands []*ast.Term) (int64, error) {
	s, _ := stringOf(operands[0])
	return int64(len(s)) * 2, nil
}

// concatSize is concat(delimiter, strings): their lengths and a delimiter between each two.
func concatSize(operands []*ast.Term) (int64, error) {
	delim, _ := stringOf(operands[0])
	var n, count int64
	add := func(t *ast.Term) {
		s, _ := stringOf(t)
		n += int64(len(s))
		count++
	}
	switch c := operands[1].Value.(type) {
	case *ast.Array:
		c.Foreach(add)
	case ast.Set:
		c.Foreach(add)
	}
	if count > 1 {
		n += int64(len(delim)) * (count - 1)
	}
	return n, overString(n)
}

// replaceSize is replace(s, old, new): each occurrence of old grows by len(new)-len(old).
func replaceSize(operands []*ast.Term) (int64, error) {
	s, _ := stringOf(operands[0])
	old, _ := stringOf(operands[1])
	repl, _ := stringOf(operands[2])
	n := int64(len(s)) + int64(strings.Count(s, old))*int64(max(len(repl)-len(old), 0))
	return n, overString(n)
}

// replaceNSize is strings.replace_n(patterns, s): bounded by every occurrence of every
// pattern growing by the longest replacement.
func replaceNSize(operands []*ast.Term) (int64, error) {
	s, _ := stringOf(operands[1])
	n := int64(len(s))
	if patterns, ok := operands[0].Value.(ast.Object); ok {
		patterns.Foreach(func(k, v *ast.Term) {
			old, _ := stringOf(k)
			repl, _ := stringOf(v)
			n += int64(strings.Count(s, old)) * int64(max(len(repl)-len(old), 0))
		})
	}
	return n, overString(n)
}

// rangeSize is numbers.range(a, b) and numbers.range_step(a, b, step).
func rangeSize(operands []*ast.Term) (int64, error) {
	a, okA := numberOf(operands[0])
	b, okB := numberOf(operands[1])
	if !okA || !okB {
		return 0, nil // not integers: the builtin refuses them itself
	}
	step := int64(1)
	if len(operands) > 2 {
		if s, ok := numberOf(operands[2]); ok && s > 0 {
			step = s
		}
	}
	count := (absDiff(a, b))/step + 1
	return count * elementBytes, overElements(count)
}

func numberOf(t *ast.Term) (int64, bool) {
	n, ok := t.Value.(ast.Number)
	if !ok {
		return 0, false
	}
	return n.Int64()
}

func absDiff(a, b int64) int64 {
	if a > b {
		a, b = b, a
	}
	if d := b - a; d >= 0 {
		return d
	}
	return 1 << 62 // overflowed: as good as infinite
}

// arrayConcatSize is array.concat(a, b).
func arrayConcatSize(operands []*ast.Term) (int64, error) {
	var count int64
	for _, t := range operands[:2] {
		if a, ok := t.Value.(*ast.Array); ok {
			count += int64(a.Len())
		}
	}
	return count * elementBytes, overElements(count)
}

// splitSize is split(s, delimiter): an empty delimiter splits at every character.
func splitSize(operands []*ast.Term) (int64, error) {
	s, _ := stringOf(operands[0])
	delim, _ := stringOf(operands[1])
	count := int64(len(s)) + 1
	if delim != "" {
		count = int64(strings.Count(s, delim)) + 1
	}
	return count*elementBytes + int64(len(s)), overElements(count)
}

// marshalOptionsSize checks json.marshal_with_options' prefix and indent, which are repeated
// on every line of the output.
func marshalOptionsSize(operands []*ast.Term) (int64, error) {
	opts, ok := operands[1].Value.(ast.Object)
	if !ok {
		return 0, nil
	}
	for _, key := range []string{"prefix", "indent"} {
		if v := opts.Get(ast.StringTerm(key)); v != nil {
			if s, _ := stringOf(v); len(s) > MaxMarshalIndent {
				return 0, fmt.Errorf("a %s of %d bytes is over the sandbox's limit of %d", key, len(s), MaxMarshalIndent)
			}
		}
	}
	return 0, nil
}

// sprintfSize checks a sprintf format's widths and precisions (fmt pads to a width of up to
// a million per verb) and refuses widths taken from the arguments (%*d), then estimates the
// output as the format plus every argument's text.
func sprintfSize(operands []*ast.Term) (int64, error) {
	format, _ := stringOf(operands[0])
	if err := checkFormat(format); err != nil {
		return 0, err
	}
	n := int64(len(format))
	if args, ok := operands[1].Value.(*ast.Array); ok {
		args.Foreach(func(t *ast.Term) {
			if s, ok := stringOf(t); ok {
				n += int64(len(s))
			} else {
				n += 32 // numbers and the like; composites are printed at their own size below
			}
		})
		n += int64(args.Len()) * MaxFormatWidth
	}
	return n, overString(n)
}

// checkFormat walks the verbs of a Go format string (%[flags][[n]][width][.[[n]]precision]verb)
// and checks each width and precision.
func checkFormat(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++ // flags
		}
		var err error
		if i, err = checkWidth(format, skipArgIndex(format, i)); err != nil {
			return err
		}
		if i < len(format) && format[i] == '.' {
			if i, err = checkWidth(format, skipArgIndex(format, i+1)); err != nil {
				return err
			}
		}
		i = skipArgIndex(format, i) // the verb is at i
	}
	return nil
}

// checkWidth reads a width or precision at i and returns where it ends.
func checkWidth(format string, i int) (int, error) {
	if i < len(format) && format[i] == '*' {
		return i, fmt.Errorf("widths and precisions taken from the arguments (%%*) are not allowed")
	}
	j := i
	for j < len(format) && format[j] >= '0' && format[j] <= '9' {
		j++
	}
	if w := strings.TrimLeft(format[i:j], "0"); len(w) > 4 || atoi(w) > MaxFormatWidth {
		return j, fmt.Errorf("a width or precision of %s is over the sandbox's limit of %d", w, MaxFormatWidth)
	}
	return j, nil
}

// skipArgIndex skips an explicit argument index ([n]) at i.
func skipArgIndex(format string, i int) int {
	if i < len(format) && format[i] == '[' {
		if end := strings.IndexByte(format[i:], ']'); end >= 0 {
			return i + end + 1
		}
	}
	return i
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
