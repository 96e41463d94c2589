// The source-dir plugin: factory PW_KIND_SOURCE "dir".
#include <podwarden/plugin.hpp>

#include "DirSource.h"

#ifndef PW_PLUGIN_VERSION
#define PW_PLUGIN_VERSION "0.0.0"
#endif

namespace {

const char kConfigSchema[] = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "source-dir config",
  "type": "object",
  "properties": {
    "path": {
      "type": "string", "minLength": 1, "default": "/etc/kubernetes/manifests",
      "description": "Manifest directory (read non-recursively) or a single manifest file (kubelet staticPodPath)."
    },
    "rescanSeconds": {
      "type": "integer", "minimum": 1, "maximum": 86400, "default": 20,
      "description": "Full re-read period in seconds, on top of inotify (kubelet fileCheckFrequency)."
    },
    "maxFileBytes": {
      "type": "integer", "minimum": 1, "default": 10485760,
      "description": "Larger files are reported as errors without being read."
    },
    "ignoreBackupFiles": {
      "type": "boolean", "default": false,
      "description": "Skip editor/backup-looking names (x~, #x#, .bak, .swp, .orig, .dpkg-old...) instead of reading them with a warning."
    }
  },
  "additionalProperties": false
})json";

const pw_source_vtable kVtable = pw::sourceVtable<podwarden::source_dir::DirSource>();
const pw_factory kFactory = pw::factory(PW_KIND_SOURCE, "dir", 0, &kVtable);

}  // namespace

PW_DEFINE_PLUGIN(
    "source-dir", PW_PLUGIN_VERSION,
    "Static pod manifests from a directory or file, watched with inotify (kubelet staticPodPath)",
    kConfigSchema, &kFactory)
