#!/usr/bin/env bash
# run-sample.sh - runs podwarden in the foreground on the sample manifests (a kube-apiserver-shaped static
# pod on local images), against Docker.
#
#   sudo scripts/run-sample.sh [MANIFEST_DIR]      default MANIFEST_DIR: /tmp/podwarden-sample/manifests
#
# On a fresh Debian 12 as root: installs the missing packages, builds into ./build, uses the Docker daemon
# at $DOCKER_HOST or /var/run/docker.sock when one answers (else starts the private test dockerd), builds
# the local images, copies samples/manifests/* into MANIFEST_DIR (files already there with the same
# content are left alone, so their pods keep running), then runs podwarden until Ctrl-C. Stopping
# podwarden leaves the pods running; running this script again adopts them. Idempotent.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD_DIR=${PODWARDEN_BUILD_DIR:-$PW_ROOT/build}
SAMPLE_ROOT=/tmp/podwarden-sample
MANIFEST_DIR=${1:-$SAMPLE_ROOT/manifests}
STATUS_FILE=$SAMPLE_ROOT/status.json

pw_require_root "$@"
pw_phase "install packages" pw_install_missing
pw_phase "build ($BUILD_DIR)" pw_build "$BUILD_DIR" podwarden runtime-docker source-dir sink-file

if [ -n "${DOCKER_HOST:-}" ] && pw_docker_answers "$DOCKER_HOST"; then
  docker_host=$DOCKER_HOST
elif pw_docker_answers /var/run/docker.sock; then
  docker_host=unix:///var/run/docker.sock
else
  docker_host=$(pw_phase "start test dockerd" pw_start_test_dockerd) || pw_die "no Docker daemon could be started"
fi
pw_log "Docker: $docker_host"
pw_phase "build local images" env DOCKER_HOST="$docker_host" "$PW_ROOT/samples/images/build-images.sh"

mkdir -p "$MANIFEST_DIR" "$(dirname "$STATUS_FILE")"
for manifest in "$PW_ROOT"/samples/manifests/*; do
  target=$MANIFEST_DIR/$(basename "$manifest")
  if ! cmp -s "$manifest" "$target"; then
    # Write beside, then rename: podwarden never sees a half-written file.
    cp "$manifest" "$MANIFEST_DIR/.$(basename "$manifest").tmp"
    mv -f "$MANIFEST_DIR/.$(basename "$manifest").tmp" "$target"
    pw_log "copied $(basename "$manifest") into $MANIFEST_DIR"
  fi
done

node=$(hostname | tr '[:upper:]' '[:lower:]')
cat >&2 <<INFO

podwarden is starting on $MANIFEST_DIR (Ctrl-C stops podwarden; the pods keep running).
In another shell:
  DOCKER_HOST=$docker_host docker ps --filter label=io.podwarden.node=$node
  cat $STATUS_FILE
  curl http://127.0.0.1:16443/healthz          # the sample kube-apiserver's health endpoint
Edit or remove files in $MANIFEST_DIR and watch the pods follow.
Clean up: rm $MANIFEST_DIR/* (podwarden running), or
  DOCKER_HOST=$docker_host docker rm -f \$(DOCKER_HOST=$docker_host docker ps -aq --filter label=io.podwarden.node=$node)

INFO

exec "$BUILD_DIR/podwarden" run \
  --pod-manifest-path "$MANIFEST_DIR" \
  --status-file "$STATUS_FILE" \
  --container-runtime-endpoint "$docker_host" \
  --plugin-dir "$BUILD_DIR/plugins-out" \
  --pod-infra-container-image podwarden.local/pause:3.9 \
  --pods-dir "$SAMPLE_ROOT/pods" \
  --log-dir "$SAMPLE_ROOT/logs"
