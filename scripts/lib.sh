# shellcheck shell=bash
# lib.sh - shared by scripts/test.sh and scripts/run-sample.sh (sourced, not run).
#
# Debian 12 assumptions: apt, root for installing packages and for running dockerd; PID 1 may not be
# systemd, so no service is ever started through it.

PW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Everything building podwarden, running its tests and running the sample needs.
#   file, iproute2: used by samples/images/build-images.sh and tests/scripts/dockerd.sh
#   abigail-tools: abidiff for the ABI stability check
#   clang, libc++-dev, libc++abi-dev: the ABI fixture plugin built with clang and libc++
#   dpkg-dev: dpkg-shlibdeps, which cpack uses for the Depends of the .deb packages
#   openssl: tests/scripts/pki.sh (certificates for the TLS and fake API server tests)
#   libclang-rt-dev: clang's sanitizer and libFuzzer runtimes, for fuzz/run.sh (.ci/run runs it)
# kubectl is not listed: pw_install_missing adds Debian's kubernetes-client only when no kubectl is on PATH.
PW_PACKAGES=(cmake ninja-build g++ pkg-config libpoco-dev libyaml-cpp-dev libcppunit-dev libssl-dev
  docker.io runc busybox-static iptables iproute2 curl file abigail-tools clang libc++-dev libc++abi-dev
  dpkg-dev containerd containernetworking-plugins libgrpc++-dev protobuf-compiler protobuf-compiler-grpc
  libprotobuf-dev openssl libclang-rt-dev)

pw_log() { printf '%s %s\n' "[$(date -u +%H:%M:%S)]" "$*" >&2; }
pw_die() { pw_log "error: $*"; exit 1; }

# pw_phase NAME COMMAND...: runs COMMAND and logs how long it took.
pw_phase() {
  local name=$1 start end rc=0
  shift
  pw_log "=== $name"
  start=$(date +%s.%N)
  "$@" || rc=$?
  end=$(date +%s.%N)
  pw_log "=== $name: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f s", b - a }')$([ $rc -eq 0 ] || echo ", exit $rc")"
  return $rc
}

pw_require_root() {
  [ "$(id -u)" = 0 ] || pw_die "$(basename "$0") needs root (it installs packages and runs dockerd): sudo $0 $*"
}

# Installs the packages of PW_PACKAGES that are missing, with `apt-get update` first when anything is
# missing or PW_APT_UPDATE=1. Package scripts may not start services: the test dockerd is ours to start.
pw_install_missing() {
  local missing=() pkg
  for pkg in "${PW_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  # kubectl for the API server tests (tests/integration/apiserver, sink-apiserver). Debian's
  # kubernetes-client cannot be installed beside another kubectl package (e.g. the Google Cloud SDK's), so
  # only when there is none on PATH.
  command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
  if [ ${#missing[@]} -eq 0 ] && [ "${PW_APT_UPDATE:-0}" != 1 ]; then
    pw_log "all packages present"
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  [ ${#missing[@]} -eq 0 ] && return 0
  pw_log "installing: ${missing[*]}"
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  local rc=0
  apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
  [ $own_policy = 1 ] && rm -f "$policy"
  return $rc
}

# pw_build BUILD_DIR [TARGET...]: configures (once) and builds.
pw_build() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$PW_ROOT" -B "$dir" -G Ninja
  fi
  ninja -C "$dir" "$@"
}

pw_docker_answers() {
  local sock=${1#unix://}
  [ -S "$sock" ] && [ "$(curl -s --max-time 3 --unix-socket "$sock" http://docker/_ping 2>/dev/null)" = OK ]
}

# Starts (or reuses) the private test dockerd and prints its DOCKER_HOST value.
pw_start_test_dockerd() {
  local out
  out=$("$PW_ROOT/tests/scripts/dockerd.sh" start) || return 1
  printf '%s\n' "$out" | sed -n 's/^DOCKER_HOST=//p' | tail -n 1
}

# pw_deb_install_smoke BUILD_DIR: CI only (PW_CI_INSTALL_DEB=1, set by .ci/run, on a throwaway machine).
# Builds the .deb packages, installs them with dpkg -i as an operator would, runs the installed binary on
# the sample manifest (validate, plugins), builds the sample plugin against the installed SDK, and
# removes the packages again.
pw_deb_install_smoke() {
  local build=$1 work prefix
  work=$(mktemp -d /tmp/pw-deb-XXXXXX)
  prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
  (cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkgs" >"$work/cpack.log" 2>&1) ||
    { cat "$work/cpack.log" >&2; return 1; }
  dpkg -i "$work"/pkgs/podwarden_*.deb "$work"/pkgs/podwarden-sdk-dev_*.deb >&2 || return 1
  local rc=0
  {
    "$prefix/bin/podwarden" version &&
      "$prefix/bin/podwarden" validate "$PW_ROOT/samples/manifests/kube-apiserver.yaml" &&
      "$prefix/bin/podwarden" plugins | grep -q "runtime-docker" &&
      cmake -S "$PW_ROOT/samples/plugins/sink-jsonl" -B "$work/sample" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null &&
      ninja -C "$work/sample" >/dev/null &&
      "$prefix/bin/podwarden-conformance" "$work/sample/sink-jsonl.so" --config "{\"path\":\"$work/out.jsonl\"}" >/dev/null
  } >&2 || rc=$?
  dpkg -P podwarden-sdk-dev podwarden >&2 || rc=1
  rm -rf "$work"
  return $rc
}
