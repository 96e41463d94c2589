// fuzz_plugin_json: what the host reads from the strings plugins hand it through the ABI. Input
// "<mode>\n<body>", mode one of
//   runtime     runtime plugin answers, read by PluginRuntime (parseRuntimeResult and the CriJson decoders,
//               what the daemon does with every answer) and used by the PodSyncer: sync (twice), listPodUids
//               and terminate of one fixed pod. The body is a script of answers, each "@<Call>
//               [<pw_status>]\n<out, or err when the status is not 0>", e.g.
//               "@ListContainers\n{\"containers\":[]}\n@RunPodSandbox 14\ndaemon down". Each call takes the
//               next answer scripted for it, and {} when there is none.
//   sink-state  a sink's emit_sink_state batch, through plugin::parseSinkState
//   event       a runtime event (ContainerEventResponse JSON), through Reconciler::runtimeEvent
// Source snapshots are pod manifests: fuzz_manifest and fuzz_manifest_list cover them.
//
// Lifecycle hooks may make HTTP requests to addresses in the answers; the target runs in a network namespace
// of its own (nothing reachable) or, where it cannot make one, skips `runtime` inputs.
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "FuzzInput.h"
#include "manifest/Manifest.h"
#include "plugin/Instances.h"
#include "reconciler/Backoff.h"
#include "reconciler/PodSyncer.h"
#include "reconciler/Reconciler.h"
#include "runtime/PluginRuntime.h"
#include "status/StatusHub.h"
#include "util/Log.h"

namespace pw_ = podwarden;
using pw_::plugin::RuntimeCall;

namespace {

constexpr RuntimeCall kCalls[] = {
    RuntimeCall::kVersion,          RuntimeCall::kRunPodSandbox,    RuntimeCall::kStopPodSandbox,
    RuntimeCall::kRemovePodSandbox, RuntimeCall::kPodSandboxStatus, RuntimeCall::kListPodSandbox,
    RuntimeCall::kCreateContainer,  RuntimeCall::kStartContainer,   RuntimeCall::kStopContainer,
    RuntimeCall::kRemoveContainer,  RuntimeCall::kListContainers,   RuntimeCall::kContainerStatus,
    RuntimeCall::kExecSync,         RuntimeCall::kImageStatus,      RuntimeCall::kPullImage};

// No volumes (prepareVolumes would create host directories), no probes; one image, so that the PodSyncer's
// concurrent image lookups take answers in a fixed order.
constexpr const char* kPodYaml = R"(apiVersion: v1
kind: Pod
metadata:
  name: fuzz
  namespace: kube-system
spec:
  terminationGracePeriodSeconds: 2
  initContainers:
  - name: init
    image: registry.k8s.io/pause:3.9
    command: [/pause, --once]
  containers:
  - name: app
    image: registry.k8s.io/pause:3.9
    ports: [{name: http, containerPort: 8080}]
  - name: side
    image: registry.k8s.io/pause:3.9
    env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
)";

// The answers of one input, per call, in order. Thread-safe: the PodSyncer calls from several threads.
class ScriptedAnswers {
 public:
  explicit ScriptedAnswers(std::string_view script) {
    size_t pos = 0;
    while (pos < script.size()) {
      size_t end = script.find("\n@", pos);
      if (end == std::string_view::npos) end = script.size();
      add(script.substr(pos, end - pos));
      pos = end + 1;
    }
  }

  pw_::plugin::CallResult next(RuntimeCall which) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& queue = answers_[which];
    if (queue.empty()) return {};
    pw_::plugin::CallResult r = std::move(queue.front());
    queue.pop_front();
    return r;
  }

  // The runtime the host sees: PluginRuntime over these answers.
  pw_::runtime::PluginRuntime runtime() {
    return pw_::runtime::PluginRuntime(
        [this](RuntimeCall which, const std::string&, std::chrono::milliseconds) { return next(which); });
  }

 private:
  void add(std::string_view record) {
    if (record.empty() || record[0] != '@') return;
    const size_t nl = std::min(record.find('\n'), record.size());
    std::string_view head = record.substr(1, nl - 1);
    std::string_view text = nl < record.size() ? record.substr(nl + 1) : std::string_view();
    const size_t space = head.find(' ');
    std::string_view name = head.substr(0, space);
    pw_::plugin::CallResult r;
    if (space != std::string_view::npos)
      r.status = static_cast<pw_status>(std::atoi(std::string(head.substr(space + 1)).c_str()));
    (r.ok() ? r.out : r.err) = std::string(text);
    for (RuntimeCall c : kCalls) {
      if (name == pw_::plugin::runtimeCallName(c)) answers_[c].push_back(std::move(r));
    }
  }

  std::mutex mutex_;
  std::map<RuntimeCall, std::deque<pw_::plugin::CallResult>> answers_;
};

const pw_::manifest::StaticPod* gPod = nullptr;
pw_::SyncOptions* gSync = nullptr;
bool gIsolated = false;

void fuzzRuntime(std::string_view script) {
  if (!gIsolated) return;
  ScriptedAnswers answers(script);
  pw_::runtime::PluginRuntime runtime = answers.runtime();
  pw_::Backoff backoff(std::chrono::seconds(10), std::chrono::seconds(300));
  pw_::PodSyncer syncer(runtime, backoff, *gSync, nullptr);
  pw_::PodRuntimeState state;
  for (int i = 0; i < 2; ++i) {
    pw_::SyncResult r = syncer.sync(*gPod, state);
    if (r.status.isNull()) continue;
    // The status goes to the sinks as JSON text, which must read back.
    const std::string text = pw_::json::stringify(r.status);
    try {
      (void)pw_::json::parseObject(text);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "the pod status JSON does not read back: %s\n", e.what());
      std::abort();
    }
  }
  try {
    (void)syncer.listPodUids();
  } catch (const pw_::RuntimeError&) {
    // Reconciler::relist logs it and tries again later.
  }
  (void)syncer.terminate(gPod->uid, gPod->ns + "/" + gPod->name, 2);
}

void fuzzSinkState(std::string_view body) {
  std::vector<pw_::plugin::SinkStateItem> items;
  try {
    items = pw_::plugin::parseSinkState(std::string(body));
  } catch (const std::invalid_argument&) {
    return;  // INVALID_ARGUMENT back to the sink
  }
  // Instances.h: each state is "null" or canonical JSON (json::stringify of the object).
  for (const auto& item : items) {
    if (item.uid.empty()) std::abort();
    if (item.stateJson != "null" &&
        pw_::json::stringify(pw_::json::parseObject(item.stateJson)) != item.stateJson) {
      std::fprintf(stderr, "state of %s is not canonical: %s\n", item.uid.c_str(), item.stateJson.c_str());
      std::abort();
    }
  }
}

void fuzzEvent(std::string_view body) {
  ScriptedAnswers answers("");
  pw_::runtime::PluginRuntime runtime = answers.runtime();
  pw_::StatusHub hub({});
  pw_::ReconcilerOptions options;
  options.sync = *gSync;
  pw_::Reconciler reconciler(options, runtime, hub, {"file"});
  reconciler.runtimeEvent(std::string(body));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pw_::Log::setLevel(pw_::LogLevel::kDebug);
  pw_::Log::setSink([](pw_::LogLevel, std::string_view, std::string_view) {});
  if (::unshare(CLONE_NEWNET) == 0) {
    gIsolated = true;
  } else {
    std::fprintf(stderr, "fuzz_plugin_json: no network namespace (%s): `runtime` inputs are skipped\n",
                 std::strerror(errno));
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string dir =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/pw-fuzz-plugin-json-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  pw_::manifest::ParseOptions po;
  po.nodeName = "node-1";
  po.seenUnixNs = 1700000000000000000;
  pw_::manifest::ParseResult parsed =
      pw_::manifest::parseManifest(kPodYaml, {"file", "/etc/kubernetes/manifests/fuzz.yaml"}, po);
  if (!parsed.pod) {
    std::fprintf(stderr, "fuzz_plugin_json: the built-in pod does not parse: %s\n",
                 parsed.errors.empty() ? "?" : parsed.errors.front().toString().c_str());
    std::abort();
  }
  gPod = new pw_::manifest::StaticPod(std::move(*parsed.pod));
  gSync = new pw_::SyncOptions();
  gSync->nodeName = "node-1";
  gSync->hostIP = "192.0.2.10";
  gSync->translate.nodeName = "node-1";
  gSync->translate.hostIP = "192.0.2.10";
  gSync->translate.podsDir = dir + "/pods";
  gSync->translate.logDir = dir + "/logs";
  // Fixed clocks: the same input takes the same path.
  gSync->nowUnixNs = [] { return int64_t{1700000000000000000}; };
  gSync->monotonicNs = [] { return int64_t{5000000000000}; };
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const podwarden::fuzz::ModeInput in = podwarden::fuzz::splitMode(podwarden::fuzz::bytes(data, size));
  if (in.mode == "runtime") {
    fuzzRuntime(in.body);
  } else if (in.mode == "sink-state") {
    fuzzSinkState(in.body);
  } else if (in.mode == "event") {
    fuzzEvent(in.body);
  }
  return 0;
}
