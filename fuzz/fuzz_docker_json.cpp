// fuzz_docker_json: Docker Engine API reply bodies through the runtime-docker plugin's conversions to CRI
// JSON (DockerReplies.h), each read the way the plugin reads it (parseReply, then the conversion). Input:
// "<mode>\n<body>", mode one of
//   list-sandboxes, list-containers   GET /containers/json
//   inspect-sandbox, inspect-container GET /containers/<id>/json (the body also serves as the image inspect)
//   inspect-image                      GET /images/<ref>/json
//   events                             the GET /events stream, one JSON message per line
//   pull                               the POST /images/create progress stream
//   exec                               the multiplexed output of POST /exec/<id>/start
//   error                              an error reply's body (DockerClient::message)
#include <Poco/Exception.h>

#include <cstdio>
#include <cstdlib>
#include <podwarden/plugin.hpp>
#include <sstream>
#include <string>

#include "DockerClient.h"
#include "DockerReplies.h"
#include "FuzzInput.h"
#include "JsonUtil.h"

namespace dk = podwarden::docker;

namespace {

constexpr size_t kMaxExecOutput = 16 * 1024 * 1024;  // DockerRuntime.cpp's limit

// What the plugin writes into `out` the host parses as JSON: it must read back.
void readsBack(const std::string& text) {
  try {
    (void)dk::parseReply(text, "the plugin's answer");
  } catch (const pw::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    std::abort();
  }
}

void fuzzOne(std::string_view mode, std::string_view body) {
  if (mode == "events") {
    std::istringstream in{std::string(body)};
    std::string line;
    int64_t last = 0;
    while (std::getline(in, line)) {  // EventWatcher::streamOnce
      if (line.empty()) continue;
      try {
        const std::string event = dk::criEventFromLine(line, last);
        if (!event.empty()) readsBack(event);
      } catch (const Poco::Exception&) {
      }
    }
    return;
  }
  if (mode == "pull") {
    (void)dk::pullError(body);
    return;
  }
  if (mode == "exec") {
    std::istringstream in{std::string(body)};
    std::string out, err;
    dk::demuxExecOutput(in, out, err, kMaxExecOutput, "exec in container fuzz");
    return;
  }
  if (mode == "error") {
    (void)dk::DockerClient::message(dk::HttpReply{500, std::string(body)});
    return;
  }
  const Poco::Dynamic::Var reply = dk::parseReply(body, "fuzz");
  if (mode == "list-sandboxes" || mode == "list-containers") {
    dk::ArrayPtr list = dk::asArray(reply);
    if (list.isNull()) return;  // DockerRuntime::listDocker: "Docker's reply is not an array"
    for (const char* want : {"", "SANDBOX_READY", "CONTAINER_RUNNING"}) {
      const dk::ArrayPtr items =
          mode == "list-sandboxes" ? dk::sandboxesFromList(list, want) : dk::containersFromList(list, want);
      readsBack(dk::stringify(Poco::Dynamic::Var(items)));
    }
    for (size_t i = 0; i < list->size(); ++i)
      (void)dk::fromSummary(list->getObject(static_cast<unsigned>(i)));
    return;
  }
  dk::ObjectPtr object = dk::asObject(reply);
  if (object.isNull()) return;  // DockerRuntime::inspect: "Docker's reply is not an object"
  if (mode == "inspect-sandbox") {
    readsBack(dk::stringify(dk::sandboxStatusFromInspect(object)));
  } else if (mode == "inspect-container") {
    const std::string imageRef = dk::imageRefOf(dk::getString(object, "Image"), object);
    readsBack(dk::stringify(dk::containerStatusFromInspect(object, imageRef)));
  } else if (mode == "inspect-image") {
    readsBack(dk::stringify(dk::imageFromInspect(object)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const podwarden::fuzz::ModeInput in = podwarden::fuzz::splitMode(podwarden::fuzz::bytes(data, size));
  try {
    fuzzOne(in.mode, in.body);
  } catch (const pw::Error&) {
    // What the plugin turns into a call status (bad JSON from Docker, exec output over the limit).
  }
  return 0;
}
