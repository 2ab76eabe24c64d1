#!/usr/bin/env bash
# Builds the binaries of the e2e control plane (etcd, kube-apiserver,
# kube-scheduler, kube-controller-manager, kwok, workflow-controller) and of
# its real node (kubelet, containerd, containerd-shim-runc-v2, ctr, and the
# versitygw S3 gateway) from the wrapper modules next to this script, and
# takes runc from Debian's package (apt-get download, unpacked, nothing
# installed), into a cache directory outside the clone so that every clone on
# the machine shares them:
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/kfp-argo-e2e/<key>/
#
# where <key> hashes the wrapper go.sum files, runc's Debian version and
# `go version`: a change of any
# pinned version or of the toolchain gives a new directory, anything else
# reuses the old one. A second run finds every binary and builds nothing.
#
# Usage: build.sh            build if needed, print the directory on stdout
#        build.sh --print-dir print the directory without building
#        build.sh --argo4 [--print-dir]
#                             the same for Argo 4's workflow-controller alone
#                             (hack/e2e/argo4), in a directory of its own
#                             (argo4-<key>, keyed by that module's go.sum and
#                             `go version`) so the v3 stack's key is unchanged
#
# Environment: GO (default go), E2E_BUILD_P (go build -p; default: Go's own,
# i.e. the number of CPUs), E2E_CACHE_DIR (overrides the cache root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO="${GO:-go}"
modules=(k8s kwok argo containerd versitygw)
binaries=(etcd kube-apiserver kube-scheduler kube-controller-manager kwok workflow-controller
	kubelet containerd containerd-shim-runc-v2 ctr versitygw runc)
argo4=""
if [[ "${1:-}" == "--argo4" ]]; then
	argo4=1
	shift
	modules=(argo4)
	binaries=(workflow-controller)
fi

# runc comes from Debian (1.1.5 in bookworm): the version is part of the key.
runcver=""
[[ -n "$argo4" ]] || runcver="$(apt-cache show --no-all-versions runc 2>/dev/null | sed -n 's/^Version: //p' | head -1)"
if [[ -z "$runcver" && -z "$argo4" ]]; then
	apt-get update -qq >&2
	runcver="$(apt-cache show --no-all-versions runc | sed -n 's/^Version: //p' | head -1)"
fi

key="$(
	{
		for m in "${modules[@]}"; do
			echo "== $m"
			cat "$here/$m/go.sum"
		done
		[[ -n "$argo4" ]] || echo "== runc $runcver"
		"$GO" version
	} | sha256sum | cut -c1-16
)"
[[ -z "$argo4" ]] || key="argo4-$key"
root="${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kfp-argo-e2e}"
dir="$root/$key"

if [[ "${1:-}" == "--print-dir" ]]; then
	echo "$dir"
	exit 0
fi

complete() {
	local b
	for b in "${binaries[@]}"; do
		[[ -x "$dir/$b" ]] || return 1
	done
}

if complete; then
	echo "$dir"
	exit 0
fi

mkdir -p "$root"
# Two builds at once (make e2e in two shells, or a test and a person) would
# each take ~2 GB and 20 minutes; the second waits for the first and then
# finds everything built.
exec 9>"$root/$key.lock"
flock 9
if complete; then
	echo "$dir"
	exit 0
fi

mkdir -p "$dir"
pflag=()
if [[ -n "${E2E_BUILD_P:-}" ]]; then
	pflag=(-p "$E2E_BUILD_P")
fi
# Static binaries (no cgo) so nothing depends on the C toolchain or libc here.
export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false" GOWORK=off
k8sver=v1.36.1
k8sldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8sver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36"

# build <module> <output name> <package> <ldflags> [go build flags]: builds into a temporary
# name and renames, so an interrupted build never leaves a binary that
# complete() would accept.
build() {
	local mod="$1" out="$2" pkg="$3" ldflags="$4"
	shift 4
	if [[ -x "$dir/$out" ]]; then
		return 0
	fi
	local start=$SECONDS
	echo "building $out ($pkg)" >&2
	(cd "$here/$mod" && nice -n 10 "$GO" build "${pflag[@]}" "$@" -trimpath -ldflags "$ldflags" -o "$dir/.$out.tmp" "$pkg")
	mv "$dir/.$out.tmp" "$dir/$out"
	echo "built $out in $((SECONDS - start))s" >&2
}

if [[ -n "$argo4" ]]; then
	build argo4 workflow-controller github.com/argoproj/argo-workflows/v4/cmd/workflow-controller \
		"-s -w -X github.com/argoproj/argo-workflows/v4.version=v4.0.7"
	complete
	echo "$dir"
	exit 0
fi

build k8s kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8sldflags"
build k8s kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$k8sldflags"
build k8s kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$k8sldflags"
build k8s etcd go.etcd.io/etcd/server/v3 "-s -w"
build kwok kwok sigs.k8s.io/kwok/cmd/kwok "-s -w"
build argo workflow-controller github.com/argoproj/argo-workflows/v3/cmd/workflow-controller \
	"-s -w -X github.com/argoproj/argo-workflows/v3.version=v3.7.18"

build k8s kubelet k8s.io/kubernetes/cmd/kubelet "$k8sldflags"
# CGO_ENABLED=0 needs the btrfs snapshotter (cgo) left out; devmapper and zfs
# are not used either. The node uses the overlayfs snapshotter.
ctdtags=no_btrfs,no_devmapper,no_zfs
ctdldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=v2.4.2"
for b in containerd containerd-shim-runc-v2 ctr; do
	build containerd "$b" "github.com/containerd/containerd/v2/cmd/$b" "$ctdldflags" -tags "$ctdtags"
done
build versitygw versitygw github.com/versity/versitygw/cmd/versitygw "-s -w"

if [[ ! -x "$dir/runc" ]]; then
	tmp="$(mktemp -d)"
	(cd "$tmp" && apt-get download "runc=$runcver" >&2 && dpkg-deb -x runc_*.deb root)
	mv "$tmp/root/usr/sbin/runc" "$dir/runc"
	rm -rf "$tmp"
	echo "unpacked runc $runcver" >&2
fi

complete
echo "$dir"
