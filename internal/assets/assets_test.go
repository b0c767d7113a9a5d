package assets

import (
	"reflect"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

var (
	deploymentGVK = WorkloadGVKs[0]
	jobGVK        = WorkloadGVKs[4]
	names         = LabelNames{Owner: "isms.dev/owner", Classification: "isms.dev/data-classification", Levels: []string{"internal", "confidential"}}
)

func namespace(name string, labels map[string]string) Object {
	return Object{GVK: NamespaceGVK, Name: name, Labels: labels}
}

func workload(gvk schema.GroupVersionKind, ns, name string, labels map[string]string) Object {
	return Object{GVK: gvk, Namespace: ns, Name: name, Labels: labels}
}

func evaluated(name string, targets ismsv1.Targets) ismsv1.Control {
	c := ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: name}}
	c.Spec.Targets = targets
	return c
}

func targetsOf(group string, kinds ...string) ismsv1.Targets {
	return ismsv1.Targets{Kinds: []ismsv1.KindSelector{{APIGroups: []string{group}, Kinds: kinds}}}
}

func openFinding(ns, control string, count int32, subjects ...ismsv1.FailingSubject) ismsv1.Finding {
	f := ismsv1.Finding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: control}}
	f.Spec.Control = control
	f.Status.State, f.Status.SubjectCount, f.Status.Subjects = ismsv1.FindingOpen, count, subjects
	return f
}

func failing(apiVersion, kind, name string) ismsv1.FailingSubject {
	return ismsv1.FailingSubject{APIVersion: apiVersion, Kind: kind, Name: name}
}

// row is what a test compares of an Asset.
type row struct {
	Ref, Owner, Classification  string
	Inherited                   [2]bool // owner, classification
	Controls, Failing, Unlisted []string
}

func rowOf(a Asset) row {
	ref := a.Kind + " " + a.Name
	if a.Namespace != "" {
		ref = a.Kind + " " + a.Namespace + "/" + a.Name
	}
	return row{Ref: ref, Owner: a.Owner, Classification: a.Classification, Inherited: [2]bool{a.OwnerInherited, a.ClassificationInherited},
		Controls: a.Controls, Failing: a.FailingControls, Unlisted: a.UnlistedFindings}
}

func TestBuild(t *testing.T) {
	owned := map[string]string{names.Owner: "team-pay", names.Classification: "confidential", "tier": "prod"}
	deployments := evaluated("deployments", targetsOf("apps", "Deployment"))
	prodOnly := evaluated("prod-deployments", targetsOf("apps", "Deployment"))
	prodOnly.Spec.Targets.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}
	nsOwner := evaluated("ns-owner", targetsOf("", "Namespace"))
	attested := ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: "attested"}, Spec: ismsv1.ControlSpec{Attestation: &ismsv1.ControlAttestationSchedule{}}}
	tests := map[string]struct {
		in   Input
		want []row
	}{
		"owner and classification, own or inherited; controlled Jobs left out": {
			in: Input{
				Namespaces: []Object{namespace("pay", owned)},
				Workloads: []Object{
					workload(deploymentGVK, "pay", "api", map[string]string{names.Owner: "team-api"}),
					workload(jobGVK, "pay", "nightly-1", nil),
					{GVK: jobGVK, Namespace: "pay", Name: "cron-123", Controlled: true},
				},
				Controls: []ismsv1.Control{deployments, attested},
			},
			want: []row{
				{Ref: "Namespace pay", Owner: "team-pay", Classification: "confidential", Controls: []string{}, Failing: []string{}},
				{Ref: "Deployment pay/api", Owner: "team-api", Classification: "confidential", Inherited: [2]bool{false, true}, Controls: []string{"deployments"}, Failing: []string{}},
				{Ref: "Job pay/nightly-1", Owner: "team-pay", Classification: "confidential", Inherited: [2]bool{true, true}, Controls: []string{}, Failing: []string{}},
			},
		},
		"unowned or unclassified first, then the most failing; a level outside the levels is no classification": {
			in: Input{
				Namespaces: []Object{namespace("a-pay", owned), namespace("b-bare", nil), namespace("c-odd", map[string]string{names.Owner: "x", names.Classification: "secret"})},
				Workloads: []Object{
					workload(deploymentGVK, "a-pay", "fine", nil),
					workload(deploymentGVK, "a-pay", "worse", nil),
				},
				Controls: []ismsv1.Control{deployments, prodOnly, nsOwner},
				Findings: []ismsv1.Finding{
					openFinding("a-pay", "deployments", 1, failing("apps/v1", "Deployment", "worse")),
					openFinding("a-pay", "prod-deployments", 1, failing("apps/v1", "Deployment", "worse")),
					openFinding("isms-system", "ns-owner", 1, failing("v1", "Namespace", "b-bare")),
				},
			},
			want: []row{
				{Ref: "Namespace b-bare", Controls: []string{"ns-owner"}, Failing: []string{"ns-owner"}},
				{Ref: "Namespace c-odd", Owner: "x", Classification: "secret", Controls: []string{"ns-owner"}, Failing: []string{}},
				{Ref: "Deployment a-pay/worse", Owner: "team-pay", Classification: "confidential", Inherited: [2]bool{true, true},
					Controls: []string{"deployments", "prod-deployments"}, Failing: []string{"deployments", "prod-deployments"}},
				{Ref: "Namespace a-pay", Owner: "team-pay", Classification: "confidential", Controls: []string{"ns-owner"}, Failing: []string{}},
				{Ref: "Deployment a-pay/fine", Owner: "team-pay", Classification: "confidential", Inherited: [2]bool{true, true},
					Controls: []string{"deployments", "prod-deployments"}, Failing: []string{}},
			},
		},
		"a Finding that lists only part of its subjects may concern the others it evaluates there": {
			in: Input{
				Namespaces: []Object{namespace("pay", owned), namespace("dev", owned)},
				Workloads:  []Object{workload(deploymentGVK, "pay", "a", nil), workload(deploymentGVK, "pay", "b", nil), workload(deploymentGVK, "dev", "c", nil)},
				Controls:   []ismsv1.Control{deployments},
				Findings:   []ismsv1.Finding{openFinding("pay", "deployments", 2, failing("apps/v1", "Deployment", "a"))},
			},
			want: []row{
				{Ref: "Deployment pay/a", Owner: "team-pay", Classification: "confidential", Inherited: [2]bool{true, true}, Controls: []string{"deployments"}, Failing: []string{"deployments"}},
				{Ref: "Namespace dev", Owner: "team-pay", Classification: "confidential", Controls: []string{}, Failing: []string{}},
				{Ref: "Deployment dev/c", Owner: "team-pay", Classification: "confidential", Inherited: [2]bool{true, true}, Controls: []string{"deployments"}, Failing: []string{}},
				{Ref: "Namespace pay", Owner: "team-pay", Classification: "confidential", Controls: []string{}, Failing: []string{}},
				{Ref: "Deployment pay/b", Owner: "team-pay", Classification: "confidential", Inherited: [2]bool{true, true}, Controls: []string{"deployments"}, Failing: []string{},
					Unlisted: []string{"pay/deployments"}},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.in.Labels = names
			reg := Build(tc.in)
			var got []row
			for _, a := range reg.Assets {
				got = append(got, rowOf(a))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("register:\n got %+v\nwant %+v", got, tc.want)
			}
			if reg.Total != len(tc.want) {
				t.Errorf("total %d, want %d", reg.Total, len(tc.want))
			}
		})
	}
}

func TestBuildCountsUnownedAndSkipsResolvedFindings(t *testing.T) {
	resolved := openFinding("pay", "deployments", 1, failing("apps/v1", "Deployment", "api"))
	resolved.Status.State = ismsv1.FindingResolved
	reg := Build(Input{
		Namespaces: []Object{namespace("pay", map[string]string{names.Classification: "internal"})},
		Workloads:  []Object{workload(deploymentGVK, "pay", "api", nil)},
		Controls:   []ismsv1.Control{evaluated("deployments", targetsOf("apps", "Deployment")), evaluated("bad", ismsv1.Targets{Kinds: targetsOf("apps", "Deployment").Kinds, LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Nope"}}}})},
		Findings:   []ismsv1.Finding{resolved},
		Labels:     names,
	})
	if reg.Unowned != 2 || reg.Unclassified != 0 {
		t.Errorf("unowned %d, unclassified %d; want 2, 0", reg.Unowned, reg.Unclassified)
	}
	if !reflect.DeepEqual(reg.InvalidControls, []string{"bad"}) {
		t.Errorf("invalid controls %v", reg.InvalidControls)
	}
	for _, a := range reg.Assets {
		if len(a.FailingControls) != 0 || len(a.OpenFindings) != 0 {
			t.Errorf("%s/%s fails %v after the Finding resolved", a.Kind, a.Name, a.FailingControls)
		}
	}
}

func TestSelect(t *testing.T) {
	pay := namespace("pay", map[string]string{"data": "cardholder"})
	dev := namespace("dev", nil)
	api := workload(deploymentGVK, "pay", "api", map[string]string{"app": "api"})
	db := workload(WorkloadGVKs[1], "pay", "db", map[string]string{"app": "db"})
	devDB := workload(WorkloadGVKs[1], "dev", "db", map[string]string{"app": "db"})
	owned := Object{GVK: jobGVK, Namespace: "pay", Name: "run-1", Controlled: true}
	byData := &metav1.LabelSelector{MatchLabels: map[string]string{"data": "cardholder"}}
	appDB := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	tests := map[string]struct {
		assets       []ismsv1.RiskAsset
		want         []string
		wantProblems int
	}{
		"words only select nothing": {assets: []ismsv1.RiskAsset{{Description: "cardholder data"}}},
		"namespaces: them and their workloads": {
			assets: []ismsv1.RiskAsset{{NamespaceSelector: byData}},
			want:   []string{"Namespace pay", "Deployment pay/api", "StatefulSet pay/db"},
		},
		"workloads anywhere": {
			assets: []ismsv1.RiskAsset{{WorkloadSelector: appDB}},
			want:   []string{"StatefulSet dev/db", "StatefulSet pay/db"},
		},
		"workloads in the selected namespaces": {
			assets: []ismsv1.RiskAsset{{NamespaceSelector: byData, WorkloadSelector: appDB}},
			want:   []string{"StatefulSet pay/db"},
		},
		"two assets overlap: each object once": {
			assets: []ismsv1.RiskAsset{{NamespaceSelector: byData}, {WorkloadSelector: appDB}},
			want:   []string{"StatefulSet dev/db", "Namespace pay", "Deployment pay/api", "StatefulSet pay/db"},
		},
		"a selector that does not compile selects nothing and says so": {
			assets:       []ismsv1.RiskAsset{{WorkloadSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}}},
			wantProblems: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, problems := Select(tc.assets, []Object{pay, dev}, []Object{api, db, devDB, owned})
			var refs []string
			for _, o := range got {
				refs = append(refs, rowOf(Asset{Kind: o.GVK.Kind, Namespace: o.Namespace, Name: o.Name}).Ref)
			}
			if !reflect.DeepEqual(refs, tc.want) || len(problems) != tc.wantProblems {
				t.Errorf("selected %v (problems %v), want %v (%d problems)", refs, problems, tc.want, tc.wantProblems)
			}
			if HasSelectors(tc.assets) == (name == "words only select nothing") {
				t.Errorf("HasSelectors = %v", HasSelectors(tc.assets))
			}
		})
	}
}

func TestEvaluatingControls(t *testing.T) {
	pay := namespace("pay", map[string]string{"tier": "prod"})
	api := workload(deploymentGVK, "pay", "api", nil)
	prod := evaluated("prod", targetsOf("apps", "Deployment"))
	prod.Spec.Targets.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}
	staging := evaluated("staging", targetsOf("apps", "Deployment"))
	staging.Spec.Targets.Namespaces = []string{"staging"}
	pods := evaluated("pods", targetsOf("", "Pod"))
	got := EvaluatingControls([]ismsv1.Control{prod, staging, pods}, []Object{api}, []Object{pay})
	if !reflect.DeepEqual(got, map[string]bool{"prod": true}) {
		t.Errorf("evaluating %v, want only prod", got)
	}
}

func TestLabelNamesOf(t *testing.T) {
	params := func(js string) ismsv1.Control {
		c := ismsv1.Control{}
		c.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(js)}
		return c
	}
	ownControl := params(`{"labels": ["example.com/team", "isms.dev/owner"]}`)
	ownControl.Spec.ID = "ISMS-LIB-001"
	otherID := params(`{"labels": ["not/this"]}`)
	otherID.Spec.ID = "SOMETHING-ELSE"
	classControl := params(`{"label": "example.com/class", "levels": ["open", "closed"]}`)
	classControl.Spec.ID = "ISMS-LIB-002"
	tests := map[string]struct {
		controls []ismsv1.Control
		want     LabelNames
	}{
		"the library's defaults": {
			want: LabelNames{Owner: "isms.dev/owner", Classification: "isms.dev/data-classification", Levels: []string{"public", "internal", "confidential", "restricted"}},
		},
		"a Control of the same policy overrides them, another does not": {
			controls: []ismsv1.Control{otherID, ownControl, classControl},
			want:     LabelNames{Owner: "example.com/team", Classification: "example.com/class", Levels: []string{"open", "closed"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := LabelNamesOf(tc.controls)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("LabelNamesOf = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
