// DockerReplies.h - Docker Engine API replies -> the CRI JSON the host reads, without any I/O: list
// summaries, inspect results, image inspects, the events stream, pull progress and exec output frames.
//
// DockerRuntime and EventWatcher do the requests and hand the reply bodies here; the unit tests and the
// fuzzer (fuzz/fuzz_docker_json.cpp) call these directly. Replies come from a daemon we do not control:
// wrong types and absent members read as empty, never as an exception, except where stated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>

#include "JsonUtil.h"

namespace podwarden::docker {

// The parts of a Docker container both list summaries and inspect results carry.
struct ContainerView {
  std::string id;
  std::string name;
  StringMap dockerLabels;
  std::string state;  // Docker's status word: created, running, exited, ...
  int64_t createdNs = 0;
  std::string image;
  std::string imageId;
};

// `v` as an object / array; null when it is something else.
ObjectPtr asObject(const Poco::Dynamic::Var& v);
ArrayPtr asArray(const Poco::Dynamic::Var& v);

// One entry of GET /containers/json (Created in unix seconds) / a GET /containers/<id>/json result.
ContainerView fromSummary(const ObjectPtr& summary);
ContainerView fromInspect(const ObjectPtr& inspect);

// GET /containers/json of sandbox containers -> ListPodSandboxResponse.items; of CRI containers ->
// ListContainersResponse.containers. Entries that are not objects are skipped; a non-empty `wantState`
// (SANDBOX_READY, CONTAINER_RUNNING, ...) keeps only those in that CRI state.
ArrayPtr sandboxesFromList(const ArrayPtr& summaries, const std::string& wantState);
ArrayPtr containersFromList(const ArrayPtr& summaries, const std::string& wantState);

// The inspect result of a sandbox container -> PodSandboxStatusResponse.status.
ObjectPtr sandboxStatusFromInspect(const ObjectPtr& inspect);
// The inspect result of a CRI container -> ContainerStatusResponse.status; `imageRef` is what
// imageRefOf() made of its image.
ObjectPtr containerStatusFromInspect(const ObjectPtr& inspect, const std::string& imageRef);
// The kubelet shows imageID as docker-pullable://<first repo digest> when the image came from a registry,
// else the image ID. `imageInspect` is GET /images/<id>/json (null: unknown).
std::string imageRefOf(const std::string& imageId, const ObjectPtr& imageInspect);
// GET /images/<ref>/json -> ImageStatusResponse.image.
ObjectPtr imageFromInspect(const ObjectPtr& imageInspect);

// The body of POST /images/create (one JSON progress message per line): the first error message in it,
// "" when the pull went through. Lines that are not JSON are ignored, as Docker's own client does.
std::string pullError(std::string_view progress);

// One line of GET /events -> the CRI ContainerEventResponse JSON for the host, "" for an event the host does
// not care about (other actions, not an object). `lastEventNs` is raised to the event's time. Throws
// Poco::Exception for a line that is not JSON.
std::string criEventFromLine(const std::string& line, int64_t& lastEventNs);

// The stdout/stderr of a non-TTY exec: Docker multiplexes both streams as frames of an 8-byte header
// {stream, 0, 0, 0, size (big-endian u32)} and `size` bytes; stream 2 is stderr, anything else stdout.
// Reads to the end of `body` (a truncated last frame ends it). Throws pw::Error(RESOURCE_EXHAUSTED)
// prefixed with `what` once a stream would exceed `limit` bytes.
void demuxExecOutput(std::istream& body, std::string& stdoutBytes, std::string& stderrBytes, size_t limit,
                     const std::string& what);

}  // namespace podwarden::docker
