// ContainerdRuntime.h - the host's CRI-shaped runtime calls, forwarded to a CRI runtime.v1 server.
//
// The host already speaks CRI (as JSON), so most calls are a JSON -> protobuf -> gRPC -> JSON round trip.
// What this class adds is what the kubelet itself does around its CRI client: log directories created
// before the runtime writes into them, no hostname for host-network sandboxes, stop/remove of something
// already gone treated as done, a pod-network sandbox refused up front while the runtime's network is not
// ready (containerd would leave a sandbox behind that it cannot remove), and error messages that name the
// endpoint.
//
// Thread-safety: no per-call state in the object; calls may run concurrently (PW_CAP_CONCURRENT).
// Events: containerd 1.6 has no CRI GetContainerEvents, so there are none and the host relists.
#pragma once

#include <google/protobuf/message.h>

#include <podwarden/plugin.hpp>
#include <string>
#include <string_view>

#include "CriClient.h"

namespace podwarden::containerd {

struct Config {
  std::string endpoint;      // unix:///path
  std::string sandboxImage;  // informational: containerd's own config (sandbox_image) decides
};
// Parses the plugin's config block; unknown keys and wrong types are INVALID_ARGUMENT naming the key.
Config parseConfig(std::string_view json);

class ContainerdRuntime : public pw::Runtime {
 public:
  ContainerdRuntime(const pw::Host& host, std::string_view configJson, std::string_view nodeName);

  pw_status version(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status runPodSandbox(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status stopPodSandbox(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status removePodSandbox(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status podSandboxStatus(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status listPodSandbox(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status createContainer(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status startContainer(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status stopContainer(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status removeContainer(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status listContainers(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status containerStatus(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status execSync(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status imageStatus(const pw::Call& call, std::string_view request, std::string& out) override;
  pw_status pullImage(const pw::Call& call, std::string_view request, std::string& out) override;

 private:
  // fromJson, logging (debug) the request fields our CRI subset does not carry, which the runtime never
  // sees.
  void parse(std::string_view request, google::protobuf::Message& message) const;
  // FAILED_PRECONDITION unless the runtime reports NetworkReady; `what` prefixes the message.
  void requireNetworkReady(long timeoutMs, const std::string& what);

  pw::Host host_;
  Config config_;
  CriClient client_;
};

}  // namespace podwarden::containerd
