package policy

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Each of these asks one builtin call, or a loop of them, for gigabytes. The evaluation must
// end in an error naming the builtin, fast, having allocated a bounded amount: before the
// bounds, the first took seconds of CPU and then the process died of "out of memory".
func TestHostileBuiltinsAreBounded(t *testing.T) {
	big := `s := concat("", [x | some _ in numbers.range(1, 1024); x := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"])` // 128 KiB
	tests := map[string]struct{ body, want string }{
		"a huge sprintf width":       {body: `x := sprintf("%0999999d", [1])`, want: "sprintf: a width or precision of 999999"},
		"a sprintf width from args":  {body: `x := sprintf("%*d", [999999, 1])`, want: "sprintf: widths and precisions taken from the arguments"},
		"a huge precision":           {body: `x := sprintf("%.99999f", [1.5])`, want: "sprintf: a width or precision of 99999"},
		"a billion numbers":          {body: `x := numbers.range(1, 1000000000)`, want: "numbers.range: the result would have 1000000000 elements"},
		"a billion numbers by steps": {body: `x := numbers.range_step(1, 1000000000, 2)`, want: "numbers.range_step: the result would have"},
		"concat doubling":            {body: big + `; a := concat("", [s, s]); b := concat("", [a, a]); c := concat("", [b, b]); d := concat("", [c, c])`, want: "concat: the result would be"},
		"replace amplification":      {body: big + `; x := replace(s, "a", s)`, want: "replace: the result would be"},
		"replace_n amplification":    {body: big + `; x := strings.replace_n({"a": s}, s)`, want: "strings.replace_n: the result would be"},
		"split into characters":      {body: big + `; a := concat("", [s, s, s, s, s, s, s]); x := split(a, "")`, want: "split: the result would have"},
		"array doubling":             {body: `a := numbers.range(1, 60000); x := array.concat(a, a)`, want: "array.concat: the result would have 120000"},
		"a huge marshal indent":      {body: big + `; x := json.marshal_with_options({"a": [1, 2]}, {"indent": s})`, want: "json.marshal_with_options: a indent of 131072 bytes"},
		"a loop that retains":        {body: big + `; x := [y | some i in numbers.range(1, 100000); y := concat("", [s, s])]`, want: "the sandbox's budget for one object"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			policy := "package p\n\nviolation contains {\"msg\": \"x\"} if {\n\t" + tc.body + "\n}"
			p, err := NewEngine(NewInventory(), Options{Timeout: 5 * time.Second}).Compile(context.Background(), policy)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err = p.Evaluate(context.Background(), Input{Object: mustValue(t, `{}`)})
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if took > 2*time.Second {
				t.Errorf("took %s to refuse", took)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
				t.Errorf("allocated %d MiB before refusing", alloc>>20)
			}
		})
	}
}

// The bounds leave ordinary uses alone, and strings.render_template is not in the sandbox.
func TestBoundedBuiltinsStillWork(t *testing.T) {
	policy := `package p

violation contains {"msg": msg} if {
	msg := concat(" ", [sprintf("%-6s|%5.2f|%[1]q", ["ab", 1.5]), replace("a-b", "-", "+"), upper("x"), json.marshal_with_options([1], {"indent": "  "})])
	count(numbers.range(1, 10)) == 10
	count(split("a,b,c", ",")) == 3
}`
	p, err := NewEngine(NewInventory(), Options{}).Compile(context.Background(), policy)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Evaluate(context.Background(), Input{Object: mustValue(t, `{}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := "ab    | 1.50|\"ab\" a+b X [\n  1\n]"
	if len(res.Violations) != 1 || res.Violations[0].Message != want {
		t.Errorf("violations = %+v, want one with %q", res.Violations, want)
	}
	_, err = NewEngine(NewInventory(), Options{}).Compile(context.Background(), "package p\n\nviolation contains {\"msg\": x} if { x := strings.render_template(\"{{.a}}\", {\"a\": 1}) }")
	if err == nil || !strings.Contains(err.Error(), "strings.render_template") {
		t.Errorf("render_template compiled: err = %v", err)
	}
}
