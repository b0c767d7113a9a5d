package controllers

import (
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// writtenVersions remembers the resourceVersion of each Control and Finding as the operator
// last wrote (or read from the API server) it, so that a reconcile can tell when the informer
// cache is behind its own writes. Deciding from such a cache can skip a write that undoes the
// previous one (a count that went 33 -> 32 -> 33 within a second is "unchanged" against a
// cache still at 33) and leave etcd wrong until the next sweep; the fault test found both.
// resourceVersions are compared for equality only, never ordered. Controls are cluster-scoped
// and Findings namespaced, so their keys never collide.
type writtenVersions struct {
	mu sync.Mutex
	rv map[client.ObjectKey]string
}

func newWrittenVersions() *writtenVersions {
	return &writtenVersions{rv: map[client.ObjectKey]string{}}
}

func (v *writtenVersions) wrote(obj client.Object) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rv[client.ObjectKeyFromObject(obj)] = obj.GetResourceVersion()
}

func (v *writtenVersions) forget(ns, name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.rv, client.ObjectKey{Namespace: ns, Name: name})
}

// forgetControl drops what it remembers of a deleted control and its Findings.
func (v *writtenVersions) forgetControl(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for key := range v.rv {
		if key.Name == name {
			delete(v.rv, key)
		}
	}
}

// current reports whether obj is the version the operator last wrote or read from the API
// server, or an object it has not written since it started.
func (v *writtenVersions) current(obj client.Object) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	want, ok := v.rv[client.ObjectKeyFromObject(obj)]
	return !ok || want == obj.GetResourceVersion()
}
