#include "DockerReplies.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <podwarden/plugin.hpp>

#include "DockerNames.h"

namespace podwarden::docker {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

ObjectPtr newObject() {
  return new Object();
}

// Docker status words -> CRI states.
std::string containerState(const std::string& dockerState) {
  if (dockerState == "running" || dockerState == "paused" || dockerState == "restarting")
    return "CONTAINER_RUNNING";
  if (dockerState == "created") return "CONTAINER_CREATED";
  if (dockerState == "exited" || dockerState == "dead") return "CONTAINER_EXITED";
  return "CONTAINER_UNKNOWN";
}

std::string sandboxState(const std::string& dockerState) {
  return dockerState == "running" ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
}

ObjectPtr sandboxMetadata(const ContainerView& v) {
  ParsedName p = parseName(v.name);
  auto label = [&](const char* key) {
    auto it = v.dockerLabels.find(key);
    return it == v.dockerLabels.end() ? std::string() : it->second;
  };
  ObjectPtr m = newObject();
  m->set("name", p.ok ? p.pod : label(kPodNameLabel));
  m->set("uid", p.ok ? p.uid : label(kPodUidLabel));
  m->set("namespace", p.ok ? p.ns : label(kPodNamespaceLabel));
  m->set("attempt", p.ok ? p.attempt : 0);
  return m;
}

ObjectPtr containerMetadata(const ContainerView& v) {
  ParsedName p = parseName(v.name);
  auto it = v.dockerLabels.find(kContainerNameLabel);
  ObjectPtr m = newObject();
  m->set("name", p.ok ? p.container : (it == v.dockerLabels.end() ? std::string() : it->second));
  m->set("attempt", p.ok ? p.attempt : 0);
  return m;
}

void setLabelsAndAnnotations(ObjectPtr target, const StringMap& dockerLabels) {
  StringMap labels, annotations;
  fromDockerLabels(dockerLabels, labels, annotations);
  target->set("labels", toObject(labels));
  target->set("annotations", toObject(annotations));
}

std::string criPropagation(const std::string& docker) {
  if (docker == "rslave" || docker == "slave") return "PROPAGATION_HOST_TO_CONTAINER";
  if (docker == "rshared" || docker == "shared") return "PROPAGATION_BIDIRECTIONAL";
  return "PROPAGATION_PRIVATE";
}

// Docker action -> CRI ContainerEventType; nullptr for actions the host does not care about.
const char* criEventType(const std::string& action) {
  if (action == "create") return "CONTAINER_CREATED_EVENT";
  if (action == "start") return "CONTAINER_STARTED_EVENT";
  if (action == "die") return "CONTAINER_STOPPED_EVENT";
  if (action == "destroy") return "CONTAINER_DELETED_EVENT";
  return nullptr;
}

}  // namespace

ObjectPtr asObject(const Poco::Dynamic::Var& v) {
  return v.type() == typeid(ObjectPtr) ? v.extract<ObjectPtr>() : ObjectPtr();
}

ArrayPtr asArray(const Poco::Dynamic::Var& v) {
  return v.type() == typeid(ArrayPtr) ? v.extract<ArrayPtr>() : ArrayPtr();
}

ContainerView fromSummary(const ObjectPtr& s) {
  ContainerView v;
  v.id = getString(s, "Id");
  std::vector<std::string> names = getStrings(s, "Names");
  if (!names.empty()) v.name = names.front();
  v.dockerLabels = getStringMap(s, "Labels");
  v.state = getString(s, "State");
  v.createdNs = unixNs(getInt(s, "Created"));
  v.image = getString(s, "Image");
  v.imageId = getString(s, "ImageID");
  return v;
}

ContainerView fromInspect(const ObjectPtr& c) {
  ContainerView v;
  v.id = getString(c, "Id");
  v.name = getString(c, "Name");
  ObjectPtr config = getObject(c, "Config");
  v.dockerLabels = getStringMap(config, "Labels");
  v.state = getString(getObject(c, "State"), "Status");
  v.createdNs = parseRfc3339Ns(getString(c, "Created"));
  v.image = getString(config, "Image");
  v.imageId = getString(c, "Image");
  return v;
}

ArrayPtr sandboxesFromList(const ArrayPtr& summaries, const std::string& wantState) {
  ArrayPtr items = new Array();
  for (size_t i = 0; summaries && i < summaries->size(); ++i) {
    ContainerView v = fromSummary(summaries->getObject(static_cast<unsigned>(i)));
    const std::string state = sandboxState(v.state);
    if (!wantState.empty() && state != wantState) continue;
    ObjectPtr item = newObject();
    item->set("id", v.id);
    item->set("metadata", sandboxMetadata(v));
    item->set("state", state);
    item->set("createdAt", std::to_string(v.createdNs));
    setLabelsAndAnnotations(item, v.dockerLabels);
    items->add(item);
  }
  return items;
}

ArrayPtr containersFromList(const ArrayPtr& summaries, const std::string& wantState) {
  ArrayPtr items = new Array();
  for (size_t i = 0; summaries && i < summaries->size(); ++i) {
    ContainerView v = fromSummary(summaries->getObject(static_cast<unsigned>(i)));
    const std::string state = containerState(v.state);
    if (!wantState.empty() && state != wantState) continue;
    ObjectPtr item = newObject();
    item->set("id", v.id);
    item->set("podSandboxId", v.dockerLabels[kSandboxIdLabel]);
    item->set("metadata", containerMetadata(v));
    ObjectPtr image = newObject();
    image->set("image", v.image);
    item->set("image", image);
    item->set("imageRef", v.imageId);
    item->set("state", state);
    item->set("createdAt", std::to_string(v.createdNs));
    setLabelsAndAnnotations(item, v.dockerLabels);
    items->add(item);
  }
  return items;
}

ObjectPtr sandboxStatusFromInspect(const ObjectPtr& c) {
  ContainerView v = fromInspect(c);
  ObjectPtr hostConfig = getObject(c, "HostConfig");
  const bool hostNetwork = getString(hostConfig, "NetworkMode") == "host";
  ObjectPtr status = newObject();
  status->set("id", v.id);
  status->set("metadata", sandboxMetadata(v));
  status->set("state", sandboxState(v.state));
  status->set("createdAt", std::to_string(v.createdNs));
  std::string ip;
  if (!hostNetwork) {
    ObjectPtr settings = getObject(c, "NetworkSettings");
    ip = getString(settings, "IPAddress");
    ObjectPtr networks = getObject(settings, "Networks");
    if (ip.empty() && !networks.isNull()) {
      for (const auto& [name, net] : *networks) {
        ip = getString(asObject(net), "IPAddress");
        if (!ip.empty()) break;
      }
    }
  }
  ObjectPtr network = newObject();
  network->set("ip", ip);
  status->set("network", network);
  ObjectPtr options = newObject();
  options->set("network", hostNetwork ? "NODE" : "POD");
  options->set("pid", getString(hostConfig, "PidMode") == "host" ? "NODE" : "POD");
  options->set("ipc", getString(hostConfig, "IpcMode") == "host" ? "NODE" : "POD");
  ObjectPtr namespaces = newObject();
  namespaces->set("options", options);
  ObjectPtr linux = newObject();
  linux->set("namespaces", namespaces);
  status->set("linux", linux);
  setLabelsAndAnnotations(status, v.dockerLabels);
  return status;
}

ObjectPtr containerStatusFromInspect(const ObjectPtr& c, const std::string& imageRef) {
  ContainerView v = fromInspect(c);
  ObjectPtr dstate = getObject(c, "State");
  ObjectPtr status = newObject();
  status->set("id", v.id);
  status->set("metadata", containerMetadata(v));
  const std::string state = containerState(v.state);
  status->set("state", state);
  status->set("createdAt", std::to_string(v.createdNs));
  status->set("startedAt", std::to_string(parseRfc3339Ns(getString(dstate, "StartedAt"))));
  status->set("finishedAt", std::to_string(parseRfc3339Ns(getString(dstate, "FinishedAt"))));
  const int64_t exitCode = getInt(dstate, "ExitCode");
  status->set("exitCode", static_cast<Poco::Int64>(exitCode));
  ObjectPtr image = newObject();
  image->set("image", v.image);
  status->set("image", image);
  status->set("imageRef", imageRef);
  std::string reason;
  if (state == "CONTAINER_EXITED") {
    if (getBool(dstate, "OOMKilled")) {
      reason = "OOMKilled";
    } else {
      reason = exitCode == 0 ? "Completed" : "Error";
    }
  }
  status->set("reason", reason);
  status->set("message", getString(dstate, "Error"));
  setLabelsAndAnnotations(status, v.dockerLabels);
  ArrayPtr mounts = new Array();
  ArrayPtr dmounts = getArray(c, "Mounts");
  for (size_t i = 0; dmounts && i < dmounts->size(); ++i) {
    ObjectPtr m = dmounts->getObject(static_cast<unsigned>(i));
    if (getString(m, "Type") != "bind") continue;
    ObjectPtr cm = newObject();
    cm->set("containerPath", getString(m, "Destination"));
    cm->set("hostPath", getString(m, "Source"));
    cm->set("readonly", !getBool(m, "RW", true));
    cm->set("propagation", criPropagation(getString(m, "Propagation")));
    mounts->add(cm);
  }
  status->set("mounts", mounts);
  status->set("logPath", v.dockerLabels[kLogPathLabel]);
  return status;
}

std::string imageRefOf(const std::string& imageId, const ObjectPtr& imageInspect) {
  std::vector<std::string> digests = getStrings(imageInspect, "RepoDigests");
  return digests.empty() ? imageId : "docker-pullable://" + digests.front();
}

ObjectPtr imageFromInspect(const ObjectPtr& img) {
  ObjectPtr image = newObject();
  image->set("id", getString(img, "Id"));
  image->set("repoTags", toArray(getStrings(img, "RepoTags")));
  image->set("repoDigests", toArray(getStrings(img, "RepoDigests")));
  image->set("size", std::to_string(getInt(img, "Size")));
  return image;
}

std::string pullError(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string line(text.substr(start, end - start));
    start = end + 1;
    if (line.find("\"error") == std::string::npos) continue;
    try {
      Poco::JSON::Parser parser;
      ObjectPtr m = asObject(parser.parse(line));
      std::string error = getString(m, "error");
      if (error.empty()) error = getString(getObject(m, "errorDetail"), "message");
      if (!error.empty()) return error;
    } catch (const Poco::Exception&) {
      // Not a JSON message: ignore it like Docker's own client does.
    }
  }
  return "";
}

std::string criEventFromLine(const std::string& line, int64_t& lastEventNs) {
  Poco::JSON::Parser parser;
  ObjectPtr event = asObject(parser.parse(line));
  if (event.isNull()) return "";
  const int64_t timeNs = getInt(event, "timeNano", unixNs(getInt(event, "time")));
  if (timeNs > lastEventNs) lastEventNs = timeNs;
  std::string action = getString(event, "Action", getString(event, "status"));
  const char* type = criEventType(action);
  if (type == nullptr) return "";
  std::string id = getString(event, "id");
  if (id.empty()) id = getString(getObject(event, "Actor"), "ID");
  ObjectPtr out = newObject();
  out->set("containerId", id);
  out->set("containerEventType", type);
  out->set("createdAt", std::to_string(timeNs));
  return stringify(out);
}

void demuxExecOutput(std::istream& body, std::string& stdoutBytes, std::string& stderrBytes, size_t limit,
                     const std::string& what) {
  char header[8];
  std::string chunk;
  while (body.read(header, sizeof(header))) {
    const uint32_t size = (static_cast<uint32_t>(static_cast<uint8_t>(header[4])) << 24) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(header[5])) << 16) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(header[6])) << 8) |
                          static_cast<uint32_t>(static_cast<uint8_t>(header[7]));
    std::string& target = header[0] == 2 ? stderrBytes : stdoutBytes;
    // Checked before reading: the size is the daemon's word, up to 4 GiB.
    if (size > limit - std::min(limit, target.size())) {
      throw pw::Error(PW_RESOURCE_EXHAUSTED, what + ": output exceeds " + std::to_string(limit) + " bytes");
    }
    chunk.resize(size);
    if (size > 0 && !body.read(&chunk[0], size)) break;
    target += chunk;
  }
}

}  // namespace podwarden::docker
