package isms.library.restrict_selinux_options

# ISMS-LIB-035: SELinux options do not escape the container domain: the type is one of the
# container types (parameter allowedTypes) and user and role are not set.

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

default_types := ["container_t", "container_init_t", "container_kvm_t", "container_engine_t"]

allowed_types := {t | some t in object.get(input.parameters, "allowedTypes", default_types)}

# options holds every seLinuxOptions of the subject with where it is set.
options contains {"where": "the pod", "container": "", "options": opts} if {
	opts := pod_spec(input.review.object).securityContext.seLinuxOptions
	is_object(opts)
}

options contains {"where": sprintf("%s %q", [c.label, c.container.name]), "container": c.container.name, "options": opts} if {
	some c in containers
	opts := c.container.securityContext.seLinuxOptions
	is_object(opts)
}

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

violation contains {"msg": msg, "details": {"container": o.container, "seLinuxOptions": o.options}} if {
	some o in options
	type := value_at(o.options, ["type"], "")
	type != ""
	not type in allowed_types
	msg := sprintf("%s: %s sets the SELinux type %s, which can run it outside the container SELinux domain", [subject, o.where, type])
}

violation contains {"msg": msg, "details": {"container": o.container, "seLinuxOptions": o.options}} if {
	some o in options
	some field in ["user", "role"]
	value_at(o.options, [field], "") != ""
	msg := sprintf("%s: %s sets the SELinux %s %s; leave user and role to the container runtime", [subject, o.where, field, o.options[field]])
}
