// DockerClient.h - the few Docker Engine API calls the end-to-end tests use to look at what podwarden did.
//
// Independent of the runtime-docker plugin on purpose: the tests check the plugin's work through Docker's
// own view. One connection per call over the daemon's unix socket; not thread-safe (tests call it from
// the test thread only).
#pragma once

#include "util/Json.h"

#include <string>
#include <vector>

namespace podwarden::e2e {

struct DockerContainer {
  std::string id;     // full 64-hex id
  std::string name;   // without Docker's leading '/'
  std::string state;  // "running", "exited", "created", ...
  json::ObjectPtr labels;
  std::string label(const std::string& key) const;
};

// Thrown when Docker cannot be reached or answers with an unexpected status; the message says which.
class DockerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DockerClient {
 public:
  // `endpoint`: "unix:///path/docker.sock" or a bare socket path.
  explicit DockerClient(const std::string& endpoint);

  const std::string& endpoint() const { return endpoint_; }
  // true when GET /_ping answers OK.
  bool ping();
  // Containers carrying every `label=value` (or bare `label`) in `labels`; `all` includes stopped ones.
  std::vector<DockerContainer> list(const std::vector<std::string>& labels, bool all);
  // GET /containers/{id}/json; null when the container does not exist.
  json::ObjectPtr inspect(const std::string& id);
  // POST /containers/{id}/kill (SIGKILL).
  void kill(const std::string& id);
  // DELETE /containers/{id}?force=1; a missing container is fine.
  void removeForce(const std::string& id);
  // true when the image (e.g. "podwarden.local/pause:3.9") is present.
  bool imageExists(const std::string& ref);
  // Force-removes every container (running or not) carrying `label=value`. Returns how many.
  size_t removeAllWithLabel(const std::string& labelEqualsValue);

 private:
  struct Response {
    int status = 0;
    std::string body;
  };
  Response call(const std::string& method, const std::string& pathAndQuery);

  std::string endpoint_;
  std::string socketPath_;
};

}  // namespace podwarden::e2e
