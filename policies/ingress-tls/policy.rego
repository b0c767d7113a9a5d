package isms.library.ingress_tls

# ISMS-LIB-072: every host of an Ingress is served over TLS: it is listed in spec.tls.

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

tls_hosts := {host | some tls in input.review.object.spec.tls; some host in tls.hosts}

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

# A TLS entry without hosts applies to every host of the Ingress (the API's default: the
# controller's wildcard host), so it covers every rule.
tls_for_every_host if {
	some tls in input.review.object.spec.tls
	count(value_at(tls, ["hosts"], [])) == 0
}

violation contains {"msg": msg, "details": {"host": host}} if {
	input.review.object.kind == "Ingress"
	not tls_for_every_host
	some rule in input.review.object.spec.rules
	host := value_at(rule, ["host"], "*")
	not host in tls_hosts
	msg := sprintf("%s serves host %s without TLS: add it to spec.tls with a certificate", [subject, host])
}
