#include "ContainerdRuntime.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "CriJson.h"

namespace podwarden::containerd {
namespace {

namespace v1 = runtime::v1;

constexpr const char* kDefaultEndpoint = "unix:///run/containerd/containerd.sock";
// RPC deadlines when the host gave the call none: the kubelet's default runtime request timeout.
constexpr long kDefaultTimeoutMs = 2 * 60 * 1000;
constexpr long kPullTimeoutMs = 15 * 60 * 1000;
// ExecSync: the runtime enforces the command's own timeout; the RPC gets this much more before we give up.
constexpr long kExecSlackMs = 10 * 1000;

using RuntimeStub = v1::RuntimeService::Stub;
using ImageStub = v1::ImageService::Stub;

void requireField(const std::string& value, const std::string& what, const char* field) {
  if (value.empty()) throw pw::Error(PW_INVALID_ARGUMENT, what + ": " + field + " is missing or empty");
}

// The kubelet creates the pod's log directory (and the runtime the container's file in it); containerd
// 1.6 does not create missing parents of the log file.
void makeDirs(const pw::Host& host, const std::filesystem::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) host.warning("cannot create log directory " + dir.string() + ": " + ec.message());
}

bool contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

// ---- Config -----------------------------------------------------------------------------------------

Config parseConfig(std::string_view json) {
  const std::string what = "runtime-containerd config";
  google::protobuf::Struct object;
  const std::string text = json.empty() ? std::string("{}") : std::string(json);
  auto status = google::protobuf::util::JsonStringToMessage(text, &object);
  if (!status.ok()) {
    throw pw::Error(PW_INVALID_ARGUMENT, what + ": not a JSON object: " + std::string(status.message()));
  }
  Config c;
  std::string endpoint = kDefaultEndpoint;
  for (const auto& [key, value] : object.fields()) {
    if (key != "endpoint" && key != "sandboxImage") {
      throw pw::Error(PW_INVALID_ARGUMENT,
                      what + ": unknown key \"" + key + "\" (known: endpoint, sandboxImage)");
    }
    if (value.kind_case() != google::protobuf::Value::kStringValue) {
      throw pw::Error(PW_INVALID_ARGUMENT, what + ": " + key + " must be a string");
    }
    if (key == "endpoint") endpoint = value.string_value();
    if (key == "sandboxImage") c.sandboxImage = value.string_value();
  }
  c.endpoint = parseEndpoint(endpoint, what + ": endpoint");
  return c;
}

ContainerdRuntime::ContainerdRuntime(const pw::Host& host, std::string_view configJson,
                                     std::string_view /*nodeName*/)
    : host_(host), config_(parseConfig(configJson)), client_(config_.endpoint) {}

void ContainerdRuntime::parse(std::string_view request, google::protobuf::Message& message) const {
  std::string dropped;
  fromJson(request, message, &dropped);
  if (!dropped.empty()) {
    host_.debug(message.GetTypeName() +
                ": fields outside runtime-containerd's CRI subset are not sent: " + dropped);
  }
}

void ContainerdRuntime::requireNetworkReady(long timeoutMs, const std::string& what) {
  v1::StatusRequest req;
  v1::StatusResponse resp =
      client_.callOrFail(client_.runtime(), &RuntimeStub::Status, req, timeoutMs, what + ": runtime status");
  for (const auto& c : resp.status().conditions()) {
    if (c.type() != "NetworkReady") continue;
    if (c.status()) return;
    throw pw::Error(PW_FAILED_PRECONDITION, what + ": the pod needs a pod network, but the runtime at " +
                                                client_.endpoint() + " reports NetworkReady=false (" +
                                                c.reason() + ": " + c.message() +
                                                "); install a CNI configuration for it or use hostNetwork");
  }
}

// ---- Calls ------------------------------------------------------------------------------------------

pw_status ContainerdRuntime::version(const pw::Call& call, std::string_view request, std::string& out) {
  v1::VersionRequest req;
  parse(request, req);
  v1::VersionResponse resp = client_.callOrFail(client_.runtime(), &RuntimeStub::Version, req,
                                                call.remainingMs(kDefaultTimeoutMs), "CRI Version");
  out = toJson(resp);
  return PW_OK;
}

pw_status ContainerdRuntime::runPodSandbox(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  v1::RunPodSandboxRequest req;
  parse(request, req);
  if (!req.has_config()) throw pw::Error(PW_INVALID_ARGUMENT, "RunPodSandboxRequest: config is missing");
  v1::PodSandboxConfig& config = *req.mutable_config();
  const std::string metaWhat = "RunPodSandboxRequest config.metadata";
  requireField(config.metadata().name(), metaWhat, "name");
  requireField(config.metadata().namespace_(), metaWhat, "namespace");
  requireField(config.metadata().uid(), metaWhat, "uid");
  const std::string what = "RunPodSandbox " + config.metadata().namespace_() + "/" + config.metadata().name();

  const bool hostNetwork =
      config.linux().security_context().namespace_options().network() == v1::NamespaceMode::NODE;
  if (hostNetwork) {
    // The kubelet sends no hostname for host-network pods; containerd refuses one ("unable to set hostname
    // without a private UTS namespace").
    config.clear_hostname();
  } else {
    requireNetworkReady(t, what);
  }
  makeDirs(host_, config.log_directory());

  v1::RunPodSandboxResponse resp;
  grpc::Status s = client_.call(client_.runtime(), &RuntimeStub::RunPodSandbox, req, resp, t);
  if (!s.ok()) {
    std::string hint;
    if (contains(s.error_message(), "sandbox image")) {
      hint = " (the sandbox image comes from the runtime's own config, e.g. containerd's sandbox_image";
      if (!config_.sandboxImage.empty()) hint += "; podwarden's config expects " + config_.sandboxImage;
      hint += "; it must be present locally when there is no registry)";
    }
    client_.fail(grpc::Status(s.error_code(), s.error_message() + hint), what);
  }
  out = toJson(resp);
  return PW_OK;
}

pw_status ContainerdRuntime::stopPodSandbox(const pw::Call& call, std::string_view request,
                                            std::string& out) {
  v1::StopPodSandboxRequest req;
  parse(request, req);
  requireField(req.pod_sandbox_id(), "StopPodSandboxRequest", "podSandboxId");
  client_.callOrFail(client_.runtime(), &RuntimeStub::StopPodSandbox, req,
                     call.remainingMs(kDefaultTimeoutMs), "StopPodSandbox " + req.pod_sandbox_id(),
                     CriClient::kNotFoundIsDone);
  out = "{}";
  return PW_OK;
}

pw_status ContainerdRuntime::removePodSandbox(const pw::Call& call, std::string_view request,
                                              std::string& out) {
  v1::RemovePodSandboxRequest req;
  parse(request, req);
  requireField(req.pod_sandbox_id(), "RemovePodSandboxRequest", "podSandboxId");
  client_.callOrFail(client_.runtime(), &RuntimeStub::RemovePodSandbox, req,
                     call.remainingMs(kDefaultTimeoutMs), "RemovePodSandbox " + req.pod_sandbox_id(),
                     CriClient::kNotFoundIsDone);
  out = "{}";
  return PW_OK;
}

pw_status ContainerdRuntime::podSandboxStatus(const pw::Call& call, std::string_view request,
                                              std::string& out) {
  v1::PodSandboxStatusRequest req;
  parse(request, req);
  requireField(req.pod_sandbox_id(), "PodSandboxStatusRequest", "podSandboxId");
  v1::PodSandboxStatusResponse resp =
      client_.callOrFail(client_.runtime(), &RuntimeStub::PodSandboxStatus, req,
                         call.remainingMs(kDefaultTimeoutMs), "PodSandboxStatus " + req.pod_sandbox_id());
  out = toJson(resp);
  return PW_OK;
}

pw_status ContainerdRuntime::listPodSandbox(const pw::Call& call, std::string_view request,
                                            std::string& out) {
  v1::ListPodSandboxRequest req;
  parse(request, req);
  v1::ListPodSandboxResponse resp = client_.callOrFail(client_.runtime(), &RuntimeStub::ListPodSandbox, req,
                                                       call.remainingMs(kDefaultTimeoutMs), "ListPodSandbox");
  out = toJson(resp);
  return PW_OK;
}

pw_status ContainerdRuntime::createContainer(const pw::Call& call, std::string_view request,
                                             std::string& out) {
  v1::CreateContainerRequest req;
  parse(request, req);
  requireField(req.pod_sandbox_id(), "CreateContainerRequest", "podSandboxId");
  requireField(req.config().metadata().name(), "CreateContainerRequest config.metadata", "name");
  requireField(req.config().image().image(), "CreateContainerRequest config.image", "image");
  const std::string what = "CreateContainer " + req.config().metadata().name() + " (attempt " +
                           std::to_string(req.config().metadata().attempt()) + ") in sandbox " +
                           req.pod_sandbox_id();
  const std::string& logDir = req.sandbox_config().log_directory();
  if (!logDir.empty() && !req.config().log_path().empty()) {
    makeDirs(host_, (std::filesystem::path(logDir) / req.config().log_path()).parent_path());
  }
  v1::CreateContainerResponse resp = client_.callOrFail(client_.runtime(), &RuntimeStub::CreateContainer, req,
                                                        call.remainingMs(kDefaultTimeoutMs), what);
  out = toJson(resp);
  return PW_OK;
}

pw_status ContainerdRuntime::startContainer(const pw::Call& call, std::string_view request,
                                            std::string& out) {
  v1::StartContainerRequest req;
  parse(request, req);
  requireField(req.container_id(), "StartContainerRequest", "containerId");
  client_.callOrFail(client_.runtime(), &RuntimeStub::StartContainer, req,
                     call.remainingMs(kDefaultTimeoutMs), "StartContainer " + req.container_id());
  out = "{}";
  return PW_OK;
}

pw_status ContainerdRuntime::stopContainer(const pw::Call& call, std::string_view request, std::string& out) {
  v1::StopContainerRequest req;
  parse(request, req);
  requireField(req.container_id(), "StopContainerRequest", "containerId");
  const int64_t grace = std::max<int64_t>(0, req.timeout());
  // The runtime answers after the grace period and the SIGKILL that follows it at the latest.
  const long t = call.remainingMs(static_cast<long>(grace) * 1000 + kDefaultTimeoutMs);
  client_.callOrFail(client_.runtime(), &RuntimeStub::StopContainer, req, t,
                     "StopContainer " + req.container_id(), CriClient::kNotFoundIsDone);
  out = "{}";
  return PW_OK;
}

pw_status ContainerdRuntime::removeContainer(const pw::Call& call, std::string_view request,
                                             std::string& out) {
  v1::RemoveContainerRequest req;
  parse(request, req);
  requireField(req.container_id(), "RemoveContainerRequest", "containerId");
  client_.callOrFail(client_.runtime(), &RuntimeStub::RemoveContainer, req,
                     call.remainingMs(kDefaultTimeoutMs), "RemoveContainer " + req.container_id(),
                     CriClient::kNotFoundIsDone);
  out = "{}";
  return PW_OK;
}

pw_status ContainerdRuntime::listContainers(const pw::Call& call, std::string_view request,
                                            std::string& out) {
  v1::ListContainersRequest req;
  parse(request, req);
  v1::ListContainersResponse resp = client_.callOrFail(client_.runtime(), &RuntimeStub::ListContainers, req,
                                                       call.remainingMs(kDefaultTimeoutMs), "ListContainers");
  out = toJson(resp);
  return PW_OK;
}

pw_status ContainerdRuntime::containerStatus(const pw::Call& call, std::string_view request,
                                             std::string& out) {
  v1::ContainerStatusRequest req;
  parse(request, req);
  requireField(req.container_id(), "ContainerStatusRequest", "containerId");
  v1::ContainerStatusResponse resp =
      client_.callOrFail(client_.runtime(), &RuntimeStub::ContainerStatus, req,
                         call.remainingMs(kDefaultTimeoutMs), "ContainerStatus " + req.container_id());
  out = toJson(resp);
  return PW_OK;
}

pw_status ContainerdRuntime::execSync(const pw::Call& call, std::string_view request, std::string& out) {
  v1::ExecSyncRequest req;
  parse(request, req);
  requireField(req.container_id(), "ExecSyncRequest", "containerId");
  if (req.cmd_size() == 0) throw pw::Error(PW_INVALID_ARGUMENT, "ExecSyncRequest: cmd is empty");
  const std::string what = "ExecSync in container " + req.container_id();
  long t = call.remainingMs(req.timeout() > 0 ? static_cast<long>(req.timeout()) * 1000 + kExecSlackMs
                                              : kDefaultTimeoutMs);
  if (req.timeout() > 0) t = std::min<long>(t, static_cast<long>(req.timeout()) * 1000 + kExecSlackMs);
  v1::ExecSyncResponse resp;
  grpc::Status s = client_.call(client_.runtime(), &RuntimeStub::ExecSync, req, resp, t);
  if (!s.ok()) {
    const std::string& m = s.error_message();
    // containerd ends a command that outlives `timeout` with DeadlineExceeded, as does our own deadline.
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      throw pw::Error(PW_DEADLINE_EXCEEDED, what + ": command did not finish within " +
                                                std::to_string(req.timeout()) + " s (" + m + ")");
    }
    // containerd reports exec into a stopped container as Unknown "container is in CONTAINER_EXITED state".
    if (s.error_code() != grpc::StatusCode::NOT_FOUND &&
        (contains(m, "CONTAINER_EXITED") || contains(m, "CONTAINER_CREATED") || contains(m, "not running"))) {
      throw pw::Error(PW_FAILED_PRECONDITION, what + " on " + client_.endpoint() + ": " + m);
    }
    client_.fail(s, what);
  }
  out = toJson(resp);
  return PW_OK;
}

pw_status ContainerdRuntime::imageStatus(const pw::Call& call, std::string_view request, std::string& out) {
  v1::ImageStatusRequest req;
  parse(request, req);
  requireField(req.image().image(), "ImageStatusRequest image", "image");
  v1::ImageStatusResponse resp =
      client_.callOrFail(client_.images(), &ImageStub::ImageStatus, req, call.remainingMs(kDefaultTimeoutMs),
                         "ImageStatus " + req.image().image());
  // An image the runtime does not have is an OK reply without `image`.
  out = resp.has_image() ? toJson(resp) : "{}";
  return PW_OK;
}

pw_status ContainerdRuntime::pullImage(const pw::Call& call, std::string_view request, std::string& out) {
  v1::PullImageRequest req;
  parse(request, req);
  requireField(req.image().image(), "PullImageRequest image", "image");
  v1::PullImageResponse resp =
      client_.callOrFail(client_.images(), &ImageStub::PullImage, req, call.remainingMs(kPullTimeoutMs),
                         "PullImage " + req.image().image());
  out = toJson(resp);
  return PW_OK;
}

}  // namespace podwarden::containerd
