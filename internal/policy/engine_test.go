package policy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/isms-operator/isms-operator/internal/policy/policytest"
)

func mustValue(t *testing.T, js string) ast.Value {
	t.Helper()
	v, err := ast.ValueFromReader(strings.NewReader(js))
	if err != nil {
		t.Fatalf("parsing %s: %v", js, err)
	}
	return v
}

const privileged = `package isms.privileged

violation contains {"msg": msg, "details": {"container": c.name}} if {
	some c in input.review.object.spec.containers
	c.securityContext.privileged
	msg := sprintf("container %q is privileged", [c.name])
}`

const allowedRegistries = `package isms.registries

violation contains {"msg": msg} if {
	some c in input.review.object.spec.containers
	not allowed(c.image)
	msg := sprintf("image %q is not from an allowed registry", [c.image])
}

allowed(image) if {
	some prefix in input.parameters.registries
	startswith(image, prefix)
}`

const namespaceNetworkPolicy = `package isms.netpol

violation contains {"msg": "namespace has no NetworkPolicy"} if {
	name := input.review.object.metadata.name
	count(object.get(data.inventory, ["namespace", name, "networking.k8s.io/v1", "NetworkPolicy"], {})) == 0
}`

func TestEvaluate(t *testing.T) {
	tests := map[string]struct {
		policy    string
		object    string
		params    string
		inventory map[string]string // "ns/name" of NetworkPolicies to store
		want      []string          // messages
		details   []any
	}{
		"passing subject has no violations": {
			policy: privileged,
			object: `{"spec": {"containers": [{"name": "app"}]}}`,
		},
		"each violating container is reported, sorted": {
			policy: privileged,
			object: `{"spec": {"containers": [
				{"name": "b", "securityContext": {"privileged": true}},
				{"name": "a", "securityContext": {"privileged": true}},
				{"name": "c", "securityContext": {"privileged": false}}]}}`,
			want:    []string{`container "a" is privileged`, `container "b" is privileged`},
			details: []any{map[string]any{"container": "a"}, map[string]any{"container": "b"}},
		},
		"parameters reach the policy": {
			policy: allowedRegistries,
			object: `{"spec": {"containers": [{"name": "a", "image": "registry.corp/app:1"}, {"name": "b", "image": "docker.io/evil:1"}]}}`,
			params: `{"registries": ["registry.corp/"]}`,
			want:   []string{`image "docker.io/evil:1" is not from an allowed registry`},
		},
		"missing parameters mean an empty object": {
			policy: allowedRegistries,
			object: `{"spec": {"containers": [{"name": "a", "image": "registry.corp/app:1"}]}}`,
			want:   []string{`image "registry.corp/app:1" is not from an allowed registry`},
		},
		"inventory join finds a NetworkPolicy in the namespace": {
			policy:    namespaceNetworkPolicy,
			object:    `{"metadata": {"name": "payments"}}`,
			inventory: map[string]string{"payments/default-deny": "{}"},
		},
		"inventory join reports a namespace without one": {
			policy:    namespaceNetworkPolicy,
			object:    `{"metadata": {"name": "payments"}}`,
			inventory: map[string]string{"storefront/default-deny": "{}"},
			want:      []string{"namespace has no NetworkPolicy"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			inv := NewInventory()
			for key, obj := range tc.inventory {
				ns, n, _ := strings.Cut(key, "/")
				if err := inv.Put(ctx, InventoryPath(ns, "networking.k8s.io/v1", "NetworkPolicy", n), mustValue(t, obj)); err != nil {
					t.Fatal(err)
				}
			}
			p, err := NewEngine(inv, Options{}).Compile(ctx, tc.policy)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			in := Input{Object: mustValue(t, tc.object)}
			if tc.params != "" {
				in.Parameters = mustValue(t, tc.params)
			}
			res, err := p.Evaluate(ctx, in)
			if err != nil {
				t.Fatalf("evaluate: %v", err)
			}
			var got []string
			for _, v := range res.Violations {
				got = append(got, v.Message)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("violations = %q, want %q", got, tc.want)
			}
			if tc.details != nil {
				for i, v := range res.Violations {
					if want := tc.details[i].(map[string]any)["container"]; v.Details.(map[string]any)["container"] != want {
						t.Errorf("details[%d] = %v, want container %v", i, v.Details, want)
					}
				}
			}
		})
	}
}

func TestInventoryDeleteRemovesObject(t *testing.T) {
	ctx := context.Background()
	inv := NewInventory()
	path := InventoryPath("payments", "networking.k8s.io/v1", "NetworkPolicy", "default-deny")
	if err := inv.Put(ctx, path, mustValue(t, `{}`)); err != nil {
		t.Fatal(err)
	}
	p, err := NewEngine(inv, Options{}).Compile(ctx, namespaceNetworkPolicy)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Object: mustValue(t, `{"metadata": {"name": "payments"}}`)}
	if res, _ := p.Evaluate(ctx, in); len(res.Violations) != 0 {
		t.Fatalf("with the NetworkPolicy stored: %v", res.Violations)
	}
	if err := inv.Delete(ctx, path); err != nil {
		t.Fatal(err)
	}
	if err := inv.Delete(ctx, path); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if res, _ := p.Evaluate(ctx, in); len(res.Violations) != 1 {
		t.Fatalf("after delete: violations = %v, want 1", res.Violations)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := map[string]struct {
		policy string
		want   string
	}{
		"syntax error":                  {policy: "package p\nviolation contains x if {", want: "policy.rego:2"},
		"rego v0 syntax is refused":     {policy: "package p\nviolation[x] { x := 1 }", want: "rego_parse_error"},
		"no violation rule":             {policy: "package p\ndeny contains 1 if true", want: `defines no "violation" rule`},
		"unsafe variable":               {policy: "package p\nviolation contains x if { y == 1 }", want: "rego_unsafe_var_error"},
		"http.send is not available":    {policy: "package p\nviolation contains r if { r := http.send({\"method\": \"get\", \"url\": \"http://example.com\"}) }", want: "http.send"},
		"net lookups are not available": {policy: "package p\nviolation contains r if { r := net.lookup_ip_addr(\"example.com\") }", want: "net.lookup_ip_addr"},
		"opa.runtime is not available":  {policy: "package p\nviolation contains r if { r := opa.runtime() }", want: "opa.runtime"},
		"data.inventory is reserved":    {policy: "package inventory.x\nviolation contains {\"msg\": \"x\"} if true", want: "reserved"},
		// A violation that is not a set would be read as no violations: a pass for ever.
		"violation if":            {policy: "package p\nviolation if true", want: "policy.rego:2: violation must be a set"},
		"violation :=":            {policy: "package p\nviolation := {\"msg\": \"x\"}", want: "violation must be a set"},
		"default violation":       {policy: "package p\ndefault violation := {}\nviolation contains {\"msg\": \"x\"} if true", want: "policy.rego:2: violation must be a set"},
		"a string violation":      {policy: "package p\nviolation contains \"plain\" if true", want: "must be an object with a string \"msg\", not string"},
		"an object without msg":   {policy: "package p\nviolation contains {\"message\": \"x\"} if true", want: "has no \"msg\""},
		"a msg that is a number":  {policy: "package p\nviolation contains {\"msg\": 1} if true", want: "\"msg\" must be a string, not number"},
		"a long error is bounded": {policy: "package p\nviolation contains {\"msg\": \"x\"} if { x := \"" + strings.Repeat("a", 10000) + "\" ) }", want: "..."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := NewEngine(NewInventory(), Options{}).Compile(context.Background(), tc.policy)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *CompileError", err)
			}
			if !strings.Contains(ce.Message, tc.want) {
				t.Errorf("message %q does not mention %q", ce.Message, tc.want)
			}
			if len(ce.Message) > MaxCompileErrorLen {
				t.Errorf("message is %d bytes, over MaxCompileErrorLen", len(ce.Message))
			}
		})
	}
}

// What the source cannot show is checked at evaluation: a violation that is not an object
// with a string msg is an error, never a pass and never a made-up message.
func TestViolationContractAtEvaluation(t *testing.T) {
	tests := map[string]struct{ policy, want string }{
		"a string":         {policy: "package p\nviolation contains x if { x := input.review.object.s }", want: "a violation is a string, not an object"},
		"a number msg":     {policy: "package p\nviolation contains {\"msg\": x} if { x := input.review.object.n }", want: "\"msg\" is a number, not a string"},
		"an object no msg": {policy: "package p\nviolation contains x if { x := input.review.object.o }", want: "\"msg\" is missing or null"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := NewEngine(NewInventory(), Options{}).Compile(context.Background(), tc.policy)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			_, err = p.Evaluate(context.Background(), Input{Object: mustValue(t, `{"s": "x", "n": 1, "o": {"m": 1}}`)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestCompileIsCachedByDigest(t *testing.T) {
	e := NewEngine(NewInventory(), Options{})
	a, err := e.Compile(context.Background(), privileged)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := e.Compile(context.Background(), privileged)
	if a != b {
		t.Error("the same source compiled twice")
	}
	if a.Digest != Digest(privileged) || !strings.HasPrefix(a.Digest, "sha256:") {
		t.Errorf("digest = %q", a.Digest)
	}
	_, err1 := e.Compile(context.Background(), "package p")
	_, err2 := e.Compile(context.Background(), "package p")
	if err1 == nil || err1 != err2 {
		t.Errorf("compile errors are not cached: %v / %v", err1, err2)
	}
}

func TestRunawayPolicyHitsDeadline(t *testing.T) {
	p, err := NewEngine(NewInventory(), Options{Timeout: 50 * time.Millisecond}).Compile(context.Background(), policytest.Runaway)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = p.Evaluate(context.Background(), Input{Object: mustValue(t, `{}`)})
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("err = %v, want ErrDeadline", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("evaluation stopped after %s, long past its 50ms deadline", took)
	}
}

// The caller's context ending (a manager shutting down) halts an evaluation long before its
// deadline, and is not reported as a deadline.
func TestEndedContextHaltsEvaluation(t *testing.T) {
	p, err := NewEngine(NewInventory(), Options{Timeout: time.Minute}).Compile(context.Background(), policytest.Runaway)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = p.Evaluate(ctx, Input{Object: mustValue(t, `{}`)})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrDeadline) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("evaluation stopped %s after it started, long after its context ended", took)
	}
}

func TestOutputIsBounded(t *testing.T) {
	const many = `package p
violation contains {"msg": sprintf("%03d %s", [i, concat("", [x | some _ in numbers.range(1, 400); x := "x"])])} if {
	some i in numbers.range(1, 50)
}`
	p, err := NewEngine(NewInventory(), Options{MaxViolations: 10, MaxMessageLen: 64, Timeout: 10 * time.Second}).Compile(context.Background(), many)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Evaluate(context.Background(), Input{Object: mustValue(t, `{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Violations) != 10 || res.Truncated != 40 {
		t.Errorf("kept %d, truncated %d; want 10 and 40", len(res.Violations), res.Truncated)
	}
	for _, v := range res.Violations {
		if len(v.Message) > 64 || !strings.HasSuffix(v.Message, "...") {
			t.Errorf("message not cut to 64 bytes: %d %q", len(v.Message), v.Message)
		}
	}
	if !strings.HasPrefix(res.Violations[0].Message, "001 ") {
		t.Errorf("violations not sorted: first is %q", res.Violations[0].Message)
	}
}

func TestTruncate(t *testing.T) {
	tests := map[string]struct {
		in   string
		n    int
		want string
	}{
		"short stays":          {in: "abc", n: 5, want: "abc"},
		"cut with mark":        {in: "abcdefgh", n: 6, want: "abc..."},
		"no split of a rune":   {in: "ééééé", n: 6, want: "é..."},
		"tiny limit only mark": {in: "abcdef", n: 2, want: "..."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Truncate(tc.in, tc.n); got != tc.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}
