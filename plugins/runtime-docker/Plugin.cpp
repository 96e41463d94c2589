// Plugin.cpp - the runtime-docker plugin: one factory, runtime "docker", calls safe to run concurrently.
#include <podwarden/plugin.hpp>

#include "DockerRuntime.h"

namespace {

constexpr const char* kConfigSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "runtime-docker",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "endpoint": {
      "type": "string",
      "description": "Docker daemon socket: unix:///path or an absolute path",
      "default": "unix:///var/run/docker.sock",
      "pattern": "^(unix://)?/"
    },
    "sandboxImage": {
      "type": "string",
      "description": "Image of the pause-like sandbox container (the kubelet's --pod-infra-container-image)",
      "default": "podwarden.local/pause:3.9",
      "minLength": 1
    },
    "apiVersion": {
      "type": "string",
      "description": "Engine API version to use (e.g. 1.41); empty negotiates min(1.41, the daemon's)",
      "default": "",
      "pattern": "^(v?[0-9]+\\.[0-9]+)?$"
    }
  }
})json";

const pw_runtime_vtable kVtable = pw::runtimeVtable<podwarden::docker::DockerRuntime>();
const pw_factory kFactory = pw::factory(PW_KIND_RUNTIME, "docker", PW_CAP_CONCURRENT, &kVtable);

}  // namespace

PW_DEFINE_PLUGIN("runtime-docker", "0.1.0", "Runs static pods as Docker containers (dockershim naming)",
                 kConfigSchema, &kFactory)
