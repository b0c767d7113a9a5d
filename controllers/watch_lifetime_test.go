package controllers

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/isms-operator/isms-operator/internal/evaluation"
)

// watchRequest is a watch request the operator's watches sent, as the API server got it.
type watchRequest struct {
	sendInitialEvents bool
	timeoutSeconds    int64
}

// watchRecorder records the watch requests that go through a transport.
type watchRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []watchRequest
}

func (r *watchRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	if q.Get("watch") == "true" || q.Get("watch") == "1" {
		timeout, _ := strconv.ParseInt(q.Get("timeoutSeconds"), 10, 64)
		r.mu.Lock()
		r.seen = append(r.seen, watchRequest{sendInitialEvents: q.Get("sendInitialEvents") == "true", timeoutSeconds: timeout})
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

func (r *watchRecorder) requests() []watchRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]watchRequest(nil), r.seen...)
}

// nopHandler takes the subjects of a watch and does nothing with them.
type nopHandler struct{}

func (nopHandler) SubjectChanged(context.Context, *evaluation.Subject) {}
func (nopHandler) SubjectDeleted(context.Context, *evaluation.Subject) {}
func (nopHandler) WatchChanged(schema.GroupKind)                       {}

// A watch that streams a kind's initial list keeps the reflector's timeout (minutes): cut to
// the watch lifetime, a list that takes longer to stream than that (100k Deployments) was cut
// before its end and started again from its first object, forever. The bound on how long an
// authorisation is trusted still holds: that watch is ended a lifetime after its list, and
// the watches after it resume with the short timeout.
func TestAStreamedInitialListIsNotCutToTheWatchLifetime(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	previous := watchLifetime.Swap(int64(time.Second))
	t.Cleanup(func() { watchLifetime.Store(previous) })

	ns := uniqueName("lifetime")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}})).To(Succeed())

	recorder := &watchRecorder{}
	cfg := rest.CopyConfig(testEnv.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { recorder.next = rt; return recorder })
	httpClient, err := rest.HTTPClientFor(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	g.Expect(err).NotTo(HaveOccurred())
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	g.Expect(err).NotTo(HaveOccurred())

	ctx, cancel := context.WithCancel(testCtx)
	t.Cleanup(cancel)
	w := NewWatches(dyn, mapper, nopHandler{}, logr.Discard())
	go func() { _ = w.Start(ctx) }()
	configMaps := schema.GroupKind{Kind: "ConfigMap"}
	g.Expect(w.Ensure(ctx, []schema.GroupKind{configMaps})).To(Succeed())
	g.Eventually(func() bool { ok, _ := w.Synced([]schema.GroupKind{configMaps}); return ok }, eventually, poll).Should(BeTrue())

	// Each kind's first watch streams its list; with a 1 s lifetime, the watches that resume
	// after it come within seconds.
	g.Eventually(func() int { return resumed(recorder.requests()) }, eventually, poll).Should(BeNumerically(">=", 2))
	// Ending the streamed watch is an end, not an error: an error makes the reflector list the
	// kind again, every lifetime (at 10k Deployments a third of a core at rest).
	time.Sleep(3 * time.Second)
	g.Expect(len(recorder.requests())-resumed(recorder.requests())).To(Equal(2), "one streamed list for each of the two kinds, none again")
	for _, req := range recorder.requests() {
		if req.sendInitialEvents {
			g.Expect(req.timeoutSeconds).To(BeNumerically(">=", 60), "a streamed list keeps the reflector's timeout")
		} else {
			g.Expect(req.timeoutSeconds).To(BeNumerically("<=", 1), "a resumed watch lives for the watch lifetime")
		}
	}
}

// resumed counts the watch requests that resume from a resourceVersion, not streaming a list.
func resumed(reqs []watchRequest) int {
	n := 0
	for _, req := range reqs {
		if !req.sendInitialEvents {
			n++
		}
	}
	return n
}
