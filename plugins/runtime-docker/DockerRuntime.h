// DockerRuntime.h - the CRI-shaped runtime calls on top of the Docker Engine API, mapped the way the
// kubelet's dockershim did (names, labels, a pause-like sandbox container holding the pod's namespaces).
//
// Thread-safety: every call opens its own connections and keeps no per-call state in the object, so
// calls may run concurrently (the factory declares PW_CAP_CONCURRENT). watchEvents/unwatchEvents are
// called from the host's control thread.
#pragma once

#include <memory>
#include <mutex>
#include <podwarden/plugin.hpp>
#include <string>
#include <string_view>

#include "DockerClient.h"
#include "EventWatcher.h"
#include "JsonUtil.h"

namespace podwarden::docker {

struct Config {
  Endpoint endpoint;
  std::string sandboxImage;
  std::string apiVersion;  // "" = negotiate
};
// Parses the plugin's config block; unknown keys and wrong types are INVALID_ARGUMENT naming the key.
Config parseConfig(std::string_view json);

class DockerRuntime : public pw::Runtime {
 public:
  DockerRuntime(const pw::Host& host, std::string_view configJson, std::string_view nodeName);
  ~DockerRuntime() override;

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

  bool supportsEvents() const override { return true; }
  void watchEvents(pw_emitter_host_ptr* emitter) override;
  void unwatchEvents() noexcept override;

 private:
  // GET /containers/<id>/json; nullptr when Docker does not know it.
  ObjectPtr inspect(long timeoutMs, const std::string& id);
  // inspect() of a container that must carry io.kubernetes.docker.type=`type`; NOT_FOUND ("<noun> <id> not
  // found ...") when Docker does not know it or it is not `mustBe`.
  ObjectPtr inspectAs(long timeoutMs, const std::string& id, const char* type, const std::string& noun,
                      const std::string& mustBe);
  // GET /containers/json?all=..&filters=..; the array of summaries.
  ArrayPtr listDocker(long timeoutMs, const std::vector<std::string>& labelFilters, const std::string& id,
                      bool all);
  // POST /containers/create?name=<name>; on a name conflict removes the leftover and retries once.
  // `what` prefixes error messages; a 404 becomes NOT_FOUND naming `image`.
  std::string createNamed(long timeoutMs, const std::string& name, const ObjectPtr& body,
                          const std::string& image, const std::string& what);
  // Force-removes a container with its anonymous volumes and its log symlink; unknown is OK.
  void forceRemove(long timeoutMs, const std::string& id, const StringMap& dockerLabels);
  // The default network for non-host sandboxes: "bridge", or "none" when the daemon runs without one.
  std::string podNetworkMode(long timeoutMs);
  // kubelet log path symlink -> Docker's json log (dockershim did the same after start).
  void linkLog(long timeoutMs, const std::string& id);

  pw::Host host_;
  Config config_;
  std::shared_ptr<DockerClient> client_;
  std::mutex mutex_;
  std::string podNetworkMode_;             // guarded by mutex_; "" until learnt
  std::unique_ptr<EventWatcher> watcher_;  // control thread only
};

}  // namespace podwarden::docker
