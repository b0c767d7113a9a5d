package ha

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// servingCert is the webhook certificate both replicas serve (as both pods mount one Secret),
// for 127.0.0.1; the test's client trusts it alone.
var servingCert *x509.Certificate

// writeServingCert writes a self-signed tls.crt and tls.key into dir.
func writeServingCert(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "isms-operator-webhook-service.isms-system.svc"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if servingCert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"tls.crt": {Type: "CERTIFICATE", Bytes: der},
		"tls.key": {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// brokenRego does not parse; the Control webhook refuses it with the compiler's message.
const brokenRego = "package broken\n\nviolation contains msg if {\n"

// reviewBrokenControl asks r's Control webhook, as the API server would, to admit a Control
// whose Rego does not parse, and returns an error unless the webhook refuses it.
func reviewBrokenControl(r *replica) error {
	ctl := &ismsv1.Control{
		TypeMeta:   metav1.TypeMeta{APIVersion: ismsv1.GroupVersion.String(), Kind: "Control"},
		ObjectMeta: metav1.ObjectMeta{Name: "ha-broken"},
		Spec: ismsv1.ControlSpec{
			ID: "HA-BROKEN", Title: "Broken", Owner: "platform-security", Severity: ismsv1.SeverityHigh,
			Frameworks: []ismsv1.FrameworkMapping{{Framework: "iso27001-2022", Requirements: []string{"A.8.9"}}},
			Targets:    ismsv1.Targets{Kinds: []ismsv1.KindSelector{{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}}},
			Policy:     ismsv1.PolicySource{Rego: brokenRego},
		},
	}
	raw, err := json.Marshal(ctl)
	if err != nil {
		return err
	}
	uid := types.UID(fmt.Sprintf("ha-%d", time.Now().UnixNano()))
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: uid, Operation: admissionv1.Create, Name: ctl.Name,
			Kind:     metav1.GroupVersionKind{Group: ismsv1.GroupVersion.Group, Version: ismsv1.GroupVersion.Version, Kind: "Control"},
			Resource: metav1.GroupVersionResource{Group: ismsv1.GroupVersion.Group, Version: ismsv1.GroupVersion.Version, Resource: "controls"},
			Object:   runtime.RawExtension{Raw: raw},
		},
	}
	resp, err := postReview(r.webhookAddr, "/validate-isms-dev-v1alpha1-control", review)
	if err != nil {
		return err
	}
	switch {
	case resp.UID != uid:
		return fmt.Errorf("the response is for request %q, not %q", resp.UID, uid)
	case resp.Allowed:
		return fmt.Errorf("the Control with broken Rego was allowed")
	case resp.Result == nil || !strings.Contains(resp.Result.Message, "rego_parse_error"):
		return fmt.Errorf("refused without the compiler's message: %+v", resp.Result)
	}
	return nil
}

func postReview(addr, path string, review admissionv1.AdmissionReview) (*admissionv1.AdmissionResponse, error) {
	body, err := json.Marshal(review)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(servingCert)
	hc := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := hc.Post("https://"+addr+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("webhook: %s", resp.Status)
	}
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if out.Response == nil {
		return nil, fmt.Errorf("webhook: no response in the review")
	}
	return out.Response, nil
}
