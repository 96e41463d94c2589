#!/usr/bin/env bash
# startup_bench.sh - how long podwarden takes from a manifest landing in its directory to the pod's
# containers running, against creating and starting the same two containers directly through the Docker
# Engine API. Both are measured in the same run, alternating, on the same dockerd.
#
#   sudo bench/startup_bench.sh [REPETITIONS]      (default 10, at least 10 for a meaningful median)
#
# Environment: DOCKER_HOST (default: the private test dockerd, unix:///run/podwarden-test/docker.sock),
# PODWARDEN_BUILD_DIR (default ./build; podwarden and its plugins must be built). Needs curl and jq, and the
# local images (samples/images/build-images.sh).
#
# The pod: host network, a pause-like sandbox plus one busybox container. Both sides end at the same
# moment: the timeNano of Docker's `start` event for the second container, read from Docker's event
# stream (GET /events), so polling cadence never adds to a result.
#   podwarden: t0 = just before the manifest is renamed into the watched directory.
#   raw:       t0 = just before the first curl; then create sandbox, start it, create app (joining the
#              sandbox's IPC namespace, host network), start it: what the runtime plugin asks Docker for.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${1:-10}
BUILD_DIR=${PODWARDEN_BUILD_DIR:-$ROOT/build}
DOCKER_HOST=${DOCKER_HOST:-unix:///run/podwarden-test/docker.sock}
SOCK=${DOCKER_HOST#unix://}
API=http://docker/v1.41
PAUSE_IMAGE=podwarden.local/pause:3.9
APP_IMAGE=podwarden.local/busybox:1.36
RUN_ID=$$
NODE=bench-$RUN_ID
APP_CMD="trap 'exit 0' TERM INT; while :; do sleep 1 & wait \$!; done"

for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "startup_bench.sh: $tool is required" >&2; exit 1; }
done
[ -x "$BUILD_DIR/podwarden" ] || { echo "startup_bench.sh: $BUILD_DIR/podwarden is not built" >&2; exit 1; }
[ "$(curl -s --unix-socket "$SOCK" http://docker/_ping)" = OK ] ||
  { echo "startup_bench.sh: no Docker daemon at $DOCKER_HOST (tests/scripts/dockerd.sh start)" >&2; exit 1; }
for image in "$PAUSE_IMAGE" "$APP_IMAGE"; do
  curl -sf --unix-socket "$SOCK" "$API/images/$image/json" >/dev/null ||
    { echo "startup_bench.sh: image $image missing (samples/images/build-images.sh)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/pw-bench-XXXXXX)
MANIFESTS=$WORK/manifests
EVENTS=$WORK/events.jsonl
mkdir -p "$MANIFESTS"
PODWARDEN_PID=
EVENTS_PID=

docker_api() {  # METHOD PATH [JSON BODY]
  if [ $# -ge 3 ]; then
    curl -sf --unix-socket "$SOCK" -X "$1" -H 'Content-Type: application/json' -d "$3" "$API$2"
  else
    curl -sf --unix-socket "$SOCK" -X "$1" "$API$2"
  fi
}

remove_containers_labelled() {  # LABEL=VALUE
  local filter ids id
  filter=$(jq -rn --arg l "$1" '{label: [$l]} | tojson | @uri')
  ids=$(docker_api GET "/containers/json?all=1&filters=$filter" | jq -r '.[].Id')
  for id in $ids; do docker_api DELETE "/containers/$id?force=1" >/dev/null || true; done
}

cleanup() {
  [ -n "$PODWARDEN_PID" ] && kill "$PODWARDEN_PID" 2>/dev/null && wait "$PODWARDEN_PID" 2>/dev/null
  [ -n "$EVENTS_PID" ] && kill "$EVENTS_PID" 2>/dev/null
  remove_containers_labelled "io.podwarden.node=$NODE"
  remove_containers_labelled "io.podwarden.bench=$RUN_ID"
  rm -rf "$WORK"
}
trap cleanup EXIT

now_ns() { date +%s%N; }

# Waits until Docker reported `start` for COUNT containers whose names match REGEX; prints the latest
# event's timeNano.
wait_started() {
  local regex=$1 count=$2 deadline=$((SECONDS + 120)) times
  while :; do
    times=$(jq -r --arg re "$regex" 'select(.Actor.Attributes.name | test($re)) | .timeNano' "$EVENTS" 2>/dev/null |
      sort -n)
    if [ "$(printf '%s\n' "$times" | grep -c .)" -ge "$count" ]; then
      printf '%s\n' "$times" | tail -n 1
      return 0
    fi
    [ $SECONDS -lt $deadline ] || { echo "startup_bench.sh: no start events for /$regex/ within 120 s" >&2; return 1; }
    sleep 0.01
  done
}

# Waits until no container carrying LABEL=VALUE exists any more.
wait_gone() {
  local filter deadline=$((SECONDS + 120))
  filter=$(jq -rn --arg l "$1" '{label: [$l]} | tojson | @uri')
  while [ "$(docker_api GET "/containers/json?all=1&filters=$filter" | jq length)" != 0 ]; do
    [ $SECONDS -lt $deadline ] || { echo "startup_bench.sh: containers $1 not removed within 120 s" >&2; return 1; }
    sleep 0.05
  done
}

manifest() {  # NAME
  cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: $APP_IMAGE
    command: ["/bin/sh", "-c", "$APP_CMD"]
YAML
}

podwarden_round() {  # I -> ms
  local i=$1 t0 t1
  manifest "bench-$i" >"$MANIFESTS/.bench-$i.yaml.tmp"
  t0=$(now_ns)
  mv "$MANIFESTS/.bench-$i.yaml.tmp" "$MANIFESTS/bench-$i.yaml"
  t1=$(wait_started "^k8s_(POD|app)_bench-$i-${NODE}_" 2)
  echo $(((t1 - t0) / 1000000))
  rm -f "$MANIFESTS/bench-$i.yaml"
  wait_gone "io.kubernetes.pod.name=bench-$i-$NODE"
}

raw_round() {  # I -> ms
  local i=$1 t0 t1 name sandbox_body app_body
  name=pwbench-$RUN_ID-$i
  # Request bodies are prepared before t0 and containers are addressed by name, so the timed part is the
  # four API calls (plus curl's own start-up, which a runtime client in C++ does not pay).
  sandbox_body=$(jq -nc --arg img "$PAUSE_IMAGE" --arg run "$RUN_ID" \
    '{Image: $img, Labels: {"io.podwarden.bench": $run}, HostConfig: {NetworkMode: "host", IpcMode: "shareable"}}')
  app_body=$(jq -nc --arg img "$APP_IMAGE" --arg cmd "$APP_CMD" --arg sb "$name-sandbox" --arg run "$RUN_ID" \
    '{Image: $img, Entrypoint: ["/bin/sh", "-c", $cmd], Labels: {"io.podwarden.bench": $run},
      HostConfig: {NetworkMode: "host", IpcMode: ("container:" + $sb)}}')
  t0=$(now_ns)
  docker_api POST "/containers/create?name=$name-sandbox" "$sandbox_body" >/dev/null
  docker_api POST "/containers/$name-sandbox/start" >/dev/null
  docker_api POST "/containers/create?name=$name-app" "$app_body" >/dev/null
  docker_api POST "/containers/$name-app/start" >/dev/null
  t1=$(wait_started "^$name-(sandbox|app)\$" 2)
  echo $(((t1 - t0) / 1000000))
  docker_api DELETE "/containers/$name-app?force=1" >/dev/null
  docker_api DELETE "/containers/$name-sandbox?force=1" >/dev/null
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

curl -sN --unix-socket "$SOCK" \
  "$API/events?filters=$(jq -rn '{type: ["container"], event: ["start"]} | tojson | @uri')" >"$EVENTS" &
EVENTS_PID=$!

"$BUILD_DIR/podwarden" run \
  --hostname-override "$NODE" \
  --pod-manifest-path "$MANIFESTS" \
  --status-file "$WORK/status.json" \
  --container-runtime-endpoint "$DOCKER_HOST" \
  --plugin-dir "$BUILD_DIR/plugins-out" \
  --pod-infra-container-image "$PAUSE_IMAGE" \
  --pods-dir "$WORK/pods" --log-dir "$WORK/logs" \
  --log-level warning >"$WORK/podwarden.log" 2>&1 &
PODWARDEN_PID=$!
# Ready when its sink wrote the first (empty) status.
for _ in $(seq 1 300); do [ -s "$WORK/status.json" ] && break; sleep 0.1; done
[ -s "$WORK/status.json" ] || { echo "startup_bench.sh: podwarden did not start; log:" >&2; cat "$WORK/podwarden.log" >&2; exit 1; }

# One warm-up round each (page cache, image layers, first connections), not counted.
podwarden_round 0 >/dev/null
raw_round 0 >/dev/null

printf '%-6s %14s %14s\n' round podwarden_ms raw_docker_ms
pw_times=()
raw_times=()
for i in $(seq 1 "$REPS"); do
  if [ $((i % 2)) = 1 ]; then
    p=$(podwarden_round "$i"); r=$(raw_round "$i")
  else
    r=$(raw_round "$i"); p=$(podwarden_round "$i")
  fi
  pw_times+=("$p"); raw_times+=("$r")
  printf '%-6s %14s %14s\n' "$i" "$p" "$r"
done

pw_median=$(printf '%s\n' "${pw_times[@]}" | median)
raw_median=$(printf '%s\n' "${raw_times[@]}" | median)
echo
echo "end point for both: Docker's 'start' event (timeNano) of the pod's second container, from GET /events"
echo "podwarden: manifest renamed into the watched dir -> sandbox + app started      median ${pw_median} ms"
echo "raw Docker API: curl create+start sandbox, create+start app (host network)    median ${raw_median} ms"
awk -v p="$pw_median" -v r="$raw_median" 'BEGIN { printf "ratio podwarden / raw: %.2f (%d repetitions, alternating)\n", p / r, '"$REPS"' }'
