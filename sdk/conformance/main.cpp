// podwarden-conformance: checks that a plugin keeps the promises of the podwarden ABI (docs/abi.md), the
// way the daemon relies on them. A vendor runs it on their .so before shipping it:
//
//   podwarden-conformance PLUGIN.so [--kind source|runtime|sink --type TYPE] [--config JSON]
//                         [--node NAME] [--grace-ms N] [--verbose]
//
// Without --kind/--type every factory of the plugin is checked, each created with --config (default {}).
// In --config, "{tmp}" becomes a fresh empty directory (removed at exit), for plugins that need a path,
// and "{env:NAME}" (or "{env:NAME:-default}") the value of the environment variable NAME. Checks: the
// handshake and published schema; create/destroy (repeated, two instances at once, an empty node name);
// errors always carry a message in `err`; no crash on unexpected input (garbage, empty, non-object, huge,
// invalid UTF-8 configs and requests); responses are JSON objects; every output goes through the host buffers
// of the call, and no buffer, emitter or call context is used after its call (or stop/unwatch) returned;
// calls from different threads one at a time, and at the same time when the factory declares
// PW_CAP_CONCURRENT; expired deadlines and cancelled calls return promptly. A sink with start/stop (ABI
// minor 1) is started before its first report and stopped after its last one, as the daemon does; its
// emit_sink_state batches must be well-formed and stop after stop() returned (its threads joined).
//
// Prints one PASS/FAIL line per check; exits 0 when all pass, 1 when any fails, 2 on a usage error.
// A call that does not return within its deadline plus --grace-ms (default 10000) fails and ends the run.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ConformanceHost.h"
#include "plugin/PluginLibrary.h"
#include "util/Json.h"

namespace podwarden::conformance {
namespace {

using plugin::Factory;
using plugin::PluginLibrary;
using std::chrono::milliseconds;

struct Options {
  std::string pluginPath;
  int32_t kind = 0;
  std::string type;
  std::string config = "{}";
  std::string node = "conformance-node";
  milliseconds grace{10000};
  bool verbose = false;
};

class Report {
 public:
  void pass(const std::string& check) {
    ++checks_;
    std::printf("  PASS  %s\n", check.c_str());
    std::fflush(stdout);
  }
  void fail(const std::string& check, const std::string& why) {
    ++checks_;
    ++failures_;
    std::printf("  FAIL  %s: %s\n", check.c_str(), why.c_str());
    std::fflush(stdout);
  }
  // PASS when `problems` is empty, else FAIL with them joined.
  void result(const std::string& check, const std::vector<std::string>& problems) {
    if (problems.empty()) {
      pass(check);
      return;
    }
    std::string why;
    for (const auto& p : problems) why += (why.empty() ? "" : "; ") + p;
    fail(check, why);
  }
  int finish() const {
    std::printf("%d checks, %d failed\n", checks_, failures_);
    std::fflush(stdout);
    return failures_ == 0 ? 0 : 1;
  }

 private:
  int checks_ = 0;
  int failures_ = 0;
};

Report gReport;
std::string gTmpDir;

[[noreturn]] void hungCall(const std::string& what, milliseconds limit) {
  gReport.fail(what,
               "did not return within " + std::to_string(limit.count()) + " ms; giving up on this plugin");
  gReport.finish();
  if (!gTmpDir.empty()) std::system(("rm -rf '" + gTmpDir + "'").c_str());
  std::fflush(stdout);
  _exit(1);  // the plugin's call still runs on a thread that cannot be stopped
}

// Runs `fn` on a new thread and waits for it up to `limit`; a call that hangs ends the run.
void onThread(const std::string& what, milliseconds limit, std::function<void()> fn) {
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
  };
  auto state = std::make_shared<State>();
  std::thread worker([state, fn] {
    fn();
    std::lock_guard<std::mutex> lock(state->mutex);
    state->done = true;
    state->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(state->mutex);
  if (!state->cv.wait_for(lock, limit, [&] { return state->done; })) {
    worker.detach();
    hungCall(what, limit);
  }
  lock.unlock();
  worker.join();
}

std::string shortText(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 60)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 60) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

struct Outcome {
  pw_status status = PW_OK;
  std::string out;
  std::string err;
};

// Deadline of calls with malformed input: refusing them should not take long.
constexpr milliseconds kMalformedTimeout(5000);

bool statusValid(pw_status s) {
  return s >= PW_OK && s <= PW_UNAUTHENTICATED;
}

// The generic rules of every call's result: a known status, a message with every failure.
void checkOutcome(const std::string& what, const Outcome& o, std::vector<std::string>& problems) {
  if (!statusValid(o.status)) {
    problems.push_back(what + " returned status " + std::to_string(o.status) + ", not a pw_status code");
  } else if (o.status != PW_OK && o.err.empty()) {
    problems.push_back(what + " failed with " + plugin::statusName(o.status) + " but wrote nothing into err");
  }
}

class FactoryChecks {
 public:
  FactoryChecks(ConformanceHost& host, const Factory& factory, const Options& options)
      : host_(host),
        factory_(factory),
        options_(options),
        name_(std::string(plugin::kindName(factory.kind)) + "/" + factory.type) {
    std::memcpy(&header_.struct_size, factory.vtable, sizeof(uint32_t));
    // create and destroy sit at the same offsets in every vtable (PW_VTABLE_HEADER).
    std::memcpy(&header_, factory.vtable, std::min<size_t>(header_.struct_size, sizeof(header_)));
  }

  void run() {
    const size_t violationsBefore = host_.violationCount();
    if (!checkCreateDestroy()) return;
    checkUnexpectedConfigs();
    switch (factory_.kind) {
      case PW_KIND_SOURCE:
        checkSource();
        break;
      case PW_KIND_RUNTIME:
        checkRuntime();
        break;
      case PW_KIND_SINK:
        checkSink();
        break;
    }
    // Late callbacks from plugin threads show up a little after the last call returned.
    std::this_thread::sleep_for(milliseconds(300));
    std::vector<std::string> late = host_.violations();
    late.erase(late.begin(), late.begin() + static_cast<long>(violationsBefore));
    gReport.result(name_ + ": host table used correctly (handles only during their call, valid arguments)",
                   late);
  }

 private:
  struct Header {
    uint32_t struct_size = 0;
    pw_status (*create)(const pw_host_api*, pw_str, pw_str, pw_instance_plugin_ptr**,
                        pw_buffer_host_ptr*) = nullptr;
    void (*destroy)(pw_instance_plugin_ptr*) = nullptr;
  };

  milliseconds limit(milliseconds timeout = milliseconds(0)) const { return timeout + options_.grace; }
  // How long a call may take: its timeout plus grace, or only the grace when it is cancelled or expired.
  milliseconds waitLimit(milliseconds timeout, bool cancelled) const {
    return cancelled || timeout.count() <= 0 ? options_.grace : limit(timeout);
  }

  // create() on a new thread; *instance is the result (NULL on failure).
  Outcome create(const std::string& config, const std::string& node, pw_instance_plugin_ptr** instance,
                 bool nullConfig = false) {
    Outcome o;
    Buffer& err = host_.newBuffer("err of " + name_ + " create");
    *instance = nullptr;
    const std::string what = name_ + " create with config " + shortText(config);
    onThread(what, limit(), [&] {
      pw_str c{nullConfig ? nullptr : config.data(), config.size()};
      o.status = header_.create(host_.api(), c, pw_str{node.data(), node.size()}, instance, err.handle());
    });
    err.open = false;
    o.err = err.data;
    return o;
  }

  void destroy(pw_instance_plugin_ptr* instance) {
    onThread(name_ + " destroy", limit(), [&] { header_.destroy(instance); });
  }

  bool checkCreateDestroy() {
    std::vector<std::string> problems;
    if (header_.struct_size < sizeof(Header) || header_.create == nullptr || header_.destroy == nullptr) {
      gReport.fail(name_ + ": vtable",
                   "no create/destroy (struct_size " + std::to_string(header_.struct_size) + ")");
      return false;
    }
    for (int round = 0; round < 3; ++round) {
      pw_instance_plugin_ptr* instance = nullptr;
      Outcome o = create(options_.config, options_.node, &instance);
      if (o.status != PW_OK) {
        gReport.fail(name_ + ": create with --config " + shortText(options_.config),
                     std::string(statusValid(o.status) ? plugin::statusName(o.status) : "invalid status") +
                         ": " + (o.err.empty() ? "(no message in err)" : o.err));
        return false;
      }
      if (instance == nullptr) {
        gReport.fail(name_ + ": create", "returned OK but stored no instance");
        return false;
      }
      destroy(instance);
    }
    gReport.pass(name_ + ": create and destroy, three times");

    pw_instance_plugin_ptr* a = nullptr;
    pw_instance_plugin_ptr* b = nullptr;
    Outcome oa = create(options_.config, options_.node, &a);
    Outcome ob = create(options_.config, options_.node, &b);
    checkOutcome("first instance", oa, problems);
    checkOutcome("second instance", ob, problems);
    if (oa.status == PW_OK && ob.status == PW_OK && a == b)
      problems.push_back("both creates returned one instance");
    if (b != nullptr) destroy(b);
    if (a != nullptr) destroy(a);
    gReport.result(name_ + ": two instances alive at once", problems);

    problems.clear();
    pw_instance_plugin_ptr* c = nullptr;
    Outcome oc = create(options_.config, "", &c);
    checkOutcome("create with an empty node name", oc, problems);
    if (c != nullptr) destroy(c);
    gReport.result(name_ + ": create with an empty node name", problems);
    return true;
  }

  void checkUnexpectedConfigs() {
    std::vector<std::string> problems;
    const std::string huge = "{\"huge\":\"" + std::string(8u << 20, 'x') + "\"}";
    const std::vector<std::string> configs = {"",
                                              "{",
                                              "}",
                                              "null",
                                              "[]",
                                              "\"text\"",
                                              "42",
                                              "\xff\xfe{",
                                              "{\"a\":\xc3}",
                                              huge,
                                              "{\"unexpected\":{\"deep\":[[[[1]]]]}}"};
    for (const std::string& config : configs) {
      pw_instance_plugin_ptr* instance = nullptr;
      Outcome o = create(config, options_.node, &instance);
      checkOutcome("create with config " + shortText(config), o, problems);
      if (o.status == PW_OK && instance == nullptr) problems.push_back("create OK without an instance");
      if (instance != nullptr) destroy(instance);
    }
    pw_instance_plugin_ptr* instance = nullptr;
    Outcome o = create("", options_.node, &instance, /*nullConfig=*/true);
    checkOutcome("create with a NULL, empty config", o, problems);
    if (instance != nullptr) destroy(instance);
    gReport.result(name_ + ": create survives unexpected configs and explains every refusal", problems);
  }

  pw_instance_plugin_ptr* mustCreate() {
    pw_instance_plugin_ptr* instance = nullptr;
    create(options_.config, options_.node, &instance);
    return instance;
  }

  // ---- Sources ----

  void checkSource() {
    pw_source_vtable v{};
    std::memcpy(&v, factory_.vtable, std::min<size_t>(header_.struct_size, sizeof(v)));
    if (v.start == nullptr || v.stop == nullptr) {
      gReport.fail(name_ + ": source vtable", "start or stop is NULL");
      return;
    }
    for (int round = 0; round < 2; ++round) {
      std::vector<std::string> problems;
      pw_instance_plugin_ptr* instance = mustCreate();
      if (instance == nullptr) return;
      Emitter& emitter = host_.newEmitter(name_ + " start #" + std::to_string(round + 1), PW_KIND_SOURCE);
      Buffer& err = host_.newBuffer("err of " + name_ + " start");
      Outcome o;
      // start and stop on different threads: the host calls from whichever thread it likes.
      onThread(name_ + " start", limit(),
               [&] { o.status = v.start(instance, emitter.handle(), err.handle()); });
      err.open = false;
      o.err = err.data;
      checkOutcome("start", o, problems);
      if (o.status == PW_OK) {
        const int64_t until = ConformanceHost::monotonicNs() + 3000000000LL;
        while (ConformanceHost::monotonicNs() < until) {
          {
            std::lock_guard<std::mutex> lock(emitter.mutex);
            if (emitter.snapshots > 0) break;
          }
          std::this_thread::sleep_for(milliseconds(20));
        }
        onThread(name_ + " stop", limit(), [&] { v.stop(instance); });
      }
      emitter.open = false;
      destroy(instance);
      if (round == 0) {
        std::lock_guard<std::mutex> lock(emitter.mutex);
        std::printf("        (start: %s, %zu snapshot(s) with %zu document(s) within 3 s)\n",
                    plugin::statusName(o.status), emitter.snapshots, emitter.documents);
      }
      gReport.result(name_ + ": start, emit, stop and destroy from different threads (round " +
                         std::to_string(round + 1) + ")",
                     problems);
    }
  }

  // ---- Runtimes ----

  Outcome runtimeCall(pw_runtime_call fn, const char* callName, pw_instance_plugin_ptr* instance,
                      const std::string& request, milliseconds timeout, bool cancelled = false) {
    Outcome o;
    const std::string what = name_ + " " + callName + "(" + shortText(request) + ")";
    Buffer& out = host_.newBuffer("out of " + what);
    Buffer& err = host_.newBuffer("err of " + what);
    CallCtx& ctx = host_.newCallCtx(what, timeout);
    ctx.cancelled = cancelled;
    onThread(what, waitLimit(timeout, cancelled), [&] {
      o.status =
          fn(instance, ctx.handle(), pw_str{request.data(), request.size()}, out.handle(), err.handle());
    });
    out.open = false;
    err.open = false;
    ctx.open = false;
    o.out = out.data;
    o.err = err.data;
    return o;
  }

  static void checkJsonResponse(const std::string& what, const Outcome& o,
                                std::vector<std::string>& problems) {
    if (o.status != PW_OK) return;
    try {
      json::parseObject(o.out);
    } catch (const std::exception& e) {
      problems.push_back(what + " returned OK with a response that is not a JSON object (" + e.what() +
                         "): " + shortText(o.out));
    }
  }

  void checkRuntime() {
    pw_runtime_vtable v{};
    std::memcpy(&v, factory_.vtable, std::min<size_t>(header_.struct_size, sizeof(v)));
    const std::vector<std::pair<const char*, pw_runtime_call>> calls = {
        {"version", v.version},
        {"run_pod_sandbox", v.run_pod_sandbox},
        {"stop_pod_sandbox", v.stop_pod_sandbox},
        {"remove_pod_sandbox", v.remove_pod_sandbox},
        {"pod_sandbox_status", v.pod_sandbox_status},
        {"list_pod_sandbox", v.list_pod_sandbox},
        {"create_container", v.create_container},
        {"start_container", v.start_container},
        {"stop_container", v.stop_container},
        {"remove_container", v.remove_container},
        {"list_containers", v.list_containers},
        {"container_status", v.container_status},
        {"exec_sync", v.exec_sync},
        {"image_status", v.image_status},
        {"pull_image", v.pull_image}};
    pw_instance_plugin_ptr* instance = mustCreate();
    if (instance == nullptr) return;
    const milliseconds callTimeout(30000);

    std::vector<std::string> problems;
    if (v.version == nullptr) {
      problems.push_back("version is NULL (the host asks every runtime for it)");
    } else {
      Outcome o = runtimeCall(v.version, "version", instance, "{\"version\":\"v1\"}", callTimeout);
      checkOutcome("version", o, problems);
      if (o.status != PW_OK) problems.push_back("version failed: " + o.err);
      checkJsonResponse("version", o, problems);
    }
    gReport.result(name_ + ": version answers with a JSON object", problems);

    // Calls that change nothing, with empty requests: a runtime must answer them (an empty list is fine).
    problems.clear();
    for (const auto& [callName, fn] : calls) {
      const std::string n = callName;
      if (fn == nullptr || (n != "list_pod_sandbox" && n != "list_containers")) continue;
      Outcome o = runtimeCall(fn, callName, instance, "{}", callTimeout);
      checkOutcome(n, o, problems);
      checkJsonResponse(n, o, problems);
    }
    gReport.result(name_ + ": list calls with an empty filter", problems);

    problems.clear();
    const std::string huge = "{\"huge\":\"" + std::string(4u << 20, 'y') + "\"}";
    const std::vector<std::string> requests = {"", "{", "[]", "null", "\"text\"", "\xff\xfe{", huge};
    for (const auto& [callName, fn] : calls) {
      if (fn == nullptr) continue;
      for (const std::string& request : requests) {
        Outcome o = runtimeCall(fn, callName, instance, request, kMalformedTimeout);
        checkOutcome(std::string(callName) + "(" + shortText(request) + ")", o, problems);
        checkJsonResponse(std::string(callName) + "(" + shortText(request) + ")", o, problems);
      }
    }
    gReport.result(name_ + ": every call survives malformed requests and explains every refusal", problems);

    pw_runtime_call probe = v.list_containers ? v.list_containers : v.version;
    const char* probeName = v.list_containers ? "list_containers" : "version";
    if (probe != nullptr) {
      checkDeadlines(probeName, [&](milliseconds timeout, bool cancelled) {
        return runtimeCall(probe, probeName, instance, "{}", timeout, cancelled);
      });
    }
    checkThreads(instance, [&](pw_instance_plugin_ptr* inst) {
      return runtimeCall(v.version, "version", inst, "{}", callTimeout);
    });
    if (v.version == nullptr) {
      destroy(instance);
      return;
    }

    problems.clear();
    if ((v.watch_events == nullptr) != (v.unwatch_events == nullptr)) {
      problems.push_back("watch_events and unwatch_events must both be set or both be NULL");
    } else if (v.watch_events != nullptr) {
      Emitter& emitter = host_.newEmitter(name_ + " watch_events", PW_KIND_RUNTIME);
      Buffer& err = host_.newBuffer("err of " + name_ + " watch_events");
      Outcome o;
      onThread(name_ + " watch_events", limit(),
               [&] { o.status = v.watch_events(instance, emitter.handle(), err.handle()); });
      err.open = false;
      o.err = err.data;
      checkOutcome("watch_events", o, problems);
      if (o.status == PW_OK) {
        std::this_thread::sleep_for(milliseconds(500));
        onThread(name_ + " unwatch_events", limit(), [&] { v.unwatch_events(instance); });
      }
      emitter.open = false;
    }
    gReport.result(name_ + ": watch_events/unwatch_events", problems);
    destroy(instance);
  }

  // ---- Sinks ----

  Outcome sinkCall(pw_status (*fn)(pw_instance_plugin_ptr*, const pw_call_ctx_host_ptr*, pw_str,
                                   pw_buffer_host_ptr*),
                   const char* callName, pw_instance_plugin_ptr* instance, const std::string& batch,
                   milliseconds timeout, bool cancelled = false) {
    Outcome o;
    const std::string what = name_ + " " + callName + "(" + shortText(batch) + ")";
    Buffer& err = host_.newBuffer("err of " + what);
    CallCtx& ctx = host_.newCallCtx(what, timeout);
    ctx.cancelled = cancelled;
    onThread(what, waitLimit(timeout, cancelled), [&] {
      o.status = fn(instance, ctx.handle(), pw_str{batch.data(), batch.size()}, err.handle());
    });
    err.open = false;
    ctx.open = false;
    o.err = err.data;
    return o;
  }

  // ABI minor 1: start() as the host calls it, on a thread of its own, before any report. Returns the
  // emitter it was given (nullptr when the vtable has no start) in *emitter; false when start failed.
  bool startSink(const pw_sink_vtable& v, pw_instance_plugin_ptr* instance, const std::string& what,
                 Emitter** emitter, std::vector<std::string>& problems) {
    *emitter = nullptr;
    if (v.start == nullptr) return true;
    *emitter = &host_.newEmitter(what, PW_KIND_SINK);
    Buffer& err = host_.newBuffer("err of " + name_ + " start");
    Outcome o;
    onThread(name_ + " start", limit(),
             [&] { o.status = v.start(instance, (*emitter)->handle(), err.handle()); });
    err.open = false;
    o.err = err.data;
    checkOutcome("start", o, problems);
    if (o.status != PW_OK) {
      if (statusValid(o.status) && !o.err.empty())
        problems.push_back(std::string("start failed with ") + plugin::statusName(o.status) + ": " + o.err);
      (*emitter)->open = false;
      return false;
    }
    return true;
  }

  // stop() on another thread than start, after the last report; then the emitter is closed, so a plugin
  // thread that still emits (it was not joined) is a violation.
  void stopSink(const pw_sink_vtable& v, pw_instance_plugin_ptr* instance, Emitter* emitter) {
    if (v.stop != nullptr) onThread(name_ + " stop", limit(), [&] { v.stop(instance); });
    if (emitter != nullptr) emitter->open = false;
  }

  void checkSinkLifecycle(const pw_sink_vtable& v) {
    for (int round = 0; round < 2; ++round) {
      std::vector<std::string> problems;
      pw_instance_plugin_ptr* instance = mustCreate();
      if (instance == nullptr) return;
      Emitter* emitter = nullptr;
      if (startSink(v, instance, name_ + " start #" + std::to_string(round + 1), &emitter, problems)) {
        std::this_thread::sleep_for(milliseconds(300));  // room for the sink's own threads to emit
        Outcome r =
            sinkCall(v.report, "report", instance, "{\"items\":[],\"errors\":[]}", milliseconds(30000));
        checkOutcome("report after start", r, problems);
        stopSink(v, instance, emitter);
      }
      destroy(instance);
      if (round == 0) {
        size_t states = 0;
        if (emitter != nullptr) {
          std::lock_guard<std::mutex> lock(emitter->mutex);
          states = emitter->sinkStates;
        }
        std::printf("        (start: %s, stop: %s, %zu state batch(es) emitted)\n", v.start ? "yes" : "NULL",
                    v.stop ? "yes" : "NULL", states);
      }
      gReport.result(
          name_ + ": start, report, stop and destroy from different threads, no emit after stop (round " +
              std::to_string(round + 1) + ")",
          problems);
    }
  }

  void checkSink() {
    pw_sink_vtable v{};
    std::memcpy(&v, factory_.vtable, std::min<size_t>(header_.struct_size, sizeof(v)));
    if (v.report == nullptr || v.remove == nullptr) {
      gReport.fail(name_ + ": sink vtable", "report or remove is NULL");
      return;
    }
    if (v.start != nullptr || v.stop != nullptr) checkSinkLifecycle(v);
    pw_instance_plugin_ptr* instance = mustCreate();
    if (instance == nullptr) return;
    const milliseconds callTimeout(30000);
    std::vector<std::string> problems;
    // The host starts a sink before its first report, and stops it after the last one.
    Emitter* emitter = nullptr;
    if (!startSink(v, instance, name_ + " start", &emitter, problems)) {
      gReport.result(name_ + ": start", problems);
      destroy(instance);
      return;
    }
    Outcome r = sinkCall(v.report, "report", instance, "{\"items\":[],\"errors\":[]}", callTimeout);
    checkOutcome("report of an empty batch", r, problems);
    if (r.status != PW_OK && !plugin::isRetryable(r.status))
      problems.push_back("report of an empty batch: " + r.err);
    Outcome m = sinkCall(v.remove, "remove", instance, "{\"items\":[]}", callTimeout);
    checkOutcome("remove of an empty batch", m, problems);
    if (m.status != PW_OK && !plugin::isRetryable(m.status))
      problems.push_back("remove of an empty batch: " + m.err);
    gReport.result(name_ + ": report and remove of empty batches", problems);

    problems.clear();
    const std::string huge = "{\"items\":[{\"metadata\":{\"name\":\"" + std::string(4u << 20, 'z') + "\"}}]}";
    const std::vector<std::string> batches = {
        "", "{", "[]", "null", "{\"items\":42}", "{\"items\":[null,1,\"x\"]}", "\xff\xfe{", huge};
    for (const std::string& batch : batches) {
      checkOutcome("report(" + shortText(batch) + ")",
                   sinkCall(v.report, "report", instance, batch, kMalformedTimeout), problems);
      checkOutcome("remove(" + shortText(batch) + ")",
                   sinkCall(v.remove, "remove", instance, batch, kMalformedTimeout), problems);
    }
    gReport.result(name_ + ": report/remove survive malformed batches and explain every refusal", problems);

    checkDeadlines("report", [&](milliseconds timeout, bool cancelled) {
      return sinkCall(v.report, "report", instance, "{\"items\":[],\"errors\":[]}", timeout, cancelled);
    });
    checkThreads(instance, [&](pw_instance_plugin_ptr* inst) {
      return sinkCall(v.report, "report", inst, "{\"items\":[],\"errors\":[]}", callTimeout);
    });
    stopSink(v, instance, emitter);
    destroy(instance);
  }

  // ---- Shared ----

  // An already-expired deadline and an already-cancelled call must both come back within --grace-ms.
  void checkDeadlines(const char* callName, const std::function<Outcome(milliseconds, bool)>& call) {
    std::vector<std::string> problems;
    checkOutcome(std::string(callName) + " past its deadline", call(milliseconds(-1), false), problems);
    checkOutcome(std::string(callName) + " cancelled", call(milliseconds(60000), true), problems);
    gReport.result(name_ + ": " + callName + " returns promptly when past its deadline or cancelled",
                   problems);
  }

  // Calls one at a time from eight different threads; with PW_CAP_CONCURRENT also four threads at once.
  void checkThreads(pw_instance_plugin_ptr* instance,
                    const std::function<Outcome(pw_instance_plugin_ptr*)>& call) {
    std::vector<std::string> problems;
    for (int i = 0; i < 8; ++i) {
      Outcome o = call(instance);  // runtimeCall/sinkCall run each call on a fresh thread
      checkOutcome("call #" + std::to_string(i + 1), o, problems);
    }
    gReport.result(name_ + ": calls one at a time from different threads", problems);
    if ((factory_.capabilities & PW_CAP_CONCURRENT) == 0) return;

    problems.clear();
    std::mutex mutex;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 5; ++i) {
          Outcome o = call(instance);
          std::lock_guard<std::mutex> lock(mutex);
          checkOutcome("concurrent call", o, problems);
        }
      });
    }
    for (auto& t : threads) t.join();
    gReport.result(name_ + ": concurrent calls (PW_CAP_CONCURRENT)", problems);
  }

  ConformanceHost& host_;
  const Factory& factory_;
  const Options& options_;
  const std::string name_;
  Header header_;
};

int usage(const char* message) {
  std::fprintf(
      stderr,
      "podwarden-conformance: %s\n"
      "usage: podwarden-conformance PLUGIN.so [--kind source|runtime|sink --type TYPE] [--config JSON]\n"
      "                             [--node NAME] [--grace-ms N] [--verbose]\n",
      message);
  return 2;
}

int run(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (arg == "--kind") {
      std::string k = value("--kind");
      options.kind = plugin::kindFromName(k);
      if (options.kind == 0)
        throw std::invalid_argument("--kind " + k + ": expected source, runtime or sink");
    } else if (arg == "--type") {
      options.type = value("--type");
    } else if (arg == "--config") {
      options.config = value("--config");
    } else if (arg == "--node") {
      options.node = value("--node");
    } else if (arg == "--grace-ms") {
      options.grace = milliseconds(std::stol(value("--grace-ms")));
    } else if (arg == "--verbose") {
      options.verbose = true;
    } else if (!arg.empty() && arg[0] == '-') {
      throw std::invalid_argument("unknown option " + arg);
    } else if (options.pluginPath.empty()) {
      options.pluginPath = arg;
    } else {
      throw std::invalid_argument("more than one plugin given: " + options.pluginPath + " and " + arg);
    }
  }
  if (options.pluginPath.empty()) throw std::invalid_argument("no plugin given");
  if ((options.kind == 0) != options.type.empty())
    throw std::invalid_argument("--kind and --type go together");

  // {env:NAME} -> the value of NAME, which must be set.
  for (size_t at = options.config.find("{env:"); at != std::string::npos;
       at = options.config.find("{env:", at)) {
    const size_t end = options.config.find('}', at);
    if (end == std::string::npos) throw std::invalid_argument("--config: unterminated {env:NAME}");
    std::string name = options.config.substr(at + 5, end - at - 5);
    std::string fallback;
    const size_t dash = name.find(":-");
    if (dash != std::string::npos) {
      fallback = name.substr(dash + 2);
      name.resize(dash);
    }
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') value = dash != std::string::npos ? fallback.c_str() : nullptr;
    if (value == nullptr) {
      throw std::invalid_argument("--config uses {env:" + name + "} but " + name + " is not set");
    }
    options.config.replace(at, end + 1 - at, value);
    at += std::strlen(value);
  }
  const size_t placeholder = options.config.find("{tmp}");
  if (placeholder != std::string::npos) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/podwarden-conformance-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern + " failed");
    gTmpDir = buf.data();
    for (size_t at = placeholder; at != std::string::npos; at = options.config.find("{tmp}", at)) {
      options.config.replace(at, 5, gTmpDir);
      at += gTmpDir.size();
    }
  }

  ConformanceHost host;
  host.setVerbose(options.verbose);
  std::printf("podwarden-conformance %s (host ABI %d.%d)\n", options.pluginPath.c_str(), PW_ABI_MAJOR,
              PW_ABI_MINOR);
  std::shared_ptr<PluginLibrary> lib;
  try {
    lib = PluginLibrary::load(options.pluginPath);
  } catch (const plugin::PluginError& e) {
    gReport.fail("load and handshake", e.what());
    return gReport.finish();
  }
  const auto& info = lib->info();
  gReport.pass("load and handshake: " + info.name + " " + info.version + ", built for ABI " +
               std::to_string(info.abiMajor) + "." + std::to_string(info.abiMinor) + ", " +
               std::to_string(info.factories.size()) + " factories");
  if (!info.configSchemaJson.empty()) {
    try {
      json::parseObject(info.configSchemaJson);
      gReport.pass("published config schema is a JSON object");
    } catch (const std::exception& e) {
      gReport.fail("published config schema", std::string("not a JSON object: ") + e.what());
    }
  }

  std::vector<const Factory*> selected;
  for (const Factory& f : info.factories) {
    if (options.kind == 0 || (f.kind == options.kind && f.type == options.type)) selected.push_back(&f);
  }
  if (selected.empty()) {
    gReport.fail("factory selection", options.kind == 0
                                          ? "the plugin has no factories"
                                          : std::string("no ") + plugin::kindName(options.kind) +
                                                " factory of type \"" + options.type + "\"");
  }
  for (const Factory* f : selected) {
    FactoryChecks(host, *f, options).run();
  }
  int rc = gReport.finish();
  if (!gTmpDir.empty()) std::system(("rm -rf '" + gTmpDir + "'").c_str());
  return rc;
}

}  // namespace
}  // namespace podwarden::conformance

int main(int argc, char** argv) {
  try {
    return podwarden::conformance::run(argc, argv);
  } catch (const std::invalid_argument& e) {
    return podwarden::conformance::usage(e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "podwarden-conformance: %s\n", e.what());
    return 2;
  }
}
