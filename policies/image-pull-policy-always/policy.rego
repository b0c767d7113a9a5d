package isms.library.image_pull_policy_always

# ISMS-LIB-043: containers whose image is not pinned by digest use imagePullPolicy: Always,
# so that every start checks the registry's current content and the pull credentials.

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

violation contains {"msg": msg, "details": {"container": c.container.name, "containerType": c.field, "imagePullPolicy": policy}} if {
	some c in containers
	not contains(c.container.image, "@sha256:")
	policy := pull_policy(c.container)
	policy != "Always"
	msg := sprintf("%s: %s %q uses the mutable image %q with imagePullPolicy %s; set Always or pin the image by digest", [subject, c.label, c.container.name, c.container.image, policy])
}

# pull_policy is the container's imagePullPolicy as the API server sets it: when unset (or
# null) it defaults to Always for an image tagged latest or not tagged, IfNotPresent otherwise,
# so that a manifest checked offline gets the verdict of the object in the cluster.
pull_policy(container) := container.imagePullPolicy if container.imagePullPolicy != null

pull_policy(container) := "Always" if {
	object.get(container, "imagePullPolicy", null) == null
	latest_or_untagged(container.image)
}

pull_policy(container) := "IfNotPresent" if {
	object.get(container, "imagePullPolicy", null) == null
	not latest_or_untagged(container.image)
}

# latest_or_untagged holds for an image reference whose last path segment has no tag, or the
# tag latest (splitting on "/" first keeps a registry port from looking like a tag).
latest_or_untagged(image) if {
	segments := split(image, "/")
	parts := split(segments[count(segments) - 1], ":")
	count(parts) == 1
}

latest_or_untagged(image) if endswith(image, ":latest")
