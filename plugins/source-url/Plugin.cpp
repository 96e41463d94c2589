// The source-url plugin: factory PW_KIND_SOURCE "url".
#include <podwarden/plugin.hpp>

#include "UrlSource.h"

#ifndef PW_PLUGIN_VERSION
#define PW_PLUGIN_VERSION "0.0.0"
#endif

namespace {

const char kConfigSchema[] = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "source-url config",
  "type": "object",
  "properties": {
    "url": {
      "type": "string", "minLength": 1,
      "description": "http:// or https:// URL serving a Pod, a PodList, a v1 List of Pods or multi-document YAML (kubelet staticPodURL / --manifest-url)."
    },
    "headers": {
      "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
      "description": "Request headers: name to values, sent in order (kubelet staticPodURLHeader / --manifest-url-header)."
    },
    "checkSeconds": {
      "type": "integer", "minimum": 1, "maximum": 86400, "default": 20,
      "description": "Pause between the end of one fetch and the next (kubelet httpCheckFrequency)."
    },
    "timeoutSeconds": {
      "type": "integer", "minimum": 1, "maximum": 3600, "default": 10,
      "description": "Limit on one whole fetch, redirects and body included."
    },
    "maxBytes": {
      "type": "integer", "minimum": 1, "default": 10485760,
      "description": "Larger bodies are reported as errors; the previous pods keep running."
    },
    "caFile": {"type": "string", "description": "PEM CA bundle trusted instead of the system CAs."},
    "clientCertFile": {"type": "string", "description": "PEM client certificate (with clientKeyFile)."},
    "clientKeyFile": {"type": "string", "description": "PEM private key of clientCertFile."},
    "insecureSkipVerify": {
      "type": "boolean", "default": false,
      "description": "Do not verify the server certificate (logged as a warning). For tests only."
    },
    "maxRedirects": {"type": "integer", "minimum": 0, "maximum": 100, "default": 10},
    "sha256": {"type": "string", "description": "Hex SHA-256 the body must have; any other body is an error."},
    "emptyBodyMeansEmpty": {
      "type": "boolean", "default": true,
      "description": "true (kubelet): an empty 200 body removes every pod of this URL; false: it is an error."
    }
  },
  "required": ["url"],
  "additionalProperties": false
})json";

const pw_source_vtable kVtable = pw::sourceVtable<podwarden::source_url::UrlSource>();
const pw_factory kFactory = pw::factory(PW_KIND_SOURCE, "url", 0, &kVtable);

}  // namespace

PW_DEFINE_PLUGIN("source-url", PW_PLUGIN_VERSION,
                 "Static pod manifests polled from an HTTP(S) URL (kubelet staticPodURL / --manifest-url)",
                 kConfigSchema, &kFactory)
