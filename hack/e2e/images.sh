#!/usr/bin/env bash
# Builds the container images of the e2e node without Docker and without a
# registry, into a cache directory outside the clone (next to build.sh's
# binaries):
#
#   ${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kfp-argo-e2e}/images-<key>/
#
# The directory holds one docker-archive tarball per image, each carrying all
# the image's names, ready for `ctr -n k8s.io images import <tar>`, and
#   images.tsv    <tarball>\t<fully qualified image name>, one line per name;
#   unserved.tsv  <image name as the corpus writes it>\t<why no image is built>;
#   python-packages.txt  the Debian packages of the Python image, as installed.
# <key> hashes every input: this script, the files under images/ that go into
# an image (Go modules, the pip stand-in; not verify/, which only reads the
# images), the KFP SDK tree, the candidate
# versions of the Debian packages in the host's apt lists (and their Release
# date), and `go version`. Run `apt-get update` to pick up new Debian versions.
#
# Usage: images.sh             build what is missing, print the directory
#        images.sh --print-dir print the directory without building
#
# Environment: GO (default go), E2E_CACHE_DIR (cache root), KFP_SDK_DIR
# (default: ../shared/kfp-sdk next to the clone), E2E_DEBIAN_MIRROR (default:
# the bookworm mirror of the apt sources). Needs root (debootstrap, chroot,
# file ownership in the root file systems).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
GO="${GO:-go}"
kfp="${KFP_SDK_DIR:-$repo/../shared/kfp-sdk}"
suite=bookworm
# The Debian packages the images are made of, all in the key. fetched: taken
# with apt-get download and unpacked with dpkg-deb -x, nothing is installed on
# the host. bootstrapped: installed into the Python image by debootstrap, with
# their dependencies (python-packages.txt lists what was installed).
# python3-yapf and python3-dill are there because corpus components
# pip-install yapf or dill; the stand-in does not check version pins.
fetched=(debootstrap busybox-static bash-static jq libjq1 libonig5 libc6 ca-certificates media-types)
bootstrapped=(python3 python3-packaging python3-yapf python3-dill)
debs=("${fetched[@]}" "${bootstrapped[@]}")
images=(argoexec pause python busybox bash jq)

if [[ ! -d "$kfp/kfp" ]]; then
	echo "images.sh: KFP SDK not found at $kfp (set KFP_SDK_DIR)" >&2
	exit 1
fi

root="${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kfp-argo-e2e}"
candidates() {
	apt-cache show --no-all-versions "${debs[@]}" 2>/dev/null | grep -E '^(Package|Version):' || true
}
# The candidate versions only change with the apt lists, whose Release files
# sign everything in them; apt-cache takes 1-6 s on a loaded machine, so its
# answer is kept per state of the lists and a warm run does not ask it.
lists="$(cat /var/lib/apt/lists/*Release 2>/dev/null | sha256sum | cut -c1-16)"
versions="$(cat "$root/images-apt-$lists.txt" 2>/dev/null || true)"
if [[ "$(grep -c '^Package:' <<<"$versions")" -ne "${#debs[@]}" ]]; then
	versions="$(candidates)"
	if [[ "$(grep -c '^Package:' <<<"$versions")" -ne "${#debs[@]}" ]]; then
		echo "images.sh: apt lists incomplete, running apt-get update" >&2
		apt-get update -qq >&2
		lists="$(cat /var/lib/apt/lists/*Release | sha256sum | cut -c1-16)"
		versions="$(candidates)"
	fi
	mkdir -p "$root"
	echo "$versions" >"$root/.images-apt-$lists.txt.$$"
	mv "$root/.images-apt-$lists.txt.$$" "$root/images-apt-$lists.txt"
fi

key="$(
	{
		echo "== files"
		(cd "$here" && find images.sh images/go.mod images/go.sum images/imagepack images/pause images/argoexec images/python images/unserved.tsv \
			-type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
		echo "== kfp"
		(cd "$kfp" && find kfp -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
		echo "== debian"
		echo "$versions"
		cat /var/lib/apt/lists/*_dists_${suite}_InRelease 2>/dev/null | grep -m1 '^Date:' || true
		"$GO" version
	} | sha256sum | cut -c1-16
)"
dir="$root/images-$key"

if [[ "${1:-}" == "--print-dir" ]]; then
	echo "$dir"
	exit 0
fi

have() { [[ -s "$dir/$1.tar" && -s "$dir/.$1.tsv" ]]; }
# images.tsv is written last, after every tarball is in place.
complete() {
	local i
	[[ -s "$dir/images.tsv" ]] || return 1
	for i in "${images[@]}"; do
		have "$i" || return 1
	done
}

if complete; then
	echo "$dir"
	exit 0
fi

mkdir -p "$root"
exec 9>"$root/images-$key.lock"
flock 9
if complete; then
	echo "$dir"
	exit 0
fi

mkdir -p "$dir"
work="$root/images-$key.work"
# debootstrap mounts proc and sys in the target while it runs; never let rm
# follow a mount that an interrupted run left behind.
cleanup() {
	local m
	# The Python build runs in the background: let it end before its
	# directory goes.
	[[ -n "${python_pid:-}" ]] && wait "$python_pid" 2>/dev/null
	for m in $(findmnt -rn -o TARGET | grep -F "$work/" | sort -r); do
		umount -l "$m" || true
	done
	rm -rf --one-file-system "$work"
}
cleanup
mkdir -p "$work"
trap cleanup EXIT

export CGO_ENABLED=0 GOWORK=off GOFLAGS="-buildvcs=false"
path_env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "images.sh: $*" >&2; }

# fetch_debs <pkg>...: the .deb files of the host's candidate versions, into
# $work/debs, without installing anything on the host.
fetch_debs() {
	mkdir -p "$work/debs"
	(cd "$work/debs" && apt-get download -q -o APT::Sandbox::User=root "$@" >&2)
}

# extract <pkg> <dir>: unpacks a downloaded package's files into dir.
extract() {
	local f
	f="$(ls "$work/debs/$1"_*.deb)"
	dpkg-deb -x "$f" "$2"
}

# pack <image> <imagepack flags>: writes <image>.tar and its lines of
# images.tsv (kept in $dir/.<image>.tsv until every image is there).
pack() {
	local out="$1"
	shift
	local start=$SECONDS a prev=
	nice -n 10 "$work/imagepack" -out "$dir/$out.tar" "$@"
	for a in "$@"; do
		[[ "$prev" == -tag ]] && printf '%s.tar\t%s\n' "$out" "$a"
		prev="$a"
	done >"$dir/.$out.tsv.tmp"
	mv "$dir/.$out.tsv.tmp" "$dir/.$out.tsv"
	log "packed $out.tar ($(du -m "$dir/$out.tar" | cut -f1) MB) in $((SECONDS - start))s"
}

# base_etc <rootfs>: the few files every image has besides its programs.
base_etc() {
	mkdir -p "$1/etc" "$1/tmp" "$1/root" "$1/dev" "$1/proc" "$1/sys"
	chmod 1777 "$1/tmp"
	chmod 700 "$1/root"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$1/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
}

# Python: Debian's python3 from debootstrap, with the KFP SDK and the pip
# stand-in. Runs in the background while the Go programs compile: it is
# network and disk bound, they are CPU bound.
build_python() {
	have python && return 0
	local start=$SECONDS mirror rootfs="$work/python"
	mirror="${E2E_DEBIAN_MIRROR:-$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk -v s="$suite" '$2 == s { print $1; exit }')}"
	mirror="${mirror:-http://deb.debian.org/debian/}"
	mkdir -p "$work/debootstrap"
	extract debootstrap "$work/debootstrap"
	log "debootstrap $suite from $mirror"
	DEBOOTSTRAP_DIR="$work/debootstrap/usr/share/debootstrap" nice -n 10 \
		"$work/debootstrap/usr/sbin/debootstrap" --variant=minbase --include="$(IFS=,; echo "${bootstrapped[*]}")" \
		"$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
		tail -20 "$work/debootstrap.log" >&2
		return 1
	}
	chroot "$rootfs" dpkg-query -W -f '${Package}\t${Version}\n' >"$work/python-packages.txt"
	local pyver site
	pyver="$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
	site="$rootfs/usr/local/lib/python$pyver/dist-packages"
	mkdir -p "$site"
	cp -r "$kfp/kfp" "$site/kfp"
	find "$site/kfp" -name __pycache__ -prune -exec rm -rf {} +
	local kver
	kver="$(sed -n "s/^__version__ = '\(.*\)'/\1/p" "$kfp/kfp/version.py")"
	# The metadata pip itself would have written, so that importlib.metadata
	# (and the pip stand-in) see kfp as installed.
	mkdir -p "$site/kfp-$kver.dist-info"
	printf 'Metadata-Version: 2.1\nName: kfp\nVersion: %s\n' "$kver" >"$site/kfp-$kver.dist-info/METADATA"
	echo kfp-argo-e2e >"$site/kfp-$kver.dist-info/INSTALLER"
	cp -r "$here/images/python/pip" "$site/pip"
	install -m 755 "$here/images/python/pip-command" "$rootfs/usr/local/bin/pip"
	install -m 755 "$here/images/python/pip-command" "$rootfs/usr/local/bin/pip3"
	# Docker's python images have `python`; Debian's python3 has not.
	ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
	chroot "$rootfs" python3 -m compileall -q "/usr/local/lib/python$pyver/dist-packages" >/dev/null
	rm -rf --one-file-system "$rootfs"/usr/share/{doc,man,info,locale,lintian} "$rootfs"/var/lib/apt/lists/* \
		"$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/* \
		"$rootfs"/usr/share/common-licenses "$rootfs"/dev/* "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname
	mkdir -p "$rootfs/usr/share/doc"
	log "python root file system in $((SECONDS - start))s ($(du -sm "$rootfs" | cut -f1) MB)"
}

start=$SECONDS
fetch_debs "${fetched[@]}"
# The build's outcome is a file, not wait's status: bash forgets a finished
# background job's status when a later child gets the same pid, and with
# pid_max 32768 the Go builds below can go round (wait then says "not a child").
rm -f "$work/python.ok"
(
	build_python
	touch "$work/python.ok"
) &
python_pid=$!

mkdir -p "$work/bin"
gobuild() {
	local mod="$1" out="$2" pkg="$3" ldflags="$4" start=$SECONDS
	shift 4
	(cd "$here/images/$mod" && nice -n 10 "$GO" build -trimpath "$@" -ldflags "$ldflags" -o "$out" "$pkg")
	log "built $(basename "$out") in $((SECONDS - start))s"
}
gobuild . "$work/imagepack" ./imagepack "-s -w"
gobuild . "$work/bin/pause" ./pause "-s -w"
# Argo's repository has workflow/executor/osspecific/signal_linux.go as a
# symlink to signal_darwin.go; module zips drop symlinks, so the module as the
# proxy serves it does not build for Linux. Build from a copy of the module
# with the link restored, through a go.mod that replaces Argo by that copy.
argodir="$(cd "$here/images/argoexec" && "$GO" mod download -json github.com/argoproj/argo-workflows/v3 |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
cp -r "$argodir" "$work/argo-src"
chmod -R u+w "$work/argo-src"
ln -s signal_darwin.go "$work/argo-src/workflow/executor/osspecific/signal_linux.go"
cp "$here/images/argoexec/go.mod" "$work/argoexec.mod"
cp "$here/images/argoexec/go.sum" "$work/argoexec.sum"
echo "replace github.com/argoproj/argo-workflows/v3 => $work/argo-src" >>"$work/argoexec.mod"
gobuild argoexec "$work/bin/argoexec" github.com/argoproj/argo-workflows/v3/cmd/argoexec \
	"-s -w -X github.com/argoproj/argo-workflows/v3.version=v3.7.18" -modfile="$work/argoexec.mod"

# argoexec: as Argo's Dockerfile builds it (distroless static + argoexec +
# mime.types, ssh_known_hosts, nsswitch.conf), ENTRYPOINT argoexec.
if ! have argoexec; then
	r="$work/argoexec"
	base_etc "$r"
	install -D -m 755 "$work/bin/argoexec" "$r/bin/argoexec"
	install -D -m 644 "$argodir/hack/nsswitch.conf" "$r/etc/nsswitch.conf"
	install -D -m 644 "$argodir/hack/ssh_known_hosts" "$r/etc/ssh/ssh_known_hosts"
	mkdir -p "$work/media-types" "$work/ca"
	extract media-types "$work/media-types"
	install -D -m 644 "$work/media-types/etc/mime.types" "$r/etc/mime.types"
	# What update-ca-certificates would assemble from Debian's certificates.
	extract ca-certificates "$work/ca"
	mkdir -p "$r/etc/ssl/certs"
	cat "$work/ca"/usr/share/ca-certificates/mozilla/*.crt >"$r/etc/ssl/certs/ca-certificates.crt"
	printf 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >>"$r/etc/passwd"
	printf 'nonroot:x:65532:\n' >>"$r/etc/group"
	pack argoexec -rootfs "$r" -tag quay.io/argoproj/argoexec:v3.7.18 \
		-entrypoint '["argoexec"]' -env "$path_env" -env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
fi

# pause: the sandbox image, under the names containerd 2.4 (3.10.2), kubeadm
# 1.31+ (3.10) and containerd 1.6 (3.6) default to.
if ! have pause; then
	r="$work/pause"
	mkdir -p "$r"
	install -m 755 "$work/bin/pause" "$r/pause"
	pack pause -rootfs "$r" -tag registry.k8s.io/pause:3.10.2 -tag registry.k8s.io/pause:3.10 \
		-tag registry.k8s.io/pause:3.6 -entrypoint '["/pause"]' -user 65535:65535
fi

# busybox_rootfs <dir>: Debian's static busybox with every applet linked, as
# alpine and busybox images have them.
busybox_rootfs() {
	local r="$1" a
	base_etc "$r"
	mkdir -p "$work/busybox-deb"
	[[ -x "$work/busybox-deb/bin/busybox" ]] || extract busybox-static "$work/busybox-deb"
	install -D -m 755 "$work/busybox-deb/bin/busybox" "$r/bin/busybox"
	for a in $("$r/bin/busybox" --list-full); do
		[[ -e "$r/$a" ]] && continue
		mkdir -p "$r/$(dirname "$a")"
		ln -s /bin/busybox "$r/$a"
	done
	mkdir -p "$r/usr/local/bin" "$r/var/tmp"
}

if ! have busybox; then
	busybox_rootfs "$work/busybox"
	pack busybox -rootfs "$work/busybox" \
		-tag docker.io/library/busybox:latest -tag ghcr.io/containerd/busybox:latest \
		-tag docker.io/library/alpine:latest -tag docker.io/library/alpine:3.23 \
		-cmd '["/bin/sh"]' -env "$path_env"
fi

# bash: busybox plus Debian's static bash at /usr/local/bin/bash, where
# Docker's bash image has it.
if ! have bash; then
	r="$work/bash"
	busybox_rootfs "$r"
	mkdir -p "$work/bash-deb"
	extract bash-static "$work/bash-deb"
	install -m 755 "$work/bash-deb/bin/bash-static" "$r/usr/local/bin/bash"
	ln -s /usr/local/bin/bash "$r/bin/bash"
	pack bash -rootfs "$r" -tag docker.io/library/bash:latest -cmd '["bash"]' -env "$path_env"
fi

# jq: busybox plus Debian's jq and the libraries it links.
if ! have jq; then
	r="$work/jq"
	busybox_rootfs "$r"
	for p in jq libjq1 libonig5 libc6; do
		extract "$p" "$r"
	done
	rm -rf "$r"/usr/share/{doc,man,lintian,locale}
	pack jq -rootfs "$r" -tag docker.io/jetbrainsinfra/jq:latest -cmd '["/bin/sh"]' -env "$path_env"
fi

wait "$python_pid" 2>/dev/null || true
if [[ ! -f "$work/python.ok" ]]; then
	log "the Python root file system was not built"
	exit 1
fi
if ! have python; then
	cp "$work/python-packages.txt" "$dir/python-packages.txt"
	# Every Python image name of the corpus: Python 3.11 serves them all.
	pack python -rootfs "$work/python" \
		-tag docker.io/library/python:3.11 -tag docker.io/library/python:3.7 \
		-tag docker.io/library/python:alpine3.9 -tag public.ecr.aws/docker/library/python:3.12 \
		-tag registry.access.redhat.com/ubi9/python-311:latest \
		-cmd '["python3"]' -env "$path_env" -env LANG=C.UTF-8
fi

cp "$here/images/unserved.tsv" "$dir/unserved.tsv"
for i in "${images[@]}"; do
	cat "$dir/.$i.tsv"
done >"$dir/.images.tsv.tmp"
mv "$dir/.images.tsv.tmp" "$dir/images.tsv"
complete
log "images built in $((SECONDS - start))s"
echo "$dir"
