// AbiCompatTest: plugins built by other SDKs and toolchains keep working in today's host:
//  - fixture-frozen-v1.0, compiled against the frozen ABI v1.0 header (tests/abi/v1.0);
//  - fixture-future-minor, from a newer minor with longer structs and unknown extensions (ignored);
//  - fixture-clang-libcxx, a C++ plugin built with clang++ and libc++ (the host is built with g++/libstdc++).
#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"

using podwarden::plugin::CallContext;
using podwarden::plugin::CallResult;
using podwarden::plugin::ManifestDoc;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::RuntimeCall;
using podwarden::plugin::RuntimeInstance;
using podwarden::plugin::SinkInstance;
using podwarden::plugin::SinkStateItem;
using podwarden::plugin::SourceInstance;

namespace {

std::string fixture(const std::string& name) {
  const char* dir = std::getenv("PODWARDEN_FIXTURE_DIR");
  if (dir == nullptr || *dir == '\0')
    throw std::runtime_error("PODWARDEN_FIXTURE_DIR is not set (run through ctest)");
  return std::string(dir) + "/" + name + ".so";
}

// Starts `source` and returns its first snapshot (waits up to 10 s for it).
std::vector<ManifestDoc> firstSnapshot(SourceInstance& source) {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::vector<ManifestDoc>> snapshots;
  CallResult started = source.start([&](std::vector<ManifestDoc> docs) {
    std::lock_guard<std::mutex> lock(mutex);
    snapshots.push_back(std::move(docs));
    cv.notify_all();
  });
  CPPUNIT_ASSERT_MESSAGE(started.describe(), started.ok());
  std::unique_lock<std::mutex> lock(mutex);
  CPPUNIT_ASSERT_MESSAGE("no snapshot within 10 s",
                         cv.wait_for(lock, std::chrono::seconds(10), [&] { return !snapshots.empty(); }));
  std::vector<ManifestDoc> first = snapshots.front();
  lock.unlock();
  source.stop();
  return first;
}

}  // namespace

class AbiCompatTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AbiCompatTest);
  CPPUNIT_TEST(testFrozenV10PluginLoads);
  CPPUNIT_TEST(testFrozenV10SourceEmits);
  CPPUNIT_TEST(testFrozenV10RuntimeSeesDeadlineAndCancellation);
  CPPUNIT_TEST(testFutureMinorLoadsWithExtrasIgnored);
  CPPUNIT_TEST(testFutureMinorSourceDocsReadByPointer);
  CPPUNIT_TEST(testFutureMinorRuntimeAnswers);
  CPPUNIT_TEST(testFutureMinorSinkStartsAndStops);
  CPPUNIT_TEST(testClangLibcxxPluginWorksInHost);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testFrozenV10PluginLoads() {
    auto lib = PluginLibrary::load(fixture("fixture-frozen-v1.0"));
    const auto& info = lib->info();
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-frozen-v1.0"), info.name);
    CPPUNIT_ASSERT_EQUAL(std::string("1.0.0"), info.version);
    CPPUNIT_ASSERT_EQUAL(uint16_t{1}, info.abiMajor);
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, info.abiMinor);
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, info.minHostMinor);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, info.factories.size());
    CPPUNIT_ASSERT(lib->findFactory(PW_KIND_SOURCE, "frozen") != nullptr);
    CPPUNIT_ASSERT(lib->findFactory(PW_KIND_RUNTIME, "frozen") != nullptr);
  }

  void testFrozenV10SourceEmits() {
    auto lib = PluginLibrary::load(fixture("fixture-frozen-v1.0"));
    const std::string config = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"old"}})";
    SourceInstance source(lib, "frozen", config, "node-1");
    std::vector<ManifestDoc> docs = firstSnapshot(source);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, docs.size());
    CPPUNIT_ASSERT_EQUAL(std::string("frozen://node-1"), docs[0].origin);
    CPPUNIT_ASSERT_EQUAL(std::string("application/json"), docs[0].contentType);
    CPPUNIT_ASSERT_EQUAL(config, docs[0].data);
    CPPUNIT_ASSERT(docs[0].error.empty() && docs[0].warning.empty());
  }

  void testFrozenV10RuntimeSeesDeadlineAndCancellation() {
    auto lib = PluginLibrary::load(fixture("fixture-frozen-v1.0"));
    RuntimeInstance runtime(lib, "frozen", "{}", "node-1");
    CallResult version = runtime.call(RuntimeCall::kVersion, R"({"version":"v1"})");
    CPPUNIT_ASSERT_MESSAGE(version.describe(), version.ok());
    CPPUNIT_ASSERT_EQUAL(
        std::string(R"({"version":"0.1.0","runtimeName":"frozen-v1.0","runtimeVersion":"16",)"
                    R"("runtimeApiVersion":"v1"})"),
        version.out);
    CPPUNIT_ASSERT_EQUAL(pw_status{PW_UNIMPLEMENTED},
                         runtime.call(RuntimeCall::kListContainers, "{}").status);

    // The plugin waits for the host's deadline, read through the v1.0 host table.
    CallResult expired = runtime.call(RuntimeCall::kExecSync, "{}", std::chrono::milliseconds(50));
    CPPUNIT_ASSERT_EQUAL(pw_status{PW_DEADLINE_EXCEEDED}, expired.status);
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-frozen-v1.0: exec_sync ran into its deadline"), expired.err);

    // A long deadline, cancelled from another thread: the plugin sees call_cancelled and gives up.
    CallContext ctx(std::chrono::minutes(10));
    std::thread canceller([&ctx] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ctx.cancel();
    });
    CallResult cancelled = runtime.call(RuntimeCall::kExecSync, "{}", ctx);
    canceller.join();
    CPPUNIT_ASSERT_EQUAL(pw_status{PW_CANCELLED}, cancelled.status);
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-frozen-v1.0: exec_sync cancelled"), cancelled.err);
  }

  void testFutureMinorLoadsWithExtrasIgnored() {
    auto lib = PluginLibrary::load(fixture("fixture-future-minor"));
    const auto& info = lib->info();
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-future-minor"), info.name);
    CPPUNIT_ASSERT_EQUAL(std::string("9.0.0"), info.version);
    CPPUNIT_ASSERT_EQUAL(std::string("built by a newer SDK minor"), info.description);
    CPPUNIT_ASSERT_EQUAL(uint16_t{PW_ABI_MINOR + 1}, info.abiMinor);
    CPPUNIT_ASSERT_EQUAL(uint16_t{PW_ABI_MINOR}, info.minHostMinor);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, info.factories.size());
    const auto* source = lib->findFactory(PW_KIND_SOURCE, "future");
    const auto* runtime = lib->findFactory(PW_KIND_RUNTIME, "future");
    const auto* sink = lib->findFactory(PW_KIND_SINK, "future");
    CPPUNIT_ASSERT(source != nullptr && runtime != nullptr && sink != nullptr);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, source->capabilities);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, runtime->capabilities);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, sink->capabilities);
  }

  void testFutureMinorSourceDocsReadByPointer() {
    auto lib = PluginLibrary::load(fixture("fixture-future-minor"));
    SourceInstance source(lib, "future", "{}", "node-2");
    std::vector<ManifestDoc> docs = firstSnapshot(source);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, docs.size());
    CPPUNIT_ASSERT_EQUAL(std::string("future://node-2/a"), docs[0].origin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"doc":"a"})"), docs[0].data);
    CPPUNIT_ASSERT_EQUAL(std::string("application/json"), docs[0].contentType);
    CPPUNIT_ASSERT(docs[0].warning.empty() && docs[0].error.empty());
    CPPUNIT_ASSERT_EQUAL(std::string("future://node-2/b"), docs[1].origin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"doc":"b"})"), docs[1].data);
    CPPUNIT_ASSERT_EQUAL(std::string("from the future"), docs[1].warning);
    CPPUNIT_ASSERT(docs[1].error.empty());
  }

  // The appended vtable members abort() if called; every v1 call still works.
  void testFutureMinorRuntimeAnswers() {
    auto lib = PluginLibrary::load(fixture("fixture-future-minor"));
    RuntimeInstance runtime(lib, "future", "{}", "node-2");
    CPPUNIT_ASSERT(!runtime.hasEvents());
    CallResult version = runtime.call(RuntimeCall::kVersion, "{}");
    CPPUNIT_ASSERT_MESSAGE(version.describe(), version.ok());
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"version":"0.1.0","runtimeName":"future","runtimeVersion":"1.)") +
                             std::to_string(PW_ABI_MINOR + 1) +
                             R"(","runtimeApiVersion":"v1","futureOnly":{"ignored":true}})",
                         version.out);
    for (RuntimeCall call : {RuntimeCall::kRunPodSandbox, RuntimeCall::kPullImage, RuntimeCall::kExecSync}) {
      CallResult r = runtime.call(call, "{}");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(podwarden::plugin::runtimeCallName(call), pw_status{PW_UNIMPLEMENTED},
                                   r.status);
    }
  }

  // A sink vtable longer than today's: start/stop are called, the appended member (abort()) never is.
  void testFutureMinorSinkStartsAndStops() {
    auto lib = PluginLibrary::load(fixture("fixture-future-minor"));
    SinkInstance sink(lib, "future", "{}", "node-2");
    CPPUNIT_ASSERT(sink.hasStartStop());
    CallResult started = sink.start([](std::vector<SinkStateItem>) {});
    CPPUNIT_ASSERT_MESSAGE(started.describe(), started.ok());
    CallResult reported = sink.report(R"({"items":[]})");
    CPPUNIT_ASSERT_MESSAGE(reported.describe(), reported.ok());
    CPPUNIT_ASSERT(sink.remove(R"({"items":[]})").ok());
    sink.stop();
  }

  void testClangLibcxxPluginWorksInHost() {
    const std::string path = fixture("fixture-clang-libcxx");
    CPPUNIT_ASSERT_MESSAGE(path +
                               " was not built: the build needs clang++ and libc++ (Debian: clang libc++-dev "
                               "libc++abi-dev)",
                           access(path.c_str(), R_OK) == 0);
    auto lib = PluginLibrary::load(path);
    const auto& info = lib->info();
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-clang-libcxx"), info.name);
    CPPUNIT_ASSERT_MESSAGE("description should name clang and libc++: " + info.description,
                           info.description.find("built with clang ") == 0 &&
                               info.description.find(" and libc++ ") != std::string::npos);

    RuntimeInstance runtime(lib, "libcxx", "{}", "node-3");
    CallResult version = runtime.call(RuntimeCall::kVersion, "{}");
    CPPUNIT_ASSERT_MESSAGE(version.describe(), version.ok());
    CPPUNIT_ASSERT(version.out.find(R"("runtimeName":"libcxx")") != std::string::npos);

    CallResult exec = runtime.call(RuntimeCall::kExecSync, "podwarden");
    CPPUNIT_ASSERT_MESSAGE(exec.describe(), exec.ok());
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"exitCode":0,"stdout":"addenoprw"})"), exec.out);

    // Exceptions thrown and caught inside libc++ come back as status + message.
    CallResult empty = runtime.call(RuntimeCall::kExecSync, "");
    CPPUNIT_ASSERT_EQUAL(pw_status{PW_INVALID_ARGUMENT}, empty.status);
    CPPUNIT_ASSERT_EQUAL(std::string("exec_sync: empty request"), empty.err);
    CallResult thrown = runtime.call(RuntimeCall::kImageStatus, "{\"image\":{}}");
    CPPUNIT_ASSERT_EQUAL(pw_status{PW_INTERNAL}, thrown.status);
    CPPUNIT_ASSERT_EQUAL(std::string("image_status: libc++ exception {\"image\":{}}"), thrown.err);
    CPPUNIT_ASSERT_EQUAL(pw_status{PW_UNIMPLEMENTED}, runtime.call(RuntimeCall::kPullImage, "{}").status);

    try {
      RuntimeInstance bad(lib, "libcxx", R"({"x":1})", "node-3");
      CPPUNIT_FAIL("a config other than {} should be refused");
    } catch (const podwarden::plugin::PluginError& e) {
      CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("config must be {}") != std::string::npos);
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AbiCompatTest);
