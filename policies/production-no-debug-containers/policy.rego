package isms.library.production_no_debug_containers

# ISMS-LIB-045: no Pod in a production namespace carries an ephemeral (debug) container,
# unless its image is exempt or the namespace is labelled for break-glass. Pods that a
# controller owns are checked: the ephemeral container exists only on the Pod.

pod := input.review.object

subject := sprintf("Pod %s/%s", [pod.metadata.namespace, pod.metadata.name])

label := object.get(input.parameters, "environmentLabel", "isms.dev/environment")

production_values := object.get(input.parameters, "productionValues", ["production", "prod"])

# namespace_labels are the labels of the Pod's Namespace, read from the inventory by name
# (the Control lists Namespaces in spec.inventory).
namespace_labels := object.get(data.inventory, ["cluster", "v1", "Namespace", pod.metadata.namespace, "metadata", "labels"], {})

production if namespace_labels[label] in production_values

# break_glass holds when the parameter breakGlassLabel names a label the namespace sets to "true".
break_glass if namespace_labels[input.parameters.breakGlassLabel] == "true"

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

# ephemeral is the Pod's ephemeral containers; null reads as none.
ephemeral := value_at(pod, ["spec", "ephemeralContainers"], [])

# exempt_image holds when an entry of the parameter exemptImages names the image: the same
# reference, or, for an entry that ends in "*", any reference that starts with the rest.
exempt_image(image) if {
	some pattern in object.get(input.parameters, "exemptImages", [])
	prefix_glob_match(pattern, image)
}

prefix_glob_match(pattern, value) if pattern == value

prefix_glob_match(pattern, value) if {
	endswith(pattern, "*")
	startswith(value, trim_suffix(pattern, "*"))
}

target(c) := sprintf(" in the processes of container %q", [c.targetContainerName]) if {
	is_string(c.targetContainerName)
	c.targetContainerName != ""
} else := ""

violation contains {"msg": msg, "details": details} if {
	pod.kind == "Pod"
	production
	not break_glass
	some c in ephemeral
	not exempt_image(c.image)
	msg := sprintf("%s: ephemeral container %q (image %v) was attached to this running production Pod (kubectl debug)%s: a privileged utility outside the reviewed manifest; delete the Pod once the investigation is over", [subject, c.name, c.image, target(c)])
	details := {"container": c.name, "containerType": "ephemeralContainers", "image": c.image, "targetContainerName": object.get(c, "targetContainerName", null)}
}
