package isms.library.require_seccomp_profile

# ISMS-LIB-030: every container runs under a seccomp profile (RuntimeDefault or Localhost),
# set on the container or inherited from the pod. With the parameter mode: baseline, an unset
# profile complies and only the profiles set are checked.

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

mode := object.get(input.parameters, "mode", "restricted")

default_allowed := ["RuntimeDefault", "Localhost"]

allowed := {t | some t in object.get(input.parameters, "allowedProfileTypes", default_allowed)}

localhost_patterns := object.get(input.parameters, "allowedLocalhostProfiles", ["*"])

pod_profile := value_at(pod_spec(input.review.object), ["securityContext", "seccompProfile"], null)

# profile_problem says why a profile that is set does not comply; undefined when it complies.
profile_problem(profile) := sprintf("uses the seccomp profile %s, which is not allowed %v", [profile.type, sort(allowed)]) if {
	not profile.type in allowed
}

profile_problem(profile) := sprintf("uses the Localhost seccomp profile %q, which is not in allowedLocalhostProfiles %v", [name, localhost_patterns]) if {
	profile.type == "Localhost"
	profile.type in allowed
	name := value_at(profile, ["localhostProfile"], "")
	not localhost_allowed(name)
}

localhost_allowed(name) if {
	some pattern in localhost_patterns
	prefix_glob_match(pattern, name)
}

violation contains {"msg": msg, "details": {"level": "pod", "seccompProfile": pod_profile.type}} if {
	pod_spec(input.review.object)
	problem := profile_problem(pod_profile)
	msg := sprintf("%s: the pod %s; set spec.securityContext.seccompProfile.type to RuntimeDefault", [subject, problem])
}

violation contains {"msg": msg, "details": details} if {
	some c in containers
	profile := value_at(c.container, ["securityContext", "seccompProfile"], null)
	problem := profile_problem(profile)
	msg := sprintf("%s: %s %q %s; set securityContext.seccompProfile.type to RuntimeDefault", [subject, c.label, c.container.name, problem])
	details := {"container": c.container.name, "containerType": c.field, "seccompProfile": profile.type}
}

# In the restricted mode a profile must be set, on the container or the pod; in the baseline
# mode unset complies (the runtime's default then applies, which is Unconfined unless the
# kubelet runs with --seccomp-default).
violation contains {"msg": msg, "details": details} if {
	mode == "restricted"
	pod_profile == null
	some c in containers
	value_at(c.container, ["securityContext", "seccompProfile"], null) == null
	msg := sprintf("%s: %s %q has no seccomp profile, so every system call is allowed (Unconfined)%s; set securityContext.seccompProfile.type to RuntimeDefault", [subject, c.label, c.container.name, legacy_annotation_note])
	details := {"container": c.container.name, "containerType": c.field, "seccompProfile": "Unset"}
}

# The seccomp annotations (seccomp.security.alpha.kubernetes.io/pod and
# container.seccomp.security.alpha.kubernetes.io/<name>) are not read: the kubelet ignores them
# since Kubernetes v1.27, older than every supported release. A pod that
# still carries them is told why they do not count.
legacy_annotation_note := " (its seccomp annotations are ignored since Kubernetes v1.27)" if {
	some key, _ in pod_annotations(input.review.object)
	legacy_seccomp_annotation(key)
} else := ""

legacy_seccomp_annotation("seccomp.security.alpha.kubernetes.io/pod")

legacy_seccomp_annotation(key) if startswith(key, "container.seccomp.security.alpha.kubernetes.io/")

# pod_annotations are the annotations of the subject's pods.
pod_annotations(obj) := value_at(obj, ["metadata", "annotations"], {}) if obj.kind == "Pod"

pod_annotations(obj) := value_at(obj, ["spec", "jobTemplate", "spec", "template", "metadata", "annotations"], {}) if obj.kind == "CronJob"

pod_annotations(obj) := value_at(obj, ["spec", "template", "metadata", "annotations"], {}) if not obj.kind in {"Pod", "CronJob"}
