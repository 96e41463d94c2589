#include "ApiTestSupport.h"

#include "util/Json.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace podwarden::fakeapi::test {

namespace {

std::string requireEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    throw std::runtime_error(std::string(name) + " is not set (ctest sets it; run the suite through ctest)");
  }
  return v;
}

class PkiDir {
 public:
  PkiDir() {
    char tmpl[] = "/tmp/pw-fakeapi-pki-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::string script = requireEnv("PODWARDEN_SOURCE_DIR") + "/tests/scripts/pki.sh";
    CommandResult r = runCommand(shellQuote(script) + " " + shellQuote(dir_) + " n1 n2");
    if (r.exitCode != 0) throw std::runtime_error("tests/scripts/pki.sh failed (is openssl installed?): " + r.output);
  }
  ~PkiDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

Poco::Net::Context::Ptr clientContext(const std::string& pki, const std::string& certStem) {
  static std::mutex mutex;
  static std::map<std::string, Poco::Net::Context::Ptr> contexts;
  static const bool ready = [] {
    Poco::Net::initializeSSL();
    return true;
  }();
  (void)ready;
  std::lock_guard<std::mutex> lock(mutex);
  std::string key = pki + "|" + certStem;
  auto it = contexts.find(key);
  if (it != contexts.end()) return it->second;
  using Poco::Net::Context;
  std::string keyFile = certStem.empty() ? "" : pki + "/" + certStem + ".key";
  std::string certFile = certStem.empty() ? "" : pki + "/" + certStem + ".crt";
  Context::Ptr context =
      new Context(Context::TLS_CLIENT_USE, keyFile, certFile, pki + "/ca.crt", Context::VERIFY_STRICT, 9, false);
  contexts[key] = context;
  return context;
}

}  // namespace

const std::string& pkiDir() {
  static PkiDir pki;
  return pki.dir_;
}

FakeApiServer::Options serverOptions() {
  FakeApiServer::Options options;
  options.pkiDir = pkiDir();
  options.tokens["admin-token"] = UserInfo{"token-admin", {"system:masters"}};
  options.tokens["nobody-token"] = UserInfo{"nobody", {}};
  options.tokens["n1-token"] = UserInfo{"system:node:n1", {"system:nodes"}};
  return options;
}

Poco::JSON::Object::Ptr HttpResult::json() const { return podwarden::json::parseObject(body); }

std::string HttpResult::reason() const {
  try {
    return podwarden::json::getString(json(), "reason");
  } catch (...) {
    return "";
  }
}

std::string HttpResult::message() const {
  try {
    return podwarden::json::getString(json(), "message");
  } catch (...) {
    return "";
  }
}

std::string HttpResult::describe() const { return "HTTP " + std::to_string(code) + ": " + body.substr(0, 2000); }

ApiClient::ApiClient(const FakeApiServer& server, Identity identity)
    : host_("127.0.0.1"), port_(server.port()), identity_(std::move(identity)), pki_(server.pkiDir()) {}

HttpResult ApiClient::request(const std::string& method, const std::string& path, const std::string& body,
                              const std::string& contentType, const std::string& accept) {
  Poco::Net::HTTPSClientSession session(host_, port_, clientContext(pki_, identity_.certStem));
  session.setTimeout(Poco::Timespan(20, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  req.set("Accept", accept);
  if (!identity_.token.empty()) req.set("Authorization", "Bearer " + identity_.token);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.setContentType(contentType);
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(req) << body;
  } else {
    session.sendRequest(req);
  }
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpResult result;
  result.code = response.getStatus();
  for (const auto& kv : response) result.headers.add(kv.first, kv.second);
  Poco::StreamCopier::copyToString(in, result.body);
  return result;
}

struct ApiClient::Watch::Impl {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::string> lines;
  bool ended = false;
  std::unique_ptr<Poco::Net::HTTPSClientSession> session;
};

std::unique_ptr<ApiClient::Watch> ApiClient::watch(const std::string& pathWithQuery) {
  auto w = std::unique_ptr<Watch>(new Watch());
  auto impl = std::make_shared<Watch::Impl>();
  impl->session =
      std::make_unique<Poco::Net::HTTPSClientSession>(host_, port_, clientContext(pki_, identity_.certStem));
  impl->session->setTimeout(Poco::Timespan(120, 0));
  Poco::Net::HTTPRequest req("GET", pathWithQuery, Poco::Net::HTTPMessage::HTTP_1_1);
  req.set("Accept", "application/json");
  if (!identity_.token.empty()) req.set("Authorization", "Bearer " + identity_.token);
  impl->session->sendRequest(req);
  auto response = std::make_shared<Poco::Net::HTTPResponse>();
  std::istream& in = impl->session->receiveResponse(*response);
  w->code_ = response->getStatus();
  w->impl_ = impl;
  w->reader_ = std::thread([impl, response, &in] {
    std::string line;
    try {
      while (std::getline(in, line)) {
        std::lock_guard<std::mutex> lock(impl->mutex);
        impl->lines.push_back(line);
        impl->changed.notify_all();
      }
    } catch (...) {
    }
    std::lock_guard<std::mutex> lock(impl->mutex);
    impl->ended = true;
    impl->changed.notify_all();
  });
  return w;
}

ApiClient::Watch::~Watch() {
  if (impl_) {
    // Wakes the reader blocked in a read; shutting down the TCP socket is safe from another thread.
    int fd = impl_->session->socket().impl()->sockfd();
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  if (reader_.joinable()) reader_.join();
}

Poco::JSON::Object::Ptr ApiClient::Watch::next(int timeoutMs) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->changed.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                          [&] { return !impl_->lines.empty() || impl_->ended; });
  if (impl_->lines.empty()) return nullptr;
  std::string line = impl_->lines.front();
  impl_->lines.pop_front();
  return podwarden::json::parseObject(line);
}

bool ApiClient::Watch::waitEnded(int timeoutMs) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  return impl_->changed.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return impl_->ended; });
}

CommandResult runCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  int status = pclose(pipe);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

namespace {

void mergeInto(Poco::JSON::Object::Ptr target, const Poco::JSON::Object::Ptr& extra) {
  for (const auto& kv : *extra) {
    auto child = podwarden::json::getObject(target, kv.first);
    if (!child.isNull() && kv.second.type() == typeid(Poco::JSON::Object::Ptr)) {
      mergeInto(child, kv.second.extract<Poco::JSON::Object::Ptr>());
    } else {
      target->set(kv.first, kv.second);
    }
  }
}

}  // namespace

std::string podJson(const std::string& ns, const std::string& name, const std::string& extra) {
  auto pod = podwarden::json::parseObject(
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name + R"(","namespace":")" + ns +
      R"("},"spec":{"containers":[{"name":"main","image":"registry.k8s.io/pause:3.9"}]}})");
  mergeInto(pod, podwarden::json::parseObject(extra));
  return podwarden::json::stringify(pod);
}

std::string mirrorPodJson(const std::string& ns, const std::string& name, const std::string& node,
                          const std::string& nodeUid, const std::string& extra) {
  std::string base = R"({"metadata":{"annotations":{"kubernetes.io/config.mirror":"0123abcd",)"
                     R"("kubernetes.io/config.source":"file"},"ownerReferences":[{"apiVersion":"v1","kind":"Node",)"
                     R"("name":")" + node + R"(","uid":")" + nodeUid + R"(","controller":true}]},)"
                     R"("spec":{"nodeName":")" + node + R"("}})";
  auto pod = podwarden::json::parseObject(podJson(ns, name, base));
  mergeInto(pod, podwarden::json::parseObject(extra));
  return podwarden::json::stringify(pod);
}

}  // namespace podwarden::fakeapi::test
