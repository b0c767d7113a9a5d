#!/usr/bin/env bash
# Installs the control-plane binaries that envtest and the local demo run: kube-apiserver, etcd
# and kubectl, built from source through the Go module proxy (the only registry reachable where
# this project is developed; setup-envtest's download host is not).
#
# The build is cached per version outside the clone, so a fresh clone on a warm machine links the
# binaries in seconds; only the first build on a machine takes minutes.
#
# Usage: hack/install-envtest.sh [BIN_DIR]
#   prints the folder that holds the binaries (use it as KUBEBUILDER_ASSETS) on the last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.1}"
ETCD_VERSION="${ETCD_VERSION:-3.7.3}"
BIN_DIR="${1:-$(cd "$(dirname "$0")/.." && pwd)/bin}"
CACHE_ROOT="${ISMS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/isms-operator}"
CACHE_DIR="$CACHE_ROOT/envtest/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
DEST="$BIN_DIR/k8s/$K8S_VERSION-$(go env GOOS)-$(go env GOARCH)"

# Throwaway build modules, removed on exit whatever happens.
WORKDIRS=()
cleanup() { rm -rf "${WORKDIRS[@]}" "${STAGING:-}"; }
trap cleanup EXIT
new_workdir() { WORK=$(mktemp -d); WORKDIRS+=("$WORK"); }

log() { printf '[install-envtest] %s\n' "$*" >&2; }

have_all() {
  local dir=$1
  [[ -x "$dir/kube-apiserver" && -x "$dir/etcd" && -x "$dir/kubectl" ]]
}

# A heartbeat while a long build runs, so a first run doesn't look hung.
with_progress() {
  local what=$1; shift
  local start=$SECONDS
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null && log "$what: still building ($((SECONDS - start))s)"
  done
  wait "$pid"
  log "$what: done in $((SECONDS - start))s"
}

build_kubernetes() {
  local out=$1 work
  new_workdir; work=$WORK
  log "building kube-apiserver and kubectl v$K8S_VERSION from the Go module proxy (first time only, a few minutes)"
  local gomod
  gomod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [[ -f "$gomod" ]] || { log "could not download k8s.io/kubernetes@v$K8S_VERSION"; return 1; }
  local minor=${K8S_VERSION#*.}; minor=${minor%%.*}
  local staging_version="v0.${minor}.${K8S_VERSION##*.}"
  {
    echo "module isms.dev/envtest-build"
    echo
    grep -E '^go [0-9.]+$' "$gomod"
    grep -E '^godebug ' "$gomod" || true
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    # kubernetes requires its staging modules at v0.0.0 and resolves them with replace
    # directives, which a dependent module does not inherit: pin each to the matching tag.
    grep -E '^\s*k8s\.io/[a-z0-9-]+ v0\.0\.0(\s|$)' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
    echo
    echo "tool ("
    echo "  k8s.io/kubernetes/cmd/kube-apiserver"
    echo "  k8s.io/kubernetes/cmd/kubectl"
    echo ")"
  } >"$work/go.mod"
  (cd "$work" && go mod tidy >/dev/null)
  local pkg=k8s.io/component-base/version cgo=k8s.io/client-go/pkg/version
  local ldflags="-s -w"
  for p in $pkg $cgo; do
    ldflags+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  (cd "$work" && CGO_ENABLED=0 with_progress kube-apiserver go build -trimpath -ldflags "$ldflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
  (cd "$work" && CGO_ENABLED=0 with_progress kubectl go build -trimpath -ldflags "$ldflags" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl)
}

build_etcd() {
  local out=$1 work
  new_workdir; work=$WORK
  log "building etcd v$ETCD_VERSION from the Go module proxy"
  cat >"$work/go.mod" <<MOD
module isms.dev/etcd-build

go 1.25

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION

tool go.etcd.io/etcd/server/v3
MOD
  (cd "$work" && go mod tidy >/dev/null)
  (cd "$work" && CGO_ENABLED=0 with_progress etcd go build -trimpath -ldflags '-s -w' -o "$out/etcd" go.etcd.io/etcd/server/v3)
}

main() {
  if ! have_all "$DEST"; then
    if ! have_all "$CACHE_DIR"; then
      local staging="$CACHE_DIR.partial.$$"
      STAGING=$staging
      mkdir -p "$staging"
      [[ -x "$CACHE_DIR/kube-apiserver" && -x "$CACHE_DIR/kubectl" ]] && cp "$CACHE_DIR/kube-apiserver" "$CACHE_DIR/kubectl" "$staging/" || build_kubernetes "$staging"
      [[ -x "$CACHE_DIR/etcd" ]] && cp "$CACHE_DIR/etcd" "$staging/" || build_etcd "$staging"
      # Publish the cache entry atomically so an interrupted build is never mistaken for a done one.
      rm -rf "$CACHE_DIR"
      mkdir -p "$(dirname "$CACHE_DIR")"
      mv "$staging" "$CACHE_DIR"
      STAGING=
    else
      log "using cached binaries from $CACHE_DIR"
    fi
    mkdir -p "$DEST"
    for b in kube-apiserver etcd kubectl; do
      ln -f "$CACHE_DIR/$b" "$DEST/$b" 2>/dev/null || cp "$CACHE_DIR/$b" "$DEST/$b"
    done
    log "installed kube-apiserver v$K8S_VERSION, etcd v$ETCD_VERSION, kubectl v$K8S_VERSION in $DEST"
  fi
  echo "$DEST"
}

main "$@"
