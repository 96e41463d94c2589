// cfgtest-multi / cfgtest-single: fixture plugins for factory selection in core/config (PluginsTest).
//
// cfgtest-multi offers source "dir", runtimes "alpha" and "beta" and sink "log"; cfgtest-single offers one
// runtime, "only", and publishes a config schema (so the host checks its config block before create). Every
// create() refuses a config containing "fail":true, and the runtime's version call answers {"type":...,
// "node":..., "config":<the config block verbatim>} so a test sees what crossed the ABI.
#include <podwarden/plugin.hpp>
#include <string>

namespace {

void refuseIfAsked(std::string_view config_json) {
  if (config_json.find("\"fail\":true") != std::string_view::npos) {
    throw pw::Error(PW_INVALID_ARGUMENT, "cfgtest: config asks to fail: " + std::string(config_json));
  }
}

class IdleSource : public pw::Source {
 public:
  IdleSource(const pw::Host&, std::string_view config_json, std::string_view) { refuseIfAsked(config_json); }
  void start(pw_emitter_host_ptr*) override {}
  void stop() noexcept override {}
};

template <const char* kType>
class EchoRuntime : public pw::Runtime {
 public:
  EchoRuntime(const pw::Host&, std::string_view config_json, std::string_view node)
      : config_(config_json), node_(node) {
    refuseIfAsked(config_json);
  }
  pw_status version(const pw::Call&, std::string_view, std::string& out) override {
    out = std::string("{\"type\":\"") + kType + "\",\"node\":\"" + node_ + "\",\"config\":" + config_ + "}";
    return PW_OK;
  }

 private:
  std::string config_;
  std::string node_;
};

class NullSink : public pw::Sink {
 public:
  NullSink(const pw::Host&, std::string_view config_json, std::string_view) { refuseIfAsked(config_json); }
  pw_status report(const pw::Call&, std::string_view) override { return PW_OK; }
  pw_status remove(const pw::Call&, std::string_view) override { return PW_OK; }
};

constexpr char kAlpha[] = "alpha";
constexpr char kBeta[] = "beta";
constexpr char kOnly[] = "only";

#if CFGTEST_MULTI
const pw_source_vtable kSourceVtable = pw::sourceVtable<IdleSource>();
const pw_runtime_vtable kAlphaVtable = pw::runtimeVtable<EchoRuntime<kAlpha>>();
const pw_runtime_vtable kBetaVtable = pw::runtimeVtable<EchoRuntime<kBeta>>();
const pw_sink_vtable kSinkVtable = pw::sinkVtable<NullSink>();
const pw_factory kSource = pw::factory(PW_KIND_SOURCE, "dir", 0, &kSourceVtable);
const pw_factory kRuntimeAlpha = pw::factory(PW_KIND_RUNTIME, kAlpha, 0, &kAlphaVtable);
const pw_factory kRuntimeBeta = pw::factory(PW_KIND_RUNTIME, kBeta, PW_CAP_CONCURRENT, &kBetaVtable);
const pw_factory kSink = pw::factory(PW_KIND_SINK, "log", 0, &kSinkVtable);
#else
const char kSchema[] = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "endpoint": {"type": "string", "pattern": "^unix:///"},
    "mode": {"enum": ["fast", "safe"]},
    "retries": {"type": "integer", "minimum": 1, "maximum": 10},
    "tags": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "fail": {"type": "boolean"}
  }
})json";
const pw_runtime_vtable kOnlyVtable = pw::runtimeVtable<EchoRuntime<kOnly>>();
const pw_factory kRuntimeOnly = pw::factory(PW_KIND_RUNTIME, kOnly, 0, &kOnlyVtable);
#endif

}  // namespace

#if CFGTEST_MULTI
PW_DEFINE_PLUGIN("cfgtest-multi", "1.2.3", "fixture: one plugin serving every role", nullptr, &kSource,
                 &kRuntimeAlpha, &kRuntimeBeta, &kSink)
#else
PW_DEFINE_PLUGIN("cfgtest-single", "0.0.1", "fixture: a single runtime factory", kSchema, &kRuntimeOnly)
#endif
