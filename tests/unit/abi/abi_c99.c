/* abi_c99.c - abi.h compiled as strict C99 (-std=c99 -pedantic -Werror, see CMakeLists.txt), using
 * every public struct, type and macro the way a C plugin would. AbiLayoutTest calls these functions from
 * C++ to check that both compilers agree on every layout. */
#include "abi_layout.h"

#include <string.h>

#define PW_C_SIZE(type, golden) {"sizeof(" #type ")", sizeof(type)},
#define PW_C_OFFSET(type, member, golden) {"offsetof(" #type ", " #member ")", offsetof(type, member)},

static const podwarden_abi_layout_entry kLayout[] = {PW_ABI_LAYOUT(PW_C_SIZE, PW_C_OFFSET)};

size_t podwarden_abi_c_layout(const podwarden_abi_layout_entry** entries) {
  *entries = kLayout;
  return sizeof(kLayout) / sizeof(kLayout[0]);
}

/* ---- A plugin description in C ---- */

static pw_status c99_create(const char* type, const pw_host_api* host, pw_str config_json, pw_str node_name,
                            pw_buffer_host_ptr* err) {
  char text[256];
  size_t used = 0;
  size_t type_len = strlen(type);
  /* "c99 <type>: <config>/<node>", truncated to the buffer. */
  const pw_str parts[5] = {{"c99 ", 4}, {type, type_len}, {": ", 2}, {config_json.data, config_json.len},
                           {node_name.data, node_name.len}};
  size_t i;
  for (i = 0; i < 5; ++i) {
    size_t n = parts[i].len;
    if (i == 4 && used < sizeof(text)) text[used++] = '/';
    if (n > sizeof(text) - used) n = sizeof(text) - used;
    if (n > 0) memcpy(text + used, parts[i].data, n);
    used += n;
  }
  if (PW_HOST_HAS(host, buffer_write)) host->buffer_write(err, text, used);
  return PW_UNIMPLEMENTED;
}

static pw_status c99_source_create(const pw_host_api* host, pw_str config_json, pw_str node_name,
                                   pw_instance_plugin_ptr** out, pw_buffer_host_ptr* err) {
  *out = NULL;
  return c99_create("src", host, config_json, node_name, err);
}

static pw_status c99_runtime_create(const pw_host_api* host, pw_str config_json, pw_str node_name,
                                    pw_instance_plugin_ptr** out, pw_buffer_host_ptr* err) {
  *out = NULL;
  return c99_create("rt", host, config_json, node_name, err);
}

static pw_status c99_sink_create(const pw_host_api* host, pw_str config_json, pw_str node_name,
                                 pw_instance_plugin_ptr** out, pw_buffer_host_ptr* err) {
  *out = NULL;
  return c99_create("snk", host, config_json, node_name, err);
}

static void c99_destroy(pw_instance_plugin_ptr* instance) { (void)instance; }

static pw_status c99_start(pw_instance_plugin_ptr* instance, pw_emitter_host_ptr* emitter,
                           pw_buffer_host_ptr* err) {
  (void)instance;
  (void)emitter;
  (void)err;
  return PW_OK;
}

static void c99_stop(pw_instance_plugin_ptr* instance) { (void)instance; }

static pw_status c99_runtime_call(pw_instance_plugin_ptr* instance, const pw_call_ctx_host_ptr* ctx,
                                  pw_str request_json, pw_buffer_host_ptr* out, pw_buffer_host_ptr* err) {
  (void)instance;
  (void)ctx;
  (void)request_json;
  (void)out;
  (void)err;
  return PW_UNIMPLEMENTED;
}

static pw_status c99_sink_call(pw_instance_plugin_ptr* instance, const pw_call_ctx_host_ptr* ctx,
                               pw_str batch_json, pw_buffer_host_ptr* err) {
  (void)instance;
  (void)ctx;
  (void)batch_json;
  (void)err;
  return PW_OK;
}

static const pw_source_vtable kSourceVtable = {
    .struct_size = sizeof(pw_source_vtable),
    .create = c99_source_create,
    .destroy = c99_destroy,
    .start = c99_start,
    .stop = c99_stop,
};

/* Designated initializers leave the other calls NULL, as a runtime that cannot do them would. */
static const pw_runtime_vtable kRuntimeVtable = {
    .struct_size = sizeof(pw_runtime_vtable),
    .create = c99_runtime_create,
    .destroy = c99_destroy,
    .version = c99_runtime_call,
    .exec_sync = c99_runtime_call,
    .pull_image = c99_runtime_call,
};

static const pw_sink_vtable kSinkVtable = {
    .struct_size = sizeof(pw_sink_vtable),
    .create = c99_sink_create,
    .destroy = c99_destroy,
    .report = c99_sink_call,
    .remove = c99_sink_call,
    .start = c99_start, /* minor 1: same signature as a source's start/stop */
    .stop = c99_stop,
};

static const pw_factory kSourceFactory = {sizeof(pw_factory), PW_KIND_SOURCE, "src", 0, &kSourceVtable, NULL};
static const pw_factory kRuntimeFactory = {sizeof(pw_factory), PW_KIND_RUNTIME, "rt", PW_CAP_CONCURRENT,
                                           &kRuntimeVtable, NULL};
static const pw_factory kSinkFactory = {sizeof(pw_factory), PW_KIND_SINK, "snk", 6, &kSinkVtable, NULL};
static const pw_factory* const kFactories[] = {&kSourceFactory, &kRuntimeFactory, &kSinkFactory};

static const pw_plugin_info kInfo = {
    .struct_size = sizeof(pw_plugin_info),
    .abi_major = PW_ABI_MAJOR,
    .abi_minor = PW_ABI_MINOR,
    .min_host_minor = 0,
    .reserved0 = 0,
    .name = "c99",
    .version = "1.2.3",
    .description = NULL,
    .config_schema_json = "{}",
    .factories = kFactories,
    .factory_count = sizeof(kFactories) / sizeof(kFactories[0]),
    .next = NULL,
};

const pw_plugin_info* podwarden_abi_c_info(void) { return &kInfo; }

/* ---- Using the host table from C ---- */

static pw_str c99_str(const char* s) {
  pw_str r;
  r.data = s;
  r.len = strlen(s);
  return r;
}

int64_t podwarden_abi_c_use_host(const pw_host_api* host, pw_buffer_host_ptr* buffer, pw_emitter_host_ptr* emitter,
                                 const pw_call_ctx_host_ptr* ctx) {
  pw_ext ext;
  pw_manifest_doc doc;
  const pw_manifest_doc* docs[1];

  if (!PW_HOST_HAS(host, log) || !PW_HOST_HAS(host, buffer_write) || !PW_HOST_HAS(host, emit_snapshot) ||
      !PW_HOST_HAS(host, emit_event) || !PW_HOST_HAS(host, now_unix_ns) || !PW_HOST_HAS(host, monotonic_ns) ||
      !PW_HOST_HAS(host, call_deadline_ns) || !PW_HOST_HAS(host, call_cancelled) ||
      !PW_HOST_HAS(host, emit_sink_state)) {
    return -1;
  }
  host->log(host, PW_LOG_WARNING, c99_str("c99 says hi"));
  if (host->buffer_write(buffer, "c99-bytes", 9) != PW_OK) return -1;

  memset(&ext, 0, sizeof(ext));
  ext.struct_size = sizeof(ext);
  ext.type = 7;
  ext.next = NULL;
  memset(&doc, 0, sizeof(doc));
  doc.struct_size = sizeof(doc);
  doc.origin = c99_str("c99://doc");
  doc.content_type = c99_str("application/json");
  doc.data = c99_str("{}");
  doc.error = c99_str("");
  doc.warning = c99_str("careful");
  doc.next = &ext;
  docs[0] = &doc;
  if (host->emit_snapshot(emitter, docs, 1) != PW_OK) return -1;
  if (host->emit_event(emitter, c99_str("{\"containerId\":\"c99\"}")) != PW_OK) return -1;
  if (host->emit_sink_state(emitter, c99_str("{\"items\":[{\"uid\":\"u-c99\",\"state\":null}]}")) != PW_OK)
    return -1;

  return host->now_unix_ns(host) + host->monotonic_ns(host) + host->call_deadline_ns(ctx) +
         (int64_t)host->call_cancelled(ctx);
}
