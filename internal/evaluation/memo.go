package evaluation

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Reused verdicts
//
// A periodic sweep in which nothing changed would learn nothing from evaluating every
// (control, subject) pair again. Each recorded verdict remembers what it depended on
// (verdictMemo, kept in controlState.matched, see slots.go), and a sweep keeps the verdict instead of
// evaluating when all of it is unchanged:
//
//   - the object: same uid (the key of the results) and same resourceVersion. Within one
//     process the same resourceVersion always converts to the same value;
//   - the control's inputs (controlInputs): its policy digest, parameters and generation, and
//     for a policy that reads data.inventory the version of the kinds it reads
//     (inventoryVersions), all of them when the policy's reads are not known statically
//     (policy.InventoryReads.Dynamic). Any change to them starts a new inputsEpoch, which
//     every verdict of the control was recorded under: all are evaluated again, as they
//     were before reuse existed;
//   - the verdict was not an error: errors (transient ones, deadlines, the memory guard, the
//     sweep budget's cut) remember nothing and are evaluated again;
//   - the policy is not volatile (policy.Policy.Volatile): a policy that reads the clock is
//     evaluated every time.
//
// Matching is not remembered: every sweep matches every subject, with the namespace labels of
// the moment, so a subject that a namespace label change brings into scope has no verdict
// to reuse and one that leaves the scope is dropped. A verdict is reused only when the
// control's results still hold it: a subject forgotten (deleted, out of scope) has none.

// verdictMemo is what a verdict depended on, kept beside it for every matched subject: 16
// bytes a (control, subject) pair. The zero value remembers nothing.
type verdictMemo struct {
	// resourceVersion is the object's, as a number; 0 when it has none or it is not a number
	// (objects built offline), and then the verdict is never reused.
	resourceVersion uint64
	// inputs is the control's inputsEpoch the verdict was evaluated under.
	inputs uint64
}

// reusable is the skip decision: whether a sweep may keep the recorded verdict (prev, known
// says there is one) on a subject instead of evaluating it, given what the verdict would
// depend on now (cur).
func reusable(prev verdictMemo, known bool, cur verdictMemo, volatile bool) bool {
	return known && !volatile && cur.resourceVersion != 0 && cur.inputs != 0 && prev == cur
}

// resourceVersionOf reads a subject's resourceVersion as verdictMemo keeps it.
func resourceVersionOf(s *Subject) uint64 {
	rv, err := strconv.ParseUint(s.ResourceVersion, 10, 64)
	if err != nil {
		return 0
	}
	return rv
}

// controlInputs are what a control's verdicts depend on besides the object.
type controlInputs struct {
	// definition digests the policy, the parameters and the generation (definitionDigest).
	definition [sha256.Size]byte
	// inventory sums the versions of the inventory kinds the policy reads: versions only
	// grow, so the sum changes whenever one of them does.
	inventory uint64
}

// definitionDigest identifies what a ControlDefinition evaluates with.
func definitionDigest(def ControlDefinition) [sha256.Size]byte {
	h := sha256.New()
	if def.Policy != nil {
		h.Write([]byte(def.Policy.Digest))
	}
	h.Write([]byte{0})
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(def.Generation)))
	if def.Parameters != nil {
		h.Write([]byte(def.Parameters.String()))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// inventoryReads are the kinds of data.inventory a control's verdicts depend on.
type inventoryReads struct {
	kinds []schema.GroupKind
	// all: the policy's reads are not known statically; any kind may matter.
	all bool
}

// readsOf is what a control's policy reads of data.inventory: the kinds its source names, the
// kinds its spec.inventory lists, or everything when the source does not say.
func readsOf(def ControlDefinition) inventoryReads {
	reads := inventoryReads{kinds: GroupKinds(def.Inventory)}
	if def.Policy == nil {
		return reads
	}
	reads.all = def.Policy.InventoryReads.Dynamic
	for _, k := range def.Policy.InventoryReads.Kinds {
		gv, err := schema.ParseGroupVersion(k.GroupVersion)
		if err != nil {
			continue // not a group version: no object is ever stored under it
		}
		reads.kinds = append(reads.kinds, schema.GroupKind{Group: gv.Group, Kind: k.Kind})
	}
	return reads
}

// inventoryVersions counts the writes to data.inventory, by kind. Each write is counted once
// it is stored, so a version read before an evaluation counts only writes that evaluation
// sees; one it may miss moves the version afterwards, and the next sweep evaluates again. Its
// lock is a leaf.
type inventoryVersions struct {
	mu     sync.Mutex
	byKind map[schema.GroupKind]uint64
	total  uint64
}

func (v *inventoryVersions) wrote(gk schema.GroupKind) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byKind == nil {
		v.byKind = map[schema.GroupKind]uint64{}
	}
	v.byKind[gk]++
	v.total++
}

// of is the version of data.inventory as the reads see it.
func (v *inventoryVersions) of(reads inventoryReads) uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if reads.all {
		return v.total
	}
	var sum uint64
	for _, gk := range reads.kinds {
		sum += v.byKind[gk]
	}
	return sum
}

// inputsEpoch returns the epoch of the control's inputs as they are now, starting a new one
// if they changed since it was last asked. Callers hold e.mu.
func (e *Evaluator) inputsEpoch(cs *controlState) uint64 {
	in := controlInputs{definition: cs.definition}
	if len(cs.reads.kinds) > 0 || cs.reads.all {
		in.inventory = e.inventoryVersions.of(cs.reads)
	}
	if in != cs.inputs || cs.epoch == 0 {
		cs.inputs = in
		cs.epoch++
	}
	return cs.epoch
}
