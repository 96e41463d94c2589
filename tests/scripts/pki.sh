#!/usr/bin/env bash
# pki.sh DIR NODE [NODE...] - a throwaway PKI for the fake API server (tests/support/fakeapi), made with
# the openssl command line, EC P-256 keys (fast). Idempotent: a file that exists is kept.
#
#   ca.crt ca.key                 the cluster CA (signs everything below)
#   server.crt server.key         the API server: SAN IP:127.0.0.1, DNS:localhost
#   admin.crt admin.key           CN=kubernetes-admin, O=system:masters
#   node-<NODE>.crt .key          CN=system:node:<NODE>, O=system:nodes (one pair per NODE)
#   other-ca.crt other-ca.key     an unrelated CA, for "wrong CA" tests
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [NODE...]" >&2
  exit 2
fi
dir=$1
shift
mkdir -p "$dir"
cd "$dir"
umask 077

days=3650

# key FILE: an EC P-256 private key (PKCS#8 PEM).
key() {
  [ -s "$1" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.tmp.$$" 2>/dev/null
  [ -s "$1" ] || mv "$1.tmp.$$" "$1"
}

# self_signed_ca NAME CN
self_signed_ca() {
  [ -s "$1.crt" ] && return 0
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days "$days" -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$1.crt.tmp.$$" 2>/dev/null
  mv "$1.crt.tmp.$$" "$1.crt"
}

# leaf NAME SUBJECT EXTENDED_KEY_USAGE [SAN]
leaf() {
  local name=$1 subject=$2 eku=$3 san=${4:-} ext
  [ -s "$name.crt" ] && return 0
  key "$name.key"
  ext=$(mktemp "./.ext-XXXXXX")
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -key "$name.key" -subj "$subject" 2>/dev/null |
    openssl x509 -req -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" -sha256 -extfile "$ext" \
      -out "$name.crt.tmp.$$" 2>/dev/null
  rm -f "$ext"
  mv "$name.crt.tmp.$$" "$name.crt"
}

self_signed_ca ca "podwarden-test-ca"
self_signed_ca other-ca "podwarden-unrelated-ca"
leaf server "/CN=kube-apiserver" serverAuth "IP:127.0.0.1,DNS:localhost"
leaf admin "/O=system:masters/CN=kubernetes-admin" clientAuth
for node in "$@"; do
  leaf "node-$node" "/O=system:nodes/CN=system:node:$node" clientAuth
done
# Readable by the test processes whatever user they run as (the keys are throwaway).
chmod 644 ./*.crt ./*.key
