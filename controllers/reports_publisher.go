package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/go-logr/logr"
	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/exception"
	"github.com/isms-operator/isms-operator/internal/openreports"
)

// The publisher of OpenReports (openreports.io/v1alpha1 Report and ClusterReport), for those who
// read policy results in Policy Reporter. Off unless Options.Reports is set. Its rights come
// from config/components/openreports, not from rbac markers: the default ClusterRole
// (config/rbac/role.yaml, generated from the markers under controllers/) must not grant writes
// on another project's kinds to every install.

// DefaultReportsInterval is how often the publisher looks at the results, and so the shortest
// time between two writes of one report.
const DefaultReportsInterval = 30 * time.Second

const (
	// reportsResync is how often the published reports are read again from the API server,
	// to notice those deleted or edited by others.
	reportsResync = 10 * time.Minute
)

// DefaultReportsStartupGrace is ReportsOptions.StartupGrace's default: longer than the first
// sweeps of 10k objects take.
const DefaultReportsStartupGrace = 10 * time.Minute

// ReportsOptions turn on publishing results as OpenReports (docs/operations.md).
type ReportsOptions struct {
	// Interval: each report is written at most once per Interval; 0 is DefaultReportsInterval.
	Interval time.Duration
	// MaxResults caps the results of one report; 0 is openreports.DefaultMaxResults.
	MaxResults int
	// StartupGrace bounds how long the first publication waits for every control's first
	// sweep (see ReportsPublisher.desired); 0 is DefaultReportsStartupGrace.
	StartupGrace time.Duration
}

// ReportsPublisher writes, at most once per interval, a Report per namespace with failing
// subjects and a ClusterReport for failing cluster-scoped subjects, from the evaluator's
// results and the active exceptions: the failures that keep Findings open. It deletes the
// reports of namespaces that no longer fail, and never rewrites a report that would not change.
// A manager.Runnable, on the leader only.
type ReportsPublisher struct {
	// Client writes the reports, and reads Controls and ControlExceptions from the cache.
	Client client.Client
	// Reader reads the published reports from the API server: they are not cached, since their
	// kinds may not be served.
	Reader    client.Reader
	Evaluator *evaluation.Evaluator
	Options   ReportsOptions
	Now       func() time.Time
	Log       logr.Logger

	started time.Time
	// published holds the reports as last read or written, by namespace ("" the
	// ClusterReport); nil until they are listed.
	published map[string]client.Object
	listedAt  time.Time
	// unavailable is why the last attempt could not publish, logged when it changes.
	unavailable string
}

func newReportsPublisher(mgr ctrl.Manager, evaluator *evaluation.Evaluator, opts ReportsOptions) *ReportsPublisher {
	if opts.Interval <= 0 {
		opts.Interval = DefaultReportsInterval
	}
	if opts.StartupGrace <= 0 {
		opts.StartupGrace = DefaultReportsStartupGrace
	}
	opts.MaxResults = openreports.ClampMaxResults(opts.MaxResults)
	return &ReportsPublisher{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Evaluator: evaluator, Options: opts,
		Now: time.Now, Log: mgr.GetLogger().WithName("openreports")}
}

// NeedLeaderElection: only the leader evaluates, so only it knows the results.
func (p *ReportsPublisher) NeedLeaderElection() bool { return true }

// Start publishes every interval until ctx ends. Failures are logged and retried at the next
// interval; they never stop the manager.
func (p *ReportsPublisher) Start(ctx context.Context) error {
	p.started = p.Now()
	p.Log.Info("Publishing results as OpenReports", "interval", p.Options.Interval, "maxResults", p.Options.MaxResults)
	ticker := time.NewTicker(p.Options.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			p.publish(ctx)
		}
	}
}

// publish brings the reports in line with the results, writing each at most once.
func (p *ReportsPublisher) publish(ctx context.Context) {
	desired, ready, err := p.desired(ctx)
	if err != nil {
		p.Log.Error(err, "Gathering the results for OpenReports")
		return
	}
	if !ready {
		return
	}
	if err := p.ensureListed(ctx); err != nil {
		p.setUnavailable(err)
		return
	}
	if err := p.sync(ctx, desired); err != nil {
		p.published = nil // read them again: someone else may have changed them
		p.setUnavailable(err)
		return
	}
	p.setUnavailable(nil)
}

// desired builds the reports from the results of every control the evaluator has swept. Until
// each control has had its first sweep (after a restart, that takes minutes on a large
// cluster), it reports not ready, so that the published reports are not emptied and then
// filled again; after Options.StartupGrace it publishes what it knows, so that a control that
// never sweeps (its kinds are forbidden) does not hold the others back.
func (p *ReportsPublisher) desired(ctx context.Context) (map[string]*openreports.Content, bool, error) {
	var controls ismsv1.ControlList
	if err := p.Client.List(ctx, &controls); err != nil {
		return nil, false, fmt.Errorf("listing controls: %w", err)
	}
	now := p.Now()
	allSwept := true
	var failures []openreports.ControlFailures
	for i := range controls.Items {
		c := &controls.Items[i]
		// Not known: not evaluated here (an attested control, or one that cannot be evaluated).
		sum := p.Evaluator.Summarize(c.Name)
		if !sum.Known {
			continue
		}
		if !sum.Swept {
			allSwept = false
			continue
		}
		if len(sum.FailingNamespaces) == 0 {
			continue
		}
		split, err := p.failuresOf(ctx, c.Name, sum.FailingNamespaces, now)
		if err != nil {
			return nil, false, err
		}
		failures = append(failures, openreports.ControlFailures{Control: openreports.ControlOf(c), Split: split})
	}
	ready := allSwept || now.Sub(p.started) >= p.Options.StartupGrace
	return openreports.Build(failures, p.Options.MaxResults), ready, nil
}

// failuresOf is a control's failures in the namespaces of its Findings, divided by its active
// exceptions as its Findings are (ControlReconciler.findingEvidence).
func (p *ReportsPublisher) failuresOf(ctx context.Context, control string, namespaces []string, now time.Time) (exception.Split, error) {
	var list ismsv1.ControlExceptionList
	if err := p.Client.List(ctx, &list, client.MatchingFields{exceptionControlIndex: control}); err != nil {
		return exception.Split{}, fmt.Errorf("listing control exceptions: %w", err)
	}
	set := exception.NewSet(list.Items, control, now)
	var split exception.Split
	for _, ns := range namespaces {
		failures, _ := p.Evaluator.Failures(control, ns)
		s := exception.Classify(failures, set)
		split.Failing = append(split.Failing, s.Failing...)
		split.Excepted = append(split.Excepted, s.Excepted...)
	}
	return split, nil
}

// ensureListed reads the operator's reports from the API server when it has not yet, or not
// for reportsResync.
func (p *ReportsPublisher) ensureListed(ctx context.Context) error {
	if p.published != nil && p.Now().Sub(p.listedAt) < reportsResync {
		return nil
	}
	ours := client.MatchingLabels{openreports.LabelManagedBy: openreports.ManagedBy}
	var reports reportsv1alpha1.ReportList
	if err := p.Reader.List(ctx, &reports, ours); err != nil {
		return fmt.Errorf("listing Reports: %w", err)
	}
	var clusterReports reportsv1alpha1.ClusterReportList
	if err := p.Reader.List(ctx, &clusterReports, ours); err != nil {
		return fmt.Errorf("listing ClusterReports: %w", err)
	}
	published := map[string]client.Object{}
	for i := range reports.Items {
		if r := &reports.Items[i]; r.Name == openreports.ReportName {
			published[r.Namespace] = r
		}
	}
	for i := range clusterReports.Items {
		if r := &clusterReports.Items[i]; r.Name == openreports.ReportName {
			published[""] = r
		}
	}
	p.published, p.listedAt = published, p.Now()
	return nil
}

// sync writes the reports that changed and deletes those of namespaces that no longer fail, in
// namespace order. A report that fails to write does not stop the others.
func (p *ReportsPublisher) sync(ctx context.Context, desired map[string]*openreports.Content) error {
	namespaces := slices.Sorted(maps.Keys(desired))
	for ns := range p.published {
		if desired[ns] == nil {
			namespaces = append(namespaces, ns)
		}
	}
	var errs []error
	for _, ns := range namespaces {
		var err error
		if want := desired[ns]; want != nil {
			err = p.write(ctx, want)
		} else {
			err = p.delete(ctx, ns)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// write creates or updates a report, unless the published one already says the same.
func (p *ReportsPublisher) write(ctx context.Context, c *openreports.Content) error {
	var obj client.Object = openreports.NewReport(c, p.Options.MaxResults)
	if c.Namespace == "" {
		obj = openreports.NewClusterReport(c, p.Options.MaxResults)
	}
	have := p.published[c.Namespace]
	openreports.Stamp(openreports.Results(obj), openreports.Results(have), p.Now().Unix())
	if have != nil && openreports.Unchanged(have, obj) {
		return nil
	}
	var err error
	if have == nil {
		err = p.Client.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			// Created before the last listing, or without our label: taken over and updated.
			have = obj.DeepCopyObject().(client.Object)
			if err = p.Reader.Get(ctx, client.ObjectKeyFromObject(obj), have); err == nil {
				err = p.update(ctx, obj, have)
			}
		}
	} else {
		err = p.update(ctx, obj, have)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", describeReport(c.Namespace), err)
	}
	p.published[c.Namespace] = obj
	return nil
}

// update replaces the published report have with obj, keeping the labels and annotations
// others added to it.
func (p *ReportsPublisher) update(ctx context.Context, obj, have client.Object) error {
	obj.SetLabels(merged(have.GetLabels(), obj.GetLabels()))
	obj.SetAnnotations(merged(have.GetAnnotations(), obj.GetAnnotations()))
	obj.SetResourceVersion(have.GetResourceVersion())
	return p.Client.Update(ctx, obj)
}

func (p *ReportsPublisher) delete(ctx context.Context, ns string) error {
	have := p.published[ns]
	uid := have.GetUID()
	if err := p.Client.Delete(ctx, have, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", describeReport(ns), err)
	}
	delete(p.published, ns)
	return nil
}

// setUnavailable logs why publishing fails when the reason changes, and when it works again:
// without the OpenReports CRDs, or without the rights of config/components/openreports, every
// interval would log the same error.
func (p *ReportsPublisher) setUnavailable(err error) {
	reason := ""
	switch {
	case err == nil:
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		reason = "the OpenReports CRDs (openreports.io) are not installed"
	case apierrors.IsForbidden(err):
		reason = "the operator may not write OpenReports: apply config/components/openreports"
	default:
		p.Log.Error(err, "Publishing OpenReports; retrying", "in", p.Options.Interval)
		return
	}
	if reason == p.unavailable {
		return
	}
	switch p.unavailable = reason; {
	case reason == "":
		p.Log.Info("Publishing OpenReports again")
	default:
		p.Log.Info("Not publishing OpenReports: "+reason+"; retrying", "every", p.Options.Interval, "error", err.Error())
	}
}

func merged(theirs, ours map[string]string) map[string]string {
	out := maps.Clone(theirs)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, ours)
	return out
}

func describeReport(ns string) string {
	if ns == "" {
		return "ClusterReport " + openreports.ReportName
	}
	return "Report " + ns + "/" + openreports.ReportName
}
