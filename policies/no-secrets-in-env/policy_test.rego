package isms.library.no_secrets_in_env_test

import data.isms.library.no_secrets_in_env as policy

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

test_secret_ref_passes if {
	env := [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}, {"name": "LOG_LEVEL", "value": "debug"}]
	count(violations(deployment({"containers": [container({"env": env})]}), {})) == 0
}

test_literal_fails if {
	vs := violations(deployment({"containers": [container({"env": [{"name": "github_token", "value": "ghp_x"}]})]}), {})
	some v in vs
	v.msg == `Deployment payments/api: container "app" sets github_token as a literal value in the manifest; read it from a Secret with valueFrom.secretKeyRef`
}

test_init_container_of_cronjob_fails if {
	spec := {"containers": [container({})], "initContainers": [container({"name": "init", "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}]})]}
	count(violations(cronjob(spec), {})) == 1
}

test_allowed_names_parameter if {
	env := [{"name": "TOKEN_TTL", "value": "3600"}]
	count(violations(pod({"containers": [container({"env": env})]}), {"allowedNames": ["TOKEN_TTL"]})) == 0
	count(violations(pod({"containers": [container({"env": env})]}), {})) == 1
}

test_null_value_with_secret_ref_passes if {
	env := [{"name": "DB_PASSWORD", "value": null, "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
	count(violations(deployment({"containers": [container({"env": env})]}), {})) == 0
}
