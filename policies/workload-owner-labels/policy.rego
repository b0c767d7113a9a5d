package isms.library.workload_owner_labels

# ISMS-LIB-003: workloads carry the labels that identify the asset and its owner
# (parameter labels, default app.kubernetes.io/name and isms.dev/owner).

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

required := object.get(input.parameters, "labels", ["app.kubernetes.io/name", "isms.dev/owner"])

violation contains {"msg": msg, "details": {"missingLabel": label}} if {
	pod_spec(input.review.object)
	some label in required
		blank(object.get(input.review.object, ["metadata", "labels", label], ""))
	msg := sprintf("%s has no label %s (missing or empty), so it cannot be traced to an asset and its owner", [subject, label])
}

# The parameter labelPatterns maps a label to the regular expression its value must match
# (e.g. {"isms.dev/owner": "^team-[a-z0-9-]+$"}); a label it names is checked when present.
violation contains {"msg": msg, "details": {"label": label, "value": value, "pattern": pattern}} if {
	pod_spec(input.review.object)
	some label, pattern in object.get(input.parameters, "labelPatterns", {})
	regex.is_valid(pattern)
	value := object.get(input.review.object, ["metadata", "labels", label], null)
	is_string(value)
	not regex.match(pattern, value)
	msg := sprintf("%s: label %s is %q, which does not match %s", [subject, label, value, pattern])
}

violation contains {"msg": msg, "details": {"label": label, "pattern": pattern}} if {
	pod_spec(input.review.object)
	some label, pattern in object.get(input.parameters, "labelPatterns", {})
	not regex.is_valid(pattern)
	msg := sprintf("parameter labelPatterns: the pattern %q of label %s is not a valid regular expression", [pattern, label])
}
# blank holds for a label value that is empty, only spaces, or null (which the API server reads
# as empty).
blank(value) if value == null

blank(value) if trim_space(value) == ""
