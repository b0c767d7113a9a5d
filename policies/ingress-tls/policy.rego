package isms.library.ingress_tls

# ISMS-LIB-072: every host of an Ingress is served over TLS: it is listed in spec.tls.

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

tls_hosts := {host | some tls in input.review.object.spec.tls; some host in tls.hosts}

violation contains {"msg": msg, "details": {"host": host}} if {
	input.review.object.kind == "Ingress"
	some rule in input.review.object.spec.rules
	host := object.get(rule, "host", "*")
	not host in tls_hosts
	msg := sprintf("%s serves host %s without TLS: add it to spec.tls with a certificate", [subject, host])
}
