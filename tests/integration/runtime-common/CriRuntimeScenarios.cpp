#include "CriRuntimeScenarios.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

using podwarden::plugin::CallResult;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::RuntimeCall;
using podwarden::plugin::RuntimeInstance;

namespace podwarden::test {

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string socketPathOf(const std::string& endpoint) {
  return endpoint.rfind("unix://", 0) == 0 ? endpoint.substr(7) : endpoint;
}

std::string randomHex(size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kHex[rng() % 16];
  return s;
}

int randomPort() {
  return 20000 + static_cast<int>(std::random_device{}() % 20000);
}

ObjectPtr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<ObjectPtr>();
}

std::string str(const ObjectPtr& o, const std::string& key) {
  return o->optValue<std::string>(key, "");
}

bool waitFor(const std::function<bool()>& pred, int seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

std::string httpGet(const std::string& host, int port) {
  try {
    Poco::Net::HTTPClientSession session(host, static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(2, 0));
    Poco::Net::HTTPRequest request("GET", "/", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    std::ostringstream text;
    Poco::StreamCopier::copyStream(body, text);
    return text.str();
  } catch (const Poco::Exception&) {
    return "";
  }
}

std::string base64Decode(const std::string& in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned val = 0;
  int bits = -8;
  for (char c : in) {
    const char* pos = std::strchr(kAlphabet, c);
    if (c == '=' || pos == nullptr || c == '\0') break;
    val = ((val << 6) | static_cast<unsigned>(pos - kAlphabet)) & 0xFFFFFFu;
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool nsNear(long long ns) {
  const long long now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  return ns > now - 600LL * 1000000000 && ns < now + 600LL * 1000000000;
}

void CriRuntimeScenarios::setUp() {
  const std::string dir = env("PODWARDEN_PLUGIN_DIR", "");
  CPPUNIT_ASSERT_MESSAGE("PODWARDEN_PLUGIN_DIR is not set", !dir.empty());
  library_ = PluginLibrary::load(dir + "/runtime-" + rt_.kind + ".so");
  runtime_ = std::make_unique<RuntimeInstance>(library_, rt_.kind, config(), "test-node");
  CallResult v = runtime_->call(RuntimeCall::kVersion, R"({"version":"v1"})", std::chrono::seconds(10));
  if (!v.ok()) {
    CPPUNIT_FAIL(rt_.daemonName + " at " + rt_.endpoint + " does not answer (" + v.describe() + "); " +
                 rt_.startHint);
  }
  for (const char* image : {kBusybox, kPause}) {
    CallResult s = call(RuntimeCall::kImageStatus, std::string(R"({"image":{"image":")") + image + "\"}}");
    if (!parse(s.out)->has("image")) {
      CPPUNIT_FAIL(std::string("image ") + image + " is missing in " + rt_.endpoint + "; " + rt_.imagesHint);
    }
  }
}

void CriRuntimeScenarios::tearDown() {
  if (runtime_) {
    if (runtime_->hasEvents()) runtime_->unwatchEvents();
    for (const auto& id : sandboxes_) {
      runtime_->call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + id + "\"}");
      runtime_->call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + id + "\"}");
    }
  }
  sandboxes_.clear();
  runtime_.reset();
  for (const auto& uid : uids_) std::filesystem::remove_all(logRoot(uid));
  uids_.clear();
}

void CriRuntimeScenarios::testVersion() {
  ObjectPtr v = parse(call(RuntimeCall::kVersion, R"({"version":"v1"})").out);
  CPPUNIT_ASSERT(!str(v, "runtimeVersion").empty());
  CPPUNIT_ASSERT(!str(v, "version").empty());
  checkVersion(v);

  const auto& info = library_->info();
  CPPUNIT_ASSERT_EQUAL("runtime-" + rt_.kind, info.name);
  CPPUNIT_ASSERT(!info.configSchemaJson.empty());
  const auto* f = library_->findFactory(PW_KIND_RUNTIME, rt_.kind.c_str());
  CPPUNIT_ASSERT(f != nullptr);
  CPPUNIT_ASSERT(f->capabilities & PW_CAP_CONCURRENT);
}

void CriRuntimeScenarios::testConfigErrors() {
  try {
    RuntimeInstance bad(library_, rt_.kind, R"({"endpoint":"unix:///x.sock","sandboxImagee":"x"})", "n");
    CPPUNIT_FAIL("an unknown config key was accepted");
  } catch (const podwarden::plugin::PluginError& e) {
    CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("sandboxImagee") != std::string::npos);
  }
  try {
    RuntimeInstance bad(library_, rt_.kind, R"({"endpoint":"tcp://127.0.0.1:2375"})", "n");
    CPPUNIT_FAIL("a tcp endpoint was accepted");
  } catch (const podwarden::plugin::PluginError& e) {
    CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("endpoint") != std::string::npos);
  }
  // A bare socket path is an endpoint too.
  RuntimeInstance bare(library_, rt_.kind, "{\"endpoint\":\"" + socketPathOf(rt_.endpoint) + "\"}", "n");
  CPPUNIT_ASSERT(bare.call(RuntimeCall::kVersion, "{}", std::chrono::seconds(10)).ok());
  moreConfigErrors();
}

void CriRuntimeScenarios::testUnreachableRuntimeIsUnavailable() {
  RuntimeInstance none(library_, rt_.kind, "{\"endpoint\":\"" + rt_.unreachableEndpoint + "\"}", "n");
  CallResult r = none.call(RuntimeCall::kVersion, "{}", std::chrono::seconds(5));
  CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), PW_UNAVAILABLE, r.status);
  CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find(rt_.unreachableEndpoint) != std::string::npos);
  CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find(unreachableError()) != std::string::npos);
}

void CriRuntimeScenarios::testHostNetworkPodLifecycle() {
  lifecycleStarting();
  LifecyclePod p;
  p.uid = randomHex(12);
  p.pod = "web-" + p.uid.substr(0, 6);
  const std::string sandboxConfig = podConfig(p.pod, p.uid, "NODE", "");
  p.sandboxId = runSandbox(sandboxConfig);

  ObjectPtr st = sandboxStatus(p.sandboxId);
  CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_READY"), str(st, "state"));
  CPPUNIT_ASSERT_EQUAL(p.sandboxId, str(st, "id"));
  CPPUNIT_ASSERT_EQUAL(p.pod, str(st->getObject("metadata"), "name"));
  CPPUNIT_ASSERT_EQUAL(p.uid, str(st->getObject("metadata"), "uid"));
  CPPUNIT_ASSERT_EQUAL(std::string("default"), str(st->getObject("metadata"), "namespace"));
  CPPUNIT_ASSERT_EQUAL(std::string("NODE"),
                       str(st->getObject("linux")->getObject("namespaces")->getObject("options"), "network"));
  CPPUNIT_ASSERT_EQUAL(p.uid, str(st->getObject("labels"), "io.kubernetes.pod.uid"));
  CPPUNIT_ASSERT_EQUAL(std::string("file:///etc/kubernetes/manifests/web.yaml"),
                       str(st->getObject("annotations"), "kubernetes.io/config.source"));
  CPPUNIT_ASSERT(nsNear(std::stoll(str(st, "createdAt"))));
  checkSandboxCreated(p, st);

  const int port = randomPort();
  p.containerId =
      createContainer(p.sandboxId, sandboxConfig, "httpd", kBusybox, 0,
                      R"("command":["httpd"],"args":["-f","-p","127.0.0.1:)" + std::to_string(port) +
                          R"(","-h","/var/www"],"labels":{"io.kubernetes.container.name":"httpd",)"
                          R"("io.kubernetes.pod.uid":")" +
                          p.uid + R"("},"annotations":{"io.kubernetes.container.hash":"abc123"},)");
  checkContainerCreated(p);

  ObjectPtr cs = containerStatus(p.containerId);
  CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_CREATED"), str(cs, "state"));
  CPPUNIT_ASSERT_EQUAL(std::string("0"), str(cs, "startedAt"));

  call(RuntimeCall::kStartContainer, R"({"containerId":")" + p.containerId + "\"}");
  CPPUNIT_ASSERT_MESSAGE(
      "httpd did not answer on 127.0.0.1:" + std::to_string(port),
      waitFor([&] { return httpGet("127.0.0.1", port).find("podwarden test image") != std::string::npos; }));

  cs = containerStatus(p.containerId);
  CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_RUNNING"), str(cs, "state"));
  CPPUNIT_ASSERT_EQUAL(std::string("httpd"), str(cs->getObject("metadata"), "name"));
  CPPUNIT_ASSERT_EQUAL(0, cs->getObject("metadata")->getValue<int>("attempt"));
  CPPUNIT_ASSERT_EQUAL(std::string(kBusybox), str(cs->getObject("image"), "image"));
  CPPUNIT_ASSERT_MESSAGE(str(cs, "imageRef"), str(cs, "imageRef").rfind("sha256:", 0) == 0);
  CPPUNIT_ASSERT(nsNear(std::stoll(str(cs, "createdAt"))));
  CPPUNIT_ASSERT(nsNear(std::stoll(str(cs, "startedAt"))));
  CPPUNIT_ASSERT(std::stoll(str(cs, "startedAt")) >= std::stoll(str(cs, "createdAt")));
  CPPUNIT_ASSERT_EQUAL(std::string("0"), str(cs, "finishedAt"));
  CPPUNIT_ASSERT_EQUAL(std::string("httpd"), str(cs->getObject("labels"), "io.kubernetes.container.name"));
  CPPUNIT_ASSERT_EQUAL(std::string("abc123"),
                       str(cs->getObject("annotations"), "io.kubernetes.container.hash"));
  // CRI log path: <logDirectory>/<logPath>; what is there is the runtime's business (checked by the hook).
  CPPUNIT_ASSERT_EQUAL(logRoot(p.uid) + "/httpd/0.log", str(cs, "logPath"));
  checkContainerRunning(p, cs);

  // Listing by label selector finds exactly our pod's sandbox and container.
  ObjectPtr sandboxes =
      parse(call(RuntimeCall::kListPodSandbox,
                 R"({"filter":{"labelSelector":{"io.kubernetes.pod.uid":")" + p.uid + R"("}}})")
                .out);
  CPPUNIT_ASSERT_EQUAL(1u, static_cast<unsigned>(sandboxes->getArray("items")->size()));
  ObjectPtr item = sandboxes->getArray("items")->getObject(0);
  CPPUNIT_ASSERT_EQUAL(p.sandboxId, str(item, "id"));
  CPPUNIT_ASSERT_EQUAL(p.pod, str(item->getObject("metadata"), "name"));
  CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_READY"), str(item, "state"));
  ObjectPtr notReady = parse(
      call(RuntimeCall::kListPodSandbox, R"({"filter":{"state":{"state":"SANDBOX_NOTREADY"},"labelSelector":)"
                                         R"({"io.kubernetes.pod.uid":")" +
                                             p.uid + R"("}}})")
          .out);
  CPPUNIT_ASSERT_EQUAL(0u, static_cast<unsigned>(notReady->getArray("items")->size()));
  ObjectPtr containers = parse(
      call(RuntimeCall::kListContainers, R"({"filter":{"podSandboxId":")" + p.sandboxId +
                                             R"(","state":{"state":"CONTAINER_RUNNING"},)"
                                             R"("labelSelector":{"io.kubernetes.container.name":"httpd"}}})")
          .out);
  CPPUNIT_ASSERT_EQUAL(1u, static_cast<unsigned>(containers->getArray("containers")->size()));
  ObjectPtr c = containers->getArray("containers")->getObject(0);
  CPPUNIT_ASSERT_EQUAL(p.containerId, str(c, "id"));
  CPPUNIT_ASSERT_EQUAL(p.sandboxId, str(c, "podSandboxId"));
  CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_RUNNING"), str(c, "state"));
  CPPUNIT_ASSERT_EQUAL(std::string("httpd"), str(c->getObject("metadata"), "name"));
  CPPUNIT_ASSERT_EQUAL(std::string("abc123"),
                       str(c->getObject("annotations"), "io.kubernetes.container.hash"));

  // httpd is PID 1 of its PID namespace, where SIGTERM without a handler does nothing: the stop has to
  // wait out the grace period and SIGKILL it. Stopping again is fine, as the kubelet expects.
  call(RuntimeCall::kStopContainer, R"({"containerId":")" + p.containerId + R"(","timeout":2})");
  cs = containerStatus(p.containerId);
  CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_EXITED"), str(cs, "state"));
  CPPUNIT_ASSERT_EQUAL(137, cs->getValue<int>("exitCode"));
  CPPUNIT_ASSERT_EQUAL(std::string("Error"), str(cs, "reason"));
  CPPUNIT_ASSERT(nsNear(std::stoll(str(cs, "finishedAt"))));
  CPPUNIT_ASSERT(std::stoll(str(cs, "finishedAt")) >= std::stoll(str(cs, "startedAt")));
  call(RuntimeCall::kStopContainer, R"({"containerId":")" + p.containerId + R"(","timeout":1})");
  finishLifecycle(p);
}

void CriRuntimeScenarios::testExitCodeAndReason() {
  const std::string uid = randomHex(12);
  const std::string sandboxConfig = podConfig("exit-" + uid.substr(0, 6), uid, "NODE", "");
  const std::string sandboxId = runSandbox(sandboxConfig);
  const std::string failing = createContainer(sandboxId, sandboxConfig, "fail", kBusybox, 0,
                                              R"("command":["sh","-c","echo bye; exit 3"],)");
  const std::string passing =
      createContainer(sandboxId, sandboxConfig, "pass", kBusybox, 0, R"("command":["true"],)");
  call(RuntimeCall::kStartContainer, R"({"containerId":")" + failing + "\"}");
  call(RuntimeCall::kStartContainer, R"({"containerId":")" + passing + "\"}");
  for (const auto& id : {failing, passing}) {
    CPPUNIT_ASSERT(waitFor([&] { return str(containerStatus(id), "state") == "CONTAINER_EXITED"; }));
  }
  ObjectPtr f = containerStatus(failing);
  CPPUNIT_ASSERT_EQUAL(3, f->getValue<int>("exitCode"));
  CPPUNIT_ASSERT_EQUAL(std::string("Error"), str(f, "reason"));
  CPPUNIT_ASSERT(nsNear(std::stoll(str(f, "finishedAt"))));
  ObjectPtr p = containerStatus(passing);
  CPPUNIT_ASSERT_EQUAL(0, p->getValue<int>("exitCode"));
  CPPUNIT_ASSERT_EQUAL(std::string("Completed"), str(p, "reason"));

  ObjectPtr exited =
      parse(call(RuntimeCall::kListContainers,
                 R"({"filter":{"podSandboxId":")" + sandboxId + R"(","state":{"state":"CONTAINER_EXITED"}}})")
                .out);
  CPPUNIT_ASSERT_EQUAL(2u, static_cast<unsigned>(exited->getArray("containers")->size()));
  afterExits(sandboxId, sandboxConfig, failing, passing);
}

void CriRuntimeScenarios::testMissingImageIsNotFound() {
  const std::string uid = randomHex(12);
  const std::string sandboxConfig = podConfig("missing-" + uid.substr(0, 6), uid, "NODE", "");
  const std::string sandboxId = runSandbox(sandboxConfig);
  const std::string request = R"({"podSandboxId":")" + sandboxId +
                              R"(","config":{"metadata":{"name":"app"},)"
                              R"("image":{"image":"podwarden.local/does-not-exist:0.0"}},"sandboxConfig":)" +
                              sandboxConfig + "}";
  CallResult r = runtime_->call(RuntimeCall::kCreateContainer, request);
  CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), PW_NOT_FOUND, r.status);
  CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("podwarden.local/does-not-exist:0.0") != std::string::npos);
  checkMissingImage(r, uid);
}

void CriRuntimeScenarios::testExecSync() {
  const std::string uid = randomHex(12);
  const std::string sandboxConfig = podConfig("exec-" + uid.substr(0, 6), uid, "NODE", "");
  const std::string sandboxId = runSandbox(sandboxConfig);
  const std::string id =
      createContainer(sandboxId, sandboxConfig, "sleeper", kBusybox, 0,
                      R"("command":["sleep","600"],"envs":[{"key":"GREETING","value":"hi there"}],)");
  call(RuntimeCall::kStartContainer, R"({"containerId":")" + id + "\"}");

  ObjectPtr r =
      parse(call(RuntimeCall::kExecSync,
                 R"({"containerId":")" + id +
                     R"(","cmd":["sh","-c","echo \"$GREETING\"; echo oops >&2; exit 7"],"timeout":10})")
                .out);
  CPPUNIT_ASSERT_EQUAL(7, r->getValue<int>("exitCode"));
  CPPUNIT_ASSERT_EQUAL(std::string("hi there\n"), base64Decode(str(r, "stdout")));
  CPPUNIT_ASSERT_EQUAL(std::string("oops\n"), base64Decode(str(r, "stderr")));

  // Larger output spans many frames.
  r = parse(call(RuntimeCall::kExecSync,
                 R"({"containerId":")" + id + R"(","cmd":["sh","-c","seq 1 20000"],"timeout":10})")
                .out);
  const std::string seq = base64Decode(str(r, "stdout"));
  CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("exitCode"));
  CPPUNIT_ASSERT(seq.size() > 12 && seq.rfind("19999\n20000\n") == seq.size() - 12);

  CallResult slow = runtime_->call(RuntimeCall::kExecSync,
                                   R"({"containerId":")" + id + R"(","cmd":["sleep","30"],"timeout":1})");
  CPPUNIT_ASSERT_EQUAL_MESSAGE(slow.describe(), PW_DEADLINE_EXCEEDED, slow.status);

  call(RuntimeCall::kStopContainer, R"({"containerId":")" + id + R"(","timeout":0})");
  CallResult stopped =
      runtime_->call(RuntimeCall::kExecSync, R"({"containerId":")" + id + R"(","cmd":["true"],"timeout":5})");
  CPPUNIT_ASSERT_EQUAL_MESSAGE(stopped.describe(), PW_FAILED_PRECONDITION, stopped.status);

  CallResult gone = runtime_->call(
      RuntimeCall::kExecSync, R"({"containerId":"nonexistent-)" + uid + R"(","cmd":["true"],"timeout":5})");
  CPPUNIT_ASSERT_EQUAL_MESSAGE(gone.describe(), PW_NOT_FOUND, gone.status);
}

// Both plugins declare PW_CAP_CONCURRENT, so the host does not serialize: calls from many threads at once
// must each succeed.
void CriRuntimeScenarios::testConcurrentCalls() {
  const std::string uid = randomHex(12);
  const std::string sandboxConfig = podConfig("conc-" + uid.substr(0, 6), uid, "NODE", "");
  const std::string sandboxId = runSandbox(sandboxConfig);
  std::vector<std::string> ids(6);
  std::vector<CallResult> results(ids.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] {
      const std::string request = R"({"podSandboxId":")" + sandboxId +
                                  R"(","config":{"metadata":{"name":"c)" + std::to_string(i) +
                                  R"("},"image":{"image":")" + kBusybox +
                                  R"("},"command":["sleep","600"]},"sandboxConfig":)" + sandboxConfig + "}";
      results[i] = runtime_->call(RuntimeCall::kCreateContainer, request, std::chrono::seconds(60));
      if (!results[i].ok()) return;
      ids[i] = parse(results[i].out)->getValue<std::string>("containerId");
      results[i] = runtime_->call(RuntimeCall::kStartContainer, R"({"containerId":")" + ids[i] + "\"}",
                                  std::chrono::seconds(60));
      if (!results[i].ok()) return;
      results[i] =
          runtime_->call(RuntimeCall::kListContainers, R"({"filter":{"podSandboxId":")" + sandboxId + "\"}}");
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
  ObjectPtr running =
      parse(call(RuntimeCall::kListContainers, R"({"filter":{"podSandboxId":")" + sandboxId +
                                                   R"(","state":{"state":"CONTAINER_RUNNING"}}})")
                .out);
  CPPUNIT_ASSERT_EQUAL(ids.size(), running->getArray("containers")->size());
}

void CriRuntimeScenarios::testImages() {
  ObjectPtr s =
      parse(call(RuntimeCall::kImageStatus, std::string(R"({"image":{"image":")") + kBusybox + "\"}}").out);
  ObjectPtr image = s->getObject("image");
  CPPUNIT_ASSERT(str(image, "id").rfind("sha256:", 0) == 0);
  bool tagged = false;
  for (size_t i = 0; i < image->getArray("repoTags")->size(); ++i) {
    tagged =
        tagged || image->getArray("repoTags")->getElement<std::string>(static_cast<unsigned>(i)) == kBusybox;
  }
  CPPUNIT_ASSERT(tagged);
  CPPUNIT_ASSERT(std::stoll(str(image, "size")) > 0);
  checkBusyboxImage(image);
  CPPUNIT_ASSERT_EQUAL(
      std::string("{}"),
      call(RuntimeCall::kImageStatus, R"({"image":{"image":"podwarden.local/nope:1"}})").out);

  // The test images are local only and there is no registry: a pull from a closed loopback port fails,
  // naming the reference (Docker streams its error inside a 200 reply; it must surface all the same).
  CallResult bad =
      runtime_->call(RuntimeCall::kPullImage, R"({"image":{"image":"127.0.0.1:1/podwarden/none:1"}})",
                     std::chrono::seconds(60));
  CPPUNIT_ASSERT_MESSAGE(bad.describe(), !bad.ok());
  CPPUNIT_ASSERT_MESSAGE(bad.err, bad.err.find("127.0.0.1:1") != std::string::npos);
}

std::string CriRuntimeScenarios::config() const {
  return "{\"endpoint\":\"" + rt_.endpoint + "\",\"sandboxImage\":\"" + kPause + "\"}";
}

CallResult CriRuntimeScenarios::call(RuntimeCall which, const std::string& request) {
  CallResult r = runtime_->call(which, request, std::chrono::seconds(60));
  CPPUNIT_ASSERT_MESSAGE(
      std::string(podwarden::plugin::runtimeCallName(which)) + " " + request + " -> " + r.describe(), r.ok());
  return r;
}

std::string CriRuntimeScenarios::logRoot(const std::string& uid) {
  return "/tmp/podwarden-test-logs/" + uid;
}

std::string CriRuntimeScenarios::podConfig(const std::string& pod, const std::string& uid,
                                           const std::string& network, const std::string& extra) {
  uids_.push_back(uid);
  return R"({"metadata":{"name":")" + pod + R"(","uid":")" + uid +
         R"(","namespace":"default","attempt":0},"hostname":")" + pod + R"(",)" + extra +
         R"("logDirectory":")" + logRoot(uid) +
         R"(",)"
         R"("dnsConfig":{"servers":["127.0.0.53"],"searches":["example.test"],"options":["ndots:2"]},)"
         R"("labels":{"io.kubernetes.pod.name":")" +
         pod + R"(","io.kubernetes.pod.uid":")" + uid +
         R"(","io.kubernetes.pod.namespace":"default"},)"
         R"("annotations":{"kubernetes.io/config.source":"file:///etc/kubernetes/manifests/web.yaml"},)"
         R"("linux":{"securityContext":{"namespaceOptions":{"network":")" +
         network + R"(","pid":"CONTAINER","ipc":"POD"}}}})";
}

std::string CriRuntimeScenarios::runSandbox(const std::string& sandboxConfig) {
  ObjectPtr r = parse(
      call(RuntimeCall::kRunPodSandbox, R"({"config":)" + sandboxConfig + R"(,"runtimeHandler":""})").out);
  const std::string id = str(r, "podSandboxId");
  CPPUNIT_ASSERT(!id.empty());
  sandboxes_.push_back(id);
  return id;
}

std::string CriRuntimeScenarios::createContainer(const std::string& sandboxId,
                                                 const std::string& sandboxConfig, const std::string& name,
                                                 const std::string& image, int attempt,
                                                 const std::string& extra) {
  const std::string request = R"({"podSandboxId":")" + sandboxId + R"(","config":{"metadata":{"name":")" +
                              name + R"(","attempt":)" + std::to_string(attempt) + "}," + extra +
                              R"("image":{"image":")" + image + R"("},"logPath":")" + name + "/" +
                              std::to_string(attempt) +
                              R"(.log",)"
                              R"("linux":{"securityContext":{"namespaceOptions":{"pid":"CONTAINER"}}}},)"
                              R"("sandboxConfig":)" +
                              sandboxConfig + "}";
  ObjectPtr r = parse(call(RuntimeCall::kCreateContainer, request).out);
  const std::string id = str(r, "containerId");
  CPPUNIT_ASSERT(!id.empty());
  return id;
}

ObjectPtr CriRuntimeScenarios::containerStatus(const std::string& id) {
  return parse(call(RuntimeCall::kContainerStatus, R"({"containerId":")" + id + R"(","verbose":false})").out)
      ->getObject("status");
}

ObjectPtr CriRuntimeScenarios::sandboxStatus(const std::string& id) {
  return parse(call(RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":")" + id + "\"}").out)
      ->getObject("status");
}

}  // namespace podwarden::test
