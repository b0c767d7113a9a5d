package chart

import (
	"strings"
	"testing"

	"github.com/isms-operator/isms-operator/test/install"
)

// schemaError is how Helm reports values that values.schema.json rejects, before it renders
// anything: helm install and helm template fail with it.
const schemaError = "values don't meet the specifications of the schema"

// TestSchemaRejectsBadValues: each bad value fails the install with the schema's error, naming
// the value.
func TestSchemaRejectsBadValues(t *testing.T) {
	tests := map[string]struct {
		set  []string
		want string
	}{
		"mutable latest tag":               {[]string{"image.tag=latest"}, "/image/tag"},
		"unknown pull policy":              {[]string{"image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
		"short digest":                     {[]string{"image.digest=sha256:abc"}, "/image/digest"},
		"no replicas":                      {[]string{"replicas=0"}, "/replicas"},
		"two replicas on SQLite":           {[]string{"replicas=2"}, "/evidence/postgres/urlSecret/name"},
		"unknown size":                     {[]string{"size=huge"}, "/size"},
		"memory that is not a quantity":    {[]string{"resources.limits.memory=lots"}, "/resources/limits/memory"},
		"resources without a memory limit": {[]string{"resources.requests.memory=1Gi"}, "missing property 'limits'"},
		"volume size in GB":                {[]string{"evidence.persistence.size=2GB"}, "/evidence/persistence/size"},
		"PostgreSQL without a signing key": {[]string{"evidence.postgres.urlSecret.name=isms-evidence-db"}, "/evidence/signingKeySecret/name"},
		"Secret name with capitals":        {[]string{"evidence.signingKeySecret.name=Evidence_Key"}, "/evidence/signingKeySecret/name"},
		"unknown cert mode":                {[]string{"webhook.certMode=manual"}, "/webhook/certMode"},
		"metrics enabled as a string":      {[]string{"metrics.enabled=yes"}, "/metrics/enabled"},
		"misspelt value":                   {[]string{"metrics.secured=false"}, "secured"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Render(Namespace, tc.set...)
			if err == nil || !strings.Contains(err.Error(), schemaError) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("--set %s: got %v, want the schema's error naming %s", strings.Join(tc.set, ","), err, tc.want)
			}
		})
	}
}

// TestSchemaAcceptsTheDocumentedValues: the values docs/install.md shows pass the schema
// together (TestValuesRenderWhatTheySay checks what each renders).
func TestSchemaAcceptsTheDocumentedValues(t *testing.T) {
	set := append([]string{
		"image.repository=registry.example/isms-operator", "image.tag=v0.1.0", "image.digest=" + digest,
		"replicas=2", "size=large", "evidence.persistence.storageClassName=fast-ssd",
		"webhook.certMode=cert-manager", "metrics.secure=false",
	}, postgres...)
	if _, err := Render(Namespace, set...); err != nil {
		t.Fatal(err)
	}
}

// TestNotesLabelTheNamespace: Helm does not create the release namespace's labels, so the
// chart's notes tell users to set the Pod Security labels config/default's Namespace has.
func TestNotesLabelTheNamespace(t *testing.T) {
	labels := PodSecurityLabels(kustomize(t, install.Default))
	if len(labels) == 0 {
		t.Fatal("config/default's Namespace has no Pod Security labels")
	}
	notes := render(t, "compliance").Notes
	for k, v := range labels {
		if !strings.Contains(notes, k+"="+v) {
			t.Errorf("NOTES.txt does not tell users to label the namespace %s=%s:\n%s", k, v, notes)
		}
	}
	if !strings.Contains(notes, "kubectl label namespace compliance") {
		t.Errorf("NOTES.txt does not name the release namespace:\n%s", notes)
	}
}
