#!/usr/bin/env bash
# Installs the system packages the tests need, from Debian's package archive, when missing:
#   postgresql   the evidence ledger's PostgreSQL store tests and test/ha (two replicas on one
#                ledger) start a throwaway server with initdb and pg_ctl (Debian puts them
#                in /usr/lib/postgresql/<version>/bin).
#   chromium     internal/report renders the HTML audit report in headless Chromium and checks
#                its sections and layout (make test sets ISMS_REQUIRE_CHROMIUM=1, so a missing
#                browser fails there instead of skipping).
# Add a package to PACKAGES below, with a line here saying which tests need it.
#
# Idempotent: a package already installed is left alone, and apt-get runs only when
# something is missing; it prints nothing when all is installed. Needs root (or sudo) for the
# install itself.
#
# Usage: hack/install-test-deps.sh
set -euo pipefail

PACKAGES=(
	postgresql
	chromium
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$pkg")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-test-deps: missing ${missing[*]} and no apt-get here: install them by hand" >&2
	exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

echo "install-test-deps: apt-get update"
$SUDO apt-get update -qq
echo "install-test-deps: apt-get install ${missing[*]}"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
