package isms.library.restrict_apparmor_profile

# ISMS-LIB-034: no pod or container disables AppArmor, through securityContext.appArmorProfile
# or the legacy container.apparmor.security.beta.kubernetes.io annotations.

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

default_allowed := ["RuntimeDefault", "Localhost"]

allowed := {t | some t in object.get(input.parameters, "allowedProfileTypes", default_allowed)}

annotation_prefix := "container.apparmor.security.beta.kubernetes.io/"

# pod_annotations are the annotations of the subject's pods.
pod_annotations(obj) := object.get(obj, ["metadata", "annotations"], {}) if obj.kind == "Pod"

pod_annotations(obj) := object.get(obj, ["spec", "jobTemplate", "spec", "template", "metadata", "annotations"], {}) if obj.kind == "CronJob"

pod_annotations(obj) := object.get(obj, ["spec", "template", "metadata", "annotations"], {}) if not obj.kind in {"Pod", "CronJob"}

# The legacy annotation values that correspond to the allowed types. An empty (or null) value
# leaves the runtime's default, as the Pod Security Standards allow.
annotation_allowed(value) if value in {"", null}

annotation_allowed(value) if {
	value == "runtime/default"
	"RuntimeDefault" in allowed
}

annotation_allowed(value) if {
	startswith(value, "localhost/")
	"Localhost" in allowed
}

violation contains {"msg": msg, "details": {"level": "pod", "appArmorProfile": type}} if {
	type := pod_spec(input.review.object).securityContext.appArmorProfile.type
	type != null
	not type in allowed
	msg := sprintf("%s sets the pod's AppArmor profile to %s; use RuntimeDefault or a Localhost profile", [subject, type])
}

violation contains {"msg": msg, "details": details} if {
	some c in containers
	type := c.container.securityContext.appArmorProfile.type
	type != null
	not type in allowed
	msg := sprintf("%s: %s %q sets the AppArmor profile %s; use RuntimeDefault or a Localhost profile", [subject, c.label, c.container.name, type])
	details := {"container": c.container.name, "containerType": c.field, "appArmorProfile": type}
}

violation contains {"msg": msg, "details": {"annotation": key, "value": value}} if {
	pod_spec(input.review.object)
	some key, value in pod_annotations(input.review.object)
	startswith(key, annotation_prefix)
	not annotation_allowed(value)
	msg := sprintf("%s: annotation %s sets the AppArmor profile %q; use runtime/default or localhost/<profile>", [subject, key, value])
}
