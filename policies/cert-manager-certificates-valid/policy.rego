package isms.library.cert_manager_certificates_valid

# ISMS-LIB-102: cert-manager Certificates are Ready and their status.notAfter is more than
# minDaysBeforeExpiry days away.

cert := input.review.object

subject := sprintf("Certificate %s/%s", [cert.metadata.namespace, cert.metadata.name])

min_days := object.get(input.parameters, "minDaysBeforeExpiry", 14)

ready_conditions := [c | some c in object.get(cert, ["status", "conditions"], []); c.type == "Ready"]

ready if {
	some c in ready_conditions
	c.status == "True"
}

# why_not_ready quotes the Ready condition's reason and message, cut to 256 characters.
why_not_ready := sprintf("Ready is %s (%s: %s)", [c.status, object.get(c, "reason", ""), substring(object.get(c, "message", ""), 0, 256)]) if {
	some c in ready_conditions
} else := "it has no Ready condition"

day_ns := ((24 * 60) * 60) * 1000000000

days_left := (time.parse_rfc3339_ns(cert.status.notAfter) - time.now_ns()) / day_ns

violation contains {"msg": msg, "details": {"ready": false}} if {
	not ready
	msg := sprintf("%s is not Ready: %s", [subject, why_not_ready])
}

violation contains {"msg": msg, "details": {"notAfter": cert.status.notAfter, "minDaysBeforeExpiry": min_days}} if {
	days_left <= min_days
	msg := sprintf("%s expires at %s, in %d day(s), within %d days: its renewal is failing", [subject, cert.status.notAfter, floor(days_left), min_days])
}

violation contains {"msg": msg, "details": {"notAfter": object.get(cert, ["status", "notAfter"], null)}} if {
	not days_left
	msg := sprintf("%s has no readable status.notAfter: it has not been issued", [subject])
}
