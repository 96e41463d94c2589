#include "E2eSupport.h"

#include <Poco/File.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace podwarden::e2e {

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string requireEnv(const char* name) {
  std::string v = env(name);
  if (v.empty()) {
    throw std::runtime_error(std::string("environment variable ") + name +
                             " is not set; run the tests through ctest (it sets PODWARDEN_*)");
  }
  return v;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

void writeFileAtomic(const std::string& path, const std::string& content) {
  auto slash = path.rfind('/');
  std::string tmp = path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".tmp";
  writeFile(tmp, content);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

bool fileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool waitFor(const std::function<bool()>& condition, int timeoutSeconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int freeLoopbackPort() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  int port = socket.address().port();
  socket.close();
  return port;
}

CommandResult runCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  int status = ::pclose(pipe);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

int httpGetStatus(int port, const std::string& path) {
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    session.receiveResponse(response);
    return static_cast<int>(response.getStatus());
  } catch (const Poco::Exception&) {
    return 0;
  }
}

// ---- StatusPod

std::string StatusPod::uid() const { return json::getString(json::getObject(pod, "metadata"), "uid"); }

std::string StatusPod::phase() const { return json::getString(json::getObject(pod, "status"), "phase"); }

json::ObjectPtr StatusPod::containerStatus(const std::string& container) const {
  json::ArrayPtr statuses = json::getArray(json::getObject(pod, "status"), "containerStatuses");
  if (!statuses) return nullptr;
  for (size_t i = 0; i < statuses->size(); ++i) {
    json::ObjectPtr cs = statuses->getObject(static_cast<unsigned>(i));
    if (cs && json::getString(cs, "name") == container) return cs;
  }
  return nullptr;
}

std::string StatusPod::containerId(const std::string& container) const {
  std::string id = json::getString(containerStatus(container), "containerID");
  const std::string prefix = "docker://";
  return id.rfind(prefix, 0) == 0 ? id.substr(prefix.size()) : "";
}

std::string StatusPod::containerIdOf(const std::string& container, const std::string& scheme) const {
  std::string id = json::getString(containerStatus(container), "containerID");
  const std::string prefix = scheme + "://";
  return id.rfind(prefix, 0) == 0 ? id.substr(prefix.size()) : "";
}

int64_t StatusPod::restartCount(const std::string& container) const {
  return json::getInt(containerStatus(container), "restartCount", -1);
}

bool StatusPod::containerRunning(const std::string& container) const {
  return json::getObject(json::getObject(containerStatus(container), "state"), "running") != nullptr;
}

// ---- TestNode

namespace {
std::atomic<int> nodeCounter{0};

std::string makeTempDir(const std::string& tag) {
  std::string pattern = "/tmp/pw-e2e-" + tag + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!::mkdtemp(buffer.data())) throw std::runtime_error("mkdtemp " + pattern + " failed");
  return buffer.data();
}

std::string tail(const std::string& text, size_t maxLines) {
  size_t pos = text.size();
  size_t lines = 0;
  while (pos > 0 && lines <= maxLines) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
    ++lines;
  }
  return text.substr(pos + 1);
}
}  // namespace

TestNode::TestNode(const std::string& tag)
    : name_("e2e-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++nodeCounter)),
      workDir_(makeTempDir(tag)),
      manifestDir_(workDir_ + "/manifests"),
      statusPath_(workDir_ + "/status/status.json"),
      logPath_(workDir_ + "/podwarden.log"),
      docker_(env("PODWARDEN_DOCKER_HOST", "unix:///run/podwarden-test/docker.sock")),
      runtimeEndpoint_(docker_.endpoint()) {
  Poco::File(manifestDir_).createDirectories();
}

TestNode::~TestNode() {
  try {
    stopDaemon();
    docker_.removeAllWithLabel("io.podwarden.node=" + name_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "e2e cleanup of node %s: %s\n", name_.c_str(), e.what());
  }
  if (env("PODWARDEN_E2E_KEEP") != "1") {
    try {
      Poco::File(workDir_).remove(true);
    } catch (const Poco::Exception&) {
    }
  }
}

void TestNode::requireDocker() {
  if (!docker_.ping()) {
    throw std::runtime_error("no Docker daemon answers at " + docker_.endpoint() +
                             "; start the test daemon with `tests/scripts/dockerd.sh start` (and export "
                             "PODWARDEN_DOCKER_HOST if you use another one)");
  }
  for (const char* image : {kPauseImage, kBusyboxImage}) {
    if (!docker_.imageExists(image)) {
      throw std::runtime_error(std::string("image ") + image + " is missing in the Docker daemon at " +
                               docker_.endpoint() + "; build it with `DOCKER_HOST=" + docker_.endpoint() +
                               " samples/images/build-images.sh`");
    }
  }
}

std::vector<std::string> TestNode::runCommand(const std::vector<std::string>& extraArgs) const {
  std::vector<std::string> args = {requireEnv("PODWARDEN_BIN"),
                                   "run",
                                   "--hostname-override=" + name_,
                                   "--pod-manifest-path=" + manifestDir_,
                                   "--status-file=" + statusPath_,
                                   "--container-runtime-endpoint=" + runtimeEndpoint_,
                                   "--plugin-dir=" + requireEnv("PODWARDEN_PLUGIN_DIR"),
                                   std::string("--pod-infra-container-image=") + kPauseImage,
                                   "--pods-dir=" + workDir_ + "/pods",
                                   "--log-dir=" + workDir_ + "/logs",
                                   "--log-level=" + env("PODWARDEN_E2E_LOG_LEVEL", "info")};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  return args;
}

void TestNode::startDaemon(const std::vector<std::string>& extraArgs) {
  if (daemon_ && daemon_->running()) throw std::runtime_error("daemon of node " + name_ + " already running");
  daemon_ = std::make_unique<DaemonProcess>(runCommand(extraArgs), logPath_);
  {
    std::ofstream log(logPath_, std::ios::app);
    log << "=== e2e: starting " << daemon_->commandLine() << "\n";
  }
  daemon_->start();
}

DaemonProcess& TestNode::daemon() {
  if (!daemon_) throw std::runtime_error("daemon of node " + name_ + " was never started");
  return *daemon_;
}

bool TestNode::daemonRunning() { return daemon_ && daemon_->running(); }

bool TestNode::stopDaemon() {
  if (!daemon_) return true;
  return daemon_->terminate(60);
}

void TestNode::killDaemon() {
  if (daemon_) daemon_->killHard();
}

bool TestNode::waitFor(const std::function<bool()>& condition, int timeoutSeconds) {
  bool daemonGone = false;
  bool ok = e2e::waitFor(
      [&] {
        if (condition()) return true;
        daemonGone = daemon_ && !daemon_->running();
        return daemonGone;
      },
      timeoutSeconds);
  return ok && !daemonGone;
}

json::ObjectPtr TestNode::status() const {
  if (!fileExists(statusPath_)) return nullptr;
  try {
    return json::parseObject(readFile(statusPath_));
  } catch (const std::exception&) {
    return nullptr;
  }
}

StatusPod TestNode::statusPod(const std::string& manifestName, const std::string& ns) const {
  StatusPod result;
  json::ObjectPtr s = status();
  json::ArrayPtr pods = json::getArray(s, "pods");
  if (!pods) return result;
  const std::string name = podName(manifestName);
  for (size_t i = 0; i < pods->size(); ++i) {
    json::ObjectPtr pod = pods->getObject(static_cast<unsigned>(i));
    json::ObjectPtr meta = json::getObject(pod, "metadata");
    if (json::getString(meta, "name") == name && json::getString(meta, "namespace") == ns) {
      result.pod = pod;
      break;
    }
  }
  return result;
}

std::vector<DockerContainer> TestNode::containers(bool all, const std::vector<std::string>& moreLabels) {
  std::vector<std::string> labels = {"io.podwarden.node=" + name_};
  labels.insert(labels.end(), moreLabels.begin(), moreLabels.end());
  return docker_.list(labels, all);
}

std::optional<DockerContainer> TestNode::containerNamed(const std::string& name, bool all) {
  for (const auto& c : containers(all)) {
    if (c.name == name) return c;
  }
  return std::nullopt;
}

std::string TestNode::sampleManifest(int port) const {
  std::string text = readFile(requireEnv("PODWARDEN_SOURCE_DIR") + "/samples/manifests/kube-apiserver.yaml");
  const std::string from = kSamplePort;
  const std::string to = std::to_string(port);
  size_t replaced = 0;
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
    ++replaced;
  }
  if (replaced == 0) throw std::runtime_error("samples/manifests/kube-apiserver.yaml no longer uses port 16443");
  return text;
}

std::string TestNode::sleeperManifest(const std::string& name, const std::string& ns) {
  return "apiVersion: v1\n"
         "kind: Pod\n"
         "metadata:\n"
         "  name: " + name + "\n"
         "  namespace: " + ns + "\n"
         "spec:\n"
         "  hostNetwork: true\n"
         "  containers:\n"
         "  - name: sleeper\n"
         "    image: " + kBusyboxImage + "\n"
         "    command: [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM INT; while :; do sleep 1 & wait $!; done\"]\n";
}

std::string TestNode::diagnostics() {
  std::ostringstream out;
  out << "\n--- node " << name_ << " (work dir " << workDir_ << "; set PODWARDEN_E2E_KEEP=1 to keep it)\n";
  if (daemon_) {
    bool alive = daemon_->running();
    out << "--- daemon " << (alive ? "running" : "exited") << ": " << daemon_->commandLine() << "\n";
    if (!alive) out << "    wait status " << daemon_->waitStatus() << "\n";
  }
  out << "--- last lines of " << logPath_ << ":\n";
  try {
    out << tail(readFile(logPath_), 60);
  } catch (const std::exception& e) {
    out << e.what() << "\n";
  }
  out << "--- " << statusPath_ << ":\n";
  try {
    std::string s = readFile(statusPath_);
    out << (s.size() > 8000 ? s.substr(0, 8000) + "\n...(truncated)" : s) << "\n";
  } catch (const std::exception& e) {
    out << e.what() << "\n";
  }
  out << "--- containers labelled io.podwarden.node=" << name_ << ":\n";
  try {
    for (const auto& c : containers(true)) out << "    " << c.id.substr(0, 12) << " " << c.state << " " << c.name << "\n";
  } catch (const std::exception& e) {
    out << e.what() << "\n";
  }
  if (diagnosticsHook_) out << diagnosticsHook_();
  return out.str();
}

std::string sandboxContainerName(const std::string& podName, const std::string& ns, const std::string& uid,
                                 int attempt) {
  return "k8s_POD_" + podName + "_" + ns + "_" + uid + "_" + std::to_string(attempt);
}

std::string appContainerName(const std::string& container, const std::string& podName, const std::string& ns,
                             const std::string& uid, int restartCount) {
  return "k8s_" + container + "_" + podName + "_" + ns + "_" + uid + "_" + std::to_string(restartCount);
}

}  // namespace podwarden::e2e
