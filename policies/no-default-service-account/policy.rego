package isms.library.no_default_service_account

# ISMS-LIB-017: workloads run under their own ServiceAccount, not the namespace's default.

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

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

# service_account is the pod's ServiceAccount; unset, null or empty is "default", as the API
# server reads it.
service_account(spec) := name if {
	name := value_at(spec, ["serviceAccountName"], value_at(spec, ["serviceAccount"], ""))
	name != ""
} else := "default"

violation contains {"msg": msg, "details": {"serviceAccount": "default"}} if {
	spec := pod_spec(input.review.object)
	service_account(spec) == "default"
	msg := sprintf("%s runs under the namespace's default ServiceAccount; give it a dedicated ServiceAccount with only the permissions it needs", [subject])
}
