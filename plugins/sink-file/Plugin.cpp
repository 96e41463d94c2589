// The sink-file plugin: factory PW_KIND_SINK "file".
#include <podwarden/plugin.hpp>

#include "FileSink.h"

#ifndef PW_PLUGIN_VERSION
#define PW_PLUGIN_VERSION "0.0.0"
#endif

namespace {

const char kConfigSchema[] = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "sink-file config",
  "type": "object",
  "properties": {
    "path": {
      "type": "string", "minLength": 1, "default": "/var/lib/podwarden/status.json",
      "description": "Status file, replaced atomically after every change; its directory is created if missing."
    }
  },
  "additionalProperties": false
})json";

const pw_sink_vtable kVtable = pw::sinkVtable<podwarden::sink_file::FileSink>();
const pw_factory kFactory = pw::factory(PW_KIND_SINK, "file", 0, &kVtable);

}  // namespace

PW_DEFINE_PLUGIN("sink-file", PW_PLUGIN_VERSION,
                 "Status of every static pod as one JSON file (NodeStatus), written atomically",
                 kConfigSchema, &kFactory)
