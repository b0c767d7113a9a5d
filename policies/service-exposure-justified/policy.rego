package isms.library.service_exposure_justified

# ISMS-LIB-073: Services that expose workloads outside the cluster network (LoadBalancer,
# NodePort; parameter types) carry a justification annotation (parameter annotation).

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

types := object.get(input.parameters, "types", ["LoadBalancer", "NodePort"])

annotation := object.get(input.parameters, "annotation", "isms.dev/exposure-justification")

violation contains {"msg": msg, "details": {"type": service.spec.type, "annotation": annotation}} if {
	service := input.review.object
	service.kind == "Service"
	service.spec.type in types
	blank(object.get(service, ["metadata", "annotations", annotation], ""))
	msg := sprintf("%s is of type %s, which exposes it outside the cluster, without the annotation %s recording why and who approved it", [subject, service.spec.type, annotation])
}

# blank holds for an annotation value that is empty, only spaces, or null (which the API server
# reads as empty).
blank(value) if value == null

blank(value) if trim_space(value) == ""
