#include "daemon/Daemon.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "config/Plugins.h"
#include "reconciler/Reconciler.h"
#include "runtime/PluginRuntime.h"
#include "status/StatusHub.h"
#include "util/Log.h"
#include "util/SystemdNotify.h"

namespace podwarden {

namespace {

constexpr const char* kComponent = "podwarden";

int64_t wallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t monotonicNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The node's IP for status.hostIP: the first IPv4 address of an interface that is up and not loopback.
std::string detectHostIP() {
  struct ifaddrs* list = nullptr;
  std::string found;
  if (getifaddrs(&list) == 0) {
    for (struct ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
      if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
      std::string name = i->ifa_name ? i->ifa_name : "";
      if (name.rfind("docker", 0) == 0 || name.rfind("veth", 0) == 0 || name.rfind("br-", 0) == 0) continue;
      char buf[INET_ADDRSTRLEN];
      auto* sin = reinterpret_cast<struct sockaddr_in*>(i->ifa_addr);
      if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf))) {
        found = buf;
        break;
      }
    }
    freeifaddrs(list);
  }
  return found.empty() ? "127.0.0.1" : found;
}

LogLevel parseLevel(const std::string& s) {
  if (s == "error") return LogLevel::kError;
  if (s == "warning" || s == "warn") return LogLevel::kWarning;
  if (s == "debug") return LogLevel::kDebug;
  return LogLevel::kInfo;
}

// SIGTERM and SIGINT go to one thread that asks the loop to stop; every thread started after this has them
// blocked.
sigset_t blockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// The runtime's name for container IDs ("docker", "containerd"): its own answer, else the plugin's type.
std::string announceRuntime(runtime::Runtime& runtime, plugin::RuntimeInstance& instance) {
  std::string name = instance.factory().type;
  try {
    const runtime::VersionInfo v = runtime.version();
    if (!v.runtimeName.empty()) name = v.runtimeName;
    Log::info(kComponent, "runtime " + name + " " + v.runtimeVersion + " (API " + v.runtimeApiVersion +
                              ") through " + instance.displayName());
  } catch (const RuntimeError& e) {
    Log::warning(kComponent, std::string("the runtime does not answer yet: ") + e.what() +
                                 "; pods start once it does");
  }
  return name;
}

void stopSinks(const std::vector<plugin::SinkInstance*>& sinks) {
  for (auto* s : sinks) s->stop();
}

// Sink lifecycle (ABI minor 1): every sink plugin is started before the hub's threads exist, so its start()
// comes before its first report; the state it emits goes to the hub. At the end, hub.stop() joins the hub's
// sink threads first, so no report/remove can overlap a sink's stop(); then each sink is stopped (it joins
// its own threads; what it still emits until then lands in the hub, which is alive), and the instances are
// destroyed with the plugins, after the hub. A sink whose start fails is fatal like a source's: nothing has
// touched a pod yet.
bool startSinks(const std::vector<plugin::SinkInstance*>& sinks, StatusHub& hub) {
  for (size_t i = 0; i < sinks.size(); ++i) {
    plugin::CallResult r = sinks[i]->start(hub.stateCallback(i));
    if (!r.ok()) {
      Log::error(kComponent, "sink " + sinks[i]->displayName() + " failed to start: " + r.describe() +
                                 "; nothing was started");
      stopSinks(sinks);
      return false;
    }
  }
  hub.start();
  return true;
}

ReconcilerOptions reconcilerOptions(const config::Config& cfg, bool runtimeHasEvents,
                                    const std::string& runtimeName) {
  ReconcilerOptions opts;
  opts.sync.nodeName = cfg.nodeName;
  opts.sync.hostIP = detectHostIP();
  opts.sync.runtimeName = runtimeName;
  opts.sync.translate.nodeName = cfg.nodeName;
  opts.sync.translate.podsDir = cfg.podsDir;
  opts.sync.translate.logDir = cfg.logDir;
  opts.sync.translate.hostIP = opts.sync.hostIP;
  opts.sync.nowUnixNs = wallNowNs;
  opts.sync.monotonicNs = monotonicNowNs;
  opts.relistPeriod =
      std::chrono::seconds(cfg.relistSeconds > 0 ? cfg.relistSeconds : (runtimeHasEvents ? 10 : 1));
  opts.backoffInitial = std::chrono::milliseconds(cfg.restartBackoffInitialMs);
  opts.backoffMax = std::chrono::milliseconds(cfg.restartBackoffMaxMs);
  return opts;
}

void watchRuntimeEvents(plugin::RuntimeInstance& runtime, Reconciler& reconciler,
                        std::chrono::milliseconds relist) {
  const std::string relisting = "the runtime has no event stream; changes are seen by the relist every " +
                                std::to_string(relist.count() / 1000) + " s";
  if (!runtime.hasEvents()) {
    Log::info(kComponent, relisting);
    return;
  }
  plugin::CallResult r = runtime.watchEvents([&reconciler](std::string ev) { reconciler.runtimeEvent(ev); });
  if (r.status == PW_UNIMPLEMENTED) {
    Log::info(kComponent, relisting);
  } else if (!r.ok()) {
    Log::warning(kComponent, "runtime events unavailable (" + r.describe() + "); relying on relists");
  }
}

// Starts every source; false (with each failure logged) when one failed to start.
bool startSources(config::LoadedPlugins& plugins, Reconciler& reconciler) {
  bool ok = true;
  for (size_t i = 0; i < plugins.sources.size(); ++i) {
    plugin::CallResult r = plugins.sources[i].instance->start(
        [&reconciler, i](std::vector<plugin::ManifestDoc> docs) { reconciler.updateSource(i, std::move(docs)); });
    if (!r.ok()) {
      Log::error(kComponent, "source " + plugins.sources[i].name + " failed to start: " + r.describe());
      ok = false;
    }
  }
  return ok;
}

// The reverse of the start order; the hub first, so that no report/remove runs any more.
void stopAll(config::LoadedPlugins& plugins, StatusHub& hub,
             const std::vector<plugin::SinkInstance*>& sinks) {
  for (auto& s : plugins.sources) s.instance->stop();
  plugins.runtime->unwatchEvents();
  hub.stop();
  stopSinks(sinks);
}

// Runs the reconciler until SIGTERM or SIGINT.
void runUntilSignalled(Reconciler& reconciler, sigset_t signals, const std::string& nodeName) {
  // Type=notify: ready once every source has started (their first snapshots are on the way).
  systemdNotify("READY=1\nSTATUS=running as node " + nodeName);
  std::thread signalThread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    Log::info(kComponent, std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                              "; stopping (pods keep running)");
    systemdNotify("STOPPING=1");
    reconciler.stop();
  });
  reconciler.run();
  signalThread.join();
}

}  // namespace

int runDaemon(const config::Config& cfg) {
  Log::setLevel(parseLevel(cfg.logLevel));
  for (const auto& w : cfg.warnings) Log::warning(kComponent, w);
  const sigset_t signals = blockStopSignals();

  config::LoadedPlugins plugins;
  try {
    plugins = config::instantiate(cfg);
  } catch (const std::exception& e) {
    Log::error(kComponent, std::string(e.what()) + "; nothing was started");
    return 1;
  }
  for (const auto& s : plugins.skipped) Log::warning(kComponent, "running without an optional plugin: " + s);
  if (plugins.sources.empty()) {
    Log::warning(kComponent,
                 "no manifest source is configured (use --pod-manifest-path DIR or a config file); "
                 "pods already running for this node will be stopped");
  }
  runtime::PluginRuntime runtime(*plugins.runtime);
  const std::string runtimeName = announceRuntime(runtime, *plugins.runtime);

  std::vector<plugin::SinkInstance*> sinks;
  for (auto& s : plugins.sinks) sinks.push_back(s.get());
  StatusHub hub(sinks);
  if (!startSinks(sinks, hub)) return 1;

  const ReconcilerOptions opts = reconcilerOptions(cfg, plugins.runtime->hasEvents(), runtimeName);
  std::vector<std::string> kinds;
  for (const auto& s : plugins.sources) kinds.push_back(s.source);
  Reconciler reconciler(opts, runtime, hub, kinds);
  Log::info(kComponent, "podwarden " PODWARDEN_VERSION " running as node " + cfg.nodeName + " (host IP " +
                            opts.sync.hostIP + ")");
  watchRuntimeEvents(*plugins.runtime, reconciler, opts.relistPeriod);
  if (!startSources(plugins, reconciler)) {
    stopAll(plugins, hub, sinks);
    return 1;
  }
  runUntilSignalled(reconciler, signals, cfg.nodeName);
  stopAll(plugins, hub, sinks);
  Log::info(kComponent, "stopped");
  return 0;
}

}  // namespace podwarden
