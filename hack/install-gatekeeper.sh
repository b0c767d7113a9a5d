#!/usr/bin/env bash
# Builds Gatekeeper, the peer that `make bench-peers` measures against, from the Go module proxy:
# nothing of Gatekeeper is kept in this repository. Its CRDs are read from the same module
# version's source in the Go module cache.
#
# The binary is built once per version into a cache outside the clone and linked into BIN_DIR,
# as hack/install-envtest.sh does for kube-apiserver.
#
# Usage: hack/install-gatekeeper.sh [BIN_DIR]   prints the binary's path on the last line
#        hack/install-gatekeeper.sh --crds      prints the folder of Gatekeeper's CRDs
set -euo pipefail

GATEKEEPER_VERSION="${GATEKEEPER_VERSION:-3.23.1}"
MODULE=github.com/open-policy-agent/gatekeeper/v3
CACHE_ROOT="${ISMS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/isms-operator}"
CACHE_BIN="$CACHE_ROOT/gatekeeper/v$GATEKEEPER_VERSION/gatekeeper"

WORK=
cleanup() { rm -rf "${WORK:-}" "${STAGING:-}"; }
trap cleanup EXIT

log() { printf '[install-gatekeeper] %s\n' "$*" >&2; }

# download fetches the module into the module cache (a no-op when it is there) and prints one
# field of `go mod download -json`: Dir (its source) or GoMod (its go.mod). It runs in $WORK, a
# scratch folder outside any module, made by main.
download() {
  local field=$1 value
  value=$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "$MODULE@v$GATEKEEPER_VERSION" | sed -n "s/^[[:space:]]*\"$field\": \"\(.*\)\",\$/\1/p")
  [[ -e "$value" ]] || { log "could not download $MODULE@v$GATEKEEPER_VERSION"; return 1; }
  echo "$value"
}

# The Helm chart's CRDs are plain manifests (no templating): every kind Gatekeeper's audit,
# status and generate operations watch, the constraint framework's ConstraintTemplate included.
crds() {
  local dir
  dir="$(download Dir)/manifest_staging/charts/gatekeeper/crds"
  [[ -f "$dir/constrainttemplate-customresourcedefinition.yaml" ]] || { log "no CRDs under $dir"; return 1; }
  echo "$dir"
}

# build compiles Gatekeeper's main package in a scratch module that requires only Gatekeeper,
# so the dependency versions are exactly those of its go.mod.
build() {
  local out=$1 gomod
  gomod=$(download GoMod)
  {
    echo "module isms.dev/gatekeeper-build"
    echo
    grep -E '^go [0-9.]+$' "$gomod"
    echo
    echo "require $MODULE v$GATEKEEPER_VERSION"
    echo
    echo "tool $MODULE"
  } >"$WORK/go.mod"
  log "building Gatekeeper v$GATEKEEPER_VERSION from the Go module proxy (first time only, a few minutes)"
  local start=$SECONDS
  (cd "$WORK" && go mod tidy >/dev/null && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$out" "$MODULE")
  log "built in $((SECONDS - start))s"
}

main() {
  WORK=$(mktemp -d)
  if [[ "${1:-}" == "--crds" ]]; then
    crds
    return
  fi
  local bin_dir="${1:-$(cd "$(dirname "$0")/.." && pwd)/bin}"
  local dest="$bin_dir/gatekeeper-v$GATEKEEPER_VERSION"
  if [[ ! -x "$dest" ]]; then
    if [[ ! -x "$CACHE_BIN" ]]; then
      mkdir -p "$(dirname "$CACHE_BIN")"
      # Publish atomically so an interrupted build is never mistaken for a done one.
      STAGING="$CACHE_BIN.partial.$$"
      build "$STAGING"
      mv "$STAGING" "$CACHE_BIN"
      STAGING=
    else
      log "using the cached binary $CACHE_BIN"
    fi
    mkdir -p "$bin_dir"
    ln -f "$CACHE_BIN" "$dest" 2>/dev/null || cp "$CACHE_BIN" "$dest"
    log "installed Gatekeeper v$GATEKEEPER_VERSION as $dest"
  fi
  echo "$dest"
}

main "$@"
