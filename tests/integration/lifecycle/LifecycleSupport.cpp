#include "LifecycleSupport.h"

#include <cppunit/extensions/HelperMacros.h>

#include <Poco/File.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <istream>
#include <stdexcept>

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

std::vector<e2e::PodContainer> appContainers(TestRuntime& rt, TestNode& node, const std::string& container) {
  std::vector<e2e::PodContainer> out;
  for (const auto& c : rt.listPodContainers(node.name(), true)) {
    if (!c.sandbox && c.container == container) out.push_back(c);
  }
  return out;
}

std::unique_ptr<TestRuntime> attachRuntime(TestNode& node) {
  std::unique_ptr<TestRuntime> rt = e2e::makeTestRuntime();
  node.setRuntimeEndpoint(rt->endpoint());
  TestRuntime* raw = rt.get();
  const std::string nodeName = node.name();
  node.setDiagnosticsHook([raw, nodeName] { return raw->describe(nodeName); });
  return rt;
}

void releaseNode(std::unique_ptr<TestNode>& node, std::unique_ptr<TestRuntime>& rt) {
  const std::string nodeName = node ? node->name() : "";
  node.reset();
  if (rt && !nodeName.empty()) rt->removeNodeContainers(nodeName);
  rt.reset();
}

void startNode(TestNode& node, TestRuntime& rt) {
  rt.require();
  std::vector<std::string> flags = shortBackoffFlags();
  // containerd 1.6 has no CRI event stream, so podwarden sees exits only when it relists. The 10 s default
  // suits the kubelet's 10 s / 300 s backoff, but a relist slower than twice the shortened cap (8 s) would
  // reset the backoff before every restart; 1 s is the kubelet's own relist period without events (generic
  // PLEG). Docker keeps the default: there the restart must come from the exit event.
  if (rt.kind() == "containerd") {
    flags.push_back("--relist-period=" + std::to_string(kRelistSecondsWithoutEvents) + "s");
  }
  node.startDaemon(flags);
}

std::string statusContainerId(const StatusPod& pod, TestRuntime& rt, const std::string& container) {
  return pod.containerIdOf(container, rt.kind());
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

int64_t parseTimeNs(const std::string& text) { return e2e::parseRfc3339Ns(text); }

int64_t wallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string makeDir(const std::string& path) {
  Poco::File(path).createDirectories();
  return path;
}

e2e::ContainerRecord recordOf(TestRuntime& rt, TestNode& node, const std::string& id) {
  e2e::ContainerRecord r = rt.containerRecord(id);
  if (!r.exists) CPPUNIT_FAIL(rt.kind() + " has no container " + id + node.diagnostics());
  return r;
}

// ---- ExitWatcher

bool ExitWatcher::wait(int timeoutSeconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  while (!done_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_;
}

int ExitWatcher::exitCode() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exitCode_;
}

int64_t ExitWatcher::timeNs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return timeNs_;
}

std::string ExitWatcher::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_.empty() ? "no exit event yet" : error_;
}

void ExitWatcher::recordExit(int exitCode, int64_t timeNs) {
  std::lock_guard<std::mutex> lock(mutex_);
  exitCode_ = exitCode;
  timeNs_ = timeNs;
  seen_ = true;
}

void ExitWatcher::recordError(const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_.empty()) error_ = error;
}

void ExitWatcher::finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!seen_ && error_.empty()) error_ = "the event stream ended without an exit event";
  }
  done_ = true;
}

std::unique_ptr<ExitWatcher> watchExit(TestRuntime& rt, const std::string& containerId, int timeoutSeconds) {
  const std::string endpoint = rt.endpoint();
  const std::string socketPath = endpoint.rfind("unix://", 0) == 0 ? endpoint.substr(7) : endpoint;
  if (rt.kind() == "docker") return std::make_unique<DieWatcher>(endpoint, containerId, timeoutSeconds);
  return std::make_unique<TaskExitWatcher>(socketPath, containerId);
}

// ---- DieWatcher

DieWatcher::DieWatcher(const std::string& endpoint, const std::string& containerId, int timeoutSeconds)
    : ExitWatcher(containerId) {
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
    }
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
      recordError("GET " + pathAndQuery_ + " answered " + std::to_string(response.getStatus()));
      finish();
      return;
    }
    std::string line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \r\n\t") == std::string::npos) continue;
      json::ObjectPtr event = json::parseObject(line);
      json::ObjectPtr actor = json::getObject(event, "Actor");
      if (json::getString(event, "Action") != "die" || json::getString(actor, "ID") != containerId_) continue;
      std::string code = json::getString(json::getObject(actor, "Attributes"), "exitCode", "-1");
      recordExit(std::stoi(code), json::getInt(event, "timeNano"));
      break;
    }
  } catch (const Poco::Exception& e) {
    recordError("event stream: " + e.displayText());
  } catch (const std::exception& e) {
    recordError(std::string("event stream: ") + e.what());
  }
  finish();
}

// ---- TaskExitWatcher

TaskExitWatcher::TaskExitWatcher(const std::string& socketPath, const std::string& containerId)
    : ExitWatcher(containerId),
      socketPath_(socketPath),
      syncNamespace_("podwarden-e2e-sync-" + std::to_string(::getpid()) + "-" + std::to_string(wallNowNs())) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe for ctr events failed");
  child_ = ::fork();
  if (child_ < 0) throw std::runtime_error("fork for ctr events failed");
  if (child_ == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execlp("ctr", "ctr", "--address", socketPath_.c_str(), "events", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  fd_ = fds[0];
  reader_ = std::thread([this] { read(); });
  // Each round publishes /namespaces/create for the scratch namespace; the stream is live once one arrives.
  const std::string ctr = "ctr --address " + e2e::shellQuote(socketPath_) + " namespaces ";
  for (int round = 0; round < 50 && !done_; ++round) {
    e2e::runCommand(ctr + "create " + e2e::shellQuote(syncNamespace_));
    e2e::runCommand(ctr + "remove " + e2e::shellQuote(syncNamespace_));
    for (int i = 0; i < 10; ++i) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (synced_) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!synced_) throw std::runtime_error("ctr events at " + socketPath_ + " delivered nothing: " + error_);
}

TaskExitWatcher::~TaskExitWatcher() {
  if (child_ > 0) {
    ::kill(child_, SIGKILL);
    ::waitpid(child_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (fd_ >= 0) ::close(fd_);
}

// Lines read "<date> <time> <zone> UTC <namespace> <topic> <event JSON>".
void TaskExitWatcher::read() {
  std::string pending;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      const std::string line = pending.substr(0, nl);
      const size_t brace = line.find('{');
      if (brace == std::string::npos) {
        recordError("ctr events: " + line);
        continue;
      }
      try {
        json::ObjectPtr event = json::parseObject(line.substr(brace));
        if (line.find(" /namespaces/create ") != std::string::npos &&
            json::getString(event, "name") == syncNamespace_) {
          std::lock_guard<std::mutex> lock(mutex_);
          synced_ = true;
        } else if (line.find(" /tasks/exit ") != std::string::npos &&
                   json::getString(event, "container_id") == containerId_ &&
                   json::getString(event, "id") == containerId_) {
          // exit_status is omitted when 0 (protobuf rendering).
          recordExit(static_cast<int>(json::getInt(event, "exit_status")),
                     parseTimeNs(json::getString(event, "exited_at")));
          break;
        }
      } catch (const std::exception& e) {
        recordError(std::string("ctr events line ") + line + ": " + e.what());
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (seen_) break;
  }
  finish();
}

}  // namespace podwarden::lifecycle
