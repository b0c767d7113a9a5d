package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/subject"
)

// SubjectHandler receives what the watches see.
type SubjectHandler interface {
	SubjectChanged(ctx context.Context, s *evaluation.Subject)
	SubjectDeleted(ctx context.Context, s *evaluation.Subject)
	// WatchChanged is called when a kind's watch has synced, or meets a new error.
	WatchChanged(gk schema.GroupKind)
}

// Watches runs one informer per kind that any Control targets, started when a Control first
// names the kind, so new kinds need no restart. It is a manager.Runnable: informers stop with
// the manager.
type Watches struct {
	client  dynamic.Interface
	mapper  meta.RESTMapper
	handler SubjectHandler
	log     logr.Logger
	convert *policy.Converter

	started chan struct{}
	ctx     context.Context

	mu    sync.Mutex
	kinds map[schema.GroupKind]*kindWatch
}

type kindWatch struct {
	gk       schema.GroupKind
	mapping  *meta.RESTMapping
	informer cache.SharedIndexInformer
	// ctx runs the informer; stop ends it.
	ctx  context.Context
	stop context.CancelFunc

	// live orders event delivery (read-locked) against retiring the watch (see retire).
	live    sync.RWMutex
	retired bool

	mu      sync.Mutex
	lastErr string
	// forbidden: the latest error is the API server refusing the operator access (403).
	forbidden bool
	// gone: the latest error is the API server not serving the kind any more (404): its CRD
	// was deleted after discovery found it.
	gone bool
}

// setErr records the watch's latest error and reports whether it is a new one.
func (k *kindWatch) setErr(err error) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	changed := msg != k.lastErr
	k.lastErr = msg
	// The reflector wraps the list's error; IsForbidden unwraps it.
	k.forbidden = err != nil && apierrors.IsForbidden(err)
	k.gone = err != nil && apierrors.IsNotFound(err)
	return changed
}

// deliver passes one of the informer's events on, unless the watch is retired: the objects
// of a retired watch are forgotten, and an event it had queued must not bring one back.
func (k *kindWatch) deliver(pass func()) {
	k.live.RLock()
	defer k.live.RUnlock()
	if !k.retired {
		pass()
	}
}

// retire stops the watch, after any event it is delivering, and returns the objects it held.
func (k *kindWatch) retire() []*evaluation.Subject {
	k.live.Lock()
	k.retired = true
	k.live.Unlock()
	k.stop()
	var held []*evaluation.Subject
	for _, obj := range k.informer.GetStore().List() {
		if s, ok := obj.(*evaluation.Subject); ok {
			held = append(held, s)
		}
	}
	return held
}

// watchLifetime bounds how long one watch request lives (a little more, with jitter) before
// the reflector starts the next one where it left off, without listing again. The API server
// authorises a watch when it starts, never after: access revoked meanwhile shows only when
// the next watch is refused, so this bounds how long the objects of a kind the operator may
// no longer read are taken as current. client-go's own is 5 to 10 minutes. In nanoseconds;
// tests shorten it.
//
// A watch that streams the initial list (sendInitialEvents) is not cut to it: streaming
// 100k Deployments takes longer than a minute, and a stream cut before its last object is
// started again from the first, so the kind would never sync. It keeps the reflector's
// timeout, and is stopped watchLifetime after the end of its initial events instead
// (subjectWatch), so that the bound holds from the end of the list.
var watchLifetime atomic.Int64

func init() { watchLifetime.Store(int64(time.Minute)) }

// jitteredLifetime is watchLifetime and up to half as much again, so that the watches of
// many kinds do not all end at once.
func jitteredLifetime() time.Duration {
	return time.Duration(float64(watchLifetime.Load()) * (1 + rand.Float64()/2))
}

// watchTimeout is the timeoutSeconds of a watch request that resumes from a resourceVersion:
// the reflector's, cut to jitteredLifetime.
func watchTimeout(requested *int64) *int64 {
	secs := max(int64(jitteredLifetime().Seconds()), 1)
	if requested != nil && *requested < secs {
		return requested
	}
	return &secs
}

// streamsInitialList reports whether a watch request starts with the kind's whole list.
func streamsInitialList(opts metav1.ListOptions) bool {
	return opts.SendInitialEvents != nil && *opts.SendInitialEvents
}

// subjectWatch passes a watch's events through convert, and, for a watch that streams the
// initial list, ends jitteredLifetime after the bookmark that ends that list. It ends by
// closing its own channel, so that the reflector sees a watch that ended and resumes from
// where it left off: stopping the request itself makes the stream's decoder fail, and the
// error event that can follow makes the reflector list the whole kind again.
type subjectWatch struct {
	in      watch.Interface
	out     chan watch.Event
	convert watch.FilterFunc
	stop    chan struct{}
	once    sync.Once
}

func newSubjectWatch(in watch.Interface, streaming bool, convert watch.FilterFunc) *subjectWatch {
	w := &subjectWatch{in: in, out: make(chan watch.Event), convert: convert, stop: make(chan struct{})}
	go w.run(streaming)
	return w
}

func (w *subjectWatch) ResultChan() <-chan watch.Event { return w.out }

// Stop ends the watch; it may be called more than once.
func (w *subjectWatch) Stop() { w.once.Do(func() { close(w.stop) }) }

func (w *subjectWatch) run(streaming bool) {
	defer close(w.out)
	defer w.in.Stop()
	for {
		select {
		case <-w.stop:
			return
		case ev, ok := <-w.in.ResultChan():
			if !ok {
				return
			}
			if streaming && endsInitialEvents(ev) {
				time.AfterFunc(jitteredLifetime(), w.Stop)
			}
			ev, keep := w.convert(ev)
			if !keep {
				continue
			}
			select {
			case w.out <- ev:
			case <-w.stop:
				return
			}
		}
	}
}

// endsInitialEvents reports whether ev is the bookmark that ends a streamed initial list.
func endsInitialEvents(ev watch.Event) bool {
	u, ok := ev.Object.(*unstructured.Unstructured)
	return ok && ev.Type == watch.Bookmark && u.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true"
}

// NewWatches returns a Watches that reports to handler.
func NewWatches(client dynamic.Interface, mapper meta.RESTMapper, handler SubjectHandler, log logr.Logger) *Watches {
	return &Watches{
		client:  client,
		mapper:  mapper,
		handler: handler,
		log:     log,
		convert: policy.NewConverter(),
		started: make(chan struct{}),
		kinds:   map[schema.GroupKind]*kindWatch{},
	}
}

// Start implements manager.Runnable. Namespaces are always watched: their labels decide which
// subjects a namespaceSelector matches.
func (w *Watches) Start(ctx context.Context) error {
	w.ctx = ctx
	close(w.started)
	if err := w.Ensure(ctx, []schema.GroupKind{evaluation.NamespaceGroupKind}); err != nil {
		return fmt.Errorf("watching namespaces: %w", err)
	}
	<-ctx.Done()
	return nil
}

// Ensure starts watches for the kinds not watched yet. Kinds that cannot be watched, such as
// those the API server does not serve, are reported in one *WatchError, and the others are
// still started.
func (w *Watches) Ensure(ctx context.Context, gks []schema.GroupKind) error {
	select {
	case <-w.started:
	case <-ctx.Done():
		return ctx.Err()
	}
	var unresolved []error
	for _, gk := range gks {
		if err := w.ensure(gk); err != nil {
			unresolved = append(unresolved, err)
		}
	}
	if len(unresolved) > 0 {
		return &WatchError{errs: unresolved}
	}
	return nil
}

// WatchError lists the kinds Ensure could not start watching, one error per kind.
type WatchError struct {
	errs []error
}

func (e *WatchError) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e *WatchError) Unwrap() []error { return e.errs }

// NotServed reports whether every kind failed because the API server does not serve it (no
// CRD defines it), rather than because discovery or the watch itself failed.
func (e *WatchError) NotServed() bool {
	for _, err := range e.errs {
		if !meta.IsNoMatchError(err) {
			return false
		}
	}
	return len(e.errs) > 0
}

func (w *Watches) ensure(gk schema.GroupKind) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.kinds[gk]; ok {
		return nil
	}
	mapping, err := w.mapper.RESTMapping(gk)
	if err != nil {
		return fmt.Errorf("kind %s is not served by the API server: %w", displayGK(gk), err)
	}
	kw, err := w.newKindWatch(gk, mapping)
	if err != nil {
		return err
	}
	w.kinds[gk] = kw
	w.run(kw)
	w.log.Info("Watching kind", "kind", displayGK(gk), "resource", mapping.Resource.String())
	return nil
}

// newKindWatch builds the informer of a kind; run starts it.
func (w *Watches) newKindWatch(gk schema.GroupKind, mapping *meta.RESTMapping) (*kindWatch, error) {
	inf := cache.NewSharedIndexInformer(w.subjectListWatch(mapping), &evaluation.Subject{}, 0, cache.Indexers{})
	ctx, stop := context.WithCancel(w.ctx)
	kw := &kindWatch{gk: gk, mapping: mapping, informer: inf, ctx: ctx, stop: stop}
	_ = inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		w.watchFailed(kw, err)
		cache.DefaultWatchErrorHandler(ctx, r, err)
	})
	handlerCtx := w.ctx // not kw.ctx: retiring a watch forgets its objects after stopping it
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { kw.deliver(func() { w.changed(handlerCtx, obj) }) },
		UpdateFunc: func(_, obj any) { kw.deliver(func() { w.changed(handlerCtx, obj) }) },
		DeleteFunc: func(obj any) { kw.deliver(func() { w.deleted(handlerCtx, obj) }) },
	}); err != nil {
		stop()
		return nil, fmt.Errorf("handling the %s watch: %w", displayGK(gk), err)
	}
	return kw, nil
}

// run starts the kind's informer, and reports to the handler when it has synced.
func (w *Watches) run(kw *kindWatch) {
	go kw.informer.RunWithContext(kw.ctx)
	go func() {
		if cache.WaitForCacheSync(kw.ctx.Done(), kw.informer.HasSynced) {
			kw.setErr(nil)
			w.log.V(1).Info("Watch synced", "kind", displayGK(kw.gk), "version", kw.mapping.GroupVersionKind.Version)
			w.handler.WatchChanged(kw.gk)
		}
	}()
}

// watchFailed records the error of a kind's watch, so that the Controls waiting on it say
// why. A watch refused after it synced has lost access, and one answered 404 has lost its
// kind (the CRD was deleted): see revoked.
func (w *Watches) watchFailed(kw *kindWatch, err error) {
	changed := kw.setErr(err)
	if (apierrors.IsForbidden(err) || apierrors.IsNotFound(err)) && kw.informer.HasSynced() {
		w.revoked(kw, err)
		return
	}
	if changed {
		w.handler.WatchChanged(kw.gk)
	}
}

// revoked handles a watch that the API server refuses after it had synced (the operator may
// no longer read the kind) or no longer serves (its CRD was deleted). Its informer would keep
// the objects it had, and the Controls would report them as current: instead the kind goes
// back to the state of a kind never read. The watch is replaced by a new one, not synced and
// Forbidden or gone (Controls that target or read the kind are Error, reason Forbidden or
// TargetsUnresolved, or NotApplicable when they say so for kinds not served), the old one's
// objects are forgotten (SubjectDeleted, before the new watch can deliver any), and the new
// watch syncs once access is granted or the CRD installed again, as a first watch does.
func (w *Watches) revoked(old *kindWatch, err error) {
	w.mu.Lock()
	if w.kinds[old.gk] != old {
		w.mu.Unlock()
		return // replaced already
	}
	fresh, ferr := w.newKindWatch(old.gk, old.mapping)
	if ferr != nil {
		w.mu.Unlock()
		w.log.Error(ferr, "Replacing a watch the API server refuses", "kind", displayGK(old.gk))
		return
	}
	fresh.setErr(err)
	w.kinds[old.gk] = fresh
	w.mu.Unlock()

	held := old.retire()
	w.log.Info("A watched kind may no longer be read (access revoked or CRD deleted): its objects are forgotten until it can be read again",
		"kind", displayGK(old.gk), "objects", len(held), "error", policy.Truncate(err.Error(), 256))
	for _, s := range held {
		w.handler.SubjectDeleted(w.ctx, s)
	}
	w.run(fresh)
	w.handler.WatchChanged(old.gk)
}

// subjectListWatch lists and watches a kind, converting each object into a Subject as soon as
// it is decoded: the informer, its initial list included, never holds more than one decoded
// object at a time.
func (w *Watches) subjectListWatch(mapping *meta.RESTMapping) cache.ListerWatcher {
	resource := w.client.Resource(mapping.Resource)
	gvk := mapping.GroupVersionKind
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			list, err := resource.List(ctx, opts)
			if err != nil {
				return nil, err
			}
			out := &evaluation.SubjectList{Items: make([]*evaluation.Subject, 0, len(list.Items))}
			out.ResourceVersion, out.Continue = list.GetResourceVersion(), list.GetContinue()
			for i := range list.Items {
				s, err := subject.FromUnstructured(gvk, &list.Items[i], w.convert)
				if err != nil {
					return nil, err
				}
				list.Items[i] = unstructured.Unstructured{} // let it go while the rest converts
				out.Items = append(out.Items, s)
			}
			return out, nil
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			streaming := streamsInitialList(opts)
			if !streaming {
				opts.TimeoutSeconds = watchTimeout(opts.TimeoutSeconds)
			}
			wi, err := resource.Watch(ctx, opts)
			if err != nil {
				return nil, err
			}
			return newSubjectWatch(wi, streaming, func(ev watch.Event) (watch.Event, bool) {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok {
					return ev, true // an error status
				}
				if ev.Type == watch.Bookmark {
					// The reflector reads a bookmark's resourceVersion and annotations (the end
					// of a streamed initial list).
					ev.Object = &evaluation.Subject{ObjectMeta: metav1.ObjectMeta{
						ResourceVersion: u.GetResourceVersion(), Annotations: u.GetAnnotations(),
					}}
					return ev, true
				}
				s, err := subject.FromUnstructured(gvk, u, w.convert)
				if err != nil {
					w.log.Error(err, "Dropping an object that cannot be converted", "kind", gvk.Kind, "namespace", u.GetNamespace(), "name", u.GetName())
					return ev, false
				}
				ev.Object = s
				return ev, true
			}), nil
		},
	}
}

func (w *Watches) changed(ctx context.Context, obj any) {
	if s, ok := obj.(*evaluation.Subject); ok {
		w.handler.SubjectChanged(ctx, s)
	}
}

func (w *Watches) deleted(ctx context.Context, obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if s, ok := obj.(*evaluation.Subject); ok {
		w.handler.SubjectDeleted(ctx, s)
	}
}

// Synced reports whether every kind's watch has listed its objects, and, for those that have
// not, the last error their watch met.
func (w *Watches) Synced(gks []schema.GroupKind) (bool, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var waiting []string
	for _, gk := range gks {
		kw, ok := w.kinds[gk]
		if !ok {
			waiting = append(waiting, displayGK(gk)+": not watched")
			continue
		}
		if kw.informer.HasSynced() {
			continue
		}
		kw.mu.Lock()
		msg := displayGK(gk) + ": listing"
		if kw.lastErr != "" {
			msg = displayGK(gk) + ": " + kw.lastErr
		}
		kw.mu.Unlock()
		waiting = append(waiting, msg)
	}
	sort.Strings(waiting)
	return len(waiting) == 0, strings.Join(waiting, "; ")
}

// Forbidden returns, for each of the kinds whose watch has not synced because the API server
// refuses the operator access, the kind and the API server's message. That includes a kind
// whose access was revoked after its watch had synced: its watch is then replaced by one that
// has not (see revoked). The reflector keeps retrying with backoff (at most about a minute
// apart): once access is granted its list succeeds, the watch syncs and the handler's
// WatchChanged queues the controls again.
func (w *Watches) Forbidden(gks []schema.GroupKind) []string {
	return w.unsyncedBecause(gks, func(kw *kindWatch) bool { return kw.forbidden })
}

// Gone returns, like Forbidden, the kinds whose watch has not synced because the API server
// answers 404: the kind's CRD was deleted after discovery found it (see revoked). Once it is
// installed again the watch syncs and the controls are queued.
func (w *Watches) Gone(gks []schema.GroupKind) []string {
	return w.unsyncedBecause(gks, func(kw *kindWatch) bool { return kw.gone })
}

// unsyncedBecause lists the kinds among gks whose watch has not synced and whose latest error
// is of the kind because tells, each with that error.
func (w *Watches) unsyncedBecause(gks []schema.GroupKind, because func(*kindWatch) bool) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, gk := range gks {
		kw, ok := w.kinds[gk]
		if !ok || kw.informer.HasSynced() {
			continue
		}
		kw.mu.Lock()
		if because(kw) {
			out = append(out, displayGK(gk)+": "+kw.lastErr)
		}
		kw.mu.Unlock()
	}
	sort.Strings(out)
	return out
}

// Watched reports whether a kind is watched (some Control targets it, or it is Namespace), and
// whether its watch has listed its objects.
func (w *Watches) Watched(gk schema.GroupKind) (watched, synced bool) {
	w.mu.Lock()
	kw, ok := w.kinds[gk]
	w.mu.Unlock()
	if !ok {
		return false, false
	}
	return true, kw.informer.HasSynced()
}

// List returns the cached subjects of the given kinds.
func (w *Watches) List(gks []schema.GroupKind) []*evaluation.Subject {
	w.mu.Lock()
	var stores []cache.Store
	for _, gk := range gks {
		if kw, ok := w.kinds[gk]; ok {
			stores = append(stores, kw.informer.GetStore())
		}
	}
	w.mu.Unlock()
	var out []*evaluation.Subject
	for _, st := range stores {
		for _, obj := range st.List() {
			if s, ok := obj.(*evaluation.Subject); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func displayGK(gk schema.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}
