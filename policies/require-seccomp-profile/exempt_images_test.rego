package isms.library.require_seccomp_profile_exempt_images_test

# The parameter exemptImages: a container that violates the policy is not checked when its
# image matches an entry, and is checked when it does not.

import data.isms.library.require_seccomp_profile as policy

violations(spec, params) := vs if {
	obj := {
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {"name": "api", "namespace": "payments"},
		"spec": {"template": {"metadata": {"labels": {"app": "api"}}, "spec": spec}},
	}
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": object.union({}, params)}
}

# sidecar is a container that violates the policy, running image.
sidecar(image) := object.union({"name": "sidecar", "image": image}, {})

exempt_image := "registry.example.com/sidecars/proxy:1.4.2"

exempt_pattern := "registry.example.com/sidecars/*"

other_image := "registry.example.com/payments/api:1.0.0"

# The kinds of container whose exemption is tested: those the policy checks.
kinds := ["containers", "initContainers", "ephemeralContainers"]

test_sidecar_violates_without_exemption if {
	every kind in kinds {
		count(violations({kind: [sidecar(exempt_image)]}, {})) > 0
	}
}

test_image_under_exempt_prefix_is_not_checked if {
	every kind in kinds {
		count(violations({kind: [sidecar(exempt_image)]}, {"exemptImages": [exempt_pattern]})) == 0
	}
}

test_image_outside_exempt_prefix_is_checked if {
	count(violations({"containers": [sidecar(other_image)]}, {"exemptImages": [exempt_pattern]})) > 0
}

test_only_the_exempt_container_is_skipped if {
	spec := {"containers": [sidecar(exempt_image), object.union(sidecar(other_image), {"name": "app"})]}
	vs := violations(spec, {"exemptImages": [exempt_pattern]})
	count(vs) > 0
	every v in vs {
		v.details.container == "app"
	}
}

test_entry_without_star_is_an_exact_reference if {
	count(violations({"containers": [sidecar(exempt_image)]}, {"exemptImages": [exempt_image]})) == 0
	count(violations({"containers": [sidecar(exempt_image)]}, {"exemptImages": [trim_suffix(exempt_pattern, "*")]})) > 0
}
