#include "LifecycleSupport.h"

#include <cppunit/extensions/HelperMacros.h>

#include <Poco/File.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <istream>

namespace podwarden::lifecycle {

std::vector<std::string> shortBackoffFlags() {
  return {"--restart-backoff-initial=" + std::to_string(kBackoffInitialSeconds) + "s",
          "--restart-backoff-max=" + std::to_string(kBackoffMaxSeconds) + "s"};
}

std::string yamlLines(std::initializer_list<std::string> lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

std::string oneContainerPod(const std::string& name, const std::string& policy, const std::string& container,
                            const std::string& script) {
  return yamlLines({
      "apiVersion: v1",
      "kind: Pod",
      "metadata:",
      "  name: " + name,
      "  namespace: default",
      "spec:",
      "  hostNetwork: true",
      "  restartPolicy: " + policy,
      "  terminationGracePeriodSeconds: 2",
      "  containers:",
      "  - name: " + container,
      std::string("    image: ") + e2e::kBusyboxImage,
      "    command: [\"/bin/sh\", \"-c\", \"" + script + "\"]",
  });
}

int attemptOf(const std::string& dockerName) {
  size_t underscore = dockerName.rfind('_');
  try {
    return std::stoi(dockerName.substr(underscore + 1));
  } catch (...) {
    return -1;
  }
}

std::vector<e2e::DockerContainer> appContainers(TestNode& node, const std::string& container) {
  std::vector<e2e::DockerContainer> out;
  for (const auto& c : node.containers(true)) {
    if (c.name.rfind("k8s_" + container + "_", 0) == 0) out.push_back(c);
  }
  return out;
}

void startNode(TestNode& node) {
  node.requireDocker();
  node.startDaemon(shortBackoffFlags());
}

StatusPod waitStatus(TestNode& node, const std::string& manifestName, const std::string& ns,
                     const std::function<bool(const StatusPod&)>& predicate, const std::string& what,
                     int timeoutSeconds) {
  StatusPod seen;
  bool ok = node.waitFor(
      [&] {
        StatusPod sp = node.statusPod(manifestName, ns);
        if (!sp.pod || !predicate(sp)) return false;
        seen = sp;
        return true;
      },
      timeoutSeconds);
  if (!ok) {
    CPPUNIT_FAIL("pod " + node.podName(manifestName) + ": " + what + " did not happen within " +
                 std::to_string(timeoutSeconds) + " s" + node.diagnostics());
  }
  return seen;
}

json::ObjectPtr containerStatus(const StatusPod& pod, const std::string& name, bool init) {
  json::ArrayPtr list = json::getArray(json::getObject(pod.pod, "status"),
                                       init ? "initContainerStatuses" : "containerStatuses");
  for (size_t i = 0; list && i < list->size(); ++i) {
    json::ObjectPtr cs = list->getObject(static_cast<unsigned>(i));
    if (cs && json::getString(cs, "name") == name) return cs;
  }
  return nullptr;
}

json::ObjectPtr stateOf(const json::ObjectPtr& containerStatus, const std::string& kind, bool last) {
  return json::getObject(json::getObject(containerStatus, last ? "lastState" : "state"), kind);
}

json::ObjectPtr condition(const StatusPod& pod, const std::string& type) {
  json::ArrayPtr list = json::getArray(json::getObject(pod.pod, "status"), "conditions");
  for (size_t i = 0; list && i < list->size(); ++i) {
    json::ObjectPtr c = list->getObject(static_cast<unsigned>(i));
    if (c && json::getString(c, "type") == type) return c;
  }
  return nullptr;
}

int64_t parseTimeNs(const std::string& text) {
  int year, month, day, hour, minute, second;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
                  &consumed) != 6 ||
      consumed != 19) {
    return 0;
  }
  if (year <= 1) return 0;  // Docker's "0001-01-01T00:00:00Z": never started / not finished
  size_t pos = 19;
  int64_t fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    int64_t scale = 100000000;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      fraction += (text[pos] - '0') * scale;
      scale /= 10;
    }
  }
  // Only UTC ("Z"): what Docker and podwarden's status both write.
  if (pos + 1 != text.size() || text[pos] != 'Z') return 0;
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(::timegm(&tm)) * 1000000000 + fraction;
}

int64_t wallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string makeDir(const std::string& path) {
  Poco::File(path).createDirectories();
  return path;
}

json::ObjectPtr dockerState(TestNode& node, const std::string& id) {
  json::ObjectPtr c = node.docker().inspect(id);
  if (!c) CPPUNIT_FAIL("Docker has no container " + id + node.diagnostics());
  return json::getObject(c, "State");
}

// ---- DieWatcher

DieWatcher::DieWatcher(const std::string& endpoint, const std::string& containerId, int timeoutSeconds)
    : containerId_(containerId) {
  const std::string scheme = "unix://";
  const std::string socketPath = endpoint.rfind(scheme, 0) == 0 ? endpoint.substr(scheme.size()) : endpoint;
  const int64_t nowS = wallNowNs() / 1000000000;
  // `since` one second back: Docker compares whole seconds of the event time at the lower bound.
  std::string filters =
      "{\"type\":[\"container\"],\"event\":[\"die\"],\"container\":[\"" + containerId + "\"]}";
  std::string encoded;
  Poco::URI::encode(filters, "=&+[]:,/?#\"{}", encoded);
  pathAndQuery_ = "/v1.41/events?since=" + std::to_string(nowS - 1) +
                  "&until=" + std::to_string(nowS + timeoutSeconds) + "&filters=" + encoded;
  socket_.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, socketPath));
  socket_.setReceiveTimeout(Poco::Timespan(timeoutSeconds + 30, 0));
  reader_ = std::thread([this] { read(); });
  // Docker answers with headers as soon as it has subscribed; `since` covers a slow answer anyway.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (connected_ || done_) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

DieWatcher::~DieWatcher() {
  if (!done_) {
    try {
      socket_.shutdown();
    } catch (const Poco::Exception&) {
    }
  }
  if (reader_.joinable()) reader_.join();
}

void DieWatcher::read() {
  try {
    Poco::Net::HTTPClientSession session(socket_);
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, pathAndQuery_,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost("docker");
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      connected_ = true;
      if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
        error_ = "GET " + pathAndQuery_ + " answered " + std::to_string(response.getStatus());
      }
    }
    std::string line;
    while (error_.empty() && std::getline(in, line)) {
      if (line.find_first_not_of(" \r\n\t") == std::string::npos) continue;
      json::ObjectPtr event = json::parseObject(line);
      json::ObjectPtr actor = json::getObject(event, "Actor");
      if (json::getString(event, "Action") != "die" || json::getString(actor, "ID") != containerId_) continue;
      std::string code = json::getString(json::getObject(actor, "Attributes"), "exitCode", "-1");
      std::lock_guard<std::mutex> lock(mutex_);
      exitCode_ = std::stoi(code);
      timeNs_ = json::getInt(event, "timeNano");
      seen_ = true;
      break;
    }
    if (!seen_ && error_.empty()) error_ = "the event stream ended without a die event";
  } catch (const Poco::Exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = "event stream: " + e.displayText();
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::string("event stream: ") + e.what();
  }
  done_ = true;
}

bool DieWatcher::wait(int timeoutSeconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  while (!done_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_;
}

int DieWatcher::exitCode() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exitCode_;
}

int64_t DieWatcher::timeNs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return timeNs_;
}

std::string DieWatcher::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_.empty() ? "no die event yet" : error_;
}

}  // namespace podwarden::lifecycle
