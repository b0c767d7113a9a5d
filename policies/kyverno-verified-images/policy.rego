package isms.library.kyverno_verified_images

# ISMS-LIB-105: every image a Pod runs has a passing result in the kyverno.io/verify-images
# annotation Kyverno writes when a verifyImages rule admits the Pod.

pod := input.review.object

subject := sprintf("Pod %s/%s", [pod.metadata.namespace, pod.metadata.name])

# owner names the Pod's controller, to find where to fix it.
owner := sprintf(" (owned by %s %s)", [o.kind, o.name]) if {
	some o in object.get(pod, ["metadata", "ownerReferences"], [])
	o.controller == true
} else := ""

# results is the annotation's JSON object; an absent or unreadable annotation is empty.
results := json.unmarshal(pod.metadata.annotations["kyverno.io/verify-images"]) if {
	is_object(json.unmarshal(pod.metadata.annotations["kyverno.io/verify-images"]))
} else := {}

passed(result) if result == "pass"

passed(result) if result == true

# references are the names Kyverno may have recorded the image under.
references(image) := {image, concat("", ["docker.io/", image]), concat("", ["docker.io/library/", image])}

digest(ref) := concat("", ["@", d]) if {
	[_, d] := split(ref, "@")
}

verified(image) if {
	some ref in references(image)
	passed(results[ref])
}

verified(image) if {
	d := digest(image)
	some ref, result in results
	endswith(ref, d)
	passed(result)
}

# exempt: an image named exactly by a pattern, or starting with the part of a pattern before
# its trailing "*".
exempt(image) if image in object.get(input.parameters, "exemptImages", [])

exempt(image) if {
	some pattern in object.get(input.parameters, "exemptImages", [])
	endswith(pattern, "*")
	startswith(image, trim_suffix(pattern, "*"))
}

containers contains [kind, c] if {
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c in object.get(pod, ["spec", kind], [])
}

why := "the Pod has no kyverno.io/verify-images annotation" if count(results) == 0 else := "kyverno.io/verify-images has no passing result for it"

violation contains {"msg": msg, "details": {"container": c.name, "image": c.image}} if {
	some [kind, c] in containers
	not exempt(c.image)
	not verified(c.image)
	msg := sprintf("%s%s: image %s of %s %s passed no Kyverno signature or attestation check (%s)", [subject, owner, c.image, trim_suffix(kind, "s"), c.name, why])
}
