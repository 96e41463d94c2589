#!/usr/bin/env bash
# fuzz/run.sh SECONDS [target...] - builds the libFuzzer targets and runs each for SECONDS, one at a time.
#
# Build directory: $PODWARDEN_FUZZ_BUILD_DIR, default ./build-fuzz (configured with clang and
# -DPODWARDEN_FUZZ=ON -DPODWARDEN_BUILD_TESTS=OFF when it is not a fuzz build yet). Per target, under
# <build>/fuzz-work/<target>/: corpus/ (the working corpus, kept between runs), seeds-long/ (long inputs
# generated here at every run), artifacts/ (crashing inputs), fuzz.log (libFuzzer's output). The committed
# seeds in fuzz/corpus/<target>/ are read, never written.
#
# Prints one line per target: executions, executions per second, corpus size, result. Exits with the first
# non-zero libFuzzer exit code (crash, leak, timeout, out of memory) after running every target, and names
# the input it kept. Reproduce with: <build>/fuzz/<target> <input>   (fuzz/README.md).
set -euo pipefail

usage() {
  echo "usage: fuzz/run.sh SECONDS [target...]   (targets: default all; see fuzz/README.md)" >&2
  exit 2
}
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
seconds=$1
shift

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PODWARDEN_FUZZ_BUILD_DIR:-$root/build-fuzz}
[[ $build == /* ]] || build=$PWD/$build
all_targets=(fuzz_manifest fuzz_manifest_list fuzz_config fuzz_kubeconfig fuzz_docker_json fuzz_cri_json
  fuzz_plugin_json)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz/run.sh: unknown target $t" >&2; usage; }
done

# ---- Build ------------------------------------------------------------------------------------------

for tool in cmake ninja clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz/run.sh: $tool not found (apt-get install cmake ninja-build clang)" >&2; exit 2; }
done
if ! grep -qs '^PODWARDEN_FUZZ:BOOL=ON$' "$build/CMakeCache.txt"; then
  if [[ -e $build/CMakeCache.txt ]]; then
    echo "fuzz/run.sh: $build is a build directory without PODWARDEN_FUZZ=ON; use another one" \
      "(PODWARDEN_FUZZ_BUILD_DIR)" >&2
    exit 2
  fi
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DPODWARDEN_FUZZ=ON -DPODWARDEN_BUILD_TESTS=OFF
fi
ninja -C "$build" fuzzers

# ---- Long seeds -------------------------------------------------------------------------------------

# rep TEXT N: TEXT repeated N times.
rep() {
  local s=$1 n=$2 out=''
  while ((n > 0)); do
    if ((n & 1)); then out+=$s; fi
    s+=$s
    n=$((n >> 1))
  done
  printf '%s' "$out"
}
# nest OPEN CLOSE DEPTH: DEPTH levels of OPEN ... CLOSE around a 1.
nest() { rep "$1" "$3"; printf 1; rep "$2" "$3"; }

pod() {  # pod NAME [extra metadata line]: a small valid Pod with the given metadata.name
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n%s\nspec:\n  containers:\n  - name: app\n    image: busybox:1.36\n' \
    "$1" "${2:-}"
}

long_seeds() {  # long_seeds TARGET DIR: runs of one character class, nesting, huge numbers
  # 30,000 characters overflowed libstdc++'s regex executor in a gcc build; the ASan build has smaller
  # frames and needs 100,000.
  local t=$1 d=$2 a30k digits30k digits100k
  a30k=$(rep a 30000)
  digits30k=$(rep 7 30000)
  digits100k=$(rep 7 100000)
  case $t in
    fuzz_manifest | fuzz_manifest_list)
      pod "$a30k" >"$d/name-30000-a.yaml"
      pod "$(rep a 100000)" >"$d/name-100000-a.yaml"
      printf '%s\n' "$digits30k" >"$d/digits-30000.yaml"
      printf '%s\n' "$digits100k" >"$d/digits-100000.yaml"
      pod web "  labels: {app: $(rep v 100000)}" >"$d/label-value-100000.yaml"
      pod web "  annotations: {n: $digits30k, f: 1.$digits30k, h: 0x$(rep f 30000), o: 0o$(rep 7 30000)}" \
        >"$d/numbers-30000.yaml"
      printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s"},"spec":{"containers":[{"name":"app","image":"busybox"}]}}\n' \
        "$a30k" >"$d/name-30000-a.json"
      { printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: deep}\nspec: {containers: [{name: app, image: busybox, args: '
        nest '[' ']' 5000; printf '}]}\n'; } >"$d/nested-flow-5000.yaml"
      nest '[' ']' 100000 >"$d/nested-flow-100000.yaml"
      nest '{a: ' '}' 20000 >"$d/nested-map-20000.yaml"
      rep - 30000 >"$d/dashes-30000.yaml"
      rep ' ' 100000 >"$d/spaces-100000.yaml"
      { printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "'; rep '\\' 30000; printf '"\n'; } >"$d/backslashes-30000.yaml"
      if [[ $t == fuzz_manifest_list ]]; then
        { printf 'apiVersion: v1\nkind: PodList\nitems:\n'
          for i in $(seq 1 200); do printf -- '- metadata: {name: p%d}\n  spec: {containers: [{name: app, image: busybox}]}\n' "$i"; done
        } >"$d/podlist-200.yaml"
        { for i in $(seq 1 300); do printf -- '---\n'; done; pod "$a30k"; } >"$d/documents-300.yaml"
      fi
      ;;
    fuzz_config)
      local head='apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\nruntime:\n  plugin: runtime-docker\n  config:\n'
      printf "$head    n: %s\n" "$digits30k" >"$d/config-int-30000.yaml"
      printf "$head    n: %s\n" "$digits100k" >"$d/config-int-100000.yaml"
      printf "$head    f: 1.%s\n    g: -.%s\n" "$digits30k" "$digits100k" >"$d/config-float-100000.yaml"
      printf "$head    e: 1e%s\n" "$digits30k" >"$d/config-exponent-30000.yaml"
      printf "$head    h: 0x%s\n    o: 0o%s\n    y: 0%s\n" "$(rep f 30000)" "$(rep 7 30000)" "$(rep 7 30000)" \
        >"$d/config-radix-30000.yaml"
      printf "$head    s: %s\n" "$(rep a 100000)" >"$d/config-string-100000.yaml"
      printf "$head    d: %s\n" "$(nest '[' ']' 5000)" >"$d/config-nested-5000.yaml"
      printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfileCheckFrequency: %ss\nhttpCheckFrequency: 1%sm\nstaticPodPath: /%s\n' \
        "$digits30k" "$(rep 0 30000)" "$a30k" >"$d/kubelet-durations-30000.yaml"
      printf 'apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\nrelistPeriod: %sms\nrestartBackoffInitial: 0.%ss\nnodeName: %s\n' \
        "$digits30k" "$digits30k" "$a30k" >"$d/durations-30000.yaml"
      printf '%s\n' "$digits30k" >"$d/digits-30000.yaml"
      printf '%s\n' "$digits100k" >"$d/digits-100000.yaml"
      ;;
    fuzz_kubeconfig)
      printf 'apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster: {server: "https://%s", certificate-authority-data: %s}\ncontexts:\n- {name: c, context: {cluster: k, user: u}}\nusers:\n- {name: u, user: {token: %s}}\n' \
        "$a30k" "$(rep A 100000)" "$(rep t 30000)" >"$d/long-fields.conf"
      printf 'current-context: %s\n' "$digits30k" >"$d/digits-30000.conf"
      nest '[' ']' 20000 >"$d/nested-20000.conf"
      ;;
    fuzz_docker_json)
      printf 'list-containers\n[{"Id":"%s","Names":["/k8s_%s_p_n_u_1"],"Created":%s,"Labels":{"l":"%s"}}]\n' \
        "$a30k" "$a30k" "$digits30k" "$(rep v 100000)" >"$d/list-long.txt"
      printf 'list-containers\n[{"Names":["/k8s_app_p_n_u_%s"],"Created":9223372036854775807}]\n' "$digits30k" >"$d/list-big-numbers.txt"
      printf 'inspect-container\n{"Created":"%s-01-01T00:00:00Z","State":{"ExitCode":%s,"StartedAt":"2026-01-01T00:00:00.%sZ"}}\n' \
        "$digits30k" "$digits30k" "$digits30k" >"$d/inspect-long-numbers.txt"
      { printf 'list-sandboxes\n'; nest '[' ']' 20000; } >"$d/list-nested-20000.txt"
      { printf 'events\n'; for i in $(seq 1 500); do printf '{"Action":"die","id":"c%d","timeNano":%s}\n' "$i" "$digits30k"; done; } \
        >"$d/events-500.txt"
      { printf 'exec\n'; printf '\x01\x00\x00\x00\x00\x01\x86\xa0'; rep x 100000; } >"$d/exec-100000.bin"
      ;;
    fuzz_cri_json)
      printf 'json CreateContainerRequest\n{"podSandboxId":"%s","config":{"metadata":{"name":"%s","attempt":%s},"linux":{"resources":{"cpuShares":"%s"}}}}\n' \
        "$a30k" "$a30k" "$digits30k" "$digits30k" >"$d/json-long.txt"
      { printf 'json ListContainersRequest\n'; nest '{"filter":' '}' 5000; } >"$d/json-nested-5000.txt"
      ;;
    fuzz_plugin_json)
      printf 'runtime\n@ListContainers\n{"containers":[{"id":"%s","state":"CONTAINER_RUNNING","metadata":{"name":"app","attempt":%s},"annotations":{"io.kubernetes.pod.terminationGracePeriod":"%s"}}]}\n@ListPodSandbox\n{"items":[{"id":"s","state":"SANDBOX_READY","metadata":{"attempt":"%s"}}]}\n' \
        "$a30k" "$digits30k" "$digits30k" "$digits30k" >"$d/runtime-long-numbers.txt"
      printf 'sink-state\n{"items":[{"uid":"%s","state":{"v":"%s","n":%s}}]}\n' "$a30k" "$(rep v 100000)" "$digits30k" \
        >"$d/sink-state-long.txt"
      { printf 'event\n'; nest '[' ']' 20000; } >"$d/event-nested-20000.txt"
      ;;
  esac
}

max_len() {
  case $1 in
    fuzz_manifest | fuzz_manifest_list | fuzz_config | fuzz_kubeconfig) echo 1048576 ;;
    fuzz_cri_json) echo 131072 ;;
    *) echo 262144 ;;
  esac
}

# ---- Run --------------------------------------------------------------------------------------------

# Sanitizer defaults (the environment's own settings come after, so they win): UBSan prints a stack.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

status=0
summary=()
for t in "${targets[@]}"; do
  bin=$build/fuzz/$t
  if [[ ! -x $bin ]]; then
    summary+=("$(printf '%-20s not built (see the configure warnings)' "$t")")
    continue
  fi
  work=$build/fuzz-work/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  rm -rf "$work/seeds-long" "$work/tmp"
  mkdir -p "$work/seeds-long" "$work/tmp"
  long_seeds "$t" "$work/seeds-long"
  seeds=("$root/fuzz/corpus/$t")
  [[ -d ${seeds[0]} ]] || seeds=()
  before=$(find "$work/corpus" -type f | wc -l)
  echo "== $t: ${seconds}s, corpus $before + seeds; log $work/fuzz.log"
  rc=0
  TMPDIR=$work/tmp "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "${seeds[@]}" "$work/seeds-long" >"$work/fuzz.log" 2>&1 || rc=$?
  rm -rf "$work/tmp"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -1)
  size=$(find "$work/corpus" -type f | wc -l)
  if [[ $rc -eq 0 ]]; then
    result=ok
  else
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/fuzz.log" | tail -1)
    kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [^ ]+( [^ ]+)?|runtime error: .*' \
      "$work/fuzz.log" || true)
    # What a target's own check or an uncaught exception printed just before libFuzzer's report.
    note=$(grep -m1 -B1 'ERROR: libFuzzer: deadly signal' "$work/fuzz.log" | head -1 |
      grep -vE '^(#[0-9]+ |INFO:|==|MS:)' || true)
    [[ -z $note ]] || kind="$kind: $note"
    # The top frame outside the sanitizer, libFuzzer and libc, and the first one in podwarden's code.
    frames=$(grep -E '^ +#[0-9]+ 0x' "$work/fuzz.log" | sed -E 's/^ *//; s/ 0x[0-9a-f]+ in / /' |
      grep -vE '^#[0-9]+ (0x|__sanitizer|fuzzer::|__pthread_kill|raise|abort|std::terminate|__cxa|__cxxabiv1|__gnu_cxx::__verbose|__asan|__ubsan|__interceptor)' || true)
    top=$(printf '%s\n' "$frames" | head -1)
    ours=$(printf '%s\n' "$frames" | grep -m1 ' podwarden::' || true)
    [[ $ours != "$top" ]] || ours=
    result="FAILED (exit $rc) ${kind:-see log}${top:+ | $top}${ours:+ | $ours} | input: ${input:-none kept, see $work/fuzz.log}"
    [[ $status -ne 0 ]] || status=$rc
  fi
  summary+=("$(printf '%-20s %8s execs %6s exec/s  corpus %5s (+%s)  %s' "$t" "${execs:-?}" "${rate:-?}" "$size" \
    "$((size - before))" "$result")")
  echo "${summary[-1]}"
done

echo
echo "fuzz/run.sh: ${seconds}s per target, build $build"
printf '%s\n' "${summary[@]}"
exit "$status"
