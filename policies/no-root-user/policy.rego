package isms.library.no_root_user

# ISMS-LIB-032: no container is told to run as UID 0 (runAsUser: 0) or, by default, with the
# root group (runAsGroup: 0; parameter checkRunAsGroup).

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

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

# Pods in a user namespace (hostUsers: false) are not checked when the parameter
# exemptUserNamespaces is true: their root is an unprivileged user of the node, and the Pod
# Security Standards' restricted profile accepts them since Kubernetes v1.35.
user_namespace_exempt if {
	input.parameters.exemptUserNamespaces == true
	pod_spec(input.review.object).hostUsers == false
}

fields := ["runAsUser", "runAsGroup"] if {
	object.get(input.parameters, "checkRunAsGroup", true) == true
} else := ["runAsUser"]

# The pod's setting is checked even when every container overrides it, as the Pod Security
# Standards say; a container is reported for its own setting only, so that a pod-level root is
# reported once.
violation contains {"msg": msg, "details": {"level": "pod", "field": field}} if {
	not user_namespace_exempt
	some field in fields
	value_at(pod_spec(input.review.object), ["securityContext", field], null) == 0
	msg := sprintf("%s: the pod runs with %s: 0 (root); use a non-zero ID", [subject, field])
}

violation contains {"msg": msg, "details": details} if {
	not user_namespace_exempt
	some c in containers
	some field in fields
	value_at(c.container, ["securityContext", field], null) == 0
	msg := sprintf("%s: %s %q runs with %s: 0 (root); use a non-zero ID", [subject, c.label, c.container.name, field])
	details := {"container": c.container.name, "containerType": c.field, "field": field}
}
