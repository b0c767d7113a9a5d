package policytest

import "fmt"

// BenchDeployment is the shape of test/bench's Deployments (workload.go benchDeployment) as
// a watch keeps them: with what the API server adds, without managedFields.
func BenchDeployment(i int) map[string]any {
	name := fmt.Sprintf("app-%06d", i)
	labels := func() map[string]any {
		return map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop",
			"app.kubernetes.io/version": fmt.Sprintf("1.%d.%d", i%13, i%7), "team": fmt.Sprintf("team-%02d", i%17)}
	}
	container := func(cname, image string, priv bool, port int64) map[string]any {
		probe := func(path string, period int64) map[string]any {
			return map[string]any{"httpGet": map[string]any{"path": path, "port": port, "scheme": "HTTP"}, "periodSeconds": period,
				"timeoutSeconds": int64(1), "successThreshold": int64(1), "failureThreshold": int64(3)}
		}
		return map[string]any{"name": cname, "image": image, "imagePullPolicy": "IfNotPresent",
			"ports": []any{map[string]any{"name": "http", "containerPort": port, "protocol": "TCP"}},
			"env": []any{map[string]any{"name": "LOG_LEVEL", "value": "info"}, map[string]any{"name": "PORT", "value": fmt.Sprint(port)},
				map[string]any{"name": "SERVICE_NAME", "value": name},
				map[string]any{"name": "POD_NAMESPACE", "valueFrom": map[string]any{"fieldRef": map[string]any{"apiVersion": "v1", "fieldPath": "metadata.namespace"}}}},
			"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"cpu": "500m", "memory": "256Mi"}},
			"securityContext": map[string]any{"privileged": priv, "allowPrivilegeEscalation": priv, "readOnlyRootFilesystem": true,
				"runAsNonRoot": true, "capabilities": map[string]any{"drop": []any{"ALL"}}},
			"livenessProbe": probe("/healthz", 10), "readinessProbe": probe("/readyz", 5),
			"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
	}
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": fmt.Sprintf("bench-%03d", i%100), "labels": labels(),
			"uid": fmt.Sprintf("0b1c2d3e-0000-4000-8000-%012d", i), "resourceVersion": fmt.Sprint(100000 + i), "generation": int64(1),
			"creationTimestamp": "2026-11-30T10:00:00Z",
			"annotations": map[string]any{"description": "Synthetic workload for the isms-operator evaluation benchmark.",
				"isms.dev/owner-email": fmt.Sprintf("team-%02d@example.com", i%17), "deployment.kubernetes.io/revision": "1"}},
		"spec": map[string]any{"replicas": int64(2 + i%3), "revisionHistoryLimit": int64(10), "progressDeadlineSeconds": int64(600),
			"selector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": name}},
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"}},
			"template": map[string]any{"metadata": map[string]any{"labels": labels()}, "spec": map[string]any{
				"serviceAccountName": "app", "serviceAccount": "app", "automountServiceAccountToken": false, "restartPolicy": "Always",
				"dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": int64(30),
				"securityContext": map[string]any{"runAsNonRoot": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
				"containers": []any{container("app", fmt.Sprintf("registry.example.com/shop/app-%d:1.0.0", i%5), i%10 == 0, 8080),
					container("proxy", "registry.example.com/platform/proxy:1.4.0", false, 15001)}}}},
		"status": map[string]any{"observedGeneration": int64(1), "replicas": int64(2 + i%3), "updatedReplicas": int64(2 + i%3),
			"readyReplicas": int64(2 + i%3), "availableReplicas": int64(2 + i%3),
			"conditions": []any{
				map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "lastUpdateTime": "2026-11-30T10:00:05Z", "lastTransitionTime": "2026-11-30T10:00:05Z", "message": "Deployment has minimum availability."},
				map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "lastUpdateTime": "2026-11-30T10:00:05Z", "lastTransitionTime": "2026-11-30T10:00:00Z", "message": fmt.Sprintf("ReplicaSet %q has successfully progressed.", name+"-7d9f8c6b5")}}}}
}
