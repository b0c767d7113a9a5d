package isms.library.default_service_account_no_automount

# ISMS-LIB-019: the default ServiceAccount of each namespace does not mount its token
# automatically.

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

violation contains {"msg": msg, "details": {"serviceAccount": "default"}} if {
	account := input.review.object
	account.kind == "ServiceAccount"
	account.metadata.name == "default"
	object.get(account, "automountServiceAccountToken", true) != false
	msg := sprintf("%s mounts its token into every pod that names no ServiceAccount; set automountServiceAccountToken: false", [subject])
}
