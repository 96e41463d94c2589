// StatusHubTest: sink state (ABI minor 1) through the real host: SinkInstance start/stop with its emitter,
// host->emit_sink_state, and the StatusHub merging the state into the pod objects the OTHER sinks receive.
// The emitting sink is fixture-state-sink (tests/fixtures/plugins/state_sink.c), which emits from its own
// thread what a report command tells it and logs every batch it receives; the other sinks are a second
// instance of it with a minor-0-sized vtable (no start/stop), and sink-file writing a real status file.
#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"
#include "status/StatusHub.h"
#include "util/Json.h"
#include "util/Log.h"

using podwarden::Log;
using podwarden::LogLevel;
using podwarden::StatusHub;
using podwarden::plugin::CallResult;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::SinkInstance;
using podwarden::plugin::SinkStateItem;
namespace json = podwarden::json;
namespace fs = std::filesystem;

namespace {

std::string envDir(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0')
    throw std::runtime_error(std::string(name) + " is not set (run through ctest)");
  return v;
}

std::shared_ptr<PluginLibrary> stateSinkLibrary() {
  return PluginLibrary::load(envDir("PODWARDEN_FIXTURE_DIR") + "/fixture-state-sink.so");
}

std::shared_ptr<PluginLibrary> sinkFileLibrary() {
  return PluginLibrary::load(envDir("PODWARDEN_PLUGIN_DIR") + "/sink-file.so");
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pw-status-hub-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string logConfig(const std::string& path) {
  return "{\"log\":\"" + path + "\"}";
}

json::ObjectPtr pod(const std::string& uid, const std::string& phase) {
  return json::parseObject(
      R"({"metadata":{"name":"web-node-1","namespace":"default","uid":")" + uid +
      R"("},"spec":{"containers":[{"name":"c","image":"busybox"}]},"status":{"phase":")" + phase +
      R"("},"podwarden":{"source":"file","origin":"/m/web.yaml"}})");
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every pod with `uid` that the fixture sink logging to `logPath` received in a report, in order.
std::vector<json::ObjectPtr> reported(const std::string& logPath, const std::string& uid) {
  std::vector<json::ObjectPtr> pods;
  std::istringstream lines(readFile(logPath));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("report ", 0) != 0) continue;
    json::ArrayPtr items = json::getArray(json::parseObject(line.substr(7)), "items");
    if (items.isNull()) continue;
    for (size_t i = 0; i < items->size(); ++i) {
      json::ObjectPtr p = items->getObject(i);
      if (json::getString(json::getObject(p, "metadata"), "uid") == uid) pods.push_back(p);
    }
  }
  return pods;
}

// The pod with `uid` in sink-file's status file, or null.
json::ObjectPtr inStatusFile(const std::string& path, const std::string& uid) {
  if (access(path.c_str(), R_OK) != 0) return nullptr;
  json::ArrayPtr pods = json::getArray(json::parseObject(readFile(path)), "pods");
  for (size_t i = 0; pods && i < pods->size(); ++i) {
    json::ObjectPtr p = pods->getObject(i);
    if (json::getString(json::getObject(p, "metadata"), "uid") == uid) return p;
  }
  return nullptr;
}

std::string phase(const json::ObjectPtr& p) {
  return json::getString(json::getObject(p, "status"), "phase");
}

// podwarden.sinks of a pod (null when it has none).
json::ObjectPtr sinksOf(const json::ObjectPtr& p) {
  return json::getObject(json::getObject(p, "podwarden"), "sinks");
}

// podwarden.sinks.<key>.mirror.phase, "" when absent.
std::string mirrorPhase(const json::ObjectPtr& p, const std::string& key) {
  return json::getString(json::getObject(json::getObject(sinksOf(p), key), "mirror"), "phase");
}

bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// The fixture's report command: makes its thread emit `stateJson` through emit_sink_state.
CallResult emitThrough(SinkInstance& sink, const std::string& stateJson) {
  return sink.report("{\"emit\":" + stateJson + "}");
}

class LogCapture {
 public:
  LogCapture() {
    Log::setSink([this](LogLevel level, std::string_view component, std::string_view message) {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.push_back(std::string(Log::levelName(level)) + " " + std::string(component) + ": " +
                       std::string(message));
    });
  }
  ~LogCapture() { Log::setSink(nullptr); }
  bool contains(const std::string& a, const std::string& b) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& l : lines_) {
      if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

const char kKey[] = "fixture-state-sink";

// The daemon's shutdown order, also when an assertion fails: the hub's threads first (no report runs any
// more), then the sinks (their threads joined, no emit reaches the hub any more), then the hub goes.
class Shutdown {
 public:
  Shutdown(StatusHub& hub, std::vector<SinkInstance*> sinks) : hub_(hub), sinks_(std::move(sinks)) {}
  ~Shutdown() {
    hub_.stop();
    for (auto* s : sinks_) s->stop();
  }

 private:
  StatusHub& hub_;
  std::vector<SinkInstance*> sinks_;
};

}  // namespace

class StatusHubTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(StatusHubTest);
  CPPUNIT_TEST(testSinkKeys);
  CPPUNIT_TEST(testStateReachesOtherSinksOnly);
  CPPUNIT_TEST(testMalformedAndUnknownStates);
  CPPUNIT_TEST(testRemovedPodTakesItsStateAlong);
  CPPUNIT_TEST(testEmitterClosedAfterStop);
  CPPUNIT_TEST(testSetSinkStateDirectly);
  CPPUNIT_TEST(testCppSinkThroughPluginHpp);
  CPPUNIT_TEST_SUITE_END();

 public:
  // The plugin's name; later instances of the same plugin get #2, #3.
  void testSinkKeys() {
    auto lib = stateSinkLibrary();
    auto file = sinkFileLibrary();
    TempDir dir;
    SinkInstance a(lib, "state", "{}", "node-1");
    SinkInstance f(file, "file", "{\"path\":\"" + dir / "status.json" + "\"}", "node-1");
    SinkInstance b(lib, "v10", "{}", "node-1");
    SinkInstance c(lib, "state", "{}", "node-1");
    StatusHub hub({&a, &f, &b, &c});
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-state-sink"), hub.sinkKey(0));
    CPPUNIT_ASSERT_EQUAL(std::string("sink-file"), hub.sinkKey(1));
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-state-sink#2"), hub.sinkKey(2));
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-state-sink#3"), hub.sinkKey(3));
    CPPUNIT_ASSERT_THROW(hub.sinkKey(4), std::out_of_range);
  }

  void testStateReachesOtherSinksOnly() {
    auto lib = stateSinkLibrary();
    auto file = sinkFileLibrary();
    TempDir dir;
    const std::string logA = dir / "a.log", logB = dir / "b.log", status = dir / "status.json";
    SinkInstance a(lib, "state", logConfig(logA), "node-1");  // emits
    SinkInstance b(lib, "v10", logConfig(logB), "node-1");    // a minor-0 vtable: no start/stop
    SinkInstance f(file, "file", "{\"path\":\"" + status + "\"}", "node-1");
    CPPUNIT_ASSERT(a.hasStartStop());
    CPPUNIT_ASSERT(!b.hasStartStop());
    StatusHub hub({&a, &b, &f});
    Shutdown shutdown(hub, {&a, &b, &f});
    for (size_t i = 0; i < 3; ++i) {
      CallResult r = std::vector<SinkInstance*>{&a, &b, &f}[i]->start(hub.stateCallback(i));
      CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    }
    CPPUNIT_ASSERT_EQUAL(static_cast<pw_status>(PW_FAILED_PRECONDITION),
                         a.start(hub.stateCallback(0)).status);
    hub.start();

    hub.publish("u1", pod("u1", "Pending"));
    CPPUNIT_ASSERT(
        waitFor([&] { return reported(logA, "u1").size() == 1 && reported(logB, "u1").size() == 1; }));
    CPPUNIT_ASSERT(sinksOf(reported(logB, "u1").back()).isNull());

    // The emitting sink's state reaches the others: b, and the status file.
    CallResult r =
        emitThrough(a, R"({"items":[{"uid":"u1","state":{"mirror":{"phase":"Created","error":null}}}]})");
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    CPPUNIT_ASSERT(waitFor([&] { return reported(logB, "u1").size() == 2; }));
    json::ObjectPtr seenByB = reported(logB, "u1").back();
    CPPUNIT_ASSERT_EQUAL(std::string("Created"), mirrorPhase(seenByB, kKey));
    CPPUNIT_ASSERT_EQUAL(std::string("Pending"), phase(seenByB));
    CPPUNIT_ASSERT_EQUAL(std::string("file"),
                         json::getString(json::getObject(seenByB, "podwarden"), "source"));
    CPPUNIT_ASSERT(waitFor([&] { return mirrorPhase(inStatusFile(status, "u1"), kKey) == "Created"; }));
    CPPUNIT_ASSERT_EQUAL(std::string("Created"), mirrorPhase(hub.latest("u1"), kKey));
    // ...but not back to the emitting sink: no report woken by its own state.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, reported(logA, "u1").size());

    // The same state again (other key order and spacing) changes nothing.
    r = emitThrough(a, R"({"items":[{"uid":"u1","state":{ "mirror" : {"error":null,"phase":"Created"}}}]})");
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CPPUNIT_ASSERT_EQUAL(size_t{2}, reported(logB, "u1").size());

    // The pod's own republishing keeps the state; the emitting sink gets the pod without its own state.
    hub.publish("u1", pod("u1", "Running"));
    CPPUNIT_ASSERT(
        waitFor([&] { return reported(logA, "u1").size() == 2 && reported(logB, "u1").size() == 3; }));
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), phase(reported(logB, "u1").back()));
    CPPUNIT_ASSERT_EQUAL(std::string("Created"), mirrorPhase(reported(logB, "u1").back(), kKey));
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), phase(reported(logA, "u1").back()));
    CPPUNIT_ASSERT(sinksOf(reported(logA, "u1").back()).isNull());
    CPPUNIT_ASSERT(waitFor([&] {
      json::ObjectPtr p = inStatusFile(status, "u1");
      return phase(p) == "Running" && mirrorPhase(p, kKey) == "Created";
    }));

    // null clears it, for the other sinks and the file alike.
    r = emitThrough(a, R"({"items":[{"uid":"u1","state":null}]})");
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    CPPUNIT_ASSERT(waitFor([&] { return reported(logB, "u1").size() == 4; }));
    CPPUNIT_ASSERT(sinksOf(reported(logB, "u1").back()).isNull());
    CPPUNIT_ASSERT(waitFor([&] {
      json::ObjectPtr p = inStatusFile(status, "u1");
      return !p.isNull() && sinksOf(p).isNull();
    }));
    CPPUNIT_ASSERT(sinksOf(hub.latest("u1")).isNull());
    CPPUNIT_ASSERT_EQUAL(size_t{2}, reported(logA, "u1").size());
  }

  void testMalformedAndUnknownStates() {
    LogCapture logs;
    auto lib = stateSinkLibrary();
    TempDir dir;
    const std::string logB = dir / "b.log";
    SinkInstance a(lib, "state", "{}", "node-1");
    SinkInstance b(lib, "state", logConfig(logB), "node-1");
    StatusHub hub({&a, &b});
    Shutdown shutdown(hub, {&a, &b});
    CPPUNIT_ASSERT(a.start(hub.stateCallback(0)).ok());
    CPPUNIT_ASSERT(b.start(hub.stateCallback(1)).ok());
    hub.start();
    hub.publish("u1", pod("u1", "Running"));
    CPPUNIT_ASSERT(waitFor([&] { return reported(logB, "u1").size() == 1; }));

    const std::vector<std::string> malformed = {
        "not json",
        "[]",
        R"({"items":{}})",
        R"({"items":[42]})",
        R"({"items":[{"state":{}}]})",
        R"({"items":[{"uid":"","state":{}}]})",
        R"({"items":[{"uid":7,"state":{}}]})",
        R"({"items":[{"uid":"u1"}]})",
        R"({"items":[{"uid":"u1","state":"text"}]})",
        // A good item before a bad one: nothing of the batch is applied.
        R"({"items":[{"uid":"u1","state":{"ok":true}},{"uid":"u1","state":[1]}]})",
    };
    for (const std::string& bad : malformed) {
      CallResult r = emitThrough(a, bad);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(bad, static_cast<pw_status>(PW_INVALID_ARGUMENT), r.status);
      CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("emit_sink_state returned 3") != std::string::npos);
    }
    // The log line names the sink.
    CPPUNIT_ASSERT(logs.contains("fixture-state-sink/state", "malformed state JSON"));

    // A uid without a pod (removed meanwhile) is ignored; the rest of the batch applies.
    CallResult r =
        emitThrough(a, R"({"items":[{"uid":"gone","state":{"x":1}},{"uid":"u1","state":{"x":2}}]})");
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    CPPUNIT_ASSERT(hub.latest("gone").isNull());
    CPPUNIT_ASSERT(waitFor([&] { return reported(logB, "u1").size() == 2; }));
    json::ObjectPtr p = reported(logB, "u1").back();
    CPPUNIT_ASSERT_EQUAL(int64_t{2}, json::getInt(json::getObject(sinksOf(p), kKey), "x"));
    CPPUNIT_ASSERT(!json::has(json::getObject(sinksOf(p), kKey), "ok"));
    hub.publish("gone", pod("gone", "Pending"));
    CPPUNIT_ASSERT(sinksOf(hub.latest("gone")).isNull());
  }

  void testRemovedPodTakesItsStateAlong() {
    auto lib = stateSinkLibrary();
    SinkInstance a(lib, "state", "{}", "node-1");
    SinkInstance b(lib, "v10", "{}", "node-1");
    StatusHub hub({&a, &b});
    Shutdown shutdown(hub, {&a, &b});
    CPPUNIT_ASSERT(a.start(hub.stateCallback(0)).ok());
    hub.publish("u1", pod("u1", "Running"));
    CPPUNIT_ASSERT(emitThrough(a, R"({"items":[{"uid":"u1","state":{"mirror":{"phase":"Created"}}}]})").ok());
    CPPUNIT_ASSERT_EQUAL(std::string("Created"), mirrorPhase(hub.latest("u1"), kKey));
    hub.remove("u1");
    CPPUNIT_ASSERT(hub.latest("u1").isNull());
    // The same pod (same uid) coming back starts without the state of its predecessor.
    hub.publish("u1", pod("u1", "Running"));
    CPPUNIT_ASSERT(sinksOf(hub.latest("u1")).isNull());
  }

  // After stop() the emitter refuses (the fixture kept it and emits through it from report's thread).
  void testEmitterClosedAfterStop() {
    auto lib = stateSinkLibrary();
    SinkInstance a(lib, "state", "{}", "node-1");
    SinkInstance b(lib, "v10", "{}", "node-1");
    StatusHub hub({&a, &b});
    Shutdown shutdown(hub, {&a, &b});
    CPPUNIT_ASSERT(a.start(hub.stateCallback(0)).ok());
    hub.publish("u1", pod("u1", "Running"));
    CPPUNIT_ASSERT(emitThrough(a, R"({"items":[{"uid":"u1","state":{"n":1}}]})").ok());
    a.stop();
    CallResult late = emitThrough(a, R"({"items":[{"uid":"u1","state":{"n":2}}]})");
    CPPUNIT_ASSERT_EQUAL(static_cast<pw_status>(PW_FAILED_PRECONDITION), late.status);
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, json::getInt(json::getObject(sinksOf(hub.latest("u1")), kKey), "n"));
  }

  void testSetSinkStateDirectly() {
    auto lib = stateSinkLibrary();
    SinkInstance a(lib, "v10", "{}", "node-1");
    SinkInstance b(lib, "v10", "{}", "node-1");
    StatusHub hub({&a, &b});
    hub.publish("u1", pod("u1", "Running"));
    CPPUNIT_ASSERT(hub.setSinkState(1, "u1", R"({"b":1,"a":{"c":2}})"));
    CPPUNIT_ASSERT(hub.setSinkState(0, "u1", R"({"z":true})"));
    json::ObjectPtr sinks = sinksOf(hub.latest("u1"));
    CPPUNIT_ASSERT_EQUAL(size_t{2}, sinks->size());
    CPPUNIT_ASSERT_EQUAL(
        int64_t{2}, json::getInt(json::getObject(json::getObject(sinks, "fixture-state-sink#2"), "a"), "c"));
    CPPUNIT_ASSERT(json::getBool(json::getObject(sinks, kKey), "z"));
    CPPUNIT_ASSERT_THROW(hub.setSinkState(0, "u1", "[1]"), std::invalid_argument);
    CPPUNIT_ASSERT_THROW(hub.setSinkState(0, "u1", "{"), std::invalid_argument);
    CPPUNIT_ASSERT_THROW(hub.setSinkState(2, "u1", "{}"), std::out_of_range);
    CPPUNIT_ASSERT(!hub.setSinkState(0, "nope", "{}"));
    CPPUNIT_ASSERT(hub.setSinkState(1, "u1", "null"));
    CPPUNIT_ASSERT(hub.setSinkState(0, "u1", "null"));
    CPPUNIT_ASSERT(sinksOf(hub.latest("u1")).isNull());
    // A batch, then the pod republished: the state stays.
    std::vector<SinkStateItem> items = {{"u1", R"({"k":"v"})"}};
    hub.setSinkStates(0, items);
    hub.publish("u1", pod("u1", "Running"));
    CPPUNIT_ASSERT_EQUAL(std::string("v"),
                         json::getString(json::getObject(sinksOf(hub.latest("u1")), kKey), "k"));
  }

  // plugin.hpp: pw::Sink::start/stop through pw::sinkVtable, an exception from start, Host::emitSinkState,
  // and PW_DEFINE_PLUGIN_MIN_HOST (fixture-cpp-state-sink).
  void testCppSinkThroughPluginHpp() {
    auto lib = PluginLibrary::load(envDir("PODWARDEN_FIXTURE_DIR") + "/fixture-cpp-state-sink.so");
    CPPUNIT_ASSERT_EQUAL(uint16_t{1}, lib->info().minHostMinor);
    {
      SinkInstance refusing(lib, "cpp", R"({"failStart":true})", "node-1");
      CallResult r = refusing.start([](std::vector<SinkStateItem>) {});
      CPPUNIT_ASSERT_EQUAL(static_cast<pw_status>(PW_FAILED_PRECONDITION), r.status);
      CPPUNIT_ASSERT_EQUAL(std::string("fixture-cpp-state-sink: start refused"), r.err);
    }
    SinkInstance c(lib, "cpp", "{}", "node-1");
    SinkInstance other(stateSinkLibrary(), "v10", "{}", "node-1");
    StatusHub hub({&c, &other});
    Shutdown shutdown(hub, {&c, &other});
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-cpp-state-sink"), hub.sinkKey(0));
    CallResult started = c.start(hub.stateCallback(0));
    CPPUNIT_ASSERT_MESSAGE(started.describe(), started.ok());
    hub.publish("u1", pod("u1", "Running"));
    CallResult r = emitThrough(c, R"({"items":[{"uid":"u1","state":{"via":"plugin.hpp"}}]})");
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    CPPUNIT_ASSERT_EQUAL(
        std::string("plugin.hpp"),
        json::getString(json::getObject(sinksOf(hub.latest("u1")), "fixture-cpp-state-sink"), "via"));
    r = emitThrough(c, R"({"items":[{"uid":"u1","state":7}]})");
    CPPUNIT_ASSERT_EQUAL(static_cast<pw_status>(PW_INVALID_ARGUMENT), r.status);
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-cpp-state-sink: emitSinkState returned 3"), r.err);
    c.stop();
    // stop() forgot the emitter: the host refuses a NULL one.
    r = emitThrough(c, R"({"items":[]})");
    CPPUNIT_ASSERT_EQUAL(static_cast<pw_status>(PW_FAILED_PRECONDITION), r.status);
    CPPUNIT_ASSERT_EQUAL(
        std::string("plugin.hpp"),
        json::getString(json::getObject(sinksOf(hub.latest("u1")), "fixture-cpp-state-sink"), "via"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StatusHubTest);
