#!/bin/sh
# build-images.sh - builds podwarden's local test images without any registry, into the Docker daemon at
# $DOCKER_HOST (default: the private test daemon of tests/scripts/dockerd.sh). Idempotent: an image that
# already exists is left alone (pass --force to rebuild).
#
#   podwarden.local/busybox:1.36  busybox-static with its applets as symlinks, /tmp, root and nobody
#   podwarden.local/pause:3.9     the same rootfs, sleeping forever; exits 0 promptly on SIGTERM/SIGINT
set -eu

: "${DOCKER_HOST:=unix:///run/podwarden-test/docker.sock}"
export DOCKER_HOST
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}
BUSYBOX_IMAGE=podwarden.local/busybox:1.36
PAUSE_IMAGE=podwarden.local/pause:3.9
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

have_image() {
  [ "$FORCE" = 0 ] && docker image inspect "$1" >/dev/null 2>&1
}

if have_image "$BUSYBOX_IMAGE" && have_image "$PAUSE_IMAGE"; then
  echo "build-images.sh: $BUSYBOX_IMAGE and $PAUSE_IMAGE already present"
  exit 0
fi

# busybox --install needs a static binary: the rootfs has no libc.
if ! file -L "$BUSYBOX_BIN" 2>/dev/null | grep -q 'statically linked'; then
  echo "build-images.sh: $BUSYBOX_BIN is not a static busybox (apt-get install busybox-static)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/sbin" "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/etc" "$rootfs/tmp" \
  "$rootfs/root" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/var/www"
chmod 1777 "$rootfs/tmp"
cp "$BUSYBOX_BIN" "$rootfs/bin/busybox"
# Applet links are made relative to the image, not the host: run the rootfs busybox in a chroot if we
# can, else create the links from the applet list ourselves.
if ! chroot "$rootfs" /bin/busybox --install -s >/dev/null 2>&1; then
  for applet in $("$BUSYBOX_BIN" --list-full); do
    [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
  done
fi
[ -e "$rootfs/bin/sh" ] || ln -s busybox "$rootfs/bin/sh"
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF
echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
echo 'podwarden test image' >"$rootfs/var/www/index.html"

tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" .

if ! have_image "$BUSYBOX_IMAGE"; then
  docker import --change 'CMD ["/bin/sh"]' --message "podwarden busybox test image" \
    "$work/rootfs.tar" "$BUSYBOX_IMAGE" >/dev/null
  echo "build-images.sh: built $BUSYBOX_IMAGE"
fi
if ! have_image "$PAUSE_IMAGE"; then
  # PID 1 ignores signals whose handler is the default, so the trap is what makes SIGTERM end it.
  docker import \
    --change 'CMD ["/bin/sh","-c","trap '"'"'exit 0'"'"' TERM INT; while :; do sleep 3600 & wait $!; done"]' \
    --message "podwarden pause-like sandbox image" \
    "$work/rootfs.tar" "$PAUSE_IMAGE" >/dev/null
  echo "build-images.sh: built $PAUSE_IMAGE"
fi
