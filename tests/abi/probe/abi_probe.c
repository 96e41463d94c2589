/* abi_probe.c - the SDK's ABI as one exported function, for abidw/abidiff (tests/unit/abi/AbiDiffTest).
 *
 * abi.h itself exports no code, so libabigail has nothing to read from it. This library exports a single
 * function whose parameters reach every public struct, function-pointer type and typedef of abi.h; its
 * DWARF then describes the whole ABI, and abidiff of that against tests/abi/baseline/abi-v1.<minor>.abi
 * reports any change to a member, a type, an offset or a size. */
#include <podwarden/abi.h>

/* Keeps every parameter's type in the debug info; returns a value that depends on all of them. */
PW_PLUGIN_EXPORT size_t podwarden_abi_probe(const pw_str* str, const pw_ext* ext, const pw_manifest_doc* doc,
                                            const pw_host_api* host, const pw_source_vtable* source,
                                            const pw_runtime_vtable* runtime, const pw_sink_vtable* sink,
                                            const pw_factory* factory, const pw_plugin_info* info,
                                            pw_plugin_entry_fn entry, pw_runtime_call call, pw_status status,
                                            pw_buffer_host_ptr* buffer, pw_emitter_host_ptr* emitter,
                                            const pw_call_ctx_host_ptr* ctx,
                                            pw_instance_plugin_ptr* instance);

size_t podwarden_abi_probe(const pw_str* str, const pw_ext* ext, const pw_manifest_doc* doc,
                           const pw_host_api* host, const pw_source_vtable* source,
                           const pw_runtime_vtable* runtime, const pw_sink_vtable* sink,
                           const pw_factory* factory, const pw_plugin_info* info, pw_plugin_entry_fn entry,
                           pw_runtime_call call, pw_status status, pw_buffer_host_ptr* buffer,
                           pw_emitter_host_ptr* emitter, const pw_call_ctx_host_ptr* ctx,
                           pw_instance_plugin_ptr* instance) {
  size_t sum = (size_t)status;
  sum += str ? str->len : 0;
  sum += ext ? ext->struct_size : 0;
  sum += doc ? doc->struct_size : 0;
  sum += host ? host->struct_size : 0;
  sum += source ? source->struct_size : 0;
  sum += runtime ? runtime->struct_size : 0;
  sum += sink ? sink->struct_size : 0;
  sum += factory ? factory->struct_size : 0;
  sum += info ? info->struct_size : 0;
  sum += entry ? 1 : 0;
  sum += call ? 1 : 0;
  sum += buffer ? 1 : 0;
  sum += emitter ? 1 : 0;
  sum += ctx ? 1 : 0;
  sum += instance ? 1 : 0;
  return sum;
}
