package policy

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzCompileAndEvaluate feeds arbitrary sources and objects to the sandbox: compiling never
// panics and fails only with a bounded *CompileError; evaluating never panics and returns
// bounded violations or an error. `go test` runs the seeds; `make fuzz` explores further.
func FuzzCompileAndEvaluate(f *testing.F) {
	f.Add(privileged, `{"spec": {"template": {"spec": {"containers": [{"name": "a", "securityContext": {"privileged": true}}]}}}}`)
	f.Add("package p\nviolation if true", `{}`)
	f.Add("package p\nviolation contains {\"msg\": sprintf(\"%0999999d\", [1])} if true", `{}`)
	f.Add("package p\nviolation contains {\"msg\": x} if { x := input.review.object.m }", `{"m": [1, {"a": null}]}`)
	f.Add("package inventory\nviolation contains {\"msg\": \"x\"} if true", `null`)
	f.Add("package p\nimport data.inventory\nviolation contains {\"msg\": concat(\",\", numbers.range(1, input.review.object.n))} if true", `{"n": 1e12}`)
	engine := NewEngine(NewInventory(), Options{Timeout: 50 * time.Millisecond})
	f.Fuzz(func(t *testing.T, source, object string) {
		if len(source) > 1<<16 || len(object) > 1<<16 {
			t.Skip("the CRD bounds a policy's size")
		}
		p, err := engine.Compile(context.Background(), source)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("compile failed with %T, not a *CompileError: %v", err, err)
			}
			if len(ce.Message) > MaxCompileErrorLen {
				t.Fatalf("compile error of %d bytes", len(ce.Message))
			}
			return
		}
		var doc map[string]any
		if json.Unmarshal([]byte(object), &doc) != nil {
			return
		}
		value, err := NewConverter().Convert(doc)
		if err != nil {
			return
		}
		res, err := p.Evaluate(context.Background(), Input{Object: value})
		if err != nil {
			return
		}
		if len(res.Violations) > DefaultMaxViolations {
			t.Fatalf("%d violations kept", len(res.Violations))
		}
		for _, v := range res.Violations {
			if len(v.Message) > DefaultMaxMessageLen {
				t.Fatalf("a message of %d bytes", len(v.Message))
			}
		}
	})
}
