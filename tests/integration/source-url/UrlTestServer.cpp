#include "UrlTestServer.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <cppunit/TestAssert.h>
#include <stdio.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace podwarden::test {

constexpr uint64_t kHugeBytes = 11ull * 1024 * 1024;

struct UrlTestServer::State {
  std::mutex mutex;
  std::condition_variable changed;
  bool stopping = false;
  Answer answer = Answer::kServe;
  std::string body, contentType = "application/json", etag, lastModified;
  uint64_t requests = 0, bodyBytes = 0, notModified = 0;
  Poco::Net::NameValueCollection lastHeaders;
};

namespace {

void writeBytes(std::ostream& out, uint64_t total) {
  std::string chunk(65536, '#');
  for (uint64_t sent = 0; sent < total && out.good(); sent += chunk.size()) {
    out.write(chunk.data(), static_cast<std::streamsize>(std::min<uint64_t>(chunk.size(), total - sent)));
  }
  out.flush();
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(std::shared_ptr<UrlTestServer::State> state) : state_(std::move(state)) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    using Poco::Net::HTTPResponse;
    std::unique_lock<std::mutex> lock(state_->mutex);
    ++state_->requests;
    state_->lastHeaders.clear();
    for (const auto& kv : request) state_->lastHeaders.add(kv.first, kv.second);
    state_->changed.notify_all();
    if (request.getURI() == "/old") {
      response.setStatusAndReason(HTTPResponse::HTTP_FOUND);
      response.set("Location", "/pods");
      lock.unlock();
      response.send();
      return;
    }
    if (request.getURI() != "/pods") {
      lock.unlock();
      response.setStatusAndReason(HTTPResponse::HTTP_NOT_FOUND);
      response.send();
      return;
    }
    const std::string body = state_->body;
    switch (state_->answer) {
      case Answer::kServe: {
        bool etagMatches = !state_->etag.empty() && request.get("If-None-Match", "") == state_->etag;
        bool dateMatches = state_->etag.empty() && !state_->lastModified.empty() &&
                           request.get("If-Modified-Since", "") == state_->lastModified;
        if (!state_->etag.empty()) response.set("ETag", state_->etag);
        if (!state_->lastModified.empty()) response.set("Last-Modified", state_->lastModified);
        if (etagMatches || dateMatches) {
          ++state_->notModified;
          lock.unlock();
          response.setStatusAndReason(HTTPResponse::HTTP_NOT_MODIFIED);
          response.send();
          return;
        }
        state_->bodyBytes += body.size();
        response.setContentType(state_->contentType);
        lock.unlock();
        response.sendBuffer(body.data(), body.size());
        return;
      }
      case Answer::kError500:
        lock.unlock();
        response.setStatusAndReason(HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
        response.sendBuffer("boom", 4);
        return;
      case Answer::kHang:
        state_->changed.wait_for(lock, std::chrono::seconds(60),
                                 [&] { return state_->stopping || state_->answer != Answer::kHang; });
        return;
      case Answer::kCloseMidBody: {
        lock.unlock();
        response.setContentLength64(static_cast<Poco::Int64>(body.size()));
        std::ostream& out = response.send();
        out.write(body.data(), static_cast<std::streamsize>(body.size() / 10));
        out.flush();
        // Returning closes the connection (the client asked for Connection: close) with the body unfinished.
        return;
      }
      case Answer::kHuge:
        lock.unlock();
        response.setContentLength64(static_cast<Poco::Int64>(kHugeBytes));
        writeBytes(response.send(), kHugeBytes);
        return;
      case Answer::kHugeChunked:
        lock.unlock();
        response.setChunkedTransferEncoding(true);
        writeBytes(response.send(), kHugeBytes);
        return;
    }
  }

 private:
  std::shared_ptr<UrlTestServer::State> state_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(std::shared_ptr<UrlTestServer::State> state) : state_(std::move(state)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(state_);
  }

 private:
  std::shared_ptr<UrlTestServer::State> state_;
};

}  // namespace

UrlTestServer::UrlTestServer(const Tls* tls) : state_(std::make_shared<State>()) {
  auto* params = new Poco::Net::HTTPServerParams();
  params->setMaxThreads(8);
  params->setKeepAlive(false);
  Poco::Net::SocketAddress address("127.0.0.1", 0);
  if (tls) {
    Poco::Net::initializeSSL();
    using Poco::Net::Context;
    Context::Ptr context =
        new Context(Context::TLS_SERVER_USE, tls->keyFile, tls->certFile, tls->clientCaFile,
                    tls->clientCaFile.empty() ? Context::VERIFY_NONE : Context::VERIFY_STRICT, 9, false);
    context->enableSessionCache(true, "pw-url-test");
    // Poco's extended verification would also match the client certificate against the client's address.
    context->enableExtendedCertificateVerification(false);
    Poco::Net::SecureServerSocket socket(address, 64, context);
    port_ = socket.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_), socket, params);
    https_ = true;
  } else {
    Poco::Net::ServerSocket socket(address, 64);
    port_ = socket.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_), socket, params);
  }
  server_->start();
}

UrlTestServer::~UrlTestServer() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  server_->stopAll(true);
}

std::string UrlTestServer::url(const std::string& path) const {
  return std::string(https_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

void UrlTestServer::setAnswer(Answer a) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->answer = a;
  }
  state_->changed.notify_all();
}
void UrlTestServer::setBody(const std::string& body, const std::string& contentType) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->body = body;
  state_->contentType = contentType;
}
void UrlTestServer::setEtag(const std::string& etag) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->etag = etag;
}
void UrlTestServer::setLastModified(const std::string& lastModified) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->lastModified = lastModified;
}
uint64_t UrlTestServer::requests() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->requests;
}
uint64_t UrlTestServer::bodyBytesSent() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->bodyBytes;
}
uint64_t UrlTestServer::notModified() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->notModified;
}
std::vector<std::string> UrlTestServer::lastHeader(const std::string& name) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<std::string> values;
  for (auto it = state_->lastHeaders.find(name);
       it != state_->lastHeaders.end() && Poco::icompare(it->first, name) == 0; ++it) {
    values.push_back(it->second);
  }
  return values;
}
bool UrlTestServer::waitForRequests(uint64_t n, int seconds) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->changed.wait_for(lock, std::chrono::seconds(seconds), [&] { return state_->requests >= n; });
}

namespace {

void run(const std::string& dir, const std::string& command) {
  std::string full = "cd '" + dir + "' && " + command + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  CPPUNIT_ASSERT_MESSAGE("cannot run openssl", p != nullptr);
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) output.append(buf, n);
  int rc = ::pclose(p);
  CPPUNIT_ASSERT_MESSAGE("`" + command + "` failed:\n" + output, rc == 0);
}

}  // namespace

TestPki::TestPki() {
  char tmpl[] = "/tmp/pw-url-pki-XXXXXX";
  CPPUNIT_ASSERT(::mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  std::ofstream(dir_ + "/server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                         "extendedKeyUsage=serverAuth\n";
  std::ofstream(dir_ + "/client.ext") << "extendedKeyUsage=clientAuth\n";
  const std::string key = "-newkey rsa:2048 -nodes";
  run(dir_, "openssl req -x509 " + key + " -keyout ca.key -out ca.crt -days 2 -subj /CN=pw-test-ca");
  run(dir_,
      "openssl req -x509 " + key + " -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=pw-other-ca");
  run(dir_, "openssl req " + key + " -keyout server.key -out server.csr -subj /CN=127.0.0.1");
  run(dir_,
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt "
      "-days 2 -extfile server.ext");
  run(dir_, "openssl req " + key + " -keyout client.key -out client.csr -subj /CN=pw-test-client");
  run(dir_,
      "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt "
      "-days 2 -extfile client.ext");
  std::ofstream(dir_ + "/wrong.ext") << "subjectAltName=DNS:elsewhere.invalid\n";
  run(dir_, "openssl req " + key + " -keyout wrong.key -out wrong.csr -subj /CN=elsewhere.invalid");
  run(dir_,
      "openssl x509 -req -in wrong.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out wrong.crt "
      "-days 2 -extfile wrong.ext");
  wrongNameCert = dir_ + "/wrong.crt";
  wrongNameKey = dir_ + "/wrong.key";
  caCert = dir_ + "/ca.crt";
  otherCaCert = dir_ + "/other-ca.crt";
  serverCert = dir_ + "/server.crt";
  serverKey = dir_ + "/server.key";
  clientCert = dir_ + "/client.crt";
  clientKey = dir_ + "/client.key";
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace podwarden::test
