package isms.library.no_service_account_token_automount_test

import data.isms.library.no_service_account_token_automount as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

image := "registry.example.com/payments/api@sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108"

# container returns a container named app, with the fields of extra added.
container(extra) := object.union({"name": "app", "image": image}, extra)

deployment(spec) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "api", "namespace": "payments"},
	"spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "api"}}, "spec": spec}},
}

cronjob(spec) := {
	"apiVersion": "batch/v1",
	"kind": "CronJob",
	"metadata": {"name": "report", "namespace": "payments"},
	"spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}},
}

pod(spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "payments"}, "spec": spec}

# owned_pod is a Pod created by a ReplicaSet: its owner is evaluated instead.
owned_pod(spec) := object.union(pod(spec), {"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-7d4b9", "controller": true}]}})

inventory_with(account, automount) := {"namespace": {"payments": {"v1": {"ServiceAccount": {account: {"automountServiceAccountToken": automount}}}}}}

test_pod_false_passes if {
	count(violations(deployment({"automountServiceAccountToken": false, "containers": [container({})]}), {})) == 0
}

test_unset_fails if {
	vs := violations(deployment({"serviceAccountName": "api", "containers": [container({})]}), {})
	some v in vs
	v.msg == `Deployment payments/api mounts the token of ServiceAccount "api" into its pods; set automountServiceAccountToken: false unless it calls the Kubernetes API`
}

test_service_account_false_passes if {
	obj := deployment({"serviceAccountName": "api", "containers": [container({})]})
	vs := violations(obj, {}) with data.inventory as inventory_with("api", false)
	count(vs) == 0
}

test_pod_true_overrides_service_account if {
	obj := cronjob({"serviceAccountName": "api", "automountServiceAccountToken": true, "containers": [container({})]})
	vs := violations(obj, {}) with data.inventory as inventory_with("api", false)
	count(vs) == 1
}

test_allowed_service_account if {
	obj := deployment({"serviceAccountName": "operator", "automountServiceAccountToken": true, "containers": [container({})]})
	count(violations(obj, {"allowedServiceAccounts": ["operator"]})) == 0
}

# automountServiceAccountToken: null on the pod is unset: the ServiceAccount's setting, or true,
# applies; serviceAccountName: null is the default ServiceAccount.
test_null_automount_reads_as_unset if {
	spec := {"serviceAccountName": null, "automountServiceAccountToken": null, "containers": [container({})]}
	vs := violations(deployment(spec), {})
	some v in vs
	v.details.serviceAccount == "default"
}
