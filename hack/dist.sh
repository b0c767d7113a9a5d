#!/usr/bin/env bash
# Cross-builds kubectl-isms for each GOOS/GOARCH given into DIST as
# kubectl-isms_<VERSION>_<os>_<arch>.tar.gz (the binary alone, reproducible: fixed mtime and
# owner, no gzip timestamp), writes their sha256 sums to DIST/checksums.txt and renders the
# krew manifest deploy/krew/isms.yaml for VERSION into DIST/isms.yaml.
#
#   hack/dist.sh VERSION DIST LDFLAGS linux/amd64 darwin/arm64 ...   (make dist calls it)
set -euo pipefail

version=$1 dist=$2 ldflags=$3
shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dist"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT

manifest=$(cat "$root/deploy/krew/isms.yaml")
manifest=${manifest//\{\{VERSION\}\}/$version}
: > "$dist/checksums.txt"
for platform in "$@"; do
	os=${platform%/*} arch=${platform#*/}
	archive=kubectl-isms_${version}_${os}_${arch}.tar.gz
	mkdir -p "$build/$os-$arch"
	(cd "$root" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$ldflags" \
		-o "$build/$os-$arch/kubectl-isms" ./cmd/kubectl-isms)
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$build/$os-$arch" -cf - kubectl-isms |
		gzip -n > "$dist/$archive"
	sum=$(cd "$dist" && sha256sum "$archive")
	echo "$sum" >> "$dist/checksums.txt"
	manifest=${manifest//\{\{SHA256_${os}_${arch}\}\}/${sum%% *}}
	echo "dist: $dist/$archive"
done
if grep -q '{{' <<< "$manifest"; then
	echo "dist: the krew manifest names platforms not built: $(grep -o '{{[^}]*}}' <<< "$manifest" | sort -u | tr '\n' ' ')" >&2
	exit 1
fi
echo "$manifest" > "$dist/isms.yaml"
echo "dist: $dist/isms.yaml (krew manifest of $version)"
