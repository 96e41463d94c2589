// AbiLayoutTest: pins the layout of every public struct of podwarden/abi.h (golden values in abi_layout.h,
// x86_64) and checks that the C compiler (abi_c99.c, built as strict C99) and the C++ compiler agree on
// it, field by field, by handing structs built on one side to the other.
#include "abi_layout.h"

#include <cppunit/extensions/HelperMacros.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

struct LayoutFact {
  const char* what;
  size_t actual;  // as this C++ compiler lays it out
  size_t golden;
};

#define PW_CXX_SIZE(type, golden) {"sizeof(" #type ")", sizeof(type), golden},
#define PW_CXX_OFFSET(type, member, golden) {"offsetof(" #type ", " #member ")", offsetof(type, member), golden},
const LayoutFact kLayout[] = {PW_ABI_LAYOUT(PW_CXX_SIZE, PW_CXX_OFFSET)};
#undef PW_CXX_SIZE
#undef PW_CXX_OFFSET

// Host-owned buffer and emitter as this test implements them; the ABI only ever sees opaque pointers.
struct TestBuffer {
  std::string bytes;
};

struct Recorded {
  std::vector<std::string> logs;
  std::vector<int32_t> logLevels;
  struct Doc {
    std::string origin, contentType, data, error, warning;
    uint32_t structSize = 0;
    uint32_t extType = 0;
  };
  std::vector<Doc> docs;
  std::vector<std::string> events;
  std::vector<std::string> sinkStates;
  const void* snapshotEmitter = nullptr;
  const void* eventEmitter = nullptr;
  const void* sinkStateEmitter = nullptr;
  const void* deadlineCtx = nullptr;
};

Recorded* gRecorded = nullptr;  // the host callbacks below are captureless; one test at a time uses them

std::string view(pw_str s) { return s.len ? std::string(s.data, s.len) : std::string(); }

pw_host_api makeHost() {
  pw_host_api h{};
  h.struct_size = sizeof(pw_host_api);
  h.abi_major = PW_ABI_MAJOR;
  h.abi_minor = PW_ABI_MINOR;
  h.log = [](const pw_host_api*, int32_t level, pw_str message) {
    gRecorded->logLevels.push_back(level);
    gRecorded->logs.push_back(view(message));
  };
  h.buffer_write = [](pw_buffer_host_ptr* buffer, const char* data, size_t len) -> pw_status {
    reinterpret_cast<TestBuffer*>(buffer)->bytes.append(data, len);
    return PW_OK;
  };
  h.emit_snapshot = [](pw_emitter_host_ptr* emitter, const pw_manifest_doc* const* docs,
                       size_t count) -> pw_status {
    gRecorded->snapshotEmitter = emitter;
    for (size_t i = 0; i < count; ++i) {
      Recorded::Doc d;
      d.structSize = docs[i]->struct_size;
      d.origin = view(docs[i]->origin);
      d.contentType = view(docs[i]->content_type);
      d.data = view(docs[i]->data);
      d.error = view(docs[i]->error);
      d.warning = view(docs[i]->warning);
      if (docs[i]->next != nullptr) d.extType = docs[i]->next->type;
      gRecorded->docs.push_back(d);
    }
    return PW_OK;
  };
  h.emit_event = [](pw_emitter_host_ptr* emitter, pw_str event_json) -> pw_status {
    gRecorded->eventEmitter = emitter;
    gRecorded->events.push_back(view(event_json));
    return PW_OK;
  };
  h.now_unix_ns = [](const pw_host_api*) -> int64_t { return 1000000; };
  h.monotonic_ns = [](const pw_host_api*) -> int64_t { return 20000; };
  h.call_deadline_ns = [](const pw_call_ctx_host_ptr* ctx) -> int64_t {
    gRecorded->deadlineCtx = ctx;
    return 300;
  };
  h.call_cancelled = [](const pw_call_ctx_host_ptr*) -> uint8_t { return 1; };
  h.emit_sink_state = [](pw_emitter_host_ptr* emitter, pw_str state_json) -> pw_status {
    gRecorded->sinkStateEmitter = emitter;
    gRecorded->sinkStates.push_back(view(state_json));
    return PW_OK;
  };
  return h;
}

}  // namespace

class AbiLayoutTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AbiLayoutTest);
  CPPUNIT_TEST(testCxxLayoutMatchesGolden);
  CPPUNIT_TEST(testCLayoutMatchesCxx);
  CPPUNIT_TEST(testConstantsArePinned);
  CPPUNIT_TEST(testInfoBuiltInCReadsInCxx);
  CPPUNIT_TEST(testHostTableBuiltInCxxUsedFromC);
  CPPUNIT_TEST(testHostHasChecksStructSize);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testCxxLayoutMatchesGolden() {
    std::string mismatches;
    for (const LayoutFact& f : kLayout) {
      if (f.actual != f.golden) {
        mismatches += std::string(f.what) + " is " + std::to_string(f.actual) + ", ABI v1 says " +
                      std::to_string(f.golden) + "\n";
      }
    }
    CPPUNIT_ASSERT_MESSAGE("layout of abi.h changed (C++):\n" + mismatches, mismatches.empty());
  }

  void testCLayoutMatchesCxx() {
    const podwarden_abi_layout_entry* entries = nullptr;
    size_t count = podwarden_abi_c_layout(&entries);
    CPPUNIT_ASSERT_EQUAL(sizeof(kLayout) / sizeof(kLayout[0]), count);
    std::string mismatches;
    for (size_t i = 0; i < count; ++i) {
      CPPUNIT_ASSERT_EQUAL(std::string(kLayout[i].what), std::string(entries[i].what));
      if (entries[i].value != kLayout[i].actual || entries[i].value != kLayout[i].golden) {
        mismatches += std::string(entries[i].what) + ": C " + std::to_string(entries[i].value) + ", C++ " +
                      std::to_string(kLayout[i].actual) + ", ABI v1 " + std::to_string(kLayout[i].golden) + "\n";
      }
    }
    CPPUNIT_ASSERT_MESSAGE("C and C++ disagree on abi.h:\n" + mismatches, mismatches.empty());
  }

  // Numbers that plugins compile in: changing any of them breaks plugins already built.
  void testConstantsArePinned() {
    CPPUNIT_ASSERT_EQUAL(1, PW_ABI_MAJOR);
    // Bumps together with a SIZE line of abi_layout.h when a member is appended.
    CPPUNIT_ASSERT_EQUAL(1, PW_ABI_MINOR);
    CPPUNIT_ASSERT_EQUAL(std::string("pw_plugin_entry_v1"), std::string(PW_PLUGIN_ENTRY_SYMBOL));
    const int codes[] = {PW_OK, PW_CANCELLED, PW_UNKNOWN, PW_INVALID_ARGUMENT, PW_DEADLINE_EXCEEDED,
                         PW_NOT_FOUND, PW_ALREADY_EXISTS, PW_PERMISSION_DENIED, PW_RESOURCE_EXHAUSTED,
                         PW_FAILED_PRECONDITION, PW_ABORTED, PW_OUT_OF_RANGE, PW_UNIMPLEMENTED, PW_INTERNAL,
                         PW_UNAVAILABLE, PW_DATA_LOSS, PW_UNAUTHENTICATED};
    for (int i = 0; i < 17; ++i) CPPUNIT_ASSERT_EQUAL(i, codes[i]);  // the canonical gRPC numbering
    CPPUNIT_ASSERT_EQUAL(1, PW_KIND_SOURCE);
    CPPUNIT_ASSERT_EQUAL(2, PW_KIND_RUNTIME);
    CPPUNIT_ASSERT_EQUAL(3, PW_KIND_SINK);
    CPPUNIT_ASSERT_EQUAL(0, PW_LOG_ERROR);
    CPPUNIT_ASSERT_EQUAL(1, PW_LOG_WARNING);
    CPPUNIT_ASSERT_EQUAL(2, PW_LOG_INFO);
    CPPUNIT_ASSERT_EQUAL(3, PW_LOG_DEBUG);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, PW_CAP_CONCURRENT);
    CPPUNIT_ASSERT_EQUAL(size_t{4}, sizeof(pw_status));
  }

  void testInfoBuiltInCReadsInCxx() {
    const pw_plugin_info* info = podwarden_abi_c_info();
    CPPUNIT_ASSERT_EQUAL(uint32_t{sizeof(pw_plugin_info)}, info->struct_size);
    CPPUNIT_ASSERT_EQUAL(uint16_t{PW_ABI_MAJOR}, info->abi_major);
    CPPUNIT_ASSERT_EQUAL(uint16_t{PW_ABI_MINOR}, info->abi_minor);
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, info->min_host_minor);
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, info->reserved0);
    CPPUNIT_ASSERT_EQUAL(std::string("c99"), std::string(info->name));
    CPPUNIT_ASSERT_EQUAL(std::string("1.2.3"), std::string(info->version));
    CPPUNIT_ASSERT(info->description == nullptr);
    CPPUNIT_ASSERT_EQUAL(std::string("{}"), std::string(info->config_schema_json));
    CPPUNIT_ASSERT(info->next == nullptr);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, info->factory_count);

    const pw_factory* source = info->factories[0];
    const pw_factory* runtime = info->factories[1];
    const pw_factory* sink = info->factories[2];
    CPPUNIT_ASSERT_EQUAL(uint32_t{sizeof(pw_factory)}, source->struct_size);
    CPPUNIT_ASSERT_EQUAL(int32_t{PW_KIND_SOURCE}, source->kind);
    CPPUNIT_ASSERT_EQUAL(std::string("src"), std::string(source->type));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, source->capabilities);
    CPPUNIT_ASSERT_EQUAL(int32_t{PW_KIND_RUNTIME}, runtime->kind);
    CPPUNIT_ASSERT_EQUAL(std::string("rt"), std::string(runtime->type));
    CPPUNIT_ASSERT_EQUAL(PW_CAP_CONCURRENT, runtime->capabilities);
    CPPUNIT_ASSERT_EQUAL(int32_t{PW_KIND_SINK}, sink->kind);
    CPPUNIT_ASSERT_EQUAL(std::string("snk"), std::string(sink->type));
    CPPUNIT_ASSERT_EQUAL(uint64_t{6}, sink->capabilities);
    CPPUNIT_ASSERT(sink->next == nullptr);

    const auto* sv = static_cast<const pw_source_vtable*>(source->vtable);
    const auto* rv = static_cast<const pw_runtime_vtable*>(runtime->vtable);
    const auto* kv = static_cast<const pw_sink_vtable*>(sink->vtable);
    CPPUNIT_ASSERT_EQUAL(uint32_t{sizeof(pw_source_vtable)}, sv->struct_size);
    CPPUNIT_ASSERT_EQUAL(uint32_t{sizeof(pw_runtime_vtable)}, rv->struct_size);
    CPPUNIT_ASSERT_EQUAL(uint32_t{sizeof(pw_sink_vtable)}, kv->struct_size);
    CPPUNIT_ASSERT(sv->destroy && sv->start && sv->stop);
    CPPUNIT_ASSERT(kv->destroy && kv->report && kv->remove);
    CPPUNIT_ASSERT(kv->start && kv->stop);  // minor 1
    // The C start/stop in the sink vtable take the same arguments as a source's.
    CPPUNIT_ASSERT(kv->start == sv->start && kv->stop == sv->stop);
    // The C side set exactly version, exec_sync and pull_image among the runtime calls.
    CPPUNIT_ASSERT(rv->version && rv->exec_sync && rv->pull_image);
    CPPUNIT_ASSERT(!rv->run_pod_sandbox && !rv->stop_pod_sandbox && !rv->remove_pod_sandbox &&
                   !rv->pod_sandbox_status && !rv->list_pod_sandbox && !rv->create_container &&
                   !rv->start_container && !rv->stop_container && !rv->remove_container && !rv->list_containers &&
                   !rv->container_status && !rv->image_status && !rv->watch_events && !rv->unwatch_events);

    // Call each C create through the C++ view of its vtable; the arguments must arrive in place.
    Recorded recorded;
    gRecorded = &recorded;
    pw_host_api host = makeHost();
    struct Case {
      pw_status (*create)(const pw_host_api*, pw_str, pw_str, pw_instance_plugin_ptr**, pw_buffer_host_ptr*);
      std::string expected;
    } cases[] = {{sv->create, "c99 src: {\"a\":1}/node-x"},
                 {rv->create, "c99 rt: {\"a\":1}/node-x"},
                 {kv->create, "c99 snk: {\"a\":1}/node-x"}};
    for (const Case& c : cases) {
      TestBuffer err;
      pw_instance_plugin_ptr* instance = reinterpret_cast<pw_instance_plugin_ptr*>(&err);
      std::string config = "{\"a\":1}";
      std::string node = "node-x";
      pw_status st = c.create(&host, pw_str{config.data(), config.size()}, pw_str{node.data(), node.size()},
                              &instance, reinterpret_cast<pw_buffer_host_ptr*>(&err));
      CPPUNIT_ASSERT_EQUAL(pw_status{PW_UNIMPLEMENTED}, st);
      CPPUNIT_ASSERT(instance == nullptr);
      CPPUNIT_ASSERT_EQUAL(c.expected, err.bytes);
    }
    gRecorded = nullptr;
  }

  void testHostTableBuiltInCxxUsedFromC() {
    Recorded recorded;
    gRecorded = &recorded;
    pw_host_api host = makeHost();
    TestBuffer buffer;
    int emitterToken = 0;
    int ctxToken = 0;
    auto* emitter = reinterpret_cast<pw_emitter_host_ptr*>(&emitterToken);
    auto* ctx = reinterpret_cast<const pw_call_ctx_host_ptr*>(&ctxToken);

    int64_t sum = podwarden_abi_c_use_host(&host, reinterpret_cast<pw_buffer_host_ptr*>(&buffer), emitter, ctx);
    gRecorded = nullptr;

    CPPUNIT_ASSERT_EQUAL(int64_t{1000000 + 20000 + 300 + 1}, sum);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, recorded.logs.size());
    CPPUNIT_ASSERT_EQUAL(std::string("c99 says hi"), recorded.logs[0]);
    CPPUNIT_ASSERT_EQUAL(int32_t{PW_LOG_WARNING}, recorded.logLevels[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("c99-bytes"), buffer.bytes);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, recorded.docs.size());
    const Recorded::Doc& d = recorded.docs[0];
    CPPUNIT_ASSERT_EQUAL(uint32_t{sizeof(pw_manifest_doc)}, d.structSize);
    CPPUNIT_ASSERT_EQUAL(std::string("c99://doc"), d.origin);
    CPPUNIT_ASSERT_EQUAL(std::string("application/json"), d.contentType);
    CPPUNIT_ASSERT_EQUAL(std::string("{}"), d.data);
    CPPUNIT_ASSERT_EQUAL(std::string(), d.error);
    CPPUNIT_ASSERT_EQUAL(std::string("careful"), d.warning);
    CPPUNIT_ASSERT_EQUAL(uint32_t{7}, d.extType);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, recorded.events.size());
    CPPUNIT_ASSERT_EQUAL(std::string("{\"containerId\":\"c99\"}"), recorded.events[0]);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, recorded.sinkStates.size());
    CPPUNIT_ASSERT_EQUAL(std::string("{\"items\":[{\"uid\":\"u-c99\",\"state\":null}]}"),
                         recorded.sinkStates[0]);
    CPPUNIT_ASSERT(recorded.snapshotEmitter == emitter);
    CPPUNIT_ASSERT(recorded.eventEmitter == emitter);
    CPPUNIT_ASSERT(recorded.sinkStateEmitter == emitter);
    CPPUNIT_ASSERT(recorded.deadlineCtx == ctx);
  }

  // A host table from an older minor is shorter: members past its struct_size read as absent.
  void testHostHasChecksStructSize() {
    Recorded recorded;
    gRecorded = &recorded;
    pw_host_api host = makeHost();
    host.struct_size = static_cast<uint32_t>(offsetof(pw_host_api, call_deadline_ns));
    CPPUNIT_ASSERT(PW_HOST_HAS(&host, monotonic_ns));
    CPPUNIT_ASSERT(!PW_HOST_HAS(&host, call_deadline_ns));
    CPPUNIT_ASSERT(!PW_HOST_HAS(&host, call_cancelled));
    TestBuffer buffer;
    int token = 0;
    CPPUNIT_ASSERT_EQUAL(int64_t{-1},
                         podwarden_abi_c_use_host(&host, reinterpret_cast<pw_buffer_host_ptr*>(&buffer),
                                                  reinterpret_cast<pw_emitter_host_ptr*>(&token),
                                                  reinterpret_cast<const pw_call_ctx_host_ptr*>(&token)));
    CPPUNIT_ASSERT(recorded.logs.empty());

    // A host of minor 0 ends after call_cancelled: emit_sink_state (minor 1) reads as absent.
    host.struct_size = static_cast<uint32_t>(offsetof(pw_host_api, emit_sink_state));
    CPPUNIT_ASSERT(PW_HOST_HAS(&host, call_cancelled));
    CPPUNIT_ASSERT(!PW_HOST_HAS(&host, emit_sink_state));
    CPPUNIT_ASSERT_EQUAL(int64_t{-1},
                         podwarden_abi_c_use_host(&host, reinterpret_cast<pw_buffer_host_ptr*>(&buffer),
                                                  reinterpret_cast<pw_emitter_host_ptr*>(&token),
                                                  reinterpret_cast<const pw_call_ctx_host_ptr*>(&token)));
    CPPUNIT_ASSERT(recorded.logs.empty());
    CPPUNIT_ASSERT(recorded.sinkStates.empty());

    host.struct_size = sizeof(pw_host_api);
    host.emit_sink_state = nullptr;
    CPPUNIT_ASSERT(!PW_HOST_HAS(&host, emit_sink_state));
    host.log = nullptr;
    CPPUNIT_ASSERT(!PW_HOST_HAS(&host, log));
    gRecorded = nullptr;
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AbiLayoutTest);
