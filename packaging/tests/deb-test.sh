#!/usr/bin/env bash
# deb-test.sh BUILD_DIR SOURCE_DIR - ctest integration.PackagingDebTest: builds the two .deb packages of
# BUILD_DIR with cpack, unpacks them (dpkg -x, not installed into the system) into a temporary root and
# uses what they contain: the daemon validates the sample manifest and lists its packaged plugins with the
# packaged config; the SDK builds samples/plugins/sink-jsonl out of tree (CMake package) and a plugin from
# the pkg-config file; the packaged conformance suite passes the sample.
# Needs a complete build of BUILD_DIR (cpack installs every component). Keeps its files with
# PODWARDEN_KEEP_TEST_DIRS=1.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/podwarden-deb-test-XXXXXX")
[ -n "${PODWARDEN_KEEP_TEST_DIRS:-}" ] || trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[ -n "$prefix" ] || fail "no CMAKE_INSTALL_PREFIX in $build/CMakeCache.txt"
generator=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$build/CMakeCache.txt")
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:\(FILEPATH\|STRING\)=//p' "$build/CMakeCache.txt")

step "cpack -G DEB"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkgs" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
daemon_deb=$(ls "$work"/pkgs/podwarden_*.deb 2>/dev/null | head -n 1)
sdk_deb=$(ls "$work"/pkgs/podwarden-sdk-dev_*.deb 2>/dev/null | head -n 1)
[ -f "$daemon_deb" ] || { ls -l "$work/pkgs"; fail "no podwarden_*.deb"; }
[ -f "$sdk_deb" ] || { ls -l "$work/pkgs"; fail "no podwarden-sdk-dev_*.deb"; }
echo "$daemon_deb"; echo "$sdk_deb"

step "package metadata"
[ "$(dpkg-deb -f "$daemon_deb" Package)" = podwarden ] || fail "$daemon_deb: Package is not podwarden"
[ "$(dpkg-deb -f "$sdk_deb" Package)" = podwarden-sdk-dev ] || fail "$sdk_deb: Package is not podwarden-sdk-dev"
dpkg-deb -f "$daemon_deb" Depends | grep -q libpoco || fail "$daemon_deb: Depends lacks the Poco libraries: $(dpkg-deb -f "$daemon_deb" Depends)"
dpkg-deb --ctrl-tarfile "$daemon_deb" | tar -xO ./conffiles | grep -q '/etc/podwarden/config.yaml$' ||
  fail "$daemon_deb: config.yaml is not a conffile"
dpkg-deb -c "$daemon_deb" >"$work/daemon.list"
dpkg-deb -c "$sdk_deb" >"$work/sdk.list"
for f in bin/podwarden lib/systemd/system/podwarden.service podwarden/plugins/runtime-docker.so \
  podwarden/plugins/source-dir.so podwarden/plugins/sink-file.so podwarden/config.yaml; do
  grep -q "$f\$" "$work/daemon.list" || fail "$daemon_deb lacks $f"
done
for f in include/podwarden/abi.h include/podwarden/plugin.hpp cmake/podwarden-sdk/podwarden-sdk-config.cmake \
  pkgconfig/podwarden-sdk.pc bin/podwarden-conformance; do
  grep -q "$f\$" "$work/sdk.list" || fail "$sdk_deb lacks $f"
done
if grep -q "include/podwarden" "$work/daemon.list"; then fail "$daemon_deb ships SDK headers"; fi

step "dpkg -x into $work/root"
dpkg -x "$daemon_deb" "$work/root"
dpkg -x "$sdk_deb" "$work/root"
root=$work/root
bin=$root$prefix/bin/podwarden
plugindir=$(find "$root" -type d -path '*/podwarden/plugins' | head -n 1)
config=$(find "$root" -type f -path '*/etc/podwarden/config.yaml' | head -n 1)
[ -x "$bin" ] || fail "no executable $bin"
[ -n "$plugindir" ] || fail "no podwarden/plugins directory in the packages"
[ -n "$config" ] || fail "no etc/podwarden/config.yaml in the packages"
grep -q "^ExecStart=$prefix/bin/podwarden run --config " "$root$prefix/lib/systemd/system/podwarden.service" ||
  fail "the unit does not start $prefix/bin/podwarden"

step "packaged podwarden version / validate / plugins"
"$bin" version
"$bin" validate --hostname-override node-1 "$src/samples/manifests/kube-apiserver.yaml"
# Outside the build tree the binary knows only the installed plugin dir, which is under $root here.
"$bin" plugins --plugin-dir "$plugindir" --config "$config" >"$work/plugins.txt" 2>&1 ||
  { cat "$work/plugins.txt"; fail "podwarden plugins failed"; }
cat "$work/plugins.txt"
for p in runtime-docker source-dir sink-file; do
  grep -q "$p" "$work/plugins.txt" || fail "podwarden plugins does not list $p"
done
if grep -qi "refused" "$work/plugins.txt"; then fail "a packaged plugin was refused"; fi

step "sample sink-jsonl built against the packaged SDK (CMake package)"
cp -R "$src/samples/plugins/sink-jsonl" "$work/sample"
cmake -S "$work/sample" -B "$work/sample-build" ${generator:+-G "$generator"} ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} \
  -DCMAKE_PREFIX_PATH="$root$prefix" -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF >"$work/sample.log" 2>&1 ||
  { cat "$work/sample.log"; fail "configuring the sample against $root$prefix failed"; }
grep -q "podwarden-sdk_DIR:PATH=$root" "$work/sample-build/CMakeCache.txt" ||
  fail "the sample did not find the packaged SDK: $(grep podwarden-sdk_DIR "$work/sample-build/CMakeCache.txt")"
cmake --build "$work/sample-build" >>"$work/sample.log" 2>&1 || { cat "$work/sample.log"; fail "building the sample failed"; }
[ -f "$work/sample-build/sink-jsonl.so" ] || fail "no sink-jsonl.so"

step "packaged podwarden-conformance on the sample"
"$root$prefix/bin/podwarden-conformance" "$work/sample-build/sink-jsonl.so" --config '{"path":"{tmp}/status.jsonl"}'

step "plugin built with pkg-config --cflags/--variable=plugin_ldflags"
export PKG_CONFIG_PATH=$(dirname "$(find "$root" -name podwarden-sdk.pc | head -n 1)")
pc() { pkg-config --define-prefix "$@" podwarden-sdk; }
[ "$(pc --modversion)" = "$(dpkg-deb -f "$sdk_deb" Version)" ] || fail "pkg-config version $(pc --modversion)"
pc --cflags | grep -q -- "-I$root" || fail "pkg-config --cflags does not point into the package: $(pc --cflags)"
cat >"$work/pc_plugin.c" <<'C'
#include <podwarden/abi.h>
static const pw_plugin_info kInfo = {sizeof(pw_plugin_info), PW_ABI_MAJOR, PW_ABI_MINOR, 0, 0, "pc-plugin", "1",
                                     NULL, NULL, NULL, 0, NULL};
PW_PLUGIN_EXPORT pw_status pw_plugin_entry_v1(const pw_host_api* host, const pw_plugin_info** out,
                                              pw_buffer_host_ptr* err) {
  (void)host;
  (void)err;
  *out = &kInfo;
  return PW_OK;
}
int helper_that_stays_hidden(void) { return 1; }
C
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror -fPIC $(pc --cflags) "$work/pc_plugin.c" -o "$work/pc-plugin.so" \
  $(pc --variable=plugin_ldflags)
syms=$(nm -D --defined-only "$work/pc-plugin.so" | awk '$2 != "A" {print $3}' | sed 's/@.*//')
[ "$syms" = pw_plugin_entry_v1 ] || fail "pc-plugin.so exports: $syms"
mkdir -p "$work/pc-plugins" && cp "$work/pc-plugin.so" "$work/pc-plugins/"
"$bin" plugins --plugin-dir "$work/pc-plugins" 2>&1 | tee "$work/pc.txt"
grep -q "pc-plugin" "$work/pc.txt" || fail "the packaged daemon does not list pc-plugin"
echo "OK"
