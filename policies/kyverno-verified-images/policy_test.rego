package isms.library.kyverno_verified_images_test

import data.isms.library.kyverno_verified_images as policy

violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

signed := "ghcr.io/acme/api:1.0@sha256:1111111111111111111111111111111111111111111111111111111111111111"

pod(annotations, containers) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api-1", "namespace": "payments", "annotations": annotations}, "spec": {"containers": containers}}

verify(m) := {"kyverno.io/verify-images": json.marshal(m)}

test_verified_image_passes if {
	count(violations(pod(verify({signed: "pass"}), [{"name": "app", "image": signed}]), {})) == 0
}

test_legacy_boolean_passes if {
	count(violations(pod(verify({signed: true}), [{"name": "app", "image": signed}]), {})) == 0
}

test_failed_or_skipped_fails if {
	count(violations(pod(verify({signed: "fail"}), [{"name": "app", "image": signed}]), {})) == 1
	count(violations(pod(verify({signed: "skip"}), [{"name": "app", "image": signed}]), {})) == 1
}

test_no_annotation_fails_naming_the_owner if {
	p := object.union(pod({}, [{"name": "app", "image": "nginx:1.27"}]), {"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "name": "api-7d9f", "controller": true}]}})
	vs := violations(p, {})
	count(vs) == 1
	some v in vs
	v.msg == "Pod payments/api-1 (owned by ReplicaSet api-7d9f): image nginx:1.27 of container app passed no Kyverno signature or attestation check (the Pod has no kyverno.io/verify-images annotation)"
}

test_unverified_sidecar_and_init_container_fail if {
	containers := [{"name": "app", "image": signed}, {"name": "proxy", "image": "envoyproxy/envoy:v1.30"}]
	p := object.union(pod(verify({signed: "pass"}), containers), {"spec": {"initContainers": [{"name": "init", "image": "busybox:1.36"}]}})
	vs := violations(p, {})
	count(vs) == 2
	some v in vs
	contains(v.msg, "image busybox:1.36 of initContainer init")
}

test_docker_hub_normalised_reference_passes if {
	count(violations(pod(verify({"docker.io/library/nginx:1.27": "pass"}), [{"name": "app", "image": "nginx:1.27"}]), {})) == 0
}

test_same_digest_under_another_reference_passes if {
	other := "ghcr.io/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	count(violations(pod(verify({other: "pass"}), [{"name": "app", "image": signed}]), {})) == 0
}

test_unreadable_annotation_fails if {
	count(violations(pod({"kyverno.io/verify-images": "not json"}, [{"name": "app", "image": signed}]), {})) == 1
}

test_exempt_images if {
	p := pod({}, [{"name": "pause", "image": "registry.k8s.io/pause:3.9"}])
	count(violations(p, {})) == 1
	count(violations(p, {"exemptImages": ["registry.k8s.io/*"]})) == 0
	count(violations(p, {"exemptImages": ["registry.k8s.io/coredns/*"]})) == 1
}
