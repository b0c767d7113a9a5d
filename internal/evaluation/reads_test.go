package evaluation

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// Two controls that read different parts of a Deployment, and one that reads other parts of a
// Pod than of a Deployment: a sweep builds each object once for all of them, and each must
// still see what it reads (the union of their reads, by the object's kind field).
const (
	replicasPolicy = `package isms.replicas

violation contains {"msg": "one replica"} if input.review.object.spec.replicas == 1`

	statusPolicy = `package isms.status

violation contains {"msg": "unavailable"} if input.review.object.status.available == false`

	kindPolicy = `package isms.kinds

violation contains {"msg": "pod without name"} if {
	input.review.object.kind == "Pod"
	not input.review.object.metadata.name
}

violation contains {"msg": "deployment paused"} if {
	input.review.object.kind == "Deployment"
	input.review.object.spec.paused
}`
)

func TestSweepBuildsWhatEveryControlReads(t *testing.T) {
	inv := policy.NewInventory()
	engine := policy.NewEngine(inv, policy.Options{})
	e := NewEvaluator(inv, clusterNS, nil)
	gk := ismsv1.KindSelector{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}
	var names []string
	for i, src := range []string{replicasPolicy, statusPolicy, kindPolicy} {
		p, err := engine.Compile(context.Background(), src)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, fmt.Sprintf("c%d", i))
		if err := e.SetControl(ControlDefinition{Name: names[i], Generation: 1, Policy: p, Targets: ismsv1.Targets{Kinds: []ismsv1.KindSelector{gk}}}); err != nil {
			t.Fatal(err)
		}
	}
	conv := policy.NewConverter()
	objects := []map[string]any{
		{"kind": "Deployment", "metadata": map[string]any{"name": "a"}, "spec": map[string]any{"replicas": int64(1), "paused": true}, "status": map[string]any{"available": false}},
		{"kind": "Deployment", "metadata": map[string]any{"name": "b"}, "spec": map[string]any{"replicas": int64(3)}, "status": map[string]any{"available": true}},
		// A kind field other than the watch's kind picks the reads for that kind.
		{"kind": "Pod", "metadata": map[string]any{"name": "p"}, "spec": map[string]any{"replicas": int64(1), "paused": true}, "status": map[string]any{"available": false}},
	}
	var subjects []*Subject
	for i, obj := range objects {
		c, err := conv.Compact(obj)
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, &Subject{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Compact: c,
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("s", i), Namespace: "shop", UID: types.UID(fmt.Sprint("u", i))}})
	}
	if _, err := e.SweepControls(context.Background(), names, func() []*Subject { return subjects }); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{2, 2, 1} { // a and the Pod; a and the Pod; a (paused: the Pod has a name)
		if got := e.Summarize(names[i]).Failing; got != want {
			t.Errorf("control %s: %d failing subjects, want %d", names[i], got, want)
		}
	}
}
