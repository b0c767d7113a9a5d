package isms.library.container_memory_limits

# ISMS-LIB-051: containers and init containers have a memory limit (and a CPU limit when the
# parameter requireCpuLimit is true).

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

limit_names := ["memory", "cpu"] if input.parameters.requireCpuLimit == true
else := ["memory"]

violation contains {"msg": msg, "details": {"container": c.container.name, "containerType": c.field, "resource": name}} if {
	some c in containers
	c.field != "ephemeralContainers"
	some name in limit_names
	value_at(c.container, ["resources", "limits", name], null) == null
	msg := sprintf("%s: %s %q has no %s limit, so it can exhaust the node and starve other workloads", [subject, c.label, c.container.name, name])
}

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

# quantity is the value of a Kubernetes quantity ("500m", "1Gi", "129e6", or a number) as a
# number, with the API's suffixes: m, k, M, G... for powers of ten, Ki, Mi, Gi... for powers of
# two, n and u (which units.parse lacks) for 10^-9 and 10^-6. Undefined for a string the API
# server would refuse.
quantity(q) := q if is_number(q)

quantity(q) := units.parse(q) if {
	is_string(q)
	not endswith(q, "n")
	not endswith(q, "u")
}

quantity(q) := units.parse(trim_suffix(q, "n")) / 1000000000 if {
	is_string(q)
	endswith(q, "n")
}

quantity(q) := units.parse(trim_suffix(q, "u")) / 1000000 if {
	is_string(q)
	endswith(q, "u")
}

# The parameter maxLimits bounds each resource named in it (e.g. {"cpu": "2", "memory": "4Gi"}).
violation contains {"msg": msg, "details": {"container": c.container.name, "containerType": c.field, "resource": name, "limit": value, "maximum": max}} if {
	some name, max in object.get(input.parameters, "maxLimits", {})
	some c in containers
	c.field != "ephemeralContainers"
	value := value_at(c.container, ["resources", "limits", name], null)
	value != null
	quantity(value) > quantity(max)
	msg := sprintf("%s: %s %q has a limit %v of %s, more than the maximum of %v", [subject, c.label, c.container.name, value, name, max])
}

violation contains {"msg": msg, "details": {"container": c.container.name, "containerType": c.field, "resource": name, "limit": value}} if {
	some name, _ in object.get(input.parameters, "maxLimits", {})
	some c in containers
	c.field != "ephemeralContainers"
	value := value_at(c.container, ["resources", "limits", name], null)
	value != null
	not quantity(value)
	msg := sprintf("%s: %s %q has a limit %v of %s, which is not a Kubernetes quantity", [subject, c.label, c.container.name, value, name])
}
