// ApiTestSupport.h - what the fake API server's suites share: a PKI made once per process with
// tests/scripts/pki.sh, an HTTPS client speaking as a chosen identity, a watch reader, and running commands.
#pragma once

#include "FakeApiServer.h"

#include <Poco/JSON/Object.h>
#include <Poco/Net/NameValueCollection.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace podwarden::fakeapi::test {

// The process-wide test PKI (nodes n1, n2), made on first use in a temp dir that is removed at exit.
const std::string& pkiDir();
// Options for a server on the test PKI with the tokens "admin-token" (system:masters), "nobody-token" (no
// groups) and "n1-token" (system:node:n1, system:nodes).
FakeApiServer::Options serverOptions();

// Who a request comes from: a client certificate from the PKI ("admin", "node-n1"), a bearer token, or no
// credentials at all.
struct Identity {
  std::string certStem;
  std::string token;
  static Identity cert(const std::string& stem) { return Identity{stem, ""}; }
  static Identity bearer(const std::string& token) { return Identity{"", token}; }
  static Identity anonymous() { return Identity{}; }
};

struct HttpResult {
  int code = 0;
  std::string body;
  Poco::Net::NameValueCollection headers;
  Poco::JSON::Object::Ptr json() const;  // throws when the body is not a JSON object
  std::string reason() const;            // Status reason, or empty
  std::string message() const;           // Status message, or empty
  std::string describe() const;          // for assertion messages
};

class ApiClient {
 public:
  ApiClient(const FakeApiServer& server, Identity identity);

  HttpResult request(const std::string& method, const std::string& path, const std::string& body = "",
                     const std::string& contentType = "application/json",
                     const std::string& accept = "application/json");
  HttpResult get(const std::string& path, const std::string& accept = "application/json") {
    return request("GET", path, "", "", accept);
  }
  HttpResult post(const std::string& path, const std::string& body) { return request("POST", path, body); }
  HttpResult put(const std::string& path, const std::string& body) { return request("PUT", path, body); }
  HttpResult patch(const std::string& path, const std::string& body,
                   const std::string& type = "application/strategic-merge-patch+json") {
    return request("PATCH", path, body, type);
  }
  HttpResult del(const std::string& path, const std::string& body = "") { return request("DELETE", path, body); }

  // A watch stream read by a thread of its own; events are queued as they arrive.
  class Watch {
   public:
    ~Watch();
    int code() const { return code_; }
    // The next event ({"type":..., "object":...}), or null after `timeoutMs` or when the stream ended.
    Poco::JSON::Object::Ptr next(int timeoutMs = 5000);
    // True once the server ended the stream (all queued events may still be read).
    bool waitEnded(int timeoutMs);

   private:
    friend class ApiClient;
    struct Impl;
    std::shared_ptr<Impl> impl_;
    int code_ = 0;
    std::thread reader_;
  };
  std::unique_ptr<Watch> watch(const std::string& pathWithQuery);

 private:
  std::string host_;
  uint16_t port_;
  Identity identity_;
  std::string pki_;
};

struct CommandResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr
};
CommandResult runCommand(const std::string& command);
std::string shellQuote(const std::string& s);

// A JSON pod; `extra` is merged into it (JSON object text, strategic-merge semantics do not apply: plain
// recursive merge).
std::string podJson(const std::string& ns, const std::string& name, const std::string& extra = "{}");
// A mirror pod as node `node` would publish it, owned by the Node with `nodeUid`.
std::string mirrorPodJson(const std::string& ns, const std::string& name, const std::string& node,
                          const std::string& nodeUid, const std::string& extra = "{}");

}  // namespace podwarden::fakeapi::test
