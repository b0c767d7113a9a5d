package isms.library.bad_policy

violation contains {"msg": sprintf("Deployment %s/%s has no team label", [obj.metadata.namespace, obj.metadata.name])} if {
	obj := input.review.object
	not obj.metadata.labels.team
}
