#!/bin/sh
# build-oci-images.sh - builds podwarden's two local test images as OCI archives, without any registry or
# Docker, and imports them into a containerd's CRI namespace (k8s.io) with `ctr images import`.
#
#   podwarden.local/busybox:1.36  busybox-static with its applets as symlinks, /tmp, root and nobody
#   podwarden.local/pause:3.9     the same rootfs, sleeping forever; exits 0 promptly on SIGTERM/SIGINT
#
# The same images as build-images.sh builds for Docker. Each archive holds one uncompressed layer made
# with a fixed mtime, owner and order, so it is byte-for-byte reproducible.
#
# Environment: CONTAINERD_ADDRESS (default: the private test containerd of tests/scripts/containerd.sh),
# BUSYBOX_BIN, PODWARDEN_OCI_OUT (keep the archives in this directory). Idempotent: images already in
# k8s.io are left alone (pass --force to rebuild).
set -eu

: "${CONTAINERD_ADDRESS:=/run/podwarden-test/containerd/containerd.sock}"
CONTAINERD_ADDRESS=${CONTAINERD_ADDRESS#unix://}
export CONTAINERD_ADDRESS
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
BUSYBOX_IMAGE=podwarden.local/busybox:1.36
PAUSE_IMAGE=podwarden.local/pause:3.9
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

ctr_() {
  ctr --address "$CONTAINERD_ADDRESS" --namespace k8s.io "$@"
}

have_image() {
  [ "$FORCE" = 0 ] && ctr_ images ls -q 2>/dev/null | grep -qx "$1"
}

if have_image "$BUSYBOX_IMAGE" && have_image "$PAUSE_IMAGE"; then
  echo "build-oci-images.sh: $BUSYBOX_IMAGE and $PAUSE_IMAGE already present in $CONTAINERD_ADDRESS"
  exit 0
fi
if ! ctr --address "$CONTAINERD_ADDRESS" version >/dev/null 2>&1; then
  echo "build-oci-images.sh: no containerd answers on $CONTAINERD_ADDRESS (tests/scripts/containerd.sh start)" >&2
  exit 1
fi
if ! file -L "$BUSYBOX_BIN" 2>/dev/null | grep -q 'statically linked'; then
  echo "build-oci-images.sh: $BUSYBOX_BIN is not a static busybox (apt-get install busybox-static)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- rootfs (same content as build-images.sh) ----
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/sbin" "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/etc" "$rootfs/tmp" \
  "$rootfs/root" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/var/www"
chmod 1777 "$rootfs/tmp"
cp "$BUSYBOX_BIN" "$rootfs/bin/busybox"
for applet in $("$BUSYBOX_BIN" --list-full); do
  [ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done
[ -e "$rootfs/bin/sh" ] || ln -s busybox "$rootfs/bin/sh"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$rootfs/etc/group"
echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
echo 'podwarden test image' >"$rootfs/var/www/index.html"
layer=$work/layer.tar
tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$layer" .

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

# build_archive NAME CMD_JSON OUT.tar - an OCI image layout holding one image, tarred.
build_archive() {
  name=$1
  cmd=$2
  out=$3
  dir=$work/oci-$(echo "$name" | tr '/:' '__')
  mkdir -p "$dir/blobs/sha256"
  layer_sha=$(sha "$layer")
  cp "$layer" "$dir/blobs/sha256/$layer_sha"
  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$cmd" "$layer_sha" >"$dir/config.json"
  config_sha=$(sha "$dir/config.json")
  config_size=$(size "$dir/config.json")
  mv "$dir/config.json" "$dir/blobs/sha256/$config_sha"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config_sha" "$config_size" "$layer_sha" "$(size "$layer")" >"$dir/manifest.json"
  manifest_sha=$(sha "$dir/manifest.json")
  manifest_size=$(size "$dir/manifest.json")
  mv "$dir/manifest.json" "$dir/blobs/sha256/$manifest_sha"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_sha" "$manifest_size" "$name" "${name##*:}" >"$dir/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  tar -C "$dir" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out" oci-layout index.json blobs
}

out_dir=${PODWARDEN_OCI_OUT:-$work}
mkdir -p "$out_dir"
# PID 1 ignores signals whose handler is the default, so the trap is what makes SIGTERM end it.
build_archive "$PAUSE_IMAGE" \
  '["/bin/sh","-c","trap '"'"'exit 0'"'"' TERM INT; while :; do sleep 3600 & wait $!; done"]' "$out_dir/pause.tar"
build_archive "$BUSYBOX_IMAGE" '["/bin/sh"]' "$out_dir/busybox.tar"

import_image() {
  if have_image "$1"; then
    echo "build-oci-images.sh: $1 already present"
    return
  fi
  ctr_ images import "$out_dir/$2" >/dev/null
  if ! ctr_ images ls -q | grep -qx "$1"; then
    echo "build-oci-images.sh: $1 is not in $CONTAINERD_ADDRESS after importing $2" >&2
    exit 1
  fi
  echo "build-oci-images.sh: imported $1"
}
import_image "$PAUSE_IMAGE" pause.tar
import_image "$BUSYBOX_IMAGE" busybox.tar
