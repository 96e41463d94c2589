#include "plugin/PluginLibrary.h"

#include "plugin/HostServices.h"

#include <dlfcn.h>

#include <cstring>

namespace podwarden::plugin {

const char* kindName(int32_t kind) {
  switch (kind) {
    case PW_KIND_SOURCE: return "source";
    case PW_KIND_RUNTIME: return "runtime";
    case PW_KIND_SINK: return "sink";
  }
  return "unknown";
}

int32_t kindFromName(const std::string& name) {
  if (name == "source") return PW_KIND_SOURCE;
  if (name == "runtime") return PW_KIND_RUNTIME;
  if (name == "sink") return PW_KIND_SINK;
  return 0;
}

const char* statusName(pw_status status) {
  static const char* const kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
      "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  if (status >= 0 && status <= PW_UNAUTHENTICATED) return kNames[status];
  return "UNKNOWN";
}

bool isRetryable(pw_status status) {
  return status == PW_UNAVAILABLE || status == PW_DEADLINE_EXCEEDED || status == PW_RESOURCE_EXHAUSTED;
}

namespace {

std::string cstr(const char* s) { return s ? std::string(s) : std::string(); }

// Reads the plugin's vtable header struct_size and checks it covers create/destroy.
size_t vtableSize(const void* vtable) {
  uint32_t size = 0;
  std::memcpy(&size, vtable, sizeof(size));
  return size;
}

}  // namespace

std::shared_ptr<PluginLibrary> PluginLibrary::load(const std::string& path) {
  // RTLD_LOCAL keeps each plugin's symbols to itself; RTLD_NODELETE because we never unload.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw PluginError("plugin " + path + ": cannot load: " + (why ? why : "unknown dlopen error"));
  }
  dlerror();
  void* sym = dlsym(handle, PW_PLUGIN_ENTRY_SYMBOL);
  if (sym == nullptr) {
    throw PluginError("plugin " + path + ": no entry symbol " PW_PLUGIN_ENTRY_SYMBOL
                      ": it is not a podwarden ABI v1 plugin (a plugin built for another ABI major exports "
                      "another entry symbol; rebuild it against this podwarden SDK)");
  }
  auto entry = reinterpret_cast<pw_plugin_entry_fn>(sym);

  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->info_.path = path;
  HostServices::initHostApi(*lib);

  HostBuffer err;
  const pw_plugin_info* raw = nullptr;
  pw_status st = entry(&lib->hostApi_, &raw, err.handle());
  if (st != PW_OK || raw == nullptr) {
    throw PluginError("plugin " + path + ": entry point failed with " + statusName(st) +
                      (err.data.empty() ? std::string() : ": " + err.data));
  }
  pw_plugin_info info{};
  if (raw->struct_size < offsetof(pw_plugin_info, factories)) {
    throw PluginError("plugin " + path + ": plugin info is too small (" + std::to_string(raw->struct_size) +
                      " bytes); the library is corrupt or not a podwarden plugin");
  }
  std::memcpy(&info, raw, raw->struct_size < sizeof(info) ? raw->struct_size : sizeof(info));

  PluginInfo& out = lib->info_;
  out.name = cstr(info.name);
  out.version = cstr(info.version);
  out.description = cstr(info.description);
  out.configSchemaJson = cstr(info.config_schema_json);
  out.abiMajor = info.abi_major;
  out.abiMinor = info.abi_minor;
  out.minHostMinor = info.min_host_minor;
  lib->logComponent_ = out.name.empty() ? path : out.name;

  const std::string versions = "plugin built for ABI " + std::to_string(info.abi_major) + "." +
                               std::to_string(info.abi_minor) + ", this podwarden speaks ABI " +
                               std::to_string(PW_ABI_MAJOR) + "." + std::to_string(PW_ABI_MINOR);
  if (info.abi_major != PW_ABI_MAJOR) {
    throw PluginError("plugin " + path + ": ABI major mismatch (" + versions +
                      "); rebuild the plugin against this podwarden's SDK");
  }
  if (info.min_host_minor > PW_ABI_MINOR) {
    throw PluginError("plugin " + path + ": needs a newer podwarden (it requires host ABI minor " +
                      std::to_string(info.min_host_minor) + "; " + versions +
                      "); upgrade podwarden or use an older build of the plugin");
  }
  if (out.name.empty()) throw PluginError("plugin " + path + ": plugin info has no name");
  if (info.factory_count > 0 && info.factories == nullptr) {
    throw PluginError("plugin " + path + ": plugin info lists factories but gives no array");
  }
  for (size_t i = 0; i < info.factory_count; ++i) {
    const pw_factory* f = info.factories[i];
    if (f == nullptr || f->struct_size < offsetof(pw_factory, vtable) + sizeof(void*)) {
      throw PluginError("plugin " + path + ": factory #" + std::to_string(i) + " is missing or too small");
    }
    pw_factory fc{};
    std::memcpy(&fc, f, f->struct_size < sizeof(fc) ? f->struct_size : sizeof(fc));
    Factory factory;
    factory.kind = fc.kind;
    factory.type = cstr(fc.type);
    factory.capabilities = fc.capabilities;
    factory.vtable = fc.vtable;
    if (factory.type.empty() || factory.vtable == nullptr) {
      throw PluginError("plugin " + path + ": factory #" + std::to_string(i) + " has no type or no vtable");
    }
    if (factory.kind != PW_KIND_SOURCE && factory.kind != PW_KIND_RUNTIME && factory.kind != PW_KIND_SINK) {
      throw PluginError("plugin " + path + ": factory " + factory.type + " has unknown kind " +
                        std::to_string(factory.kind));
    }
    size_t minimum = offsetof(pw_source_vtable, destroy) + sizeof(void*);
    if (vtableSize(factory.vtable) < minimum) {
      throw PluginError("plugin " + path + ": factory " + factory.type + " has a vtable too small for create/destroy");
    }
    out.factories.push_back(factory);
  }
  return lib;
}

const Factory* PluginLibrary::findFactory(int32_t kind, const std::string& type) const {
  for (const auto& f : info_.factories) {
    if (f.kind == kind && f.type == type) return &f;
  }
  return nullptr;
}

}  // namespace podwarden::plugin
