#!/usr/bin/env bash
# Runs every image that ../images.sh built with runc (verify/verify_test.go):
# KFP's executor on corpus components, the pip stand-in, the shells, argoexec
# and pause. Needs root and the built images; `make test` does not run it.
# Uses the runc on PATH, or Debian's runc package unpacked into a temporary
# directory (nothing is installed on the host).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$("$here/../images.sh" --print-dir)"
if [[ ! -s "$dir/images.tsv" ]]; then
	echo "verify.sh: no images in $dir; run hack/e2e/images.sh first" >&2
	exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if ! command -v runc >/dev/null; then
	(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root runc >&2 && dpkg-deb -x runc_*.deb "$tmp/runc")
	export PATH="$tmp/runc/usr/sbin:$PATH"
fi
cd "$here/verify"
E2E_IMAGES_DIR="$dir" GOWORK=off go test -count=1 -v "$@" .
