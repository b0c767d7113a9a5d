package isms.library.image_digest_pinned

# ISMS-LIB-040: images are pinned by digest; with the parameter allowTags, a release tag that
# matches tagPattern is accepted as well.

# pod_spec is the pod spec of the subject: the pod template of a workload, the job template
# of a CronJob, or the spec of a Pod. ReplicaSets, Jobs and Pods that a controller owns are
# skipped: their owner is evaluated instead, so each problem is reported once.
pod_spec(obj) := obj.spec.template.spec if {
	obj.kind in {"Deployment", "StatefulSet", "DaemonSet"}
}

pod_spec(obj) := obj.spec.template.spec if {
	obj.kind in {"ReplicaSet", "Job"}
	not controlled(obj)
}

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

pod_spec(obj) := obj.spec if {
	obj.kind == "Pod"
	not controlled(obj)
}

controlled(obj) if {
	some ref in obj.metadata.ownerReferences
	ref.controller == true
}

# subject names the object in messages, e.g. Deployment payments/api.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

# The kinds of container a pod spec holds, with the words used in messages.
container_types := {
	"containers": "container",
	"initContainers": "init container",
	"ephemeralContainers": "ephemeral container",
}

# containers holds every container of the subject with its type, except those whose image
# the parameter exemptImages exempts.
containers contains {"container": c, "field": field, "label": label} if {
	spec := pod_spec(input.review.object)
	some field, label in container_types
	some c in object.get(spec, field, [])
	not exempt_image(c.image)
}

# exempt_image holds when an entry of the parameter exemptImages names the image: the same
# reference, or, for an entry that ends in "*", any reference that starts with the rest
# (e.g. "registry.example.com/sidecars/*").
exempt_image(image) if {
	some pattern in object.get(input.parameters, "exemptImages", [])
	prefix_glob_match(pattern, image)
}

prefix_glob_match(pattern, value) if pattern == value

prefix_glob_match(pattern, value) if {
	endswith(pattern, "*")
	startswith(value, trim_suffix(pattern, "*"))
}

# image_name is the last path segment of an image reference (name[:tag]); splitting on "/"
# first keeps a registry port (registry.example.com:5000/app) from looking like a tag.
image_name(image) := segments[count(segments) - 1] if segments := split(image, "/")

digest_pinned(image) if contains(image, "@sha256:")

# tag is the image's tag; images with neither tag nor digest have none.
tag(image) := t if {
	not digest_pinned(image)
	parts := split(image_name(image), ":")
	count(parts) == 2
	t := parts[1]
}

tag_accepted(image) if {
	input.parameters.allowTags == true
	regex.match(object.get(input.parameters, "tagPattern", `^v?[0-9]+\.[0-9]+\.[0-9]+$`), tag(image))
}

violation contains {"msg": msg, "details": {"container": c.container.name, "containerType": c.field, "image": image}} if {
	some c in containers
	image := c.container.image
	not digest_pinned(image)
	not tag_accepted(image)
	msg := sprintf("%s: %s %q uses image %q, which is not pinned by digest (name@sha256:...)", [subject, c.label, c.container.name, image])
}
