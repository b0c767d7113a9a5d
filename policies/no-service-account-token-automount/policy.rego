package isms.library.no_service_account_token_automount

# ISMS-LIB-018: pods do not mount a ServiceAccount token unless they declare they need one:
# automountServiceAccountToken is false on the pod, or unset on the pod and false on its
# ServiceAccount (read from data.inventory by name). Names in the parameter
# allowedServiceAccounts may mount their token.

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

# The ServiceAccount's own setting, looked up by key; true when it or the setting is missing.
account_automounts(namespace, name) := value if {
	value := data.inventory.namespace[namespace].v1.ServiceAccount[name].automountServiceAccountToken
} else := true

automounts(spec) := spec.automountServiceAccountToken if spec.automountServiceAccountToken != null

automounts(spec) := account_automounts(input.review.object.metadata.namespace, service_account(spec)) if {
	value_at(spec, ["automountServiceAccountToken"], null) == null
}

violation contains {"msg": msg, "details": {"serviceAccount": account}} if {
	spec := pod_spec(input.review.object)
	automounts(spec) == true
	account := service_account(spec)
	not account in object.get(input.parameters, "allowedServiceAccounts", [])
	msg := sprintf("%s mounts the token of ServiceAccount %q into its pods; set automountServiceAccountToken: false unless it calls the Kubernetes API", [subject, account])
}
