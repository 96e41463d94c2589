#!/usr/bin/env bash
# run-sample.sh - runs podwarden in the foreground on the sample manifests (a kube-apiserver-shaped static
# pod on local images), against Docker.
#
#   sudo scripts/run-sample.sh [--with-apiserver] [MANIFEST_DIR]
#                                                  default MANIFEST_DIR: /tmp/podwarden-sample/manifests
#
# --with-apiserver also starts the fake Kubernetes API server of the tests (tests/support/fakeapi) on
# 127.0.0.1:17443 and gives podwarden the node's kubeconfig (--kubeconfig, --register-node=true), so the
# mirror pods can be watched with the real kubectl (it prints the command). The fake keeps its objects in
# memory: it forgets them when this script ends.
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
WITH_APISERVER=0
if [ "${1:-}" = --with-apiserver ]; then
  WITH_APISERVER=1
  shift
fi
MANIFEST_DIR=${1:-$SAMPLE_ROOT/manifests}
STATUS_FILE=$SAMPLE_ROOT/status.json

pw_require_root "$@"
pw_phase "install packages" pw_install_missing
targets=(podwarden runtime-docker source-dir sink-file)
[ $WITH_APISERVER = 1 ] && targets+=(sink-apiserver podwarden-fake-apiserver)
pw_phase "build ($BUILD_DIR)" pw_build "$BUILD_DIR" "${targets[@]}"

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
apiserver_args=()
if [ $WITH_APISERVER = 1 ]; then
  "$PW_ROOT/tests/scripts/pki.sh" "$SAMPLE_ROOT/pki" "$node" >/dev/null
  "$BUILD_DIR/podwarden-fake-apiserver" --pki "$SAMPLE_ROOT/pki" --port 17443 \
    --write-kubeconfig "admin=$SAMPLE_ROOT/admin.conf" --write-kubeconfig "node-$node=$SAMPLE_ROOT/kubelet.conf" \
    >"$SAMPLE_ROOT/fake-apiserver.log" 2>&1 &
  fake_pid=$!
  trap 'kill $fake_pid 2>/dev/null; wait $fake_pid 2>/dev/null' EXIT
  for _ in $(seq 50); do
    grep -q "^https://" "$SAMPLE_ROOT/fake-apiserver.log" 2>/dev/null && break
    kill -0 $fake_pid 2>/dev/null || pw_die "the fake API server did not start: $(cat "$SAMPLE_ROOT/fake-apiserver.log")"
    sleep 0.1
  done
  apiserver_args=(--kubeconfig "$SAMPLE_ROOT/kubelet.conf" --register-node=true)
  cat >&2 <<INFO

The fake API server answers on https://127.0.0.1:17443 (log: $SAMPLE_ROOT/fake-apiserver.log). Mirror pods:
  kubectl --kubeconfig $SAMPLE_ROOT/admin.conf get pods -n kube-system -o wide
  kubectl --kubeconfig $SAMPLE_ROOT/admin.conf delete pod kube-apiserver-$node -n kube-system
      (the mirror comes back with a new AGE; docker ps shows the same container, still running)
INFO
fi
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

run_podwarden() {
  "$BUILD_DIR/podwarden" run \
    --pod-manifest-path "$MANIFEST_DIR" \
    --status-file "$STATUS_FILE" \
    --container-runtime-endpoint "$docker_host" \
    --plugin-dir "$BUILD_DIR/plugins-out" \
    --pod-infra-container-image podwarden.local/pause:3.9 \
    --pods-dir "$SAMPLE_ROOT/pods" \
    --log-dir "$SAMPLE_ROOT/logs" \
    "$@"
}
if [ $WITH_APISERVER = 0 ]; then
  run_podwarden
  exit $?
fi
# With the fake API server: podwarden in the background, so that Ctrl-C or a TERM to this script reaches
# it, and the EXIT trap then stops the fake API server.
run_podwarden "${apiserver_args[@]}" &
pw_pid=$!
trap 'kill -TERM $pw_pid 2>/dev/null' INT TERM
rc=0
wait $pw_pid || rc=$?
if kill -0 $pw_pid 2>/dev/null; then  # a signal ended the wait, not podwarden: let it finish stopping
  rc=0
  wait $pw_pid || rc=$?
fi
exit $rc
