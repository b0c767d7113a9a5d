package isms.library.cert_manager_certificates_valid_test

import data.isms.library.cert_manager_certificates_valid as policy

now := time.parse_rfc3339_ns("2026-03-01T00:00:00Z")

violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
		with time.now_ns as now
}

certificate(status) := {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "web-tls", "namespace": "shop"}, "spec": {"secretName": "web-tls", "dnsNames": ["shop.example.com"]}, "status": status}

ready_true := {"type": "Ready", "status": "True", "reason": "Ready", "message": "Certificate is up to date and has not expired"}

test_ready_and_far_from_expiry_passes if {
	count(violations(certificate({"conditions": [ready_true], "notAfter": "2026-05-30T00:00:00Z"}), {})) == 0
}

test_not_ready_fails_quoting_the_condition if {
	cond := {"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist"}
	vs := violations(certificate({"conditions": [cond]}), {})
	some v in vs
	v.msg == "Certificate shop/web-tls is not Ready: Ready is False (DoesNotExist: Issuing certificate as Secret does not exist)"
	# and it was never issued
	count(vs) == 2
}

test_no_conditions_fails if {
	some v in violations(certificate({"notAfter": "2026-05-30T00:00:00Z"}), {})
	v.msg == "Certificate shop/web-tls is not Ready: it has no Ready condition"
}

test_close_to_expiry_fails if {
	vs := violations(certificate({"conditions": [ready_true], "notAfter": "2026-03-10T00:00:00Z"}), {})
	count(vs) == 1
	some v in vs
	v.msg == "Certificate shop/web-tls expires at 2026-03-10T00:00:00Z, in 9 day(s), within 14 days: its renewal is failing"
}

test_expired_fails if {
	count(violations(certificate({"conditions": [ready_true], "notAfter": "2026-01-01T00:00:00Z"}), {})) == 1
}

test_min_days_parameter if {
	c := certificate({"conditions": [ready_true], "notAfter": "2026-03-10T00:00:00Z"})
	count(violations(c, {"minDaysBeforeExpiry": 7})) == 0
	count(violations(c, {"minDaysBeforeExpiry": 30})) == 1
}

test_long_message_is_cut if {
	cond := {"type": "Ready", "status": "False", "reason": "Failed", "message": concat("", ["x" | some _ in numbers.range(1, 1000)])}
	some v in violations(certificate({"conditions": [cond], "notAfter": "2026-05-30T00:00:00Z"}), {})
	count(v.msg) < 400
}
