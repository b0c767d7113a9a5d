package controllers

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/offline"
)

// The Control and Policy webhooks, against the suite's API server: what would turn a Control
// Error is refused at apply, with the reconciler's message on the field at fault.

// warningRecorder collects the warnings the API server sends back.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.warnings
	w.warnings = nil
	return out
}

// warnedClient is an admin client whose requests' warnings go to the returned recorder.
func warnedClient(t *testing.T) (client.Client, *warningRecorder) {
	t.Helper()
	rec := &warningRecorder{}
	cfg := rest.CopyConfig(testEnv.Config)
	cfg.WarningHandler = rec
	c, err := client.New(cfg, client.Options{Scheme: NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// refusal is what a refused object's error must say: which field, and part of the message.
type refusal struct {
	field, message string
}

// expectRefused checks that err is an Invalid of obj's kind and name, with one cause on the
// field, saying message, and that nothing was stored; it returns the cause's message.
func expectRefused(g Gomega, err error, kind string, obj client.Object, want refusal) string {
	var status *apierrors.StatusError
	g.Expect(errors.As(err, &status)).To(BeTrue(), "want a refusal, got %v", err)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	details := status.ErrStatus.Details
	g.Expect(details.Kind).To(Equal(kind))
	g.Expect(details.Name).To(Equal(obj.GetName()))
	g.Expect(details.Causes).To(HaveLen(1), "%v", err)
	g.Expect(details.Causes[0].Field).To(Equal(want.field))
	g.Expect(details.Causes[0].Message).To(ContainSubstring(want.message))
	g.Expect(len(details.Causes[0].Message)).To(BeNumerically("<", 1100), "the compiler's message is bounded")
	stored := obj.DeepCopyObject().(client.Object)
	g.Expect(apierrors.IsNotFound(k8s.Get(testCtx, types.NamespacedName{Name: obj.GetName()}, stored))).To(BeTrue(), "a refused object is not stored")
	return details.Causes[0].Message
}

const (
	readsNetworkPolicies = "package test.adm.netpol\n\nviolation contains {\"msg\": \"no NetworkPolicy\"} if {\n" +
		"\tcount(object.get(data.inventory, [\"namespace\", input.review.object.metadata.namespace, \"networking.k8s.io/v1\", \"NetworkPolicy\"], {})) == 0\n}\n"
	tooDeep = "package test.adm.deep\n\nviolation contains {\"msg\": \"x\"} if {\n\tx := " +
		"[a | a := [b | b := [c | c := [d | d := [e | e := [f | f := [h | h := [i | i := 1]]]]]]]]\n\tcount(x) == 2\n}\n"
)

// brokenControls are Controls the reconciler would make Error for their own spec, and what
// admission says about each.
func brokenControls(ns, registries string) map[string]struct {
	control *ismsv1.Control
	want    refusal
} {
	targets := deploymentTargets(ns)
	return map[string]struct {
		control *ismsv1.Control
		want    refusal
	}{
		"syntax error":      {control(uniqueName("adm-syntax"), targets, "package broken\n\nviolation contains msg if {\n"), refusal{"spec.policy.rego", "rego_parse_error"}},
		"forbidden builtin": {control(uniqueName("adm-http"), targets, "package adm.http\n\nviolation contains {\"msg\": x} if x := http.send({\"method\": \"get\", \"url\": \"http://x\"})\n"), refusal{"spec.policy.rego", "http.send"}},
		"no violation":      {control(uniqueName("adm-none"), targets, "package adm.none\n\ndeny contains {\"msg\": \"x\"} if true\n"), refusal{"spec.policy.rego", `defines no "violation" rule`}},
		"violation if":      {control(uniqueName("adm-shape"), targets, "package adm.shape\n\nviolation if true\n"), refusal{"spec.policy.rego", "violation must be a set of objects"}},
		"msg not a string":  {control(uniqueName("adm-msg"), targets, "package adm.msg\n\nviolation contains {\"msg\": 1} if true\n"), refusal{"spec.policy.rego", `"msg" must be a string`}},
		"too deep":          {control(uniqueName("adm-deep"), targets, tooDeep), refusal{"spec.policy.rego", "comprehensions nested deeper than 6 levels"}},
		"inventory":         {control(uniqueName("adm-inv"), targets, readsNetworkPolicies), refusal{"spec.inventory", `Add to spec.inventory: {apiGroups: ["networking.k8s.io"], kinds: ["NetworkPolicy"]}`}},
		"parameters":        {refControl(uniqueName("adm-params"), targets, registries, `{"allowedRegistries": [42]}`), refusal{"spec.parameters", "spec.parameters.allowedRegistries[0]: Invalid value"}},
		"no parameters":     {refControl(uniqueName("adm-noparams"), targets, registries, ""), refusal{"spec.parameters", "spec.parameters.allowedRegistries: Required value"}},
	}
}

func TestAdmissionRefusesBrokenControls(t *testing.T) {
	requireAPIServer(t)
	ns := uniqueName("admission")
	registries := uniqueName("adm-registries")
	NewWithT(t).Expect(k8s.Create(testCtx, sharedPolicy(registries, registriesPolicy, registriesSchema))).To(Succeed())
	for name, tc := range brokenControls(ns, registries) {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			// The cache may not have seen the Policy yet: until it does, the control is admitted
			// with a warning (and deleted here), as one applied before its Policy.
			g.Eventually(func(g Gomega) {
				err := k8s.Create(testCtx, tc.control.DeepCopy())
				if err == nil {
					g.Expect(k8s.Delete(testCtx, tc.control.DeepCopy())).To(Succeed())
				}
				expectRefused(g, err, "Control", tc.control, tc.want)
			}, eventually, poll).Should(Succeed())
		})
	}
}

func TestAdmissionChecksChangedSpecsOnly(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("adm-update")
	name := uniqueName("adm-good")
	g.Expect(k8s.Create(testCtx, control(name, deploymentTargets(ns), privilegedPolicy))).To(Succeed())

	t.Log("breaking the Rego of a stored Control is refused")
	// Merge patches: the reconciler writes the status meanwhile, which would conflict with an
	// update.
	c := getControl(g, name)
	err := k8s.Patch(testCtx, c, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"policy":{"rego":"package broken\n\nviolation contains msg if {\n"}}}`)))
	expectUpdateRefused(g, err, name, refusal{"spec.policy.rego", "rego_parse_error"})

	t.Log("a Control that landed broken can still be labelled (and so have its finalizers removed)")
	broken := uniqueName("adm-landed")
	g.Expect(k8s.Create(testCtx, landedUnchecked(control(broken, deploymentTargets(ns), "package broken\n\nviolation contains msg if {\n")))).To(Succeed())
	c = getControl(g, broken)
	mergePatch(g, c, `{"metadata":{"labels":{"`+skipAdmissionLabel+`":null,"team":"platform"}}}`)
	g.Expect(getControl(g, broken).Labels).To(Equal(map[string]string{"team": "platform"}))
	t.Log("but not edited into another broken spec")
	err = k8s.Patch(testCtx, c, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"policy":{"rego":"package adm.none\n\ndeny contains {\"msg\": \"x\"} if true\n"}}}`)))
	expectUpdateRefused(g, err, broken, refusal{"spec.policy.rego", `defines no "violation" rule`})
}

func expectUpdateRefused(g Gomega, err error, name string, want refusal) {
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	causes := err.(*apierrors.StatusError).ErrStatus.Details.Causes
	g.Expect(causes).To(HaveLen(1))
	g.Expect(causes[0].Field).To(Equal(want.field))
	g.Expect(causes[0].Message).To(ContainSubstring(want.message))
	g.Expect(err.(*apierrors.StatusError).ErrStatus.Details.Name).To(Equal(name))
}

func TestAdmissionRefusesBrokenPolicies(t *testing.T) {
	requireAPIServer(t)
	cases := map[string]struct {
		policy *ismsv1.Policy
		want   []refusal
	}{
		"syntax error":      {sharedPolicy(uniqueName("adm-p-syntax"), "package broken\n\nviolation contains msg if {\n", ""), []refusal{{"spec.rego", "rego_parse_error"}}},
		"forbidden builtin": {sharedPolicy(uniqueName("adm-p-net"), "package adm.net\n\nviolation contains {\"msg\": \"x\"} if net.lookup_ip_addr(\"example.com\")\n", ""), []refusal{{"spec.rego", "net.lookup_ip_addr"}}},
		"no violation":      {sharedPolicy(uniqueName("adm-p-none"), "package adm.none\n\ndeny contains {\"msg\": \"x\"} if true\n", ""), []refusal{{"spec.rego", `defines no "violation" rule`}}},
		"schema":            {sharedPolicy(uniqueName("adm-p-schema"), registriesPolicy, `{"type": "object", "propertiez": {}}`), []refusal{{"spec.parametersSchema", `unknown field "propertiez"`}}},
		"schema not object": {sharedPolicy(uniqueName("adm-p-string"), registriesPolicy, `{"type": "string"}`), []refusal{{"spec.parametersSchema", "must be a schema of type object"}}},
		"both": {sharedPolicy(uniqueName("adm-p-both"), "package", `{"type": "string"}`),
			[]refusal{{"spec.rego", "rego_parse_error"}, {"spec.parametersSchema", "must be a schema of type object"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			err := k8s.Create(testCtx, tc.policy)
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
			details := err.(*apierrors.StatusError).ErrStatus.Details
			g.Expect(details.Kind).To(Equal("Policy"))
			g.Expect(details.Name).To(Equal(tc.policy.Name))
			g.Expect(details.Causes).To(HaveLen(len(tc.want)))
			for i, want := range tc.want {
				g.Expect(details.Causes[i].Field).To(Equal(want.field))
				g.Expect(details.Causes[i].Message).To(ContainSubstring(want.message))
			}
		})
	}
}

// What depends on the referenced Policy is admitted with a warning: GitOps applies objects in
// any order, and the reconciler reports it as status.
func TestAdmissionWarnsAboutWhatThePolicyDecides(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	warned, warnings := warnedClient(t)
	ns := uniqueName("adm-warn")

	t.Log("a Control whose Policy does not exist yet is admitted")
	later := uniqueName("adm-later")
	g.Expect(warned.Create(testCtx, refControl(uniqueName("adm-early"), deploymentTargets(ns), later, ""))).To(Succeed())
	g.Expect(warnings.take()).To(ContainElement(And(HavePrefix("spec.policy.ref.name: "), ContainSubstring(later+" (spec.policy.ref) does not exist"))))

	t.Log("a Control whose Policy reads kinds it does not list is admitted: fixing the Policy fixes it")
	reads := uniqueName("adm-reads")
	g.Expect(k8s.Create(testCtx, sharedPolicy(reads, readsNetworkPolicies, ""))).To(Succeed())
	g.Eventually(func(g Gomega) {
		name := uniqueName("adm-reader")
		g.Expect(warned.Create(testCtx, refControl(name, deploymentTargets(ns), reads, ""))).To(Succeed())
		g.Expect(warnings.take()).To(ContainElement(And(HavePrefix("spec.inventory: "), ContainSubstring("Add to spec.inventory"))))
	}, eventually, poll).Should(Succeed())
}

// Changing a Policy's schema so that a Control's parameters no longer validate is admitted
// with a warning naming the Control, which the reconciler then makes Error.
func TestPolicySchemaChangeWarnsAboutItsControls(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	warned, warnings := warnedClient(t)
	ns := uniqueName("adm-schema")
	pname := uniqueName("adm-registries")
	g.Expect(k8s.Create(testCtx, sharedPolicy(pname, registriesPolicy, registriesSchema))).To(Succeed())
	name := uniqueName("adm-user")
	g.Eventually(func() error {
		return k8s.Create(testCtx, refControl(name, deploymentTargets(ns), pname, `{"allowedRegistries": ["registry.example/"]}`))
	}, eventually, poll).Should(Succeed())

	g.Eventually(func(g Gomega) {
		// The webhook lists the Controls from the cache, which may not have seen this one yet:
		// edit the description too, so that a retry is a change of the spec.
		patch := `{"spec":{"description":"` + uniqueName("edit") + `","parametersSchema":{"type":"object","required":["allowedRegistries"],` +
			`"properties":{"allowedRegistries":{"type":"array","items":{"type":"integer"}}}}}}`
		g.Expect(warned.Patch(testCtx, getPolicy(g, pname), client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
		g.Expect(warnings.take()).To(ContainElement(And(
			HavePrefix("Control "+name+" will be Error (spec.parameters): "),
			ContainSubstring("must be of type integer"))))
	}, eventually, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		cond := condition(getControl(g, name), ismsv1.ConditionPolicyReady)
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonInvalidParameters))
	}, eventually, poll).Should(Succeed())
}

// kubectl isms eval judges a Control with evaluation.Define as the webhook does: its message
// for a broken Control is the webhook's.
func TestAdmissionAndCLIGiveTheSameMessages(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("adm-cli")
	registries := uniqueName("adm-cli-registries")
	shared := sharedPolicy(registries, registriesPolicy, registriesSchema)
	g.Expect(k8s.Create(testCtx, shared.DeepCopy())).To(Succeed())
	for name, tc := range brokenControls(ns, registries) {
		var webhook string
		g.Eventually(func(g Gomega) {
			err := k8s.Create(testCtx, tc.control.DeepCopy())
			if err == nil {
				g.Expect(k8s.Delete(testCtx, tc.control.DeepCopy())).To(Succeed())
			}
			webhook = expectRefused(g, err, "Control", tc.control, tc.want)
		}, eventually, poll).Should(Succeed())
		report, err := offline.Evaluate(testCtx, []ismsv1.Control{*tc.control}, nil, offline.Options{Policies: []ismsv1.Policy{*shared}})
		g.Expect(err).NotTo(HaveOccurred())
		cli := report.Controls[0]
		g.Expect(cli.Result).To(Equal(ismsv1.ResultError), name)
		g.Expect(webhook).To(Equal("Invalid value: "+cli.Message), name)
	}
}

func TestBoundedCompiler(t *testing.T) {
	g := NewWithT(t)
	b := newBoundedCompiler(100*time.Millisecond, 1)
	release := make(chan struct{})
	slow := func(context.Context) error { <-release; return nil }

	err := b.run(context.Background(), slow)
	g.Expect(errors.Is(err, errUncheckable)).To(BeTrue(), "a check past its deadline is refused: %v", err)
	g.Expect(err.Error()).To(ContainSubstring("did not compile within 100ms"))

	err = b.run(context.Background(), func(context.Context) error { return nil })
	g.Expect(err).To(MatchError(errCompilerBusy), "the abandoned check keeps its slot until it ends")

	close(release)
	g.Eventually(func() error { return b.run(context.Background(), func(context.Context) error { return nil }) }).Should(Succeed())

	err = b.run(context.Background(), func(context.Context) error { panic("boom") })
	g.Expect(errors.Is(err, errUncheckable)).To(BeTrue(), "a panic is a refusal, not a crash: %v", err)
	g.Expect(err.Error()).To(ContainSubstring("boom"))
	g.Expect(b.run(context.Background(), func(context.Context) error { return nil })).To(Succeed(), "the panic released its slot")

	err = b.run(context.Background(), func(ctx context.Context) error { return ctx.Err() })
	g.Expect(err).NotTo(HaveOccurred(), "the check runs detached from the request, so its result can be cached")
}
