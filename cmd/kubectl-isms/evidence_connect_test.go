package main

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
)

func managerPod(name string, phase corev1.PodPhase, ready bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "isms-system",
		Labels: map[string]string{"control-plane": "controller-manager"}}}
	p.Status.Phase = phase
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

func TestSelectPod(t *testing.T) {
	deleting := managerPod("a-deleting", corev1.PodRunning, true)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	pods := []corev1.Pod{*managerPod("c-pending", corev1.PodPending, false), *deleting,
		*managerPod("d-running", corev1.PodRunning, false), *managerPod("e-ready", corev1.PodRunning, true),
		*managerPod("f-ready", corev1.PodRunning, true)}
	cases := map[string]struct {
		pods   []corev1.Pod
		holder string
		want   string
	}{
		"the leader":                      {pods, "f-ready_5d1c8f3a-uuid", "f-ready"},
		"a leader not Ready still wins":   {pods, "d-running_uuid", "d-running"},
		"no lease: a Ready pod, by name":  {pods, "", "e-ready"},
		"a leader that is not Running":    {pods, "c-pending_uuid", "e-ready"},
		"a leader being deleted":          {pods, "a-deleting_uuid", "e-ready"},
		"a holder that is no pod of ours": {pods, "someone-else", "e-ready"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := selectPod(tc.pods, tc.holder, "isms-system")
			if err != nil || got.Name != tc.want {
				t.Fatalf("selected %q, %v; want %q", got.Name, err, tc.want)
			}
		})
	}
	_, err := selectPod(pods[:2], "", "isms-system")
	if err == nil || !strings.Contains(err.Error(), "no Running manager pod") || !strings.Contains(err.Error(), "--operator-namespace") {
		t.Fatalf("no Running pod: %v", err)
	}
}

func TestFindManagerPodPrefersTheLeaseHolder(t *testing.T) {
	holder := "mgr-b_0f9e"
	other := managerPod("mgr-other-ns", corev1.PodRunning, true)
	other.Namespace = "elsewhere"
	unlabelled := managerPod("aaa-unlabelled", corev1.PodRunning, true)
	unlabelled.Labels = nil
	cs := fake.NewClientset(managerPod("mgr-a", corev1.PodRunning, true), managerPod("mgr-b", corev1.PodRunning, true), other, unlabelled,
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: leaderLeaseName, Namespace: "isms-system"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}})
	pod, err := findManagerPod(context.Background(), cs, "isms-system")
	if err != nil || pod.Name != "mgr-b" {
		t.Fatalf("picked %q, %v; want the leader mgr-b", pod.Name, err)
	}
	if err := cs.CoordinationV1().Leases("isms-system").Delete(context.Background(), leaderLeaseName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if pod, err = findManagerPod(context.Background(), cs, "isms-system"); err != nil || pod.Name != "mgr-a" {
		t.Fatalf("without a Lease: picked %q, %v; want mgr-a", pod.Name, err)
	}
	if _, err := findManagerPod(context.Background(), cs, "empty"); err == nil {
		t.Fatal("a namespace without manager pods gave a pod")
	}
}

func TestRequireToken(t *testing.T) {
	if err := requireToken(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CertData: []byte("cert")}}); err == nil || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("a certificate-only config: %v", err)
	}
	if err := requireToken(&rest.Config{BearerTokenFile: "/var/run/token"}); err != nil {
		t.Fatal(err)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-01-01":                time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		"2026-03-14T10:00:00+01:00": time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC),
		"":                          {},
	} {
		if got, err := parseTime("--from", in); err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseTime("--from", "14/03/2026"); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("a bad time: %v", err)
	}
}
