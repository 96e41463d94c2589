// ApiClient.h - HTTP(S) to one Kubernetes API server with the credentials of a kubeconfig.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

#include "Kubeconfig.h"

namespace podwarden::sink_apiserver {

// No HTTP answer at all: refused, reset, timed out, TLS failure. The message names the server.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ApiResponse {
  int code = 0;
  std::string body;
  int retryAfterSeconds = 0;  // from Retry-After on 429/503, else 0
};

// Thread-safety: request() may be called from several threads (each call takes its own connection from
// a small pool); watch() runs on the calling thread until the stream ends. abort() may be called from any
// thread: it makes every call in progress fail promptly and every later call fail at once.
class ApiClient {
 public:
  // Builds the TLS context from the credentials; throws std::runtime_error when a certificate or key
  // cannot be used (naming which).
  ApiClient(const Credentials& credentials, std::chrono::milliseconds requestTimeout);
  ~ApiClient();

  // One request; `body` is sent with `contentType` when non-empty. Throws TransportError.
  ApiResponse request(const std::string& method, const std::string& pathAndQuery, const std::string& body = "",
                      const std::string& contentType = "application/json");

  // GET `pathAndQuery` (a watch=1 request): `onOpen` runs once the 200 answer's header is in, then every
  // line of the body goes to `onLine` as it arrives. Returns the HTTP code when the stream ends; a non-200
  // answer returns at once with its body in `errorBody`. `idleTimeout` bounds the wait for the next byte.
  // Throws TransportError.
  int watch(const std::string& pathAndQuery, std::chrono::seconds idleTimeout, const std::function<void()>& onOpen,
            const std::function<void(const std::string& line)>& onLine, std::string& errorBody);

  void abort();
  const std::string& server() const { return credentials_.server; }

 private:
  class ActiveFd;
  // A new connection: TCP connect and TLS handshake each bounded by the request timeout and interrupted by
  // abort(); reads then wait at most `readTimeout`. Throws TransportError.
  std::unique_ptr<Poco::Net::HTTPClientSession> connect(std::chrono::milliseconds readTimeout);
  Poco::Net::StreamSocket openSocket();
  std::unique_ptr<Poco::Net::HTTPClientSession> takeIdle();
  void putIdle(std::unique_ptr<Poco::Net::HTTPClientSession> session);
  void authorize(Poco::Net::HTTPRequest& request) const;
  ApiResponse exchange(Poco::Net::HTTPClientSession& session, const std::string& method,
                       const std::string& pathAndQuery, const std::string& body, const std::string& contentType);

  Credentials credentials_;
  std::string host_;
  unsigned short port_ = 0;
  bool https_ = false;
  std::chrono::milliseconds requestTimeout_;
  Poco::Net::Context::Ptr tls_;

  std::mutex mutex_;  // guards idle_, activeFds_, aborted_
  std::unique_ptr<Poco::Net::HTTPClientSession> idle_;
  std::chrono::steady_clock::time_point idleSince_;
  std::set<int> activeFds_;
  bool aborted_ = false;
};

// "GET https://host:6443/api/v1/nodes/x" style text for messages (never with credentials).
std::string describeCall(const std::string& server, const std::string& method, const std::string& pathAndQuery);

}  // namespace podwarden::sink_apiserver
