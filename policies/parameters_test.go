package policies_test

import (
	"encoding/json"
	"testing"

	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/policies"
)

// TestParameterSchemas validates the examples the descriptions and policies/README.md give for
// the parameters, and values they must refuse, against each Policy's parametersSchema with the
// validator the operator uses (the API server's), so that a documented example is accepted and
// a malformed one is refused before any evaluation.
func TestParameterSchemas(t *testing.T) {
	cases := map[string]struct {
		policy     string
		parameters string
		valid      bool
	}{
		"exempt prefix glob":          {"no-privileged-containers", `{"exemptImages": ["registry.example.com/sidecars/*"]}`, true},
		"exempt exact image":          {"run-as-non-root", `{"exemptImages": ["registry.example.com/proxy:1.2.3"]}`, true},
		"exempt star inside":          {"no-privileged-containers", `{"exemptImages": ["registry.*.com/sidecars"]}`, false},
		"exempt not a list":           {"no-probe-host", `{"exemptImages": "registry.example.com/*"}`, false},
		"max limits quantities":       {"container-memory-limits", `{"maxLimits": {"cpu": "2", "memory": "4Gi"}}`, true},
		"max limits integer":          {"container-memory-limits", `{"maxLimits": {"cpu": 2}}`, true},
		"max limits milli and exp":    {"container-memory-limits", `{"maxLimits": {"cpu": "1500m", "memory": "129e6"}}`, true},
		"max limits not a quantity":   {"container-memory-limits", `{"maxLimits": {"memory": "4 GB"}}`, false},
		"max requests quantities":     {"container-resource-requests", `{"maxRequests": {"cpu": "1500m", "memory": "2Gi"}}`, true},
		"max requests not a quantity": {"container-resource-requests", `{"maxRequests": {"cpu": "two"}}`, false},
		"seccomp baseline mode":       {"require-seccomp-profile", `{"mode": "baseline"}`, true},
		"seccomp unknown mode":        {"require-seccomp-profile", `{"mode": "privileged"}`, false},
		"seccomp localhost globs":     {"require-seccomp-profile", `{"allowedLocalhostProfiles": ["profiles/audited/*"]}`, true},
		"user namespaces":             {"run-as-non-root", `{"exemptUserNamespaces": true}`, true},
		"user namespaces not boolean": {"default-proc-mount", `{"exemptUserNamespaces": "yes"}`, false},
		"sysctl globs":                {"restrict-sysctls", `{"allowedSysctls": ["kernel.shm_rmid_forced", "net.ipv4.tcp_*"]}`, true},
		"sysctl star inside":          {"restrict-sysctls", `{"allowedSysctls": ["net.*.tcp_syncookies"]}`, false},
		"volume types":                {"restrict-volume-types", `{"allowedVolumeTypes": ["configMap", "emptyDir"]}`, true},
		"volume type not a field":     {"restrict-volume-types", `{"allowedVolumeTypes": ["host-path"]}`, false},
		"label patterns":              {"namespace-owner-label", `{"labelPatterns": {"isms.dev/owner": "^team-[a-z0-9-]+$"}}`, true},
		"label pattern not a string":  {"workload-owner-labels", `{"labelPatterns": {"isms.dev/owner": 1}}`, false},
		"max replicas":                {"production-replicas", `{"maxReplicas": 20}`, true},
		"max replicas zero":           {"production-replicas", `{"maxReplicas": 0}`, false},
		"allowed roles":               {"rbac-no-anonymous-binding", `{"allowedRoles": ["public-docs-*"]}`, true},
		"max retention days":          {"velero-backup-retention", `{"maxRetentionDays": 90}`, true},
		"max retention days zero":     {"velero-backup-retention", `{"maxRetentionDays": 0}`, false},
		"require explicit ttl":        {"velero-backup-retention", `{"requireExplicitTTL": true}`, true},
		"require explicit ttl string": {"velero-backup-retention", `{"requireExplicitTTL": "yes"}`, false},
		"allowed environments":        {"namespace-environment-label", `{"allowedEnvironments": ["production", "staging", "qa"]}`, true},
		"allowed environments string": {"namespace-environment-label", `{"allowedEnvironments": "production"}`, false},
		"debug exempt images":         {"production-no-debug-containers", `{"exemptImages": ["registry.example.com/tools/debug-readonly@sha256:*"]}`, true},
		"debug exempt star inside":    {"production-no-debug-containers", `{"exemptImages": ["*/debug"]}`, false},
		"break glass label":           {"production-no-debug-containers", `{"breakGlassLabel": "isms.dev/break-glass"}`, true},
		"break glass label boolean":   {"production-no-debug-containers", `{"breakGlassLabel": true}`, false},
		"exempt namespaces":           {"namespace-egress-restricted", `{"exemptNamespaces": ["egress-proxy", "cert-manager*"]}`, true},
		"exempt namespaces star":      {"namespace-egress-restricted", `{"exemptNamespaces": ["cert-*-system"]}`, false},
		"web ports":                   {"namespace-egress-restricted", `{"webPorts": [80, 443, 8080, 8443]}`, true},
		"web port zero":               {"namespace-egress-restricted", `{"webPorts": [0]}`, false},
		"web port named":              {"namespace-egress-restricted", `{"webPorts": ["https"]}`, false},
	}
	lib, err := policies.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string][]byte{}
	for _, p := range lib {
		if p.Metadata.ParametersSchema != nil {
			if schemas[p.Name], err = json.Marshal(p.Metadata.ParametersSchema); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			schema, ok := schemas[tc.policy]
			if !ok {
				t.Fatalf("%s has no parametersSchema", tc.policy)
			}
			err := params.ValidateParameters(schema, []byte(tc.parameters))
			if tc.valid && err != nil {
				t.Errorf("%s: %s refused: %v", tc.policy, tc.parameters, err)
			}
			if !tc.valid && err == nil {
				t.Errorf("%s: %s accepted", tc.policy, tc.parameters)
			}
		})
	}
}
