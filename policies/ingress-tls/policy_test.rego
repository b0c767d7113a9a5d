package isms.library.ingress_tls_test

import data.isms.library.ingress_tls as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

ingress(tls, rules) := {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "payments"}, "spec": {"tls": tls, "rules": rules}}

test_all_hosts_tls_passes if {
	count(violations(ingress([{"hosts": ["a.example.com", "b.example.com"]}], [{"host": "a.example.com"}, {"host": "b.example.com"}]), {})) == 0
}

test_host_without_tls_fails if {
	vs := violations(ingress([{"hosts": ["a.example.com"]}], [{"host": "a.example.com"}, {"host": "b.example.com"}]), {})
	count(vs) == 1
	some v in vs
	v.msg == "Ingress payments/web serves host b.example.com without TLS: add it to spec.tls with a certificate"
}

test_no_tls_and_no_host_fails if {
	count(violations(ingress([], [{"http": {}}]), {})) == 1
}

# A TLS entry without hosts applies to every host.
test_tls_without_hosts_covers_every_host if {
	count(violations(ingress([{"secretName": "wildcard-tls"}], [{"host": "a.example.com"}, {"http": {}}]), {})) == 0
	count(violations(ingress([{"hosts": [], "secretName": "wildcard-tls"}], [{"host": "a.example.com"}]), {})) == 0
	count(violations(ingress([{"hosts": null, "secretName": "wildcard-tls"}], [{"host": "a.example.com"}]), {})) == 0
}

test_null_host_is_every_host if {
	vs := violations(ingress([{"hosts": ["a.example.com"]}], [{"host": null}]), {})
	some v in vs
	v.details.host == "*"
}
