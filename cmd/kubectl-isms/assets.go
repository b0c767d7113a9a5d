package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/assets"
)

// listPageSize bounds each list call to the API server; the lists continue page by page.
const listPageSize = 500

// AssetsReport is the output of `assets -o json|yaml`: the register, and what could not be read.
type AssetsReport struct {
	assets.Register
	// Warnings say what the register could not read, e.g. Findings outside --namespace.
	Warnings []string `json:"warnings,omitempty"`
}

type assetsOptions struct {
	namespace, output string
	cluster           *clusterFlags
}

func newAssetsCommand() *cobra.Command {
	o := &assetsOptions{cluster: newClusterFlags()}
	cmd := &cobra.Command{
		Use:   "assets",
		Short: "List the cluster's assets: owner, classification, the Controls on them and what fails",
		Long: `Read the Namespaces and workloads (Deployments, StatefulSets, DaemonSets, CronJobs and the
Jobs no CronJob owns) with the Controls and Findings, and list every asset with its owner and
data classification (the labels the library's namespace-owner-label and
namespace-data-classification policies require, a workload inheriting its namespace's), the
Controls whose targets match it, and the Controls whose open Findings list it as failing. The
assets without an owner or a classification come first. See docs/assets.md.`,
		Example: `  kubectl isms assets
  kubectl isms assets -n payments -o yaml`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != "table" && o.output != "json" && o.output != "yaml" {
				return usagef("--output must be table, json or yaml; got %q", o.output)
			}
			c, err := o.cluster.client()
			if err != nil {
				return err
			}
			report, err := readAssets(cmd.Context(), c, o.namespace)
			if err != nil {
				return err
			}
			return writeAssets(cmd.OutOrStdout(), report, o.output)
		},
	}
	f := cmd.Flags()
	o.cluster.addFlags(f)
	f.StringVarP(&o.namespace, "namespace", "n", "", "List only this namespace and its workloads.")
	f.StringVarP(&o.output, "output", "o", "table", "Output format: table, json or yaml.")
	return cmd
}

// readAssets lists what the register is built from and builds it.
func readAssets(ctx context.Context, c client.Reader, namespace string) (*AssetsReport, error) {
	var in assets.Input
	var err error
	if in.Controls, err = listControlPages(ctx, c); err != nil {
		return nil, err
	}
	if in.Labels, err = assets.LabelNamesOf(in.Controls); err != nil {
		return nil, err
	}
	if in.Namespaces, err = readNamespaces(ctx, c, namespace); err != nil {
		return nil, err
	}
	for _, gvk := range assets.WorkloadGVKs {
		objs, err := listObjects(ctx, c, gvk, namespace)
		if err != nil {
			return nil, err
		}
		in.Workloads = append(in.Workloads, objs...)
	}
	report := &AssetsReport{}
	if in.Findings, report.Warnings, err = listFindings(ctx, c, namespace); err != nil {
		return nil, err
	}
	report.Register = assets.Build(in)
	return report, nil
}

// listControlPages lists the Controls page by page (frameworks' listControls lists them in one
// call).
func listControlPages(ctx context.Context, c client.Reader) ([]ismsv1.Control, error) {
	var out []ismsv1.Control
	err := eachPage(ctx, c, func() *ismsv1.ControlList { return &ismsv1.ControlList{} }, func(l *ismsv1.ControlList) { out = append(out, l.Items...) })
	if meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("the cluster does not serve %s Controls: is the isms-operator installed? (%w)", ismsv1.GroupVersion, err)
	}
	if err != nil {
		return nil, fmt.Errorf("listing Controls: %w", err)
	}
	return out, nil
}

// listFindings lists the Findings of all namespaces. With --namespace, a user who may not
// list them cluster-wide gets that namespace's, and a warning: the Findings of the Namespace
// itself live in the operator's namespace.
func listFindings(ctx context.Context, c client.Reader, namespace string) ([]ismsv1.Finding, []string, error) {
	var out []ismsv1.Finding
	collect := func(l *ismsv1.FindingList) { out = append(out, l.Items...) }
	newList := func() *ismsv1.FindingList { return &ismsv1.FindingList{} }
	err := eachPage(ctx, c, newList, collect)
	if err == nil {
		return out, nil, nil
	}
	if namespace == "" || !apierrors.IsForbidden(err) {
		return nil, nil, fmt.Errorf("listing Findings: %w", err)
	}
	out = nil
	if err := eachPage(ctx, c, newList, collect, client.InNamespace(namespace)); err != nil {
		return nil, nil, fmt.Errorf("listing Findings in %s: %w", namespace, err)
	}
	return out, []string{"Findings could be read only in namespace " + namespace + ": the Namespace's own failing Controls are not shown"}, nil
}

// readNamespaces lists the Namespaces, or gets the one given.
func readNamespaces(ctx context.Context, c client.Reader, name string) ([]assets.Object, error) {
	if name == "" {
		return listObjects(ctx, c, assets.NamespaceGVK, "")
	}
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(assets.NamespaceGVK)
	if err := c.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return nil, fmt.Errorf("getting namespace %s: %w", name, err)
	}
	return []assets.Object{objectOf(assets.NamespaceGVK, ns)}, nil
}

// listObjects lists the metadata of the objects of one kind, page by page. A kind the
// cluster does not serve has no objects.
func listObjects(ctx context.Context, c client.Reader, gvk schema.GroupVersionKind, namespace string) ([]assets.Object, error) {
	newList := func() *metav1.PartialObjectMetadataList {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		return list
	}
	var out []assets.Object
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	err := eachPage(ctx, c, newList, func(l *metav1.PartialObjectMetadataList) {
		for i := range l.Items {
			out = append(out, objectOf(gvk, &l.Items[i]))
		}
	}, opts...)
	switch {
	case meta.IsNoMatchError(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("listing %s: %w", gvk.Kind, err)
	}
	return out, nil
}

func objectOf(gvk schema.GroupVersionKind, m *metav1.PartialObjectMetadata) assets.Object {
	return assets.Object{GVK: gvk, Namespace: m.Namespace, Name: m.Name, Labels: m.Labels, Controlled: metav1.GetControllerOf(m) != nil}
}

// eachPage lists page by page (listPageSize objects at most per call), each page into a new
// list from newList (a decoder may reuse what a list held, which the caller keeps), and hands
// each page to page.
func eachPage[L client.ObjectList](ctx context.Context, c client.Reader, newList func() L, page func(L), opts ...client.ListOption) error {
	token := ""
	for {
		list := newList()
		if err := c.List(ctx, list, append(opts, client.Limit(listPageSize), client.Continue(token))...); err != nil {
			return err
		}
		page(list)
		if token = list.GetContinue(); token == "" {
			return nil
		}
	}
}

// writeAssets prints the register in the format asked for.
func writeAssets(w io.Writer, r *AssetsReport, format string) error {
	if format == "table" {
		printAssets(w, r)
		return nil
	}
	return writeStructured(w, format, r)
}

// printAssets prints the register as a table: the owner or classification a workload inherits
// from its namespace is marked "(ns)"; the failing Controls are cut to fit a line.
func printAssets(w io.Writer, r *AssetsReport) {
	fmt.Fprintf(w, "Assets: %d   unowned %d   unclassified %d   (labels %s, %s)\n",
		r.Total, r.Unowned, r.Unclassified, clean(r.Labels.Owner), clean(r.Labels.Classification))
	for _, warning := range r.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", clean(warning))
	}
	if len(r.InvalidControls) > 0 {
		fmt.Fprintf(w, "Warning: %d Control(s) have targets that do not compile and evaluate nothing: %s\n",
			len(r.InvalidControls), truncate(strings.Join(r.InvalidControls, ", "), 120))
	}
	if r.Total == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nKIND\tNAMESPACE\tNAME\tOWNER\tCLASSIFICATION\tCONTROLS\tFINDINGS\tFAILING")
	for i := range r.Assets {
		a := &r.Assets[i]
		findings := fmt.Sprint(len(a.OpenFindings))
		if len(a.UnlistedFindings) > 0 {
			findings += fmt.Sprintf("+%d?", len(a.UnlistedFindings))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.Kind, orNone(clean(a.Namespace)), clean(a.Name),
			labelCell(a.Owner, a.OwnerInherited), labelCell(a.Classification, a.ClassificationInherited),
			len(a.Controls), findings, orNone(truncate(strings.Join(a.FailingControls, ","), 60)))
	}
	_ = tw.Flush()
}

// labelCell is a label value for the table: "-" when unset, "(ns)" when inherited.
func labelCell(value string, inherited bool) string {
	switch {
	case value == "":
		return "-"
	case inherited:
		return clean(value) + " (ns)"
	}
	return clean(value)
}
