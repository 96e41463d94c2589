/* abi_layout.h - the golden layout of every public struct of podwarden/abi.h on x86_64 (LP64, SysV),
 * shared by the C side (abi_c99.c) and the C++ side (AbiLayoutTest.cpp) of the layout test.
 *
 * PW_ABI_LAYOUT(SIZE, OFFSET) expands SIZE(type, bytes) and OFFSET(type, member, bytes) once per entry.
 * The numbers are what ABI v1 promises to every plugin ever built. A change to any of them breaks
 * plugins in the field: append members instead (which changes only the SIZE line, and bumps
 * PW_ABI_MINOR), or start ABI v2. */
#ifndef PODWARDEN_TESTS_ABI_LAYOUT_H_
#define PODWARDEN_TESTS_ABI_LAYOUT_H_

#include <podwarden/abi.h>

#include <stddef.h>

#define PW_ABI_LAYOUT(SIZE, OFFSET)                  \
  SIZE(pw_str, 16)                                   \
  OFFSET(pw_str, data, 0)                            \
  OFFSET(pw_str, len, 8)                             \
  SIZE(pw_ext, 16)                                   \
  OFFSET(pw_ext, struct_size, 0)                     \
  OFFSET(pw_ext, type, 4)                            \
  OFFSET(pw_ext, next, 8)                            \
  SIZE(pw_manifest_doc, 96)                          \
  OFFSET(pw_manifest_doc, struct_size, 0)            \
  OFFSET(pw_manifest_doc, origin, 8)                 \
  OFFSET(pw_manifest_doc, content_type, 24)          \
  OFFSET(pw_manifest_doc, data, 40)                  \
  OFFSET(pw_manifest_doc, error, 56)                 \
  OFFSET(pw_manifest_doc, warning, 72)               \
  OFFSET(pw_manifest_doc, next, 88)                  \
  SIZE(pw_host_api, 88)                              \
  OFFSET(pw_host_api, struct_size, 0)                \
  OFFSET(pw_host_api, abi_major, 4)                  \
  OFFSET(pw_host_api, abi_minor, 6)                  \
  OFFSET(pw_host_api, host_ctx_host_ptr, 8)          \
  OFFSET(pw_host_api, log, 16)                       \
  OFFSET(pw_host_api, buffer_write, 24)              \
  OFFSET(pw_host_api, emit_snapshot, 32)             \
  OFFSET(pw_host_api, emit_event, 40)                \
  OFFSET(pw_host_api, now_unix_ns, 48)               \
  OFFSET(pw_host_api, monotonic_ns, 56)              \
  OFFSET(pw_host_api, call_deadline_ns, 64)          \
  OFFSET(pw_host_api, call_cancelled, 72)            \
  OFFSET(pw_host_api, emit_sink_state, 80)           \
  SIZE(pw_source_vtable, 40)                         \
  OFFSET(pw_source_vtable, struct_size, 0)           \
  OFFSET(pw_source_vtable, create, 8)                \
  OFFSET(pw_source_vtable, destroy, 16)              \
  OFFSET(pw_source_vtable, start, 24)                \
  OFFSET(pw_source_vtable, stop, 32)                 \
  SIZE(pw_runtime_vtable, 160)                       \
  OFFSET(pw_runtime_vtable, struct_size, 0)          \
  OFFSET(pw_runtime_vtable, create, 8)               \
  OFFSET(pw_runtime_vtable, destroy, 16)             \
  OFFSET(pw_runtime_vtable, version, 24)             \
  OFFSET(pw_runtime_vtable, run_pod_sandbox, 32)     \
  OFFSET(pw_runtime_vtable, stop_pod_sandbox, 40)    \
  OFFSET(pw_runtime_vtable, remove_pod_sandbox, 48)  \
  OFFSET(pw_runtime_vtable, pod_sandbox_status, 56)  \
  OFFSET(pw_runtime_vtable, list_pod_sandbox, 64)    \
  OFFSET(pw_runtime_vtable, create_container, 72)    \
  OFFSET(pw_runtime_vtable, start_container, 80)     \
  OFFSET(pw_runtime_vtable, stop_container, 88)      \
  OFFSET(pw_runtime_vtable, remove_container, 96)    \
  OFFSET(pw_runtime_vtable, list_containers, 104)    \
  OFFSET(pw_runtime_vtable, container_status, 112)   \
  OFFSET(pw_runtime_vtable, exec_sync, 120)          \
  OFFSET(pw_runtime_vtable, image_status, 128)       \
  OFFSET(pw_runtime_vtable, pull_image, 136)         \
  OFFSET(pw_runtime_vtable, watch_events, 144)       \
  OFFSET(pw_runtime_vtable, unwatch_events, 152)     \
  SIZE(pw_sink_vtable, 56)                           \
  OFFSET(pw_sink_vtable, struct_size, 0)             \
  OFFSET(pw_sink_vtable, create, 8)                  \
  OFFSET(pw_sink_vtable, destroy, 16)                \
  OFFSET(pw_sink_vtable, report, 24)                 \
  OFFSET(pw_sink_vtable, remove, 32)                 \
  OFFSET(pw_sink_vtable, start, 40)                  \
  OFFSET(pw_sink_vtable, stop, 48)                   \
  SIZE(pw_factory, 40)                               \
  OFFSET(pw_factory, struct_size, 0)                 \
  OFFSET(pw_factory, kind, 4)                        \
  OFFSET(pw_factory, type, 8)                        \
  OFFSET(pw_factory, capabilities, 16)               \
  OFFSET(pw_factory, vtable, 24)                     \
  OFFSET(pw_factory, next, 32)                       \
  SIZE(pw_plugin_info, 72)                           \
  OFFSET(pw_plugin_info, struct_size, 0)             \
  OFFSET(pw_plugin_info, abi_major, 4)               \
  OFFSET(pw_plugin_info, abi_minor, 6)               \
  OFFSET(pw_plugin_info, min_host_minor, 8)          \
  OFFSET(pw_plugin_info, reserved0, 10)              \
  OFFSET(pw_plugin_info, name, 16)                   \
  OFFSET(pw_plugin_info, version, 24)                \
  OFFSET(pw_plugin_info, description, 32)            \
  OFFSET(pw_plugin_info, config_schema_json, 40)     \
  OFFSET(pw_plugin_info, factories, 48)              \
  OFFSET(pw_plugin_info, factory_count, 56)          \
  OFFSET(pw_plugin_info, next, 64)

#ifdef __cplusplus
extern "C" {
#endif

/* One measured layout fact: `what` is "sizeof(pw_str)" or "offsetof(pw_str, len)". */
typedef struct podwarden_abi_layout_entry {
  const char* what;
  size_t value;
} podwarden_abi_layout_entry;

/* The PW_ABI_LAYOUT entries as the C compiler lays them out; stores the table in *entries and returns its
 * length. The table is static. */
size_t podwarden_abi_c_layout(const podwarden_abi_layout_entry** entries);

/* A plugin description built with C initializers: name "c99", version "1.2.3", description NULL, schema
 * "{}", min_host_minor 0, reserved0 0, three factories in the order source "src" (capabilities 0),
 * runtime "rt" (PW_CAP_CONCURRENT, only version, exec_sync and pull_image set among the calls, no events),
 * sink "snk" (capabilities 6, with start and stop). Every vtable's create returns PW_UNIMPLEMENTED and writes
 * "c99 <type>: <config>/<node>" into err. */
const pw_plugin_info* podwarden_abi_c_info(void);

/* Calls every host service once, from C, in member order:
 *   log(host, PW_LOG_WARNING, "c99 says hi"); buffer_write(buffer, "c99-bytes", 9);
 *   emit_snapshot(emitter, [doc], 1) with doc {origin "c99://doc", content_type "application/json",
 *     data "{}", error "", warning "careful", next -> a pw_ext {type 7, next NULL}};
 *   emit_event(emitter, "{\"containerId\":\"c99\"}");
 *   emit_sink_state(emitter, "{\"items\":[{\"uid\":\"u-c99\",\"state\":null}]}") (minor 1);
 * and returns now_unix_ns(host) + monotonic_ns(host) + call_deadline_ns(ctx) + call_cancelled(ctx), or
 * -1 when a call returned a status other than PW_OK or PW_HOST_HAS denies a member. */
int64_t podwarden_abi_c_use_host(const pw_host_api* host, pw_buffer_host_ptr* buffer, pw_emitter_host_ptr* emitter,
                                 const pw_call_ctx_host_ptr* ctx);

#ifdef __cplusplus
}
#endif

#endif /* PODWARDEN_TESTS_ABI_LAYOUT_H_ */
