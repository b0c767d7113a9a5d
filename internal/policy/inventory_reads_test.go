package policy

import (
	"context"
	"reflect"
	"testing"
)

func TestInventoryReadsOf(t *testing.T) {
	networkPolicy := InventoryKind{GroupVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
	namespace := InventoryKind{GroupVersion: "v1", Kind: "Namespace"}
	limitRange := InventoryKind{GroupVersion: "v1", Kind: "LimitRange"}
	cases := map[string]struct {
		body string
		want InventoryReads
	}{
		"no inventory": {
			body: `violation contains {"msg": "x"} if input.review.object.spec.hostNetwork`,
			want: InventoryReads{},
		},
		"namespaced reference, variable namespace": {
			body: `violation contains {"msg": "x"} if {
				ns := input.review.object.metadata.name
				count(data.inventory.namespace[ns]["networking.k8s.io/v1"].NetworkPolicy) == 0
			}`,
			want: InventoryReads{Kinds: []InventoryKind{networkPolicy}},
		},
		"cluster reference, down to a label": {
			body: `violation contains {"msg": "x"} if {
				data.inventory.cluster.v1.Namespace[input.review.object.metadata.namespace].metadata.labels.tier == "prod"
			}`,
			want: InventoryReads{Kinds: []InventoryKind{namespace}},
		},
		"object.get from data.inventory with a literal path": {
			body: `violation contains {"msg": "x"} if {
				ns := input.review.object.metadata.name
				count(object.get(data.inventory, ["namespace", ns, "networking.k8s.io/v1", "NetworkPolicy"], {})) == 0
			}`,
			want: InventoryReads{Kinds: []InventoryKind{networkPolicy}},
		},
		"object.get from a namespace's inventory, in a function": {
			body: `ranges(ns) := object.get(data.inventory.namespace[ns], ["v1", "LimitRange"], {})
			violation contains {"msg": "x"} if count(ranges(input.review.object.metadata.name)) == 0`,
			want: InventoryReads{Kinds: []InventoryKind{limitRange}},
		},
		"object.get as a statement": {
			body: `violation contains {"msg": "x"} if {
				object.get(data.inventory.cluster, ["v1", "Namespace", "a"], false)
			}`,
			want: InventoryReads{Kinds: []InventoryKind{namespace}},
		},
		"import alias": {
			body: `import data.inventory.cluster as cluster
			violation contains {"msg": "x"} if not cluster.v1.Namespace[input.review.object.metadata.namespace]`,
			want: InventoryReads{Kinds: []InventoryKind{namespace}},
		},
		"several kinds, sorted, deduplicated": {
			body: `violation contains {"msg": "x"} if {
				data.inventory.cluster.v1.Namespace.a
				object.get(data.inventory, ["namespace", "a", "v1", "LimitRange"], {})
				object.get(data.inventory, ["namespace", "b", "v1", "LimitRange"], {})
				data.inventory.namespace.a["networking.k8s.io/v1"].NetworkPolicy
			}`,
			want: InventoryReads{Kinds: []InventoryKind{networkPolicy, limitRange, namespace}},
		},
		"a variable kind": {
			body: `violation contains {"msg": "x"} if {
				some kind in ["LimitRange", "ResourceQuota"]
				count(data.inventory.namespace.a.v1[kind]) == 0
			}`,
			want: InventoryReads{Dynamic: true},
		},
		"walk over the inventory": {
			body: `violation contains {"msg": "x"} if {
				some [path, value] in walk(data.inventory)
				value == input.review.object.metadata.name
			}`,
			want: InventoryReads{Dynamic: true},
		},
		"data.inventory passed whole to a rule": {
			body: `inv := data.inventory
			violation contains {"msg": "x"} if not inv.cluster.v1.Namespace.a`,
			want: InventoryReads{Dynamic: true},
		},
		"a namespace's inventory, read partially": {
			body: `violation contains {"msg": "x"} if count(data.inventory.namespace.a) == 0`,
			want: InventoryReads{Dynamic: true},
		},
		"object.get with a path in a variable": {
			body: `violation contains {"msg": "x"} if {
				path := ["namespace", "a", "v1", "LimitRange"]
				object.get(data.inventory, path, {})
			}`,
			want: InventoryReads{Dynamic: true},
		},
		"object.get with a variable group version, beside a literal read": {
			body: `violation contains {"msg": "x"} if {
				some gv in input.parameters.versions
				object.get(data.inventory, ["cluster", gv, "Namespace"], {})
				data.inventory.cluster.v1.Namespace.a
			}`,
			want: InventoryReads{Kinds: []InventoryKind{namespace}, Dynamic: true},
		},
		"data indexed by a variable": {
			body: `violation contains {"msg": "x"} if {
				some root in ["inventory"]
				data[root].cluster.v1.Namespace.a
			}`,
			want: InventoryReads{Dynamic: true},
		},
		"the policy's own rules under data are no inventory reads": {
			body: `allowed := {"a"}
			violation contains {"msg": "x"} if not data.test.inv.allowed[input.review.object.metadata.name]`,
			want: InventoryReads{},
		},
		"a key under data.inventory that holds nothing": {
			body: `violation contains {"msg": "x"} if data.inventory.other.v1.Namespace.a`,
			want: InventoryReads{},
		},
	}
	ctx := context.Background()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := NewEngine(NewInventory(), Options{}).Compile(ctx, "package test.inv\n\n"+tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.InventoryReads, tc.want) {
				t.Errorf("InventoryReads = %+v, want %+v", p.InventoryReads, tc.want)
			}
		})
	}
}
