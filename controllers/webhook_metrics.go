package controllers

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// rejectionCounting counts what a validator refuses in isms_webhook_rejections_total:
// controller-runtime's webhook metrics count requests by HTTP status, and a refusal is a 200.
type rejectionCounting[T runtime.Object] struct {
	admission.Validator[T]
	kind    string
	metrics *Metrics
}

// countRejections wraps v so that its refusals of kind are counted in m; the series of each
// operation start at zero, so that a rate over them is defined before the first refusal.
func countRejections[T runtime.Object](v admission.Validator[T], kind string, m *Metrics) admission.Validator[T] {
	for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Update, admissionv1.Delete} {
		m.webhookRejections.WithLabelValues(kind, string(op))
	}
	return &rejectionCounting[T]{Validator: v, kind: kind, metrics: m}
}

func (r *rejectionCounting[T]) count(op admissionv1.Operation, err error) {
	if err != nil {
		r.metrics.webhookRejections.WithLabelValues(r.kind, string(op)).Inc()
	}
}

func (r *rejectionCounting[T]) ValidateCreate(ctx context.Context, obj T) (admission.Warnings, error) {
	w, err := r.Validator.ValidateCreate(ctx, obj)
	r.count(admissionv1.Create, err)
	return w, err
}

func (r *rejectionCounting[T]) ValidateUpdate(ctx context.Context, old, obj T) (admission.Warnings, error) {
	w, err := r.Validator.ValidateUpdate(ctx, old, obj)
	r.count(admissionv1.Update, err)
	return w, err
}

func (r *rejectionCounting[T]) ValidateDelete(ctx context.Context, obj T) (admission.Warnings, error) {
	w, err := r.Validator.ValidateDelete(ctx, obj)
	r.count(admissionv1.Delete, err)
	return w, err
}
