#!/usr/bin/env bash
# test.sh - builds podwarden and runs every test (unit and integration) against a private dockerd.
#
#   sudo scripts/test.sh [ctest arguments...]      e.g. sudo scripts/test.sh -L unit
#
# On a fresh Debian 12 as root: installs the missing packages, configures and builds into ./build
# (PODWARDEN_BUILD_DIR overrides), starts the private test dockerd (tests/scripts/dockerd.sh; reused when it
# already answers), builds the local images, then runs ctest. Exits with ctest's exit code. Idempotent.
# The test dockerd is left running for the next run; stop it with `tests/scripts/dockerd.sh stop`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD_DIR=${PODWARDEN_BUILD_DIR:-$PW_ROOT/build}

pw_require_root "$@"
pw_phase "install packages" pw_install_missing
pw_phase "build ($BUILD_DIR)" pw_build "$BUILD_DIR"

docker_host=$(pw_phase "start test dockerd" pw_start_test_dockerd) || pw_die "the test dockerd did not start"
[ -n "$docker_host" ] || pw_die "tests/scripts/dockerd.sh start printed no DOCKER_HOST"
export PODWARDEN_DOCKER_HOST=$docker_host
pw_log "PODWARDEN_DOCKER_HOST=$PODWARDEN_DOCKER_HOST"
pw_phase "build local images" env DOCKER_HOST="$docker_host" "$PW_ROOT/samples/images/build-images.sh"
# A private containerd for the CRI runtime plugin's tests, with the same images as OCI archives.
pw_phase "start test containerd" "$PW_ROOT/tests/scripts/containerd.sh" start >&2
pw_phase "import local images into containerd" "$PW_ROOT/samples/images/build-oci-images.sh" >&2
export PODWARDEN_CONTAINERD_ENDPOINT=unix:///run/podwarden-test/containerd/containerd.sock

if [ "${PW_CI_INSTALL_DEB:-0}" = 1 ]; then
  pw_phase "install the .deb packages with dpkg -i and use them" pw_deb_install_smoke "$BUILD_DIR"
fi

rc=0
pw_phase "ctest" ctest --test-dir "$BUILD_DIR" --output-on-failure "$@" || rc=$?
exit $rc
