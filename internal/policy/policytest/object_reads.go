package policytest

// ObjectReadsCase is a crafted policy for the tests of the analysis of what a policy reads of
// input.review.object (policy.ObjectReadsOf): the paths it must find for a Deployment and for
// a Pod, as policy.ObjectPaths prints them ("*": the whole object). Each policy's violations
// quote what it reads, so that an evaluation against a value missing a path it reads differs.
type ObjectReadsCase struct {
	Name            string
	Source          string
	Deployment, Pod string
}

// obj is the object, spelled out: the crafted policies use no import.
const obj = "input.review.object"

// ObjectReadsCases cover each rule of the analysis and the ways around it.
var ObjectReadsCases = []ObjectReadsCase{
	{"ref", `v := ` + obj + `.spec.replicas`, "kind spec.replicas", "kind spec.replicas"},
	{"brackets", `v := ` + obj + `["spec"]["replicas"]`, "kind spec.replicas", "kind spec.replicas"},
	{"iteration stops the path", `v := [c.image | some i; c := ` + obj + `.spec.template.spec.containers[i]]`, "kind spec.template.spec.containers", "kind spec.template.spec.containers"},
	{"number key", `v := ` + obj + `.spec.containers[0].image`, "kind spec.containers", "kind spec.containers"},
	{"dynamic key", `v := {k | some k; ` + obj + `.metadata.labels[k]}`, "kind metadata.labels", "kind metadata.labels"},
	{"key terms are read", `v := ` + obj + `.metadata.labels[` + obj + `.spec.key]`, "kind metadata.labels spec.key", "kind metadata.labels spec.key"},
	{"walk input", `v := [p | walk(input, [p, _])]`, "*", "*"},
	{"object.get literal path", `v := object.get(` + obj + `, ["spec", "x"], "none")`, "kind spec.x", "kind spec.x"},
	{"object.get on input", `v := object.get(input, ["review", "object", "spec"], {})`, "kind spec", "kind spec"},
	{"object.get of input's parameters", `v := [object.get(input, "parameters", {}), object.get(input, ["parameters", "x"], 0)]`, "kind", "kind"},
	{"object.get of input to the object", `v := object.get(input, ["review", "object", "spec", "x"], 0)`, "kind spec.x", "kind spec.x"},
	{"object.get of input.review", `v := object.get(input.review, ["object", "spec"], {})`, "kind spec", "kind spec"},
	{"object.get of input to review only", `v := object.get(input, ["review"], {}).object.spec`, "*", "*"},
	{"object.get of input by a variable key", `v := [object.get(input, k, 0) | some k in input.parameters.keys]`, "*", "*"},
	{"object.get of input by a number", `v := object.get(input, [0, "object"], 0)`, "*", "*"},
	{"object.get variable path", `v := [object.get(` + obj + `, p, 0) | some p in input.parameters.paths]`, "*", "*"},
	{"json.marshal", `v := json.marshal(o) if o := ` + obj, "*", "*"},
	{"count", `v := count(` + obj + `)`, "*", "*"},
	{"object.keys of a part", `v := object.keys(` + obj + `.metadata)`, "kind metadata", "kind metadata"},
	{"some in the object", `v := [k | some k, _ in ` + obj + `]`, "*", "*"},
	{"object by a variable key", `v := [x | some k; x := ` + obj + `[k]]`, "*", "*"},
	{"input whole", `v := x.review.object.spec if x := input`, "*", "*"},
	{"input.review by key", `v := [x | some k; x := input.review[k]]`, "*", "*"},
	{"parameters are not the object", `v := input.parameters.x`, "kind", "kind"},
	{"builtin reads its argument", `v := startswith(` + obj + `.metadata.name, "a")`, "kind metadata.name", "kind metadata.name"},
	{"dynamic key through a parameter", "at(o, k) := o[k]\nv := at(" + obj + `, "spec")`, "*", "*"},
	{"function returning the object", "me(o) := o\nv := x.metadata.name if x := me(" + obj + ")", "kind metadata.name", "kind metadata.name"},
	{"nested functions", "sp(o) := o.spec\ntm(s) := s.template\nv := tm(sp(" + obj + ")).metadata.labels.app", "kind spec.template.metadata.labels.app", "kind spec.template.metadata.labels.app"},
	{"function value in a composite", "wrap(o) := [o.spec]\nv := wrap(" + obj + ")[0].x", "kind spec", "kind spec"},
	{"pattern parameter", "sp({\"spec\": s}) := s\nv := sp(" + obj + ").x", "*", "*"},
	{"object.get path through a parameter", "at(o, p) := object.get(o, p, null)\nv := at(" + obj + `, ["spec", "x"])`, "kind spec.x", "kind spec.x"},
	{"output argument", "sp(o) := o.spec\nv := s.x if sp(" + obj + ", s)", "*", "*"},
	{"negated call", "has_x(o) if o.spec.x\nv := true if not has_x(" + obj + ")", "kind spec.x", "kind spec.x"},
	{"destructuring an object", `v := s.replicas if {"spec": s} = ` + obj, "*", "*"},
	{"destructuring an array", `v := a.x if [a, b] := [` + obj + `.spec, ` + obj + `.metadata]`, "kind metadata spec", "kind metadata spec"},
	{"assignment", `v := s.a if s := ` + obj + `.spec`, "kind spec.a", "kind spec.a"},
	{"unification binding", `v := s.a if s = ` + obj + `.spec`, "kind spec.a", "kind spec.a"},
	{"unification comparing", `v := s if { some s in input.parameters.specs; s = ` + obj + `.spec }`, "kind spec", "kind spec"},
	{"assigned but unused", `v := true if s := ` + obj + `.spec`, "kind spec{}", "kind spec{}"},
	{"with input", "h := " + obj + ".spec.a\nv := x if { x := h with input as {\"review\": {\"object\": {}}} }", "*", "*"},
	{"with a function", "sp(o) := o.spec\nv := x if { x := sp(" + obj + ").a with sp as json.marshal }", "*", "*"},
	{"comprehension", `v := [c.name | some c in ` + obj + `.spec.containers]`, "kind spec.containers", "kind spec.containers"},
	{"comprehension binding", `v := [n | o := ` + obj + `; n := o.metadata.name]`, "kind metadata.name", "kind metadata.name"},
	{"every", `v := true if every c in ` + obj + `.spec.containers { c.image }`, "kind spec.containers", "kind spec.containers"},
	{"head key", `v contains ` + obj + `.metadata.name`, "kind metadata.name", "kind metadata.name"},
	{"rule holding the object", "o := " + obj + "\nv := o.spec.a", "*", "*"},
	{"unreachable rule", "unused := " + obj + ".spec.z\nv := 1", "kind spec.z", "kind spec.z"},
	{"guard", `v := ` + obj + `.spec.a if ` + obj + `.kind == "Pod"`, "kind", "kind spec.a"},
	{"guard reversed, =", `v := ` + obj + `.spec.a if "Pod" = ` + obj + `.kind`, "kind", "kind spec.a"},
	{"guard in a set through a variable", `v := o.spec.a if { o := ` + obj + `; o.kind in {"Pod", "Job"} }`, "kind", "kind spec.a"},
	{"guard in an array", `v := ` + obj + `.spec.a if ` + obj + `.kind in ["Deployment"]`, "kind spec.a", "kind"},
	{"reads before the guard", `v := x if { x := ` + obj + `.spec.b; ` + obj + `.kind == "Pod" }`, "kind spec.b{}", "kind spec.b"},
	{"negated guard does not refine", `v := ` + obj + `.spec.a if not ` + obj + `.kind == "Pod"`, "kind spec.a", "kind spec.a"},
	{"guard in a comprehension does not refine", `v := [x | ` + obj + `.kind == "Pod"; x := ` + obj + `.spec.a]`, "kind spec.a", "kind spec.a"},
	{"guard on a part does not refine", `v := s.a if { s := ` + obj + `.spec; s.kind == "Pod" }`, "kind spec.a spec.kind", "kind spec.a spec.kind"},
	{"else chain", `v := ` + obj + `.spec.a if ` + obj + `.kind == "Pod" else := ` + obj + `.spec.b if ` + obj + `.kind == "Deployment" else := ` + obj + `.spec.c`, "kind spec.b spec.c", "kind spec.a spec.c"},
	{"guard in a function", "ps(o) := o.spec.template.spec if o.kind == \"Deployment\"\nps(o) := o.spec if o.kind == \"Pod\"\nv := ps(" + obj + ").x", "kind spec.template.spec.x", "kind spec.x"},
	{"guard on a parameter given a part", "f(o) := o.a if o.kind == \"Pod\"\nv := f(" + obj + ".spec)", "kind spec.a spec.kind", "kind spec.a spec.kind"},
	{"guard on a parameter given something else", "f(o, p) := p.a if o.kind == \"Pod\"\nv := f({\"kind\": \"Pod\"}, " + obj + ".spec)", "kind spec.a", "kind spec.a"},
	{"import of the object", "import input.review.object as o\nv := o.spec.a", "*", "*"},
	{"import of input", "import input\nv := input.review.object.spec.a", "*", "*"},
	{"template string", `v := $"{` + obj + `.spec.a}"`, "*", "*"},
}

// ObjectReadsSource is the module of a case: its rules, and a violation that quotes v.
func ObjectReadsSource(c ObjectReadsCase) string {
	return "package crafted\n\n" + c.Source + "\n\nviolation contains {\"msg\": sprintf(\"%v\", [x])} if x := v\n"
}
