package isms.library.run_as_non_root

# ISMS-LIB-031: every container sets runAsNonRoot: true, itself or through the pod.

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

# setting is a container's security setting, or the pod's when the container sets none (a
# null setting is none).
setting(container, name) := value_at(container, ["securityContext", name], value_at(pod_spec(input.review.object), ["securityContext", name], null))

# Pods in a user namespace (hostUsers: false) are not checked when the parameter
# exemptUserNamespaces is true: their root is an unprivileged user of the node, and the Pod
# Security Standards' restricted profile accepts them since Kubernetes v1.35.
user_namespace_exempt if {
	input.parameters.exemptUserNamespaces == true
	pod_spec(input.review.object).hostUsers == false
}

pod_run_as_non_root := value_at(pod_spec(input.review.object), ["securityContext", "runAsNonRoot"], null)

# runAsNonRoot: false on the pod fails even when every container sets true, as the Pod Security
# Standards say; its containers that set nothing are then not reported again.
violation contains {"msg": msg, "details": {"level": "pod"}} if {
	not user_namespace_exempt
	pod_run_as_non_root == false
	msg := sprintf("%s sets runAsNonRoot: false for the pod; set it to true", [subject])
}

violation contains {"msg": msg, "details": {"container": c.container.name, "containerType": c.field}} if {
	not user_namespace_exempt
	some c in containers
	not container_complies(c.container)
	msg := sprintf("%s: %s %q may run as root: runAsNonRoot is not true on the container or the pod", [subject, c.label, c.container.name])
}

container_complies(container) if setting(container, "runAsNonRoot") == true

# Unset on a container whose pod sets false: reported on the pod.
container_complies(container) if {
	pod_run_as_non_root == false
	value_at(container, ["securityContext", "runAsNonRoot"], null) == null
}
