package controllers

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// maxRetryDelay caps how long a reconcile that keeps failing waits before its next try.
// controller-runtime's default backoff doubles up to 1000 s: after an API server outage of a
// few minutes, the objects whose reconciles failed during it would wait minutes more once it
// is back (the fault test saw Findings converge 8 s after the API server served again, in
// line with backoffs that had grown during the outage). 30 s keeps retries cheap and
// recovery quick.
const maxRetryDelay = 30 * time.Second

// retryLimiter is controller-runtime's default rate limiter with the backoff capped at
// maxRetryDelay: per-object exponential backoff from 5 ms, and 10 retries a second overall
// (bursts of 100).
func retryLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, maxRetryDelay),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// controllerOptions are the options every controller of the operator uses.
func controllerOptions(maxConcurrentReconciles int) controller.Options {
	return controller.Options{MaxConcurrentReconciles: max(1, maxConcurrentReconciles), RateLimiter: retryLimiter()}
}
