package policies_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/policy/policytest"
	"github.com/isms-operator/isms-operator/policies"
)

// TestObjectReadsKeepVerdicts is the safety net of partial values: for every library policy
// and every crafted policy of policytest.ObjectReadsCases, against every example subject of
// the library, objects of other kinds, and seeded random mutations of them, the policy's
// verdict on the value built with only the paths it reads (Compact.ValueOf with ObjectReads)
// must be the verdict on the whole value: the same violations, the same error.
func TestObjectReadsKeepVerdicts(t *testing.T) {
	lib, err := policies.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	inv := policy.NewInventory()
	conv := policy.NewConverter()
	objects := exampleObjects(t, lib, inv, conv)
	engine := policy.NewEngine(inv, policy.Options{Timeout: 10 * time.Second})
	mutations := 120
	if testing.Short() {
		mutations = 20
	}
	keys := keysOf(objects)
	for _, c := range subjectsUnderTest(t, lib, conv) {
		t.Run(c.name, func(t *testing.T) {
			p, err := engine.Compile(context.Background(), c.source)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(len(c.name)), 17)) // reproducible per policy
			// With the policy's parameters, and without: the defaults the Rego falls back to
			// take other paths through it.
			for _, obj := range objects {
				sameVerdict(t, p, c.params, conv, obj)
				sameVerdict(t, p, nil, conv, obj)
			}
			for i := range mutations {
				params := c.params
				if i%2 == 1 {
					params = nil
				}
				sameVerdict(t, p, params, conv, mutate(objects[rng.IntN(len(objects))], rng, keys))
			}
		})
	}
}

type policyUnderTest struct {
	name, source string
	params       ast.Value
}

// subjectsUnderTest are the library's policies with their default parameters, and the
// crafted ones.
func subjectsUnderTest(t *testing.T, lib []policies.Policy, conv *policy.Converter) []policyUnderTest {
	var out []policyUnderTest
	for _, p := range lib {
		params, err := conv.Convert(p.Metadata.Parameters)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, policyUnderTest{name: p.Name, source: p.Rego.Text, params: params})
	}
	for _, c := range policytest.ObjectReadsCases {
		if c.Name == "template string" {
			continue // not in the sandbox's language (its analysis reads the whole object)
		}
		params, err := conv.Convert(map[string]any{"paths": []any{[]any{"spec"}, []any{"metadata", "name"}}, "specs": []any{map[string]any{"a": "x"}}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, policyUnderTest{name: "crafted " + c.Name, source: policytest.ObjectReadsSource(c), params: params})
	}
	return out
}

// sameVerdict evaluates p against obj built whole and with only p's reads.
func sameVerdict(t *testing.T, p *policy.Policy, params ast.Value, conv *policy.Converter, obj map[string]any) {
	t.Helper()
	d, err := conv.Compact(obj)
	if err != nil {
		t.Fatal(err)
	}
	in := policy.Input{Object: d.Value(), Parameters: params}
	whole, wholeErr := p.Evaluate(context.Background(), in)
	kind, ok := d.Kind()
	paths := p.ObjectReads.Paths(kind, ok)
	in.Object = d.ValueOf(paths)
	partial, partialErr := p.Evaluate(context.Background(), in)
	if !reflect.DeepEqual(whole, partial) || fmt.Sprint(wholeErr) != fmt.Sprint(partialErr) {
		js, _ := json.Marshal(obj)
		t.Errorf("verdicts differ with paths %s\nobject %.2000s\nwhole:   %+v %v\npartial: %+v %v", paths, js, whole, wholeErr, partial, partialErr)
	}
}

// exampleObjects are the subjects of every example of the library, the objects of other
// kinds otherObjects makes of them, and objects without a kind; the examples' inventory
// documents go into inv.
func exampleObjects(t *testing.T, lib []policies.Policy, inv *policy.Inventory, conv *policy.Converter) []map[string]any {
	var out []map[string]any
	for _, p := range lib {
		for _, ex := range p.Examples {
			out = append(out, normalize(t, ex.Subject))
			for _, doc := range ex.Inventory {
				putInventory(t, inv, conv, normalize(t, doc))
			}
		}
	}
	return append(out, otherObjects(t, out)...)
}

// normalize gives an object the form the watches give it: decoded JSON, whole numbers int64.
func normalize(t *testing.T, obj map[string]any) map[string]any {
	js, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(js, &out); err != nil {
		t.Fatal(err)
	}
	return wholeNumbers(out).(map[string]any)
}

func wholeNumbers(x any) any {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			x[k] = wholeNumbers(v)
		}
	case []any:
		for i, v := range x {
			x[i] = wholeNumbers(v)
		}
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	}
	return x
}

func putInventory(t *testing.T, inv *policy.Inventory, conv *policy.Converter, doc map[string]any) {
	meta, _ := doc["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	apiVersion, _ := doc["apiVersion"].(string)
	kind, _ := doc["kind"].(string)
	v, err := conv.Convert(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Put(context.Background(), policy.InventoryPath(ns, apiVersion, kind, name), v); err != nil {
		t.Fatal(err)
	}
}

// otherObjects wraps the pod template of the first Deployment into workloads of the other
// kinds (owned and not), makes objects with the fields the crafted policies read, and strips
// or spoils the kind of a copy of the Deployment.
func otherObjects(t *testing.T, objects []map[string]any) []map[string]any {
	var deployment map[string]any
	for _, o := range objects {
		if o["kind"] == "Deployment" {
			deployment = o
			break
		}
	}
	if deployment == nil {
		t.Fatal("no Deployment among the examples")
	}
	template := deployment["spec"].(map[string]any)["template"].(map[string]any)
	owner := []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u", "controller": true}}
	podSpec := template["spec"]
	workload := func(kind string, owned bool, spec map[string]any) map[string]any {
		meta := map[string]any{"name": "w-" + strings.ToLower(kind), "namespace": "shop", "labels": map[string]any{"app": "w"}}
		if owned {
			meta["ownerReferences"] = owner
		}
		return normalize(t, map[string]any{"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec})
	}
	out := []map[string]any{workload("Pod", false, podSpec.(map[string]any)), workload("Pod", true, podSpec.(map[string]any))}
	for _, kind := range []string{"StatefulSet", "DaemonSet", "ReplicaSet", "Job"} {
		for _, owned := range []bool{false, true} {
			out = append(out, workload(kind, owned, map[string]any{"replicas": int64(1), "template": template}))
		}
	}
	out = append(out, workload("CronJob", false, map[string]any{"schedule": "* * * * *",
		"jobTemplate": map[string]any{"spec": map[string]any{"template": template}}}))
	for _, kind := range []string{"Deployment", "Pod"} { // with what the crafted policies read
		out = append(out, normalize(t, map[string]any{"kind": kind, "metadata": map[string]any{"name": "c", "labels": map[string]any{"app": "c"}},
			"spec": map[string]any{"kind": "Pod", "a": "A", "b": "B", "c": "C", "x": "X", "z": "Z", "key": "app", "replicas": int64(2),
				"template": template, "containers": []any{map[string]any{"name": "c", "image": "nginx"}}}}))
	}
	for _, kind := range []any{nil, int64(3), "", "deployment", map[string]any{"kind": "Pod"}} {
		o := normalize(t, deployment)
		if kind == nil {
			delete(o, "kind")
		} else {
			o["kind"] = kind
		}
		out = append(out, o)
	}
	return out
}

// keysOf are the field names the objects use, sorted, the keys mutations add.
func keysOf(objects []map[string]any) []string {
	set := map[string]bool{"kind": true, "x": true}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				set[k] = true
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	for _, o := range objects {
		walk(o)
	}
	keys := slices.Collect(maps.Keys(set))
	sort.Strings(keys)
	return keys
}

// mutate returns a copy of obj with one to three random changes: a field removed, set, or
// added (with a name some object uses), or an array element replaced.
func mutate(obj map[string]any, rng *rand.Rand, keys []string) map[string]any {
	out := deepCopy(obj).(map[string]any)
	for range 1 + rng.IntN(3) {
		nodes := nodesOf(out, nil)
		switch n := nodes[rng.IntN(len(nodes))].(type) {
		case map[string]any:
			fields := slices.Sorted(maps.Keys(n))
			switch op := rng.IntN(3); {
			case op == 0 && len(fields) > 0:
				delete(n, fields[rng.IntN(len(fields))])
			case op == 1 && len(fields) > 0:
				n[fields[rng.IntN(len(fields))]] = randomValue(rng, keys, 0)
			default:
				n[keys[rng.IntN(len(keys))]] = randomValue(rng, keys, 0)
			}
		case []any:
			if len(n) > 0 {
				n[rng.IntN(len(n))] = randomValue(rng, keys, 0)
			}
		}
	}
	return out
}

// nodesOf lists the objects and arrays of x, in a stable order.
func nodesOf(x any, out []any) []any {
	switch x := x.(type) {
	case map[string]any:
		out = append(out, x)
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out = nodesOf(x[k], out)
		}
	case []any:
		out = append(out, x)
		for _, v := range x {
			out = nodesOf(v, out)
		}
	}
	return out
}

var scalars = []any{nil, true, false, int64(0), int64(1), int64(-1), int64(65536), 1.5, "", "x", "ALL", "NET_RAW",
	"Localhost", "RuntimeDefault", "Unconfined", "latest", "nginx:latest", "nginx@sha256:abc", "/var/run/docker.sock",
	"Pod", "Deployment", "CronJob", "Job", "Namespace", "production", "default", "*", "cluster-admin", "system:anonymous"}

func randomValue(rng *rand.Rand, keys []string, depth int) any {
	switch n := rng.IntN(10); {
	case n < 6 || depth > 2:
		return scalars[rng.IntN(len(scalars))]
	case n < 8:
		m := map[string]any{}
		for range rng.IntN(3) {
			m[keys[rng.IntN(len(keys))]] = randomValue(rng, keys, depth+1)
		}
		return m
	default:
		var a []any
		for range rng.IntN(3) {
			a = append(a, randomValue(rng, keys, depth+1))
		}
		return append([]any{}, a...)
	}
}

func deepCopy(x any) any {
	switch x := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = deepCopy(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = deepCopy(v)
		}
		return out
	}
	return x
}
