// DockerClient.h - the Docker Engine API over a unix socket.
//
// Every request opens its own connection, so one client is used by many threads at once (the runtime
// factory is PW_CAP_CONCURRENT); the only shared state is the negotiated API version, behind a mutex.
#pragma once

#include <Poco/Net/StreamSocket.h>

#include <functional>
#include <istream>
#include <mutex>
#include <string>

namespace podwarden::docker {

// Where the daemon listens: "unix:///var/run/docker.sock" or a bare absolute path.
struct Endpoint {
  std::string url;         // always "unix://<path>", for messages
  std::string socketPath;  // the filesystem path
};
// Throws pw::Error(INVALID_ARGUMENT) naming the config field `field` when `value` is not a unix endpoint.
Endpoint parseEndpoint(const std::string& value, const std::string& field);

struct HttpReply {
  int status = 0;
  std::string body;
  bool ok() const { return status >= 200 && status < 300; }
};

// The newest Engine API this plugin speaks; older daemons get their own (min of both).
constexpr const char* kMaxApiVersion = "1.41";

class DockerClient {
 public:
  // Receives the status and the body stream of a streamed reply (events, exec output, pull progress).
  using BodyReader = std::function<void(int status, std::istream& body)>;
  // Called with the connected socket before the request is sent (so another thread can shut it down),
  // and with nullptr just before the connection is closed (after which the fd may be reused).
  using SocketObserver = std::function<void(const Poco::Net::StreamSocket*)>;

  // `pinnedApiVersion` ("1.40"; empty = negotiate) skips negotiation.
  DockerClient(Endpoint endpoint, std::string pinnedApiVersion);

  const std::string& url() const { return endpoint_.url; }

  // One request on a fresh connection, reading the whole body. `pathAndQuery` is unversioned
  // ("/containers/json?all=1"); the "/v1.xx" prefix is added unless `versioned` is false. Socket
  // timeouts are `timeoutMs`. Transport failures throw pw::Error: UNAVAILABLE (cannot connect, broken
  // connection) or DEADLINE_EXCEEDED (no answer in time). HTTP errors are returned, not thrown.
  HttpReply request(const std::string& method, const std::string& pathAndQuery, const std::string& jsonBody,
                    long timeoutMs, bool versioned = true);
  // Same, but hands the body stream to `reader` instead of reading it. `receiveTimeoutMs` (0 = none)
  // applies to each read of the body.
  void stream(const std::string& method, const std::string& pathAndQuery, const std::string& jsonBody,
              long timeoutMs, long receiveTimeoutMs, const BodyReader& reader,
              const SocketObserver& observer = nullptr);

  // The API version in use ("1.41"): the pin, or min(kMaxApiVersion, daemon ApiVersion) learnt from
  // GET /version once and remembered.
  std::string apiVersion(long timeoutMs);

  // Throws the pw::Error that matches an HTTP error reply: 400 INVALID_ARGUMENT, 401/403
  // PERMISSION_DENIED, 404 NOT_FOUND, 409 ALREADY_EXISTS, otherwise UNKNOWN; the message is
  // "<what>: <Docker's message>".
  [[noreturn]] static void fail(const HttpReply& reply, const std::string& what);
  // Docker's error text: the "message" member of a JSON error body, else the body itself.
  static std::string message(const HttpReply& reply);

 private:
  Poco::Net::StreamSocket connect(long timeoutMs) const;
  std::string fullPath(const std::string& pathAndQuery, bool versioned, long timeoutMs);

  Endpoint endpoint_;
  std::string pinnedApiVersion_;
  std::mutex mutex_;
  std::string negotiated_;  // guarded by mutex_
};

// Query-string encoding of one parameter value.
std::string urlEncode(const std::string& value);

}  // namespace podwarden::docker
