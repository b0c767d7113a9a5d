# isms-operator: continuous control monitoring for an ISMS, as a Kubernetes operator.
#
# The two commands a newcomer needs:
#   make demo   run the operator on a local control plane against the sample controls
#   make test   run the whole test suite (what CI runs)

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

IMG ?= isms-operator:dev
# The version and commit stamped into the binaries (kubectl isms version, the evidence ledger's
# start markers, the leader Lease's label) and into the image's OCI labels.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X github.com/isms-operator/isms-operator/internal/version.version=$(VERSION) -X github.com/isms-operator/isms-operator/internal/version.commit=$(COMMIT)
LOCALBIN ?= $(CURDIR)/bin
GO ?= go

CONTROLLER_GEN_VERSION ?= v0.23.0
KUBERNETES_VERSION ?= 1.37.1
ETCD_VERSION ?= 3.7.3

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
ENVTEST_INSTALL := K8S_VERSION=$(KUBERNETES_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/install-envtest.sh $(LOCALBIN)
# Generated files, checked by `make verify`.
GENERATED := api config/crd/bases config/rbac/role.yaml config/webhook/manifests.yaml charts/isms-operator/crds

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRDs and the ClusterRole from the kubebuilder markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases
	@# The Helm chart ships the same CRDs, byte for byte (test/chart checks it).
	rm -f charts/isms-operator/crds/*.yaml && cp config/crd/bases/*.yaml charts/isms-operator/crds/

.PHONY: generate
generate: controller-gen ## Generate the DeepCopy methods of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run gofmt on the code.
	$(GO) fmt ./...

.PHONY: vet
vet: ## Run go vet on the code.
	$(GO) vet ./...

.PHONY: verify
verify: manifests generate ## Fail if generated files or formatting are stale.
	@if [ -n "$$(gofmt -l $$(git ls-files '*.go'))" ]; then echo "gofmt needed on:"; gofmt -l $$(git ls-files '*.go'); exit 1; fi
	@if ! git diff --quiet -- $(GENERATED) || [ -n "$$(git ls-files --others --exclude-standard -- $(GENERATED))" ]; then \
		echo "Generated files are stale: run 'make manifests generate' and commit the result."; \
		git status --short -- $(GENERATED); git diff --stat -- $(GENERATED); exit 1; fi

.PHONY: test
test: $(if $(CI),verify,manifests generate) vet envtest ## Run all tests: policy engine, core, and controllers against a real kube-apiserver, then the race detector and a short fuzz run.
	hack/install-test-deps.sh
	@# The HTML report's browser check skips without chromium outside make test, fails here.
	ISMS_REQUIRE_CHROMIUM=1 KUBEBUILDER_ASSETS="$$($(ENVTEST_INSTALL))" $(GO) test ./... -count=1 -timeout 20m $(TEST_ARGS)
	$(MAKE) --no-print-directory test-race fuzz-short

# The pure core and the controllers (against envtest) under the race detector: the evaluator,
# the sweeper, the Finding writers and the evidence writer share state across goroutines.
RACE_PACKAGES ?= ./internal/... ./controllers/
.PHONY: test-race
test-race: envtest ## Run the pure core and the controllers under the race detector.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_INSTALL))" $(GO) test -race -count=1 -timeout 20m $(RACE_PACKAGES)

# Each fuzz target for FUZZTIME, from its committed seeds: the policy sandbox, the Finding
# decision and eval's manifest loader take input that people write.
FUZZTIME ?= 10s
FUZZ_TARGETS := ./internal/policy:FuzzCompileAndEvaluate ./internal/finding:FuzzDecide ./cmd/kubectl-isms:FuzzLoad
.PHONY: fuzz-short
fuzz-short: ## Run each fuzz target briefly (FUZZTIME=10s); a finding is written under the package's testdata/fuzz.
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) || exit 1; done

.PHONY: test-unit
test-unit: ## Run the tests that need no API server.
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -e /test/e2e -e /test/bench)

# The fault test also runs in `make test` (go test ./...); alone, it prints its table of rounds.
.PHONY: test-fault
test-fault: envtest ## SIGKILL the manager 20 times and restart kube-apiserver twice under churn, then check Findings against ground truth (FAULT_SEED=<n> replays a run).
	KUBEBUILDER_ASSETS="$$($(ENVTEST_INSTALL))" $(GO) test ./test/fault/ -run '^TestFaults$$' -count=1 -v -timeout 10m

# Also in `make test`; alone, it prints the hand-over times.
.PHONY: test-ha
test-ha: envtest ## Two replicas on one PostgreSQL ledger: SIGKILL the leader mid-sweep, SIGTERM the next, check the hand-over times and Findings against ground truth (HA_SEED=<n> replays a run).
	hack/install-test-deps.sh
	KUBEBUILDER_ASSETS="$$($(ENVTEST_INSTALL))" $(GO) test ./test/ha/ -run '^TestLeaderHandover$$' -count=1 -v -timeout 5m

##@ Benchmark

BENCH_ARGS ?=
.PHONY: bench
bench: envtest ## Measure the evaluation loop (10k Deployments by default; BENCH_ARGS="-objects 100000 -controls 50").
	$(GO) build -o $(LOCALBIN)/manager ./cmd/manager
	KUBEBUILDER_ASSETS="$$($(ENVTEST_INSTALL))" $(GO) run ./test/bench -manager $(LOCALBIN)/manager $(BENCH_ARGS)

# Not in CI: it builds Gatekeeper from the Go module proxy (once, cached like envtest's binaries).
GATEKEEPER_VERSION ?= 3.23.1
.PHONY: bench-peers
bench-peers: envtest ## Measure against Gatekeeper's audit on the same control plane and Deployments (1k: PEERS_ARGS="-objects 1000 -namespaces 10").
	$(GO) build -o $(LOCALBIN)/manager ./cmd/manager
	gatekeeper="$$(GATEKEEPER_VERSION=$(GATEKEEPER_VERSION) hack/install-gatekeeper.sh $(LOCALBIN) | tail -1)"; \
	crds="$$(GATEKEEPER_VERSION=$(GATEKEEPER_VERSION) hack/install-gatekeeper.sh --crds | tail -1)"; \
	KUBEBUILDER_ASSETS="$$($(ENVTEST_INSTALL))" $(GO) run ./test/bench -peers -manager $(LOCALBIN)/manager \
		-gatekeeper "$$gatekeeper" -gatekeeper-crds "$$crds" $(PEERS_ARGS)

# No cluster: a Go benchmark on a generated ledger (docs/reports.md has the figures).
.PHONY: bench-report
bench-report: ## Measure the period audit report: a year x 100 controls x 10k subjects, computed and rendered (target < 10 s, < 300 MiB peak heap).
	$(GO) test ./internal/report/ -run '^$$' -bench ReportYear -benchtime 1x -count=1

##@ Build

.PHONY: build
build: manifests generate ## Build the manager, the local control-plane runner and the kubectl plugin into bin/.
	$(GO) build -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/manager ./cmd/manager
	$(GO) build -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/isms-local ./cmd/isms-local
	$(GO) build -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/kubectl-isms ./cmd/kubectl-isms

.PHONY: install-plugin
install-plugin: ## Install the kubectl plugin (kubectl isms) with go install, into $GOBIN or $GOPATH/bin.
	$(GO) install -ldflags '$(LDFLAGS)' ./cmd/kubectl-isms
	@dir="$$($(GO) env GOBIN)"; dir="$${dir:-$$($(GO) env GOPATH)/bin}"; \
	echo "installed $$dir/kubectl-isms"; \
	case ":$$PATH:" in *":$$dir:"*) echo "try: kubectl isms --help";; \
	*) echo "$$dir is not on your PATH: export PATH=\"$$dir:\$$PATH\", then: kubectl isms --help";; esac

# The platforms of the plugin's release archives: deploy/krew/isms.yaml names the same ones.
DIST_PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
DIST ?= $(CURDIR)/dist

.PHONY: dist
dist: ## Cross-build kubectl-isms for DIST_PLATFORMS into dist/ (tar.gz, checksums.txt) and render the krew manifest for VERSION.
	hack/dist.sh '$(VERSION)' '$(DIST)' '$(LDFLAGS)' $(DIST_PLATFORMS)

.PHONY: docker-build
docker-build: ## Build the manager image (needs a Docker engine), stamped with VERSION and COMMIT.
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg BUILD_DATE=$(BUILD_DATE) -t $(IMG) .

.PHONY: run-local
run-local: build envtest ## Start a local control plane with the operator and leave it running (Ctrl-C stops it); the evidence ledger is in bin/local/evidence.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_INSTALL))" $(LOCALBIN)/isms-local run --dir $(LOCALBIN)/local

.PHONY: demo
demo: build envtest ## Local control plane + operator + sample controls + a drifting workload, then show controls and findings.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_INSTALL))" hack/demo.sh

##@ Dependencies

.PHONY: envtest
envtest: ## Install kube-apiserver, etcd and kubectl into bin/ (built from the Go module proxy, cached per version).
	@$(ENVTEST_INSTALL) >/dev/null

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)
