package isms.library.production_pod_disruption_budget

# ISMS-LIB-061: Deployments and StatefulSets in production namespaces have a
# PodDisruptionBudget that selects their pods. The inventory is keyed by name, so the PDB is
# looked up by a naming convention: the workload's name followed by one of the parameter
# pdbNameSuffixes (default "" and "-pdb").

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

label := object.get(input.parameters, "environmentLabel", "isms.dev/environment")

production_values := object.get(input.parameters, "productionValues", ["production", "prod"])

# production holds when the subject's namespace, read from the inventory by name (the
# Control lists Namespaces in spec.inventory), is labelled as a production environment.
production if {
	ns := input.review.object.metadata.namespace
	data.inventory.cluster.v1.Namespace[ns].metadata.labels[label] in production_values
}

suffixes := object.get(input.parameters, "pdbNameSuffixes", ["", "-pdb"])

# budgets holds the PodDisruptionBudgets named after the workload, found by key.
budgets contains pdb if {
	obj := input.review.object
	some suffix in suffixes
	pdb := data.inventory.namespace[obj.metadata.namespace]["policy/v1"].PodDisruptionBudget[concat("", [obj.metadata.name, suffix])]
}

pod_labels := object.get(input.review.object, ["spec", "template", "metadata", "labels"], {})

# selects holds when the budget's matchLabels all appear on the workload's pods.
selects(pdb) if {
	match := object.get(pdb, ["spec", "selector", "matchLabels"], {})
	count(match) > 0
	every key, value in match {
		pod_labels[key] == value
	}
}

expected_names := [concat("", [input.review.object.metadata.name, s]) | some s in suffixes]

violation contains {"msg": msg, "details": {"expectedNames": expected_names}} if {
	production
	count(budgets) == 0
	msg := sprintf("%s runs in a production namespace without a PodDisruptionBudget (looked for %v), so a node drain can stop all its pods at once", [subject, expected_names])
}

violation contains {"msg": msg, "details": {"podDisruptionBudget": pdb.metadata.name}} if {
	production
	count(budgets) > 0
	not any_selects
	some pdb in budgets
	msg := sprintf("%s: PodDisruptionBudget %s does not select its pods (its matchLabels are not all on the pod template)", [subject, pdb.metadata.name])
}

any_selects if {
	some pdb in budgets
	selects(pdb)
}
