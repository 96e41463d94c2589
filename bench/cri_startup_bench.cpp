// cri_startup_bench - how long podwarden takes from a manifest landing in its directory to the pod's app
// container running on a CRI runtime (containerd), against the same sandbox + container made directly with
// the three CRI calls RunPodSandbox, CreateContainer, StartContainer. Both in the same run, alternating,
// on the same runtime, through the same runtime-containerd plugin (loaded here with the host's
// PluginLibrary for the raw side; the daemon loads its own copy).
//
//   podwarden-cri-bench [--reps N] [--endpoint unix:///...] [--build-dir DIR]
//
// End point for both sides: the app container's CRI startedAt (ContainerStatus, unix ns, stamped by the
// runtime when the task started). The bench polls ListContainers every 5 ms only to learn that the container
// is running; the poll interval never enters a result. Start point: just before the manifest is renamed
// into the watched directory (podwarden), just before RunPodSandbox (raw); both read CLOCK_REALTIME, the
// clock the runtime stamps startedAt with.
#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"
#include "util/Json.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using podwarden::plugin::CallResult;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::RuntimeCall;
using podwarden::plugin::RuntimeInstance;
namespace json = podwarden::json;

constexpr const char* kPauseImage = "podwarden.local/pause:3.9";
constexpr const char* kAppImage = "podwarden.local/busybox:1.36";
constexpr const char* kAppCommand = "trap 'exit 0' TERM INT; while :; do sleep 1 & wait $!; done";
constexpr int kTimeoutSeconds = 120;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string quote(const std::string& s) { return json::stringify(Poco::Dynamic::Var(s)); }

void waitUntil(const std::function<bool()>& condition, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kTimeoutSeconds);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(what + " did not happen within " + std::to_string(kTimeoutSeconds) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class Cri {
 public:
  Cri(const std::string& pluginDir, const std::string& endpoint)
      : endpoint_(endpoint),
        instance_(PluginLibrary::load(pluginDir + "/runtime-containerd.so"), "containerd",
                  "{\"endpoint\":" + quote(endpoint) + "}", "bench") {}

  json::ObjectPtr call(RuntimeCall which, const std::string& request) {
    CallResult r = instance_.call(which, request, std::chrono::seconds(60));
    if (!r.ok()) {
      throw std::runtime_error(std::string("CRI ") + podwarden::plugin::runtimeCallName(which) + " on " + endpoint_ +
                               ": " + r.describe());
    }
    return json::parseObject(r.out.empty() ? "{}" : r.out);
  }
  // Like call(), for cleanup: errors are ignored.
  void tryCall(RuntimeCall which, const std::string& request) { instance_.call(which, request); }

  // Running app containers carrying label io.kubernetes.pod.name=<pod>.
  json::ArrayPtr runningContainers(const std::string& podLabel, const std::string& value) {
    return json::getArray(call(RuntimeCall::kListContainers,
                               R"({"filter":{"state":{"state":"CONTAINER_RUNNING"},"labelSelector":{)" +
                                   quote(podLabel) + ":" + quote(value) + "}}}"),
                          "containers");
  }

  // The runtime's timestamps of one app container and its sandbox, unix ns.
  struct Stamps {
    int64_t sandboxCreated = 0;
    int64_t containerCreated = 0;
    int64_t containerStarted = 0;
  };
  Stamps stamps(const std::string& containerId) {
    json::ObjectPtr c = json::getObject(
        call(RuntimeCall::kContainerStatus, "{\"containerId\":" + quote(containerId) + "}"), "status");
    Stamps out;
    out.containerCreated = std::stoll(json::getString(c, "createdAt", "0"));
    out.containerStarted = std::stoll(json::getString(c, "startedAt", "0"));
    json::ArrayPtr list = json::getArray(
        call(RuntimeCall::kListContainers, "{\"filter\":{\"id\":" + quote(containerId) + "}}"), "containers");
    if (list && list->size() > 0) {
      const std::string sandboxId = json::getString(list->getObject(0), "podSandboxId");
      json::ObjectPtr s = json::getObject(
          call(RuntimeCall::kPodSandboxStatus, "{\"podSandboxId\":" + quote(sandboxId) + "}"), "status");
      out.sandboxCreated = std::stoll(json::getString(s, "createdAt", "0"));
    }
    return out;
  }

  // Sandboxes and containers carrying `label`=`value`, stopped or not.
  size_t countLabelled(const std::string& label, const std::string& value) {
    const std::string selector = "{\"filter\":{\"labelSelector\":{" + quote(label) + ":" + quote(value) + "}}}";
    json::ArrayPtr s = json::getArray(call(RuntimeCall::kListPodSandbox, selector), "items");
    json::ArrayPtr c = json::getArray(call(RuntimeCall::kListContainers, selector), "containers");
    return (s ? s->size() : 0) + (c ? c->size() : 0);
  }

  void removeLabelled(const std::string& label, const std::string& value) {
    const std::string selector = "{\"filter\":{\"labelSelector\":{" + quote(label) + ":" + quote(value) + "}}}";
    json::ArrayPtr c = json::getArray(call(RuntimeCall::kListContainers, selector), "containers");
    for (size_t i = 0; c && i < c->size(); ++i) {
      const std::string id = quote(json::getString(c->getObject(static_cast<unsigned>(i)), "id"));
      tryCall(RuntimeCall::kStopContainer, "{\"timeout\":0,\"containerId\":" + id + "}");
      tryCall(RuntimeCall::kRemoveContainer, "{\"containerId\":" + id + "}");
    }
    json::ArrayPtr s = json::getArray(call(RuntimeCall::kListPodSandbox, selector), "items");
    for (size_t i = 0; s && i < s->size(); ++i) {
      const std::string id = quote(json::getString(s->getObject(static_cast<unsigned>(i)), "id"));
      tryCall(RuntimeCall::kStopPodSandbox, "{\"podSandboxId\":" + id + "}");
      tryCall(RuntimeCall::kRemovePodSandbox, "{\"podSandboxId\":" + id + "}");
    }
  }

 private:
  std::string endpoint_;
  RuntimeInstance instance_;
};

// `podwarden run` as a child process, its output in `logPath`; SIGTERM on destruction.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, const std::string& logPath) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::to_string(rc));
  }
  ~Daemon() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  bool running() {
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  pid_t pid_ = -1;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One round: total (t0 -> app startedAt) and where it went, all in ms.
struct Round {
  double total = 0;
  double toSandbox = 0;    // t0 -> sandbox createdAt
  double toContainer = 0;  // sandbox createdAt -> container createdAt
  double toStart = 0;      // container createdAt -> startedAt
};

Round roundOf(int64_t t0, const Cri::Stamps& s) {
  Round r;
  r.total = static_cast<double>(s.containerStarted - t0) / 1e6;
  r.toSandbox = static_cast<double>(s.sandboxCreated - t0) / 1e6;
  r.toContainer = static_cast<double>(s.containerCreated - s.sandboxCreated) / 1e6;
  r.toStart = static_cast<double>(s.containerStarted - s.containerCreated) / 1e6;
  return r;
}

struct Options {
  int reps = 10;
  std::string endpoint;
  std::string buildDir;
};

Options parseArgs(int argc, char** argv) {
  Options o;
  const char* ep = std::getenv("PODWARDEN_CONTAINERD_ENDPOINT");
  o.endpoint = ep && *ep ? ep : "unix:///run/podwarden-test/containerd/containerd.sock";
  const char* bd = std::getenv("PODWARDEN_BUILD_DIR");
  o.buildDir = bd && *bd ? bd : "build";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--reps") {
      o.reps = std::stoi(value());
    } else if (a == "--endpoint") {
      o.endpoint = value();
    } else if (a == "--build-dir") {
      o.buildDir = value();
    } else {
      throw std::runtime_error("unknown argument " + a +
                               "; usage: podwarden-cri-bench [--reps N] [--endpoint unix:///...] [--build-dir DIR]");
    }
  }
  if (o.reps < 1) throw std::runtime_error("--reps must be at least 1");
  o.buildDir = std::filesystem::absolute(o.buildDir).string();
  return o;
}

class Bench {
 public:
  Bench(const Options& o)
      : options_(o),
        node_("bench-" + std::to_string(::getpid())),
        workDir_(makeWorkDir()),
        cri_(o.buildDir + "/plugins-out", o.endpoint) {}

  ~Bench() {
    daemon_.reset();
    try {
      cri_.removeLabelled("io.podwarden.node", node_);
      cri_.removeLabelled("io.podwarden.bench", node_);
    } catch (const std::exception& e) {
      std::cerr << "cleanup: " << e.what() << "\n";
    }
    std::error_code ignored;
    std::filesystem::remove_all(workDir_, ignored);
  }

  void startDaemon() {
    std::filesystem::create_directories(workDir_ + "/manifests");
    const std::string status = workDir_ + "/status.json";
    daemon_ = std::make_unique<Daemon>(
        std::vector<std::string>{options_.buildDir + "/podwarden", "run", "--hostname-override=" + node_,
                                 "--pod-manifest-path=" + workDir_ + "/manifests", "--status-file=" + status,
                                 "--container-runtime-endpoint=" + options_.endpoint,
                                 "--plugin-dir=" + options_.buildDir + "/plugins-out",
                                 std::string("--pod-infra-container-image=") + kPauseImage,
                                 "--pods-dir=" + workDir_ + "/pods", "--log-dir=" + workDir_ + "/logs",
                                 "--log-level=warning"},
        workDir_ + "/podwarden.log");
    // Ready when its sink wrote the first (empty) status.
    waitUntil(
        [&] {
          if (!daemon_->running()) throw std::runtime_error("podwarden exited; see " + workDir_ + "/podwarden.log");
          return std::filesystem::exists(status) && std::filesystem::file_size(status) > 0;
        },
        "podwarden writing " + status);
  }

  // Manifest renamed into the directory -> app container's startedAt.
  Round podwardenRound(int i) {
    const std::string pod = "bench-" + std::to_string(i);
    const std::string podName = pod + "-" + node_;
    const std::string tmp = workDir_ + "/manifests/." + pod + ".yaml.tmp";
    const std::string path = workDir_ + "/manifests/" + pod + ".yaml";
    {
      std::ofstream out(tmp);
      out << "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " << pod
          << "\nspec:\n  hostNetwork: true\n  terminationGracePeriodSeconds: 5\n  containers:\n  - name: app\n"
             "    image: "
          << kAppImage << "\n    command: [\"/bin/sh\", \"-c\", " << quote(kAppCommand) << "]\n";
    }
    const int64_t t0 = nowNs();
    std::filesystem::rename(tmp, path);
    std::string id;
    waitUntil(
        [&] {
          json::ArrayPtr c = cri_.runningContainers("io.kubernetes.pod.name", podName);
          if (!c || c->size() == 0) return false;
          id = json::getString(c->getObject(0), "id");
          return true;
        },
        "pod " + podName + " running");
    const Round r = roundOf(t0, cri_.stamps(id));
    std::filesystem::remove(path);
    waitUntil([&] { return cri_.countLabelled("io.kubernetes.pod.name", podName) == 0; },
              "removal of pod " + podName);
    return r;
  }

  // RunPodSandbox + CreateContainer + StartContainer for the same pod shape (host network, pause sandbox,
  // one busybox container with the kubelet's log layout), requests prepared before t0.
  Round rawRound(int i) {
    const std::string pod = "rawbench-" + std::to_string(i) + "-" + node_;
    const std::string uid = node_ + "-raw-" + std::to_string(i);
    const std::string logDir = workDir_ + "/raw-logs/default_" + pod + "_" + uid;
    std::filesystem::create_directories(logDir + "/app");
    const std::string sandboxConfig =
        R"({"metadata":{"name":)" + quote(pod) + R"(,"uid":)" + quote(uid) +
        R"(,"namespace":"default","attempt":0},"hostname":"","logDirectory":)" + quote(logDir) +
        R"(,"labels":{"io.kubernetes.pod.name":)" + quote(pod) + R"(,"io.kubernetes.pod.uid":)" + quote(uid) +
        R"(,"io.kubernetes.pod.namespace":"default","io.podwarden.bench":)" + quote(node_) +
        R"(},"linux":{"securityContext":{"namespaceOptions":{"network":"NODE","pid":"CONTAINER","ipc":"POD"}}}})";
    const std::string runRequest = R"({"config":)" + sandboxConfig + "}";
    const std::string containerConfig =
        R"({"metadata":{"name":"app","attempt":0},"image":{"image":)" + quote(kAppImage) +
        R"(},"command":["/bin/sh","-c",)" + quote(kAppCommand) + R"(],"logPath":"app/0.log",)" +
        R"("labels":{"io.kubernetes.container.name":"app","io.kubernetes.pod.name":)" + quote(pod) +
        R"(,"io.podwarden.bench":)" + quote(node_) +
        R"(},"linux":{"securityContext":{"namespaceOptions":{"network":"NODE","pid":"CONTAINER","ipc":"POD"}}}})";

    const int64_t t0 = nowNs();
    const std::string sandboxId =
        json::getString(cri_.call(RuntimeCall::kRunPodSandbox, runRequest), "podSandboxId");
    const std::string containerId = json::getString(
        cri_.call(RuntimeCall::kCreateContainer, "{\"podSandboxId\":" + quote(sandboxId) + ",\"config\":" +
                                                     containerConfig + ",\"sandboxConfig\":" + sandboxConfig + "}"),
        "containerId");
    cri_.call(RuntimeCall::kStartContainer, "{\"containerId\":" + quote(containerId) + "}");
    waitUntil([&] { return cri_.runningContainers("io.kubernetes.pod.name", pod)->size() == 1; },
              "raw container " + containerId + " running");
    const Round r = roundOf(t0, cri_.stamps(containerId));
    cri_.removeLabelled("io.kubernetes.pod.name", pod);
    return r;
  }

  const std::string& workDir() const { return workDir_; }

 private:
  static std::string makeWorkDir() {
    char pattern[] = "/tmp/pw-cri-bench-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp /tmp/pw-cri-bench-XXXXXX failed");
    return pattern;
  }

  Options options_;
  std::string node_;
  std::string workDir_;
  Cri cri_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parseArgs(argc, argv);
    Bench bench(options);
    bench.startDaemon();
    // One warm-up round each (page cache, snapshots, first connections), not counted.
    bench.podwardenRound(0);
    bench.rawRound(0);

    // Each side: total, then its parts (t0 -> sandbox created -> container created -> started).
    std::printf("%-6s %14s %-22s %12s %-22s\n", "round", "podwarden_ms", " (sandbox/create/start)", "raw_cri_ms",
                " (sandbox/create/start)");
    std::vector<double> pw;
    std::vector<double> raw;
    std::vector<double> pwSandbox;
    std::vector<double> rawSandbox;
    for (int i = 1; i <= options.reps; ++i) {
      Round p;
      Round r;
      if (i % 2) {
        p = bench.podwardenRound(i);
        r = bench.rawRound(i);
      } else {
        r = bench.rawRound(i);
        p = bench.podwardenRound(i);
      }
      pw.push_back(p.total);
      raw.push_back(r.total);
      pwSandbox.push_back(p.toSandbox);
      rawSandbox.push_back(r.toSandbox);
      std::printf("%-6d %14.1f  (%5.1f/%5.1f/%5.1f)   %12.1f  (%5.1f/%5.1f/%5.1f)\n", i, p.total, p.toSandbox,
                  p.toContainer, p.toStart, r.total, r.toSandbox, r.toContainer, r.toStart);
      std::fflush(stdout);
    }
    const double pm = median(pw);
    const double rm = median(raw);
    std::printf("\nruntime: containerd at %s, through runtime-containerd (CRI runtime.v1)\n", options.endpoint.c_str());
    std::printf("end point for both: the app container's CRI startedAt (ContainerStatus)\n");
    std::printf("podwarden: manifest renamed into the watched dir -> app container started   median %.1f ms\n", pm);
    std::printf("raw CRI: RunPodSandbox + CreateContainer + StartContainer (host network)    median %.1f ms\n", rm);
    std::printf("ratio podwarden / raw: %.2f (%d repetitions, alternating)\n", pm / rm, options.reps);
    std::printf("median t0 -> sandbox createdAt: podwarden %.1f ms, raw %.1f ms\n", median(pwSandbox),
                median(rawSandbox));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "podwarden-cri-bench: %s\n", e.what());
    return 1;
  }
}
