package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/version"
)

func TestLeaderVersion(t *testing.T) {
	renewed := metav1.NewMicroTime(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	lease := func(labels map[string]string) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "isms-system", Name: leaderLeaseName, Labels: labels},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("isms-operator-controller-manager-6f7d_0b1c"), RenewTime: &renewed},
		}
	}
	tests := map[string]struct {
		objs    []runtime.Object
		want    string // the text output's operator line
		wantErr string
	}{
		"labelled by the leader": {objs: []runtime.Object{lease(map[string]string{version.LeaseLabel: "v0.4.0"})},
			want: "Operator Version: v0.4.0 (leader isms-operator-controller-manager-6f7d)"},
		"an older operator": {objs: []runtime.Object{lease(nil)},
			want: "Operator Version: unknown (the leader does not label its Lease"},
		"not installed": {wantErr: "no Lease isms-system/isms-operator.isms.dev"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			op, err := leaderVersion(t.Context(), fake.NewClientset(tc.objs...), "isms-system")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := printVersion(&out, "text", versionInfo{Client: buildVersion{"v0.4.0", "abc"}, Operator: op}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "Client Version: v0.4.0 (commit abc)\n") || !strings.Contains(out.String(), tc.want) {
				t.Errorf("printed %q, want the client's and %q", out.String(), tc.want)
			}
			if !op.RenewedAt.Equal(renewed.Time) {
				t.Errorf("renewed at %v, want %v", op.RenewedAt, renewed.Time)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"version", "--client", "-o", "json"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	var info versionInfo
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if info.Client.Version != version.Version() || info.Operator != nil {
		t.Errorf("printed %+v, want the client's version %q alone", info, version.Version())
	}
	stdout.Reset()
	if code := run(t.Context(), []string{"version", "--kubeconfig", "/nonexistent/kubeconfig"}, nil, &stdout, &stderr); code != exitFailed {
		t.Errorf("exit code %d without a cluster, want %d", code, exitFailed)
	}
	if !strings.HasPrefix(stdout.String(), "Client Version: ") {
		t.Errorf("printed %q without a cluster, want the client's version still", stdout.String())
	}
	if code := run(t.Context(), []string{"version", "-o", "yaml"}, nil, &stdout, &stderr); code != exitUsage {
		t.Errorf("exit code %d for -o yaml, want %d", code, exitUsage)
	}
}

func TestEvidenceKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "key")
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"evidence", "keygen", dir, "--name", "prod/evidence"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	text, err := os.ReadFile(filepath.Join(dir, evidence.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := evidence.KeysFromPrivate(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(stdout.String()); got != keys.VerifierKey || !strings.HasPrefix(got, "prod/evidence+") {
		t.Errorf("printed %q, want the key's verifier key %q named prod/evidence", got, keys.VerifierKey)
	}
	if info, err := os.Stat(filepath.Join(dir, evidence.KeyFileName)); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
	if code := run(t.Context(), []string{"evidence", "keygen", dir}, nil, &stdout, &stderr); code != exitUsage {
		t.Errorf("a second keygen into %s exited %d, want %d: the key must not be overwritten", dir, code, exitUsage)
	}
	again, _ := os.ReadFile(filepath.Join(dir, evidence.KeyFileName))
	if !bytes.Equal(again, text) {
		t.Error("the key file changed")
	}
}
