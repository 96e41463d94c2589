// LocalHttpServer.h - a Poco HTTP server on 127.0.0.1 (a free port) for probe tests.
//
// Every path answers with the status the test set for it (200 by default) and counts its requests.
// Special paths: /redirect-same (302 to /ok), /redirect-other (302 to another host), /redirect-loop
// (302 to itself), /big (200 with 1 MiB of body), /slow (answers after 3 s). The last request's headers
// are kept. Thread-safe.
#pragma once

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace podwarden::test {

class LocalHttpServer {
 public:
  LocalHttpServer() : state_(std::make_shared<State>()) {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    port_ = socket.address().port();
    auto params = new Poco::Net::HTTPServerParams();
    params->setMaxThreads(8);
    params->setKeepAlive(false);
    params->setTimeout(Poco::Timespan(5, 0));
    // Idle dispatcher threads otherwise linger 10 s after stopAll (and joinAll waits for them).
    params->setThreadIdleTime(Poco::Timespan(0, 100000));
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_), pool_, socket, params);
    server_->start();
  }
  ~LocalHttpServer() {
    server_->stopAll(true);
    pool_.joinAll();
  }

  int port() const { return port_; }
  void setStatus(const std::string& path, int status) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->status[path] = status;
  }
  int requests(const std::string& path) const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    auto it = state_->count.find(path);
    return it == state_->count.end() ? 0 : it->second;
  }
  // Header `name` of the last request ("" if absent).
  std::string lastHeader(const std::string& name) const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    auto it = state_->lastHeaders.find(name);
    return it == state_->lastHeaders.end() ? "" : it->second;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::map<std::string, int> status;
    std::map<std::string, int> count;
    std::map<std::string, std::string> lastHeaders;
  };

  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(std::shared_ptr<State> state) : state_(std::move(state)) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      const std::string path = request.getURI();
      int status = 200;
      {
        std::lock_guard<std::mutex> lock(state_->mutex);
        ++state_->count[path];
        state_->lastHeaders.clear();
        for (const auto& [k, v] : request) state_->lastHeaders[k] = v;
        state_->lastHeaders["Host"] = request.getHost();
        auto it = state_->status.find(path);
        if (it != state_->status.end()) status = it->second;
      }
      if (path == "/redirect-same" || path == "/redirect-other" || path == "/redirect-loop") {
        response.setStatus(Poco::Net::HTTPResponse::HTTP_FOUND);
        response.set("Location", path == "/redirect-same"    ? "/ok"
                                 : path == "/redirect-other" ? "http://elsewhere.invalid/"
                                                             : "/redirect-loop");
        response.setContentLength(0);
        response.send();
        return;
      }
      if (path == "/slow") std::this_thread::sleep_for(std::chrono::seconds(3));
      std::string body = path == "/big" ? std::string(1 << 20, 'x') : "answer from " + path;
      response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
      response.setContentLength(static_cast<std::streamsize>(body.size()));
      try {
        response.send() << body;
      } catch (...) {
        // the prober stops reading after its cap and closes
      }
    }

   private:
    std::shared_ptr<State> state_;
  };

  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(std::shared_ptr<State> state) : state_(std::move(state)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(state_);
    }

   private:
    std::shared_ptr<State> state_;
  };

  std::shared_ptr<State> state_;
  int port_ = 0;
  // Our own pool (declared before server_, so destroyed after it): no handler thread outlives the
  // server in Poco's default pool.
  Poco::ThreadPool pool_{2, 16};
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace podwarden::test
