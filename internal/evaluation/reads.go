package evaluation

import (
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/isms-operator/isms-operator/internal/policy"
)

// Partial values
//
// A sweep builds each object's engine value once, for all the controls that evaluate it
// (evaluateChunk), and builds only what their policies can read of it: the union, over the
// sweep's controls that target the object's group kind, of the paths their policies read of
// an object whose kind field has the object's value (policy.ObjectReads, from the source of
// each policy, which errs to the whole object). Building is most of what a sweep costs
// beyond the engine itself; a Deployment's status, most of its metadata and its selector
// are read by no workload policy.
//
// Events keep building whole values: the value an event builds is also the one it stores in
// data.inventory when the object's kind is loaded there, where any policy may read any of
// it, and one object's value is not what an event's cost is made of.

// sweepReads finds, for one sweep, what its controls read of each kind of subject.
type sweepReads struct {
	jobs []*sweepJob

	mu     sync.Mutex
	byKind map[readsKey]*policy.ObjectPaths
}

// readsKey is a subject's group kind and the value of its kind field (hasKind false: none,
// or not a string).
type readsKey struct {
	gk      schema.GroupKind
	kind    string
	hasKind bool
}

// maxSweepReadsKinds bounds the kinds a sweep remembers reads for; beyond, they are computed
// for each subject (the same result, at the cost of a union per subject).
const maxSweepReadsKinds = 64

func newSweepReads(jobs []*sweepJob) *sweepReads {
	return &sweepReads{jobs: jobs, byKind: map[readsKey]*policy.ObjectPaths{}}
}

// of returns the paths to build of s; nil: the whole object.
func (r *sweepReads) of(s *Subject) *policy.ObjectPaths {
	kind, hasKind := s.Compact.Kind()
	key := readsKey{gk: s.GroupKind(), kind: kind, hasKind: hasKind}
	r.mu.Lock()
	defer r.mu.Unlock()
	if paths, ok := r.byKind[key]; ok {
		return paths
	}
	paths := r.union(key)
	if len(r.byKind) < maxSweepReadsKinds {
		r.byKind[key] = paths
	}
	return paths
}

// union is what the jobs that target the key's group kind read of an object of its kind
// (nil, the whole object, when none does: then none evaluates it either).
func (r *sweepReads) union(key readsKey) *policy.ObjectPaths {
	var paths *policy.ObjectPaths
	found := false
	for _, job := range r.jobs {
		if !job.matcher.Targets(key.gk) {
			continue
		}
		if job.def.Policy == nil {
			return nil
		}
		reads := job.def.Policy.ObjectReads.Paths(key.kind, key.hasKind)
		switch {
		case reads == nil:
			return nil
		case !found:
			paths, found = reads, true
		default:
			paths = paths.Union(reads)
		}
	}
	return paths
}
