// UrlTestServer.h - a real HTTP(S) server on 127.0.0.1 for the source-url tests, with scripted answers and
// request/byte counters, plus a throwaway PKI made with the openssl command line.
#pragma once

#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/NameValueCollection.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace podwarden::test {

// What the server answers to GET /pods (and, for kRedirect, to GET /old).
enum class Answer {
  kServe,         // 200 with body(); 304 when the request's validators match etag()/lastModified()
  kError500,      // 500 Internal Server Error
  kHang,          // accepts, reads the request, never answers (until release or the server stops)
  kCloseMidBody,  // Content-Length of the whole body, then closes after a tenth of it
  kHuge,          // 11 MiB with a Content-Length
  kHugeChunked,   // 11 MiB, chunked (no Content-Length)
};

class UrlTestServer {
 public:
  struct Tls {
    std::string certFile, keyFile;
    std::string clientCaFile;  // non-empty: a client certificate signed by it is required
  };
  // Plain HTTP when `tls` is null.
  explicit UrlTestServer(const Tls* tls = nullptr);
  ~UrlTestServer();

  std::string url(const std::string& path = "/pods") const;

  void setAnswer(Answer a);
  void setBody(const std::string& body, const std::string& contentType = "application/json");
  void setEtag(const std::string& etag);
  void setLastModified(const std::string& lastModified);

  // Counters over every request to any path.
  uint64_t requests();
  uint64_t bodyBytesSent();  // bytes of 200 bodies written in full
  uint64_t notModified();    // 304 answers
  // Values of `name` in the most recent request, in order.
  std::vector<std::string> lastHeader(const std::string& name);
  // Blocks until at least `n` requests were answered (or hung); false after `seconds`.
  bool waitForRequests(uint64_t n, int seconds = 20);

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  uint16_t port_ = 0;
  bool https_ = false;
};

// A CA, a second unrelated CA, a server certificate for 127.0.0.1/localhost and a client certificate, all
// signed by the first CA; files in a temp dir removed by the destructor.
class TestPki {
 public:
  TestPki();
  ~TestPki();
  std::string caCert, otherCaCert, serverCert, serverKey, clientCert, clientKey;
  // Signed by the first CA, but for the name elsewhere.invalid only.
  std::string wrongNameCert, wrongNameKey;

 private:
  std::string dir_;
};

}  // namespace podwarden::test
