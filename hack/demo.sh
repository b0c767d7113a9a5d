#!/usr/bin/env bash
# The demo behind `make demo`: a local control plane with isms-operator, the sample Controls and
# a workload that drifts out of compliance and is then fixed. Everything is shown with kubectl,
# as a user would see it. Run through `make demo`, which builds bin/isms-local and sets
# KUBEBUILDER_ASSETS.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${KUBEBUILDER_ASSETS:?run through make demo}"
LOCAL_DIR=${LOCAL_DIR:-bin/local}
[[ $LOCAL_DIR == /* ]] || LOCAL_DIR=$PWD/$LOCAL_DIR
TIMEOUT=${TIMEOUT:-60s}
# The metrics server also serves the evidence ledger's API under /evidence/ (plain HTTP, no
# authentication: local only). METRICS_ADDR=0 turns both off.
METRICS_ADDR=${METRICS_ADDR:-127.0.0.1:8080}
export KUBECONFIG="$LOCAL_DIR/kubeconfig"
kubectl() { "$KUBEBUILDER_ASSETS/kubectl" "$@"; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

mkdir -p "$LOCAL_DIR"
rm -f "$LOCAL_DIR/ready"
log="$LOCAL_DIR/operator.log"
step "Starting a local control plane (kube-apiserver + etcd) and isms-operator; log: $log"
"${ISMS_LOCAL:-bin/isms-local}" run --dir "$LOCAL_DIR" --metrics-bind-address "$METRICS_ADDR" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  [[ -f "$LOCAL_DIR/ready" ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "isms-local exited:"; tail -20 "$log"; exit 1; }
  sleep 0.5
done
[[ -f "$LOCAL_DIR/ready" ]] || { echo "the control plane did not start in 60s:"; tail -20 "$log"; exit 1; }

step "Applying the sample Controls (config/samples)"
kubectl apply -k config/samples

step "Applying workloads; payments-api runs a privileged container"
kubectl apply -f config/samples/demo/workload-drifting.yaml
kubectl wait --for=jsonpath='{.status.result}'=Fail control/isms-k8s-001-no-privileged --timeout="$TIMEOUT"
kubectl wait --for=jsonpath='{.status.state}'=Open -n payments finding/isms-k8s-001-no-privileged --timeout="$TIMEOUT"

step "kubectl get controls"
kubectl get controls
step "kubectl get findings -A"
kubectl get findings -A
step "What the privileged-container Finding says"
kubectl get finding -n payments isms-k8s-001-no-privileged -o jsonpath='{range .status.subjects[*]}{.kind} {.name}: {.messages}{"\n"}{end}'

step "Fixing payments-api (privileged: false)"
kubectl apply -f config/samples/demo/workload-fixed.yaml
kubectl wait --for=jsonpath='{.status.state}'=Resolved -n payments finding/isms-k8s-001-no-privileged --timeout="$TIMEOUT"
kubectl wait --for=jsonpath='{.status.result}'=Pass control/isms-k8s-001-no-privileged --timeout="$TIMEOUT"

step "kubectl get controls"
kubectl get controls
step "kubectl get findings -A"
kubectl get findings -A
step "Events"
kubectl get events -A --field-selector reason!=Scheduled --sort-by=.metadata.creationTimestamp 2>/dev/null | grep -E 'Finding|Control' | tail -10 || true

printf '\nDone. `make run-local` keeps a control plane like this one running for you to explore.\n'
