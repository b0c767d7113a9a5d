package policy

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestVolatileCallsOf(t *testing.T) {
	cases := map[string]struct {
		body string
		want []string
	}{
		"object only": {
			body: `violation contains {"msg": "x"} if input.review.object.spec.hostNetwork`,
		},
		"parsing a timestamp is pure": {
			body: `violation contains {"msg": "x"} if time.parse_rfc3339_ns(input.review.object.metadata.creationTimestamp) < 0`,
		},
		"the clock": {
			body: `violation contains {"msg": "x"} if time.now_ns() > 0`,
			want: []string{"time.now_ns"},
		},
		"the clock in a helper function": {
			body: `age(ts) := time.now_ns() - time.parse_rfc3339_ns(ts)
			violation contains {"msg": "x"} if age(input.review.object.metadata.creationTimestamp) > 0`,
			want: []string{"time.now_ns"},
		},
		"the clock replaced with with": {
			body: `old if time.now_ns() > 5
			violation contains {"msg": "x"} if old with time.now_ns as 10`,
			want: []string{"time.now_ns"},
		},
		"randomness and x509 verification, sorted": {
			body: `violation contains {"msg": "x"} if {
				rand.intn("x", 10) == 1
				crypto.x509.parse_and_verify_certificates(input.review.object.data.cert)
			}`,
			want: []string{"crypto.x509.parse_and_verify_certificates", "rand.intn"},
		},
		"a rule of the policy named like a builtin family is not one": {
			body: `now_ns := 1
			violation contains {"msg": "x"} if now_ns == 1`,
		},
	}
	ctx := context.Background()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := NewEngine(NewInventory(), Options{}).Compile(ctx, "package test.volatile\n\n"+tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.VolatileCalls, tc.want) || p.Volatile() != (len(tc.want) > 0) {
				t.Errorf("VolatileCalls = %q, Volatile() = %v, want %q", p.VolatileCalls, p.Volatile(), tc.want)
			}
		})
	}
}

func TestOptionsNowIsTheClockPoliciesRead(t *testing.T) {
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	engine := NewEngine(NewInventory(), Options{Now: func() time.Time { return clock }})
	p, err := engine.Compile(context.Background(), `package test.clock

violation contains {"msg": "expired"} if time.now_ns() >= input.review.object.expires`)
	if err != nil {
		t.Fatal(err)
	}
	object := map[string]any{"expires": clock.Add(time.Hour).UnixNano()}
	for _, tc := range []struct {
		advance time.Duration
		fails   bool
	}{{0, false}, {time.Hour, true}} {
		clock = clock.Add(tc.advance)
		v, err := NewConverter().Convert(object)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Evaluate(context.Background(), Input{Object: v})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(res.Violations) > 0; got != tc.fails {
			t.Errorf("after %s: fails = %v, want %v", tc.advance, got, tc.fails)
		}
	}
}
