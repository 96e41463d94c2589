#!/usr/bin/env bash
# test.sh SDK_PREFIX - builds this sample out of tree against the podwarden SDK installed in SDK_PREFIX,
# then checks it with that SDK's podwarden-conformance: the suite passes, and the snapshots it records
# (--verbose) follow the signature: a signed bundle is delivered, a tampered one or one signed by another
# key becomes an error for its origin, a missing one an empty snapshot. Needs openssl, cmake, a C++ compiler.
set -euo pipefail
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
conformance=$prefix/bin/podwarden-conformance
work=$(mktemp -d "${TMPDIR:-/tmp}/source-bundle-test-XXXXXX")
[ -n "${PODWARDEN_KEEP_TEST_DIRS:-}" ] || trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$conformance" ] || fail "no $conformance"

echo "--- build against $prefix"
mkdir "$work/src" && cp -R "$here/CMakeLists.txt" "$here/src" "$work/src/"
cmake -S "$work/src" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_COMPILE_WARNING_AS_ERROR=ON \
  >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "configure failed"; }
cmake --build "$work/build" >>"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build failed"; }
so=$work/build/source-bundle.so

echo "--- keys and a signed bundle"
openssl genpkey -algorithm ed25519 -out "$work/signing.pem" 2>/dev/null
openssl pkey -in "$work/signing.pem" -pubout -out "$work/signing.pub"
openssl genpkey -algorithm ed25519 -out "$work/other.pem" 2>/dev/null
mkdir "$work/bundle"
cat >"$work/bundle/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: signed-web
  namespace: default
spec:
  containers:
    - name: web
      image: podwarden.local/busybox:1.36
      command: ["httpd", "-f", "-p", "8080"]
YAML
sign() { openssl pkeyutl -sign -rawin -inkey "$1" -in "$work/bundle/pods.yaml" -out "$work/bundle/pods.yaml.sig"; }
sign "$work/signing.pem"
config="{\"path\":\"$work/bundle/pods.yaml\",\"publicKey\":\"$work/signing.pub\",\"pollSeconds\":1}"
check() { "$conformance" "$so" --config "$config" --verbose >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; fail "$1"; }; }

echo "--- conformance, signed bundle"
check "the conformance suite fails on a signed bundle"
grep -E '^  (PASS|FAIL)|checks' "$work/out.txt"
size=$(stat -c %s "$work/bundle/pods.yaml")
grep -q "origin=$work/bundle/pods.yaml bytes=$size error= " "$work/out.txt" ||
  { cat "$work/out.txt"; fail "the signed bundle was not delivered"; }

echo "--- tampered bundle"
printf '# appended after signing\n' >>"$work/bundle/pods.yaml"
check "the conformance suite fails on a tampered bundle"
grep -q "origin=$work/bundle/pods.yaml bytes=0 error=the signature $work/bundle/pods.yaml.sig does not match" "$work/out.txt" ||
  { cat "$work/out.txt"; fail "a tampered bundle was not reported as an error"; }

echo "--- signed by another key"
sign "$work/other.pem"
check "the conformance suite fails on a bundle signed by another key"
grep -q "error=the signature .* does not match .* for the key $work/signing.pub" "$work/out.txt" ||
  { cat "$work/out.txt"; fail "a bundle signed by another key was not reported as an error"; }

echo "--- no bundle"
rm "$work/bundle/pods.yaml" "$work/bundle/pods.yaml.sig"
check "the conformance suite fails without a bundle"
grep -q "0 document(s)" "$work/out.txt" || { cat "$work/out.txt"; fail "a missing bundle should give an empty snapshot"; }

echo "--- bad configs are refused with the field or file named"
config="{\"path\":\"$work/bundle/pods.yaml\",\"publicKey\":\"$work/signing.pem\"}"
if "$conformance" "$so" --config "$config" >"$work/out.txt" 2>&1; then fail "a private key PEM was accepted as the public key"; fi
grep -q "$work/signing.pem is not a PEM public key" "$work/out.txt" || { cat "$work/out.txt"; fail "wrong message for a bad key"; }
config="{\"path\":\"pods.yaml\",\"publicKey\":\"$work/signing.pub\"}"
if "$conformance" "$so" --config "$config" >"$work/out.txt" 2>&1; then fail "a relative path was accepted"; fi
grep -q 'field \\"path\\" must be an absolute path\|field "path" must be an absolute path' "$work/out.txt" ||
  { cat "$work/out.txt"; fail "wrong message for a relative path"; }
echo OK
