// PluginLibrary.h - loading a plugin shared library and the ABI handshake.
//
// A library is dlopen'ed with RTLD_NOW|RTLD_LOCAL, its pw_plugin_entry_v1 called once with the host
// table, and its pw_plugin_info copied (min of both struct sizes) into host-side C++ values. Libraries
// are never unloaded: plugin threads, TLS and atexit hooks make dlclose unsafe.
#pragma once

#include <podwarden/abi.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace podwarden::plugin {

// Why a plugin could not be loaded or created. The message names the file and the reason.
class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const char* kindName(int32_t kind);  // "source", "runtime", "sink"
int32_t kindFromName(const std::string& name);  // 0 if unknown
const char* statusName(pw_status status);       // "OK", "UNAVAILABLE", ...
// True for the codes the host retries with backoff (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED).
bool isRetryable(pw_status status);

struct Factory {
  int32_t kind = 0;
  std::string type;
  uint64_t capabilities = 0;
  const void* vtable = nullptr;  // plugin-owned static data
};

struct PluginInfo {
  std::string path;
  std::string name;
  std::string version;
  std::string description;
  std::string configSchemaJson;  // empty if the plugin published none
  uint16_t abiMajor = 0;
  uint16_t abiMinor = 0;
  uint16_t minHostMinor = 0;
  std::vector<Factory> factories;
};

class PluginLibrary {
 public:
  // Loads `path` and performs the handshake. Throws PluginError naming the file when: dlopen fails, the
  // entry symbol is missing, the entry fails, the plugin was built for another ABI major, or it needs a
  // newer host minor than this one.
  static std::shared_ptr<PluginLibrary> load(const std::string& path);

  const PluginInfo& info() const { return info_; }
  // The factory of `kind` named `type`, or nullptr.
  const Factory* findFactory(int32_t kind, const std::string& type) const;
  // The host table given to this library (one per library; identifies it in log lines).
  const pw_host_api* hostApi() const { return &hostApi_; }

  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

 private:
  PluginLibrary() = default;
  PluginInfo info_;
  pw_host_api hostApi_{};
  std::string logComponent_;
  friend struct HostServices;
};

}  // namespace podwarden::plugin
