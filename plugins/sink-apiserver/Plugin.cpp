// The sink-apiserver plugin: factory PW_KIND_SINK "apiserver".
#include <podwarden/plugin.hpp>

#include "MirrorSink.h"

#ifndef PW_PLUGIN_VERSION
#define PW_PLUGIN_VERSION "0.0.0"
#endif

namespace {

const char kConfigSchema[] = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "sink-apiserver config",
  "type": "object",
  "properties": {
    "kubeconfig": {
      "type": "string", "minLength": 1,
      "description": "kubeconfig with the node's credentials (the kubelet's --kubeconfig, e.g. /etc/kubernetes/kubelet.conf)."
    },
    "context": {"type": "string", "description": "Context to use; default: the file's current-context."},
    "registerNode": {
      "type": "boolean", "default": false,
      "description": "false: wait for the Node object to exist. true: create it when missing, tainted node.podwarden.io/static-only:NoSchedule."
    },
    "statusResyncSeconds": {
      "type": "number", "minimum": 0.1, "default": 10,
      "description": "Period of the full status pass (the kubelet's 10 s batch); it sends nothing that did not change."
    },
    "relistSeconds": {
      "type": "number", "minimum": 1, "default": 60,
      "description": "Period of the full LIST of this node's pods behind the watch."
    },
    "requestTimeoutSeconds": {"type": "number", "minimum": 0.1, "default": 10},
    "backoffInitialMs": {"type": "number", "minimum": 1, "default": 500},
    "backoffMaxSeconds": {
      "type": "number", "minimum": 0.1, "default": 8,
      "description": "Cap of the jittered retry backoff; below statusResyncSeconds so a returning API server is caught up within one resync."
    }
  },
  "required": ["kubeconfig"],
  "additionalProperties": false
})json";

const pw_sink_vtable kVtable = pw::sinkVtable<podwarden::sink_apiserver::MirrorSink>();
const pw_factory kFactory = pw::factory(PW_KIND_SINK, "apiserver", 0, &kVtable);

}  // namespace

PW_DEFINE_PLUGIN("sink-apiserver", PW_PLUGIN_VERSION,
                 "Mirror pods of the static pods in a Kubernetes API server (kubelet --kubeconfig)",
                 kConfigSchema, &kFactory)
