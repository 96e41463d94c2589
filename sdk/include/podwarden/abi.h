/*
 * podwarden/abi.h - the podwarden plugin ABI, version 1.
 *
 * This header is the whole contract between the podwarden daemon (the "host") and its plugins. It is
 * C99 with standard headers only, and compiles as C and as C++. Nothing C++ crosses it: no STL, no
 * exceptions, no allocation that one side frees on behalf of the other.
 *
 * Conventions (see docs/abi.md for the full reference):
 *  - A plugin is a shared library that exports exactly one symbol, pw_plugin_entry_v1. The "v1" is the ABI
 *    major; a change that breaks v1 plugins needs a new major and a new entry symbol.
 *  - Every growable struct begins with `uint32_t struct_size`. A reader copies min(struct_size, its own
 *    sizeof) into a zeroed local, so a member the writer did not know about reads as zero/NULL. New members
 *    are only ever appended, and each append bumps PW_ABI_MINOR.
 *  - Strings and Kubernetes-shaped objects travel as (ptr, len) UTF-8 (pw_str); nothing relies on a NUL.
 *    Objects are JSON: Pods and PodStatus in the Kubernetes v1 JSON form; runtime requests and responses in
 *    the protobuf JSON mapping of CRI runtime.v1 messages (lowerCamelCase names, enums as their names,
 *    64-bit integers as strings or numbers). Readers ignore unknown fields.
 *  - Ownership is in the names: `_host_ptr` is owned by the host, `_plugin_ptr` by the plugin. Inputs are
 *    borrowed for the duration of the call. Outputs go into host-owned buffers through host->buffer_write.
 *  - Every call returns a pw_status (the canonical gRPC codes) and may write a message into the `err`
 *    buffer it was given. The host owns retries: UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED are
 *    retried with backoff; any other failure is reported.
 *  - Threads: the entry, create and destroy run on the host's control thread. Calls into one instance are
 *    serialized by the host unless its factory declares PW_CAP_CONCURRENT. Host services are thread-safe,
 *    never block for long and never call back into the plugin. A plugin joins every thread it started
 *    before its stop/destroy returns. Libraries are never unloaded.
 */
#ifndef PODWARDEN_ABI_H_
#define PODWARDEN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions ------------------------------------------------------------------------------------ */

#define PW_ABI_MAJOR 1
/* Minor 0: the first release of ABI v1.
 * Minor 1: sinks get optional start()/stop() (appended to pw_sink_vtable) and publish their own per-pod
 *          state with host->emit_sink_state (appended to pw_host_api); the host shows that state to every
 *          other sink inside the pod object, under "podwarden":{"sinks":{...}}. */
#define PW_ABI_MINOR 1

/* The one symbol a plugin exports. */
#define PW_PLUGIN_ENTRY_SYMBOL "pw_plugin_entry_v1"

#if defined(_WIN32)
#define PW_PLUGIN_EXPORT __declspec(dllexport)
#else
#define PW_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ---- Status codes (canonical gRPC codes, same numbers) ------------------------------------------- */

typedef int32_t pw_status;

#define PW_OK 0
#define PW_CANCELLED 1
#define PW_UNKNOWN 2
#define PW_INVALID_ARGUMENT 3
#define PW_DEADLINE_EXCEEDED 4
#define PW_NOT_FOUND 5
#define PW_ALREADY_EXISTS 6
#define PW_PERMISSION_DENIED 7
#define PW_RESOURCE_EXHAUSTED 8
#define PW_FAILED_PRECONDITION 9
#define PW_ABORTED 10
#define PW_OUT_OF_RANGE 11
#define PW_UNIMPLEMENTED 12
#define PW_INTERNAL 13
#define PW_UNAVAILABLE 14
#define PW_DATA_LOSS 15
#define PW_UNAUTHENTICATED 16

/* ---- Basic types --------------------------------------------------------------------------------- */

/* A borrowed UTF-8 string or byte range. `data` may be NULL when `len` is 0. Not NUL-terminated. */
typedef struct pw_str {
  const char* data;
  size_t len;
} pw_str;

/* Optional extension chain for request structs (Vulkan's sType/pNext). A reader skips every `type` it
 * does not know. No extension types are defined in v1.0; the member exists so that adding one later does
 * not change a struct's layout. */
typedef struct pw_ext {
  uint32_t struct_size;
  uint32_t type;
  const struct pw_ext* next;
} pw_ext;

/* Host-owned output buffer. The plugin appends bytes to it with host->buffer_write; the host reads them
 * after the call returns. Valid only for the duration of the call it was passed to. */
typedef struct pw_buffer_host_ptr pw_buffer_host_ptr;

/* Host-owned emitter handle, given to a source's start(), a runtime's watch_events() or (minor 1) a sink's
 * start(). Valid until the matching stop()/unwatch_events() returns. */
typedef struct pw_emitter_host_ptr pw_emitter_host_ptr;

/* Host-owned per-call context: deadline and cancellation. */
typedef struct pw_call_ctx_host_ptr pw_call_ctx_host_ptr;

/* Log levels for host->log. */
#define PW_LOG_ERROR 0
#define PW_LOG_WARNING 1
#define PW_LOG_INFO 2
#define PW_LOG_DEBUG 3

/* ---- Source snapshots ---------------------------------------------------------------------------- */

/* One origin (a file, a URL) of a source's snapshot. Exactly one of `data` and `error` is meaningful:
 * a non-empty `error` says the origin exists but could not be read (too large, unreadable, HTTP 500...);
 * the host then keeps whatever it last accepted from that origin and reports the error.
 * Sources never parse manifests: `data` is the raw document bytes. */
typedef struct pw_manifest_doc {
  uint32_t struct_size;
  pw_str origin;       /* file path or URL; unique within one snapshot */
  pw_str content_type; /* "application/yaml", "application/json", or empty: the host sniffs */
  pw_str data;         /* raw document bytes */
  pw_str error;        /* non-empty: this origin failed; data is ignored */
  pw_str warning;      /* non-empty: accepted, but worth telling the operator (e.g. looks like a backup) */
  const pw_ext* next;
} pw_manifest_doc;

/* ---- The host table ------------------------------------------------------------------------------ */

/* Services the host offers a plugin. Append-only: a member added in minor N is present when
 * host->struct_size covers it (PW_HOST_HAS) and host->abi_minor >= N. The table and everything it points
 * to outlive every plugin instance. All functions are thread-safe. */
typedef struct pw_host_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  /* Identifies this plugin library to the host; pass it back to the functions that take it. */
  const void* host_ctx_host_ptr;

  /* Writes a log line attributed to the plugin. Never blocks on I/O for long. */
  void (*log)(const struct pw_host_api* host, int32_t level, pw_str message);

  /* Appends `len` bytes to a host-owned buffer (copies them). Returns PW_OK or PW_RESOURCE_EXHAUSTED. */
  pw_status (*buffer_write)(pw_buffer_host_ptr* buffer, const char* data, size_t len);

  /* Replaces a source's complete current set of documents (kubelet SET semantics). `docs` is an array of
   * `count` pointers; the host copies what it needs before returning. Call from any thread, at any time
   * between start() and the return of stop(). An origin absent from the snapshot is gone. */
  pw_status (*emit_snapshot)(pw_emitter_host_ptr* emitter, const pw_manifest_doc* const* docs,
                             size_t count);

  /* Hands the host one runtime event: the JSON of a CRI ContainerEventResponse
   * ({"containerId","containerEventType","createdAt",...}). The host treats it as a hint to look at that
   * container again, so a lost or duplicated event is harmless. */
  pw_status (*emit_event)(pw_emitter_host_ptr* emitter, pw_str event_json);

  /* Wall-clock time, nanoseconds since the Unix epoch; and a monotonic clock in nanoseconds. The host's
   * clocks (tests inject their own). */
  int64_t (*now_unix_ns)(const struct pw_host_api* host);
  int64_t (*monotonic_ns)(const struct pw_host_api* host);

  /* Deadline of a call, in host->monotonic_ns() time; 0 means none. */
  int64_t (*call_deadline_ns)(const pw_call_ctx_host_ptr* ctx);
  /* Non-zero once the host wants the call abandoned (shutdown, the pod went away). Poll it in long waits. */
  uint8_t (*call_cancelled)(const pw_call_ctx_host_ptr* ctx);

  /* Minor 1. A sink publishes its own per-pod state, through the emitter its start() was given:
   * `state_json` is {"items":[{"uid":"<static pod uid>","state":<JSON object or null>},...]}. For each item
   * the host keeps `state` as this sink's state of that pod (null clears it) and places it into the pod
   * object under "podwarden":{"sinks":{"<sink key>":state}}. The sink key is the plugin's name
   * (pw_plugin_info.name); a second instance of the same plugin is "<name>#2", a third "<name>#3". A
   * change reports the pod again to every other sink, never to the emitting one, which does not see its
   * own state in the pods it receives; an unchanged state changes nothing. The state stays attached when
   * the pod changes, and goes with the pod when it is removed. An item whose uid the host has no pod for
   * (the pod was removed meanwhile) is ignored: a sink learns of pods from report(). The host copies what
   * it needs before returning. Call from any thread between start() and the return of stop().
   * Returns PW_OK, PW_INVALID_ARGUMENT (nothing applied) when the JSON is not of that shape, or
   * PW_FAILED_PRECONDITION outside start()..stop(). A plugin that calls it sets min_host_minor = 1 or
   * checks PW_HOST_HAS(host, emit_sink_state). */
  pw_status (*emit_sink_state)(pw_emitter_host_ptr* emitter, pw_str state_json);
} pw_host_api;

/* True when the host table has member `member` (it may still be NULL if the host chose not to offer it). */
#define PW_HOST_HAS(host, member) \
  ((host)->struct_size >= offsetof(pw_host_api, member) + sizeof((host)->member) && (host)->member != NULL)

/* ---- Plugin kinds -------------------------------------------------------------------------------- */

#define PW_KIND_SOURCE 1
#define PW_KIND_RUNTIME 2
#define PW_KIND_SINK 3

/* Factory capabilities (bit flags). */
/* Calls into one instance may run concurrently from several host threads. */
#define PW_CAP_CONCURRENT ((uint64_t)1 << 0)

/* Plugin-owned instance state. */
typedef struct pw_instance_plugin_ptr pw_instance_plugin_ptr;

/* Every vtable begins with these members, in this order.
 * create: `config_json` is the plugin's config block from the daemon config as a JSON object (already
 *   checked against the plugin's schema, if it published one); `node_name` is the node this daemon runs as.
 *   On success stores the new instance in *out and returns PW_OK; otherwise writes why into `err`.
 * destroy: releases everything the instance holds; after it returns, no plugin thread touches the host. */
#define PW_VTABLE_HEADER                                                                           \
  uint32_t struct_size;                                                                            \
  pw_status (*create)(const pw_host_api* host, pw_str config_json, pw_str node_name,               \
                      pw_instance_plugin_ptr** out, pw_buffer_host_ptr* err);                      \
  void (*destroy)(pw_instance_plugin_ptr* instance)

/* A manifest source. start() begins delivering snapshots through host->emit_snapshot(emitter, ...) and
 * returns quickly (the first snapshot may come from inside start or later from the plugin's own thread).
 * stop() ends delivery: after it returns the plugin never uses `emitter` again. */
typedef struct pw_source_vtable {
  PW_VTABLE_HEADER;
  pw_status (*start)(pw_instance_plugin_ptr* instance, pw_emitter_host_ptr* emitter,
                     pw_buffer_host_ptr* err);
  void (*stop)(pw_instance_plugin_ptr* instance);
} pw_source_vtable;

/* One CRI-shaped runtime call: `request_json` is the JSON of the CRI runtime.v1 request message named by
 * the vtable member (e.g. RunPodSandboxRequest); on PW_OK the plugin writes the JSON of the matching
 * response message into `out`. On failure it writes a human-readable message into `err`; NOT_FOUND means
 * the sandbox/container/image does not exist. `ctx` carries the deadline and cancellation. */
typedef pw_status (*pw_runtime_call)(pw_instance_plugin_ptr* instance, const pw_call_ctx_host_ptr* ctx,
                                     pw_str request_json, pw_buffer_host_ptr* out,
                                     pw_buffer_host_ptr* err);

/* A container runtime, shaped like the kubelet's CRI RuntimeService + ImageService. Members may be NULL
 * where a runtime cannot do something; the host then reports UNIMPLEMENTED for what needed it. */
typedef struct pw_runtime_vtable {
  PW_VTABLE_HEADER;
  pw_runtime_call version;             /* VersionRequest -> VersionResponse */
  pw_runtime_call run_pod_sandbox;     /* RunPodSandboxRequest -> RunPodSandboxResponse */
  pw_runtime_call stop_pod_sandbox;    /* StopPodSandboxRequest -> StopPodSandboxResponse */
  pw_runtime_call remove_pod_sandbox;  /* RemovePodSandboxRequest -> RemovePodSandboxResponse */
  pw_runtime_call pod_sandbox_status;  /* PodSandboxStatusRequest -> PodSandboxStatusResponse */
  pw_runtime_call list_pod_sandbox;    /* ListPodSandboxRequest -> ListPodSandboxResponse */
  pw_runtime_call create_container;    /* CreateContainerRequest -> CreateContainerResponse */
  pw_runtime_call start_container;     /* StartContainerRequest -> StartContainerResponse */
  pw_runtime_call stop_container;      /* StopContainerRequest (timeout in s) -> StopContainerResponse */
  pw_runtime_call remove_container;    /* RemoveContainerRequest -> RemoveContainerResponse */
  pw_runtime_call list_containers;     /* ListContainersRequest -> ListContainersResponse */
  pw_runtime_call container_status;    /* ContainerStatusRequest -> ContainerStatusResponse */
  pw_runtime_call exec_sync;           /* ExecSyncRequest -> ExecSyncResponse */
  pw_runtime_call image_status;        /* ImageStatusRequest -> ImageStatusResponse (no image: empty) */
  pw_runtime_call pull_image;          /* PullImageRequest -> PullImageResponse */
  /* Optional event stream: the plugin calls host->emit_event(emitter, ...) from its own thread until
   * unwatch_events() returns. A runtime without events leaves both NULL; the host then relies on relists. */
  pw_status (*watch_events)(pw_instance_plugin_ptr* instance, pw_emitter_host_ptr* emitter,
                            pw_buffer_host_ptr* err);
  void (*unwatch_events)(pw_instance_plugin_ptr* instance);
} pw_runtime_vtable;

/* A status sink. report(): `batch_json` is {"items":[Pod,...]} with the full static pods (metadata, spec,
 * status, and a "podwarden" block with source, origin, errors and, since minor 1, the "sinks" states of
 * the other sinks) that changed since the last successful report, plus {"errors":[...]} for manifests
 * that were rejected, and (minor 1) "sourcesReady":true once every source has delivered its first
 * snapshot, so a sink knows when objects no pod accounts for are orphans. remove(): {"items":[{"namespace","name","uid"}]} for pods that went away. Return
 * PW_OK when done, PW_UNAVAILABLE (or another retryable code) to have the host retry later with the latest
 * state, any other code when the batch can never succeed. Each sink is called from its own host thread,
 * so a slow sink stalls nobody else. */
typedef struct pw_sink_vtable {
  PW_VTABLE_HEADER;
  pw_status (*report)(pw_instance_plugin_ptr* instance, const pw_call_ctx_host_ptr* ctx,
                      pw_str batch_json, pw_buffer_host_ptr* err);
  pw_status (*remove)(pw_instance_plugin_ptr* instance, const pw_call_ctx_host_ptr* ctx,
                      pw_str batch_json, pw_buffer_host_ptr* err);
  /* Minor 1, both optional (NULL = nothing to do). start() is called once, on the control thread, after
   * create and before the first report; the sink may start its own threads and publish per-pod state
   * through host->emit_sink_state(emitter, ...) until stop() returns. A failing start() (with a message in
   * `err`) is final: the host never reports to that instance and destroys it without calling stop().
   * stop() is called on the control thread after the last report/remove has returned and before destroy;
   * the sink joins its threads and never uses `emitter` afterwards. A host of minor 0 calls neither: a
   * sink that needs them sets min_host_minor = 1. */
  pw_status (*start)(pw_instance_plugin_ptr* instance, pw_emitter_host_ptr* emitter,
                     pw_buffer_host_ptr* err);
  void (*stop)(pw_instance_plugin_ptr* instance);
} pw_sink_vtable;

/* ---- Plugin description -------------------------------------------------------------------------- */

/* One thing a plugin can create: kind + type name (e.g. PW_KIND_RUNTIME, "docker"). `vtable` points to a
 * pw_source_vtable, pw_runtime_vtable or pw_sink_vtable according to `kind`; the vtable's own
 * struct_size tells the host how much of it the plugin filled in. */
typedef struct pw_factory {
  uint32_t struct_size;
  int32_t kind;
  const char* type; /* NUL-terminated, [a-z0-9-]+, unique per kind within the plugin */
  uint64_t capabilities;
  const void* vtable;
  const pw_ext* next;
} pw_factory;

/* What the entry point returns. Static, plugin-owned data that lives as long as the library. */
typedef struct pw_plugin_info {
  uint32_t struct_size;
  uint16_t abi_major;      /* PW_ABI_MAJOR the plugin was built with */
  uint16_t abi_minor;      /* PW_ABI_MINOR the plugin was built with */
  uint16_t min_host_minor; /* the oldest host minor that has everything this plugin uses */
  uint16_t reserved0;
  const char* name;        /* NUL-terminated plugin name, e.g. "runtime-docker" */
  const char* version;     /* NUL-terminated plugin version, e.g. "1.2.0" */
  const char* description; /* NUL-terminated, one line; may be NULL */
  /* Optional JSON Schema (draft 2020-12 subset, see docs/abi.md) of each factory's config block; NULL if
   * the plugin checks its config itself in create(). NUL-terminated. */
  const char* config_schema_json;
  const pw_factory* const* factories;
  size_t factory_count;
  const pw_ext* next;
} pw_plugin_info;

/* The entry point. The host calls it once, on its control thread, right after loading the library.
 * `host` outlives the library. On success stores the plugin's static description in *info_out and
 * returns PW_OK. A plugin that cannot work with this host (e.g. host->abi_minor too old) returns
 * PW_FAILED_PRECONDITION and says why in `err`. Must not start threads. */
typedef pw_status (*pw_plugin_entry_fn)(const pw_host_api* host, const pw_plugin_info** info_out,
                                        pw_buffer_host_ptr* err);

/* Plugins define this function (with PW_PLUGIN_EXPORT); the host finds it with dlsym. */
PW_PLUGIN_EXPORT pw_status pw_plugin_entry_v1(const pw_host_api* host, const pw_plugin_info** info_out,
                                              pw_buffer_host_ptr* err);

#ifdef __cplusplus
}
#endif

#endif /* PODWARDEN_ABI_H_ */
