// The sandbox and container configs a static pod becomes, checked field by field.
#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "CriTestPods.h"
#include "cri/PodTranslator.h"
#include "runtime/CriJson.h"
#include "util/Hash.h"

using namespace podwarden::cri;
namespace json = podwarden::json;
namespace hash = podwarden::hash;

using test::containerOf;
using test::makePod;
using test::objectAt;

namespace {

// The configs as the runtime plugin receives them: the translation and the codec checked together.
json::ObjectPtr sandboxJson(const json::ObjectPtr& pod, uint32_t attempt, const TranslateOptions& opts) {
  return podwarden::runtime::crijson::encode(sandboxConfig(pod, attempt, opts));
}

json::ObjectPtr containerJson(const json::ObjectPtr& pod, const json::ObjectPtr& c, uint32_t restartCount,
                              const TranslateOptions& opts) {
  return podwarden::runtime::crijson::encode(containerConfig(pod, c, restartCount, opts));
}

}  // namespace

class PodTranslatorTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PodTranslatorTest);
  CPPUNIT_TEST(testHostNetworkSandbox);
  CPPUNIT_TEST(testPodNetworkSandboxWithHostPorts);
  CPPUNIT_TEST(testSandboxNamespacesPrivilegeAndSysctls);
  CPPUNIT_TEST(testHostnameTruncation);
  CPPUNIT_TEST(testDnsConfig);
  CPPUNIT_TEST(testContainerLabelsAnnotationsAndPaths);
  CPPUNIT_TEST(testContainerHash);
  CPPUNIT_TEST(testCommandAndArgsExpansion);
  CPPUNIT_TEST(testResources);
  CPPUNIT_TEST(testSecurityContext);
  CPPUNIT_TEST(testMounts);
  CPPUNIT_TEST(testMountErrors);
  CPPUNIT_TEST(testQosClasses);
  CPPUNIT_TEST(testTranslateErrorsNameTheField);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    opts_ = TranslateOptions();
    opts_.nodeName = "node1";
    opts_.hostIP = "10.0.0.5";
    opts_.podsDir = "/var/lib/podwarden/pods";
  }

  void testHostNetworkSandbox() {
    json::ObjectPtr pod = makePod(
        R"({"hostNetwork":true,"dnsPolicy":"ClusterFirst","containers":[{"name":"app","image":"busybox",)"
        R"("ports":[{"containerPort":80,"protocol":"TCP"}]}]})",
        R"("labels":{"app":"web","tier":"1"},"annotations":{"kubernetes.io/config.source":"file"})");
    json::ObjectPtr sb = sandboxJson(pod, 2, opts_);

    json::ObjectPtr md = json::getObject(sb, "metadata");
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1"), json::getString(md, "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), json::getString(md, "namespace"));
    CPPUNIT_ASSERT_EQUAL(std::string(kUid), json::getString(md, "uid"));
    CPPUNIT_ASSERT_EQUAL(int64_t{2}, json::getInt(md, "attempt"));
    CPPUNIT_ASSERT(sb->has("hostname"));
    CPPUNIT_ASSERT_EQUAL(std::string(), json::getString(sb, "hostname", "unset"));
    CPPUNIT_ASSERT_EQUAL(std::string("/var/log/pods/kube-system_web-node1_") + kUid,
                         json::getString(sb, "logDirectory"));
    CPPUNIT_ASSERT(!sb->has("dnsConfig"));
    CPPUNIT_ASSERT_EQUAL(size_t{0}, json::getArray(sb, "portMappings")->size());

    json::ObjectPtr ns = objectAt(sb, "linux.securityContext.namespaceOptions");
    CPPUNIT_ASSERT_EQUAL(std::string("NODE"), json::getString(ns, "network"));
    CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER"), json::getString(ns, "pid"));
    CPPUNIT_ASSERT_EQUAL(std::string("POD"), json::getString(ns, "ipc"));
    CPPUNIT_ASSERT_EQUAL(std::string(),
                         json::getString(json::getObject(sb, "linux"), "cgroupParent", "unset"));

    json::ObjectPtr labels = json::getObject(sb, "labels");
    CPPUNIT_ASSERT_EQUAL(std::string("web"), json::getString(labels, "app"));
    CPPUNIT_ASSERT_EQUAL(std::string("1"), json::getString(labels, "tier"));
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1"), json::getString(labels, kPodNameLabel));
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), json::getString(labels, kPodNamespaceLabel));
    CPPUNIT_ASSERT_EQUAL(std::string(kUid), json::getString(labels, kPodUidLabel));
    CPPUNIT_ASSERT_EQUAL(std::string("node1"), json::getString(labels, kNodeLabel));
    CPPUNIT_ASSERT_EQUAL(std::string("file"),
                         json::getString(json::getObject(sb, "annotations"), "kubernetes.io/config.source"));

    // A hostPort on a host-network pod still becomes a mapping (the runtime ignores it there).
    json::ObjectPtr published =
        makePod(R"({"hostNetwork":true,"containers":[{"name":"app","image":"busybox",)"
                R"("ports":[{"containerPort":8080,"hostPort":8080,"protocol":"TCP"}]}]})");
    CPPUNIT_ASSERT_EQUAL(size_t{1}, json::getArray(sandboxJson(published, 0, opts_), "portMappings")->size());
  }

  void testPodNetworkSandboxWithHostPorts() {
    json::ObjectPtr pod = makePod(
        R"({"containers":[)"
        R"({"name":"web","image":"nginx","ports":[{"containerPort":80,"hostPort":8080,"protocol":"TCP"},)"
        R"({"containerPort":9090,"protocol":"TCP"}]},)"
        R"({"name":"dns","image":"coredns","ports":[{"containerPort":53,"hostPort":5353,"protocol":"UDP",)"
        R"("hostIP":"127.0.0.1"}]}]})");
    json::ObjectPtr sb = sandboxJson(pod, 0, opts_);
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1"), json::getString(sb, "hostname"));
    CPPUNIT_ASSERT_EQUAL(std::string("POD"),
                         json::getString(objectAt(sb, "linux.securityContext.namespaceOptions"), "network"));
    json::ArrayPtr mappings = json::getArray(sb, "portMappings");
    CPPUNIT_ASSERT_EQUAL(size_t{2}, mappings->size());
    json::ObjectPtr first = mappings->getObject(0);
    CPPUNIT_ASSERT_EQUAL(std::string("TCP"), json::getString(first, "protocol"));
    CPPUNIT_ASSERT_EQUAL(int64_t{80}, json::getInt(first, "containerPort"));
    CPPUNIT_ASSERT_EQUAL(int64_t{8080}, json::getInt(first, "hostPort"));
    CPPUNIT_ASSERT_EQUAL(std::string(), json::getString(first, "hostIp", "unset"));
    json::ObjectPtr second = mappings->getObject(1);
    CPPUNIT_ASSERT_EQUAL(std::string("UDP"), json::getString(second, "protocol"));
    CPPUNIT_ASSERT_EQUAL(int64_t{53}, json::getInt(second, "containerPort"));
    CPPUNIT_ASSERT_EQUAL(int64_t{5353}, json::getInt(second, "hostPort"));
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), json::getString(second, "hostIp"));
  }

  void testSandboxNamespacesPrivilegeAndSysctls() {
    json::ObjectPtr pod = makePod(
        R"({"shareProcessNamespace":true,"hostIPC":true,)"
        R"("securityContext":{"runAsUser":1000,"fsGroup":2000,"supplementalGroups":[3000],)"
        R"("sysctls":[{"name":"net.ipv4.ip_unprivileged_port_start","value":"0"}]},)"
        R"("initContainers":[{"name":"setup","image":"busybox","securityContext":{"privileged":true}}],)"
        R"("containers":[{"name":"app","image":"busybox"}]})");
    json::ObjectPtr sb = sandboxJson(pod, 0, opts_);
    json::ObjectPtr sc = objectAt(sb, "linux.securityContext");
    json::ObjectPtr ns = json::getObject(sc, "namespaceOptions");
    CPPUNIT_ASSERT_EQUAL(std::string("POD"), json::getString(ns, "network"));
    CPPUNIT_ASSERT_EQUAL(std::string("POD"), json::getString(ns, "pid"));
    CPPUNIT_ASSERT_EQUAL(std::string("NODE"), json::getString(ns, "ipc"));
    CPPUNIT_ASSERT(json::getBool(sc, "privileged"));
    CPPUNIT_ASSERT_EQUAL(int64_t{1000}, json::getInt(json::getObject(sc, "runAsUser"), "value"));
    CPPUNIT_ASSERT_EQUAL(std::string("[2000,3000]"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(sc, "supplementalGroups"))));
    CPPUNIT_ASSERT_EQUAL(std::string("0"), json::getString(objectAt(sb, "linux.sysctls"),
                                                           "net.ipv4.ip_unprivileged_port_start"));

    json::ObjectPtr hostPid = makePod(
        R"({"hostPID":true,"shareProcessNamespace":true,"containers":[{"name":"app","image":"busybox"}]})");
    json::ObjectPtr hostSb = sandboxJson(hostPid, 0, opts_);
    CPPUNIT_ASSERT_EQUAL(std::string("NODE"),
                         json::getString(objectAt(hostSb, "linux.securityContext.namespaceOptions"), "pid"));
    CPPUNIT_ASSERT(!json::getBool(objectAt(hostSb, "linux.securityContext"), "privileged", true));
  }

  void testHostnameTruncation() {
    // 60 characters + "-node1" = 66: cut to 63 ("...-no"), nothing to trim.
    std::string longName(60, 'a');
    json::ObjectPtr pod = json::parseObject(R"({"metadata":{"name":")" + longName +
                                            R"(-node1","namespace":"default",)"
                                            R"("uid":"u1"},"spec":{"containers":[]}})");
    CPPUNIT_ASSERT_EQUAL(longName + "-no", json::getString(sandboxJson(pod, 0, opts_), "hostname"));
    // 62 characters + "-node1": the cut ends in "-", which is trimmed.
    std::string name62(62, 'b');
    pod = json::parseObject(R"({"metadata":{"name":")" + name62 +
                            R"(-node1","namespace":"default","uid":"u1"},)"
                            R"("spec":{"containers":[]}})");
    CPPUNIT_ASSERT_EQUAL(name62, json::getString(sandboxJson(pod, 0, opts_), "hostname"));
    // spec.hostname wins.
    pod = makePod(R"({"hostname":"db-0","containers":[]})");
    CPPUNIT_ASSERT_EQUAL(std::string("db-0"), json::getString(sandboxJson(pod, 0, opts_), "hostname"));
  }

  void testDnsConfig() {
    json::ObjectPtr none = makePod(
        R"({"dnsPolicy":"None","dnsConfig":{"nameservers":["1.1.1.1","9.9.9.9"],"searches":["corp.example"],)"
        R"("options":[{"name":"ndots","value":"2"},{"name":"edns0"}]},"containers":[]})");
    json::ObjectPtr dns = json::getObject(sandboxJson(none, 0, opts_), "dnsConfig");
    CPPUNIT_ASSERT(!dns.isNull());
    CPPUNIT_ASSERT_EQUAL(std::string(R"(["1.1.1.1","9.9.9.9"])"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(dns, "servers"))));
    CPPUNIT_ASSERT_EQUAL(std::string(R"(["corp.example"])"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(dns, "searches"))));
    CPPUNIT_ASSERT_EQUAL(std::string(R"(["edns0","ndots:2"])"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(dns, "options"))));

    // Default + dnsConfig: merged over the host's resolver configuration, pod options win by name.
    char path[] = "/tmp/podwarden-resolv-XXXXXX";
    int fd = mkstemp(path);
    CPPUNIT_ASSERT(fd >= 0);
    close(fd);
    {
      std::ofstream out(path);
      out << "# host\nnameserver 10.0.0.1\nnameserver 1.1.1.1\nsearch lan\noptions ndots:1 rotate\n";
    }
    TranslateOptions opts = opts_;
    opts.resolvConf = path;
    json::ObjectPtr merged =
        makePod(R"({"dnsPolicy":"Default","dnsConfig":{"nameservers":["1.1.1.1","8.8.8.8","8.8.4.4"],)"
                R"("searches":["corp.example"],"options":[{"name":"ndots","value":"5"}]},"containers":[]})");
    dns = json::getObject(sandboxJson(merged, 0, opts), "dnsConfig");
    std::remove(path);
    CPPUNIT_ASSERT_EQUAL(std::string(R"(["10.0.0.1","1.1.1.1","8.8.8.8"])"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(dns, "servers"))));
    CPPUNIT_ASSERT_EQUAL(std::string(R"(["lan","corp.example"])"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(dns, "searches"))));
    CPPUNIT_ASSERT_EQUAL(std::string(R"(["ndots:5","rotate"])"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(dns, "options"))));

    // No dnsConfig for Default / ClusterFirst without spec.dnsConfig: the runtime uses the host's file.
    json::ObjectPtr plain = makePod(R"({"dnsPolicy":"Default","containers":[]})");
    CPPUNIT_ASSERT(!sandboxJson(plain, 0, opts_)->has("dnsConfig"));
  }

  void testContainerLabelsAnnotationsAndPaths() {
    json::ObjectPtr pod = makePod(
        R"({"terminationGracePeriodSeconds":45,"containers":[{"name":"app","image":"nginx:1.25",)"
        R"("workingDir":"/srv","stdin":true,"tty":true,)"
        R"("terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"FallbackToLogsOnError",)"
        R"("ports":[{"name":"http","containerPort":80,"protocol":"TCP"}],)"
        R"("lifecycle":{"preStop":{"exec":{"command":["sleep","5"]}}}}]})",
        R"("labels":{"app":"web"})");
    json::ObjectPtr c = containerOf(pod);
    json::ObjectPtr cfg = containerJson(pod, c, 3, opts_);

    CPPUNIT_ASSERT_EQUAL(std::string("app"), json::getString(json::getObject(cfg, "metadata"), "name"));
    CPPUNIT_ASSERT_EQUAL(int64_t{3}, json::getInt(json::getObject(cfg, "metadata"), "attempt"));
    CPPUNIT_ASSERT_EQUAL(std::string("nginx:1.25"), json::getString(json::getObject(cfg, "image"), "image"));
    CPPUNIT_ASSERT_EQUAL(std::string("/srv"), json::getString(cfg, "workingDir"));
    CPPUNIT_ASSERT_EQUAL(std::string("app/3.log"), json::getString(cfg, "logPath"));
    CPPUNIT_ASSERT(json::getBool(cfg, "stdin"));
    CPPUNIT_ASSERT(!json::getBool(cfg, "stdinOnce", true));
    CPPUNIT_ASSERT(json::getBool(cfg, "tty"));
    CPPUNIT_ASSERT(!cfg->has("command"));

    json::ObjectPtr labels = json::getObject(cfg, "labels");
    CPPUNIT_ASSERT_EQUAL(size_t{5}, labels->size());  // pod labels stay on the sandbox
    CPPUNIT_ASSERT_EQUAL(std::string("app"), json::getString(labels, kContainerNameLabel));
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1"), json::getString(labels, kPodNameLabel));
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), json::getString(labels, kPodNamespaceLabel));
    CPPUNIT_ASSERT_EQUAL(std::string(kUid), json::getString(labels, kPodUidLabel));
    CPPUNIT_ASSERT_EQUAL(std::string("node1"), json::getString(labels, kNodeLabel));

    json::ObjectPtr ann = json::getObject(cfg, "annotations");
    CPPUNIT_ASSERT_EQUAL(containerHash(c), json::getString(ann, kContainerHashAnnotation));
    CPPUNIT_ASSERT_EQUAL(std::string("3"), json::getString(ann, kContainerRestartCountAnnotation));
    CPPUNIT_ASSERT_EQUAL(std::string("/dev/termination-log"),
                         json::getString(ann, kContainerTerminationMessagePathAnnotation));
    CPPUNIT_ASSERT_EQUAL(std::string("FallbackToLogsOnError"),
                         json::getString(ann, kContainerTerminationMessagePolicyAnnotation));
    CPPUNIT_ASSERT_EQUAL(std::string("45"), json::getString(ann, kPodTerminationGracePeriodAnnotation));
    json::ArrayPtr ports =
        json::parse(json::getString(ann, kContainerPortsAnnotation)).extract<json::ArrayPtr>();
    CPPUNIT_ASSERT_EQUAL(int64_t{80}, json::getInt(ports->getObject(0), "containerPort"));
    CPPUNIT_ASSERT_EQUAL(std::string("http"), json::getString(ports->getObject(0), "name"));
    json::ObjectPtr preStop = json::parseObject(json::getString(ann, kContainerPreStopHandlerAnnotation));
    CPPUNIT_ASSERT(json::has(preStop, "exec"));

    // No ports: no ports annotation.
    json::ObjectPtr bare = makePod(R"({"containers":[{"name":"app","image":"busybox"}]})");
    json::ObjectPtr bareAnn =
        json::getObject(containerJson(bare, containerOf(bare), 0, opts_), "annotations");
    CPPUNIT_ASSERT(!bareAnn->has(kContainerPortsAnnotation));
    CPPUNIT_ASSERT(!bareAnn->has(kPodTerminationGracePeriodAnnotation));
  }

  void testContainerHash() {
    const std::string text =
        R"({"name":"app","image":"busybox","args":["--port","80"],"env":[{"name":"A","value":"1"}]})";
    std::string h1 = containerHash(json::parseObject(text));
    std::string h2 = containerHash(json::parseObject(text));
    CPPUNIT_ASSERT_EQUAL(h1, h2);
    CPPUNIT_ASSERT_EQUAL(hash::fnv32aHex(json::stringify(json::parseObject(text))), h1);
    // Key order in the source does not matter: the canonical form sorts keys.
    std::string reordered =
        R"({"env":[{"value":"1","name":"A"}],"args":["--port","80"],"image":"busybox","name":"app"})";
    CPPUNIT_ASSERT_EQUAL(h1, containerHash(json::parseObject(reordered)));
    std::string changed =
        R"({"name":"app","image":"busybox","args":["--port","81"],"env":[{"name":"A","value":"1"}]})";
    CPPUNIT_ASSERT(h1 != containerHash(json::parseObject(changed)));
    CPPUNIT_ASSERT(!h1.empty() && h1.size() <= 8);
  }

  void testCommandAndArgsExpansion() {
    json::ObjectPtr pod = makePod(
        R"J({"containers":[{"name":"app","image":"busybox","command":["/bin/$(BIN)","$$(BIN)"],)J"
        R"J("args":["--name=$(POD)","--unknown=$(NOPE)","--cost=$$5","$(PORT)"],)J"
        R"("env":[{"name":"BIN","value":"sh"},{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},)"
        R"({"name":"PORT","value":"8080"}]}]})");
    json::ObjectPtr cfg = containerJson(pod, containerOf(pod), 0, opts_);
    CPPUNIT_ASSERT_EQUAL(std::string(R"J(["/bin/sh","$(BIN)"])J"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(cfg, "command"))));
    CPPUNIT_ASSERT_EQUAL(std::string(R"J(["--name=web-node1","--unknown=$(NOPE)","--cost=$5","8080"])J"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(cfg, "args"))));
    json::ArrayPtr envs = json::getArray(cfg, "envs");
    CPPUNIT_ASSERT_EQUAL(size_t{3}, envs->size());
    CPPUNIT_ASSERT_EQUAL(std::string("POD"), json::getString(envs->getObject(1), "key"));
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1"), json::getString(envs->getObject(1), "value"));
  }

  void testResources() {
    json::ObjectPtr pod = makePod(
        R"({"containers":[)"
        R"({"name":"a","image":"x","resources":{"requests":{"cpu":"250m","memory":"64Mi"},)"
        R"("limits":{"cpu":"500m","memory":"128Mi"}}},)"
        R"({"name":"b","image":"x"},)"
        R"({"name":"c","image":"x","resources":{"limits":{"cpu":2,"memory":"1G"}}},)"
        R"({"name":"d","image":"x","resources":{"requests":{"cpu":"1m"},"limits":{"cpu":"5m"}}},)"
        R"({"name":"e","image":"x","resources":{"requests":{"cpu":"0.5"},"limits":{"memory":"1.5Gi"}}}]})");
    auto resources = [&](size_t i) {
      return objectAt(containerJson(pod, containerOf(pod, i), 0, opts_), "linux.resources");
    };

    json::ObjectPtr a = resources(0);
    CPPUNIT_ASSERT_EQUAL(int64_t{256}, json::getInt(a, "cpuShares"));
    CPPUNIT_ASSERT_EQUAL(int64_t{100000}, json::getInt(a, "cpuPeriod"));
    CPPUNIT_ASSERT_EQUAL(int64_t{50000}, json::getInt(a, "cpuQuota"));
    CPPUNIT_ASSERT_EQUAL(int64_t{134217728}, json::getInt(a, "memoryLimitInBytes"));
    CPPUNIT_ASSERT_EQUAL(kCriticalOomScoreAdj, json::getInt(a, "oomScoreAdj"));

    json::ObjectPtr b = resources(1);  // nothing: minimum shares, no quota, no memory limit
    CPPUNIT_ASSERT_EQUAL(int64_t{2}, json::getInt(b, "cpuShares"));
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, json::getInt(b, "cpuQuota", -1));
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, json::getInt(b, "memoryLimitInBytes", -1));

    json::ObjectPtr c = resources(2);  // limits only: shares from the limit
    CPPUNIT_ASSERT_EQUAL(int64_t{2048}, json::getInt(c, "cpuShares"));
    CPPUNIT_ASSERT_EQUAL(int64_t{200000}, json::getInt(c, "cpuQuota"));
    CPPUNIT_ASSERT_EQUAL(int64_t{1000000000}, json::getInt(c, "memoryLimitInBytes"));

    json::ObjectPtr d = resources(3);  // tiny: shares floor 2, quota floor 1000
    CPPUNIT_ASSERT_EQUAL(int64_t{2}, json::getInt(d, "cpuShares"));
    CPPUNIT_ASSERT_EQUAL(int64_t{1000}, json::getInt(d, "cpuQuota"));

    json::ObjectPtr e = resources(4);
    CPPUNIT_ASSERT_EQUAL(int64_t{512}, json::getInt(e, "cpuShares"));
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, json::getInt(e, "cpuQuota", -1));
    CPPUNIT_ASSERT_EQUAL(int64_t{1610612736}, json::getInt(e, "memoryLimitInBytes"));
  }

  void testSecurityContext() {
    json::ObjectPtr pod = makePod(
        R"({"hostNetwork":true,"securityContext":{"runAsUser":1000,"runAsGroup":3000,"fsGroup":2000},)"
        R"("containers":[{"name":"app","image":"x","securityContext":{"runAsUser":2000,"privileged":false,)"
        R"("readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,)"
        R"("capabilities":{"add":["NET_ADMIN","CAP_SYS_TIME"],"drop":["ALL"]}}},)"
        R"({"name":"root","image":"x","securityContext":{"privileged":true}}]})");
    json::ObjectPtr sc = objectAt(containerJson(pod, containerOf(pod, 0), 0, opts_), "linux.securityContext");
    CPPUNIT_ASSERT_EQUAL(int64_t{2000}, json::getInt(json::getObject(sc, "runAsUser"), "value"));
    CPPUNIT_ASSERT_EQUAL(int64_t{3000}, json::getInt(json::getObject(sc, "runAsGroup"), "value"));
    CPPUNIT_ASSERT(!json::getBool(sc, "privileged", true));
    CPPUNIT_ASSERT(json::getBool(sc, "readonlyRootfs"));
    CPPUNIT_ASSERT(json::getBool(sc, "noNewPrivs"));
    CPPUNIT_ASSERT_EQUAL(std::string(R"(["NET_ADMIN","CAP_SYS_TIME"])"),
                         json::stringify(Poco::Dynamic::Var(
                             json::getArray(json::getObject(sc, "capabilities"), "addCapabilities"))));
    CPPUNIT_ASSERT_EQUAL(std::string(R"(["ALL"])"),
                         json::stringify(Poco::Dynamic::Var(
                             json::getArray(json::getObject(sc, "capabilities"), "dropCapabilities"))));
    CPPUNIT_ASSERT_EQUAL(std::string("[2000]"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(sc, "supplementalGroups"))));
    CPPUNIT_ASSERT_EQUAL(std::string("NODE"),
                         json::getString(json::getObject(sc, "namespaceOptions"), "network"));

    json::ObjectPtr rootSc =
        objectAt(containerJson(pod, containerOf(pod, 1), 0, opts_), "linux.securityContext");
    CPPUNIT_ASSERT(json::getBool(rootSc, "privileged"));
    CPPUNIT_ASSERT_EQUAL(int64_t{1000}, json::getInt(json::getObject(rootSc, "runAsUser"), "value"));
    CPPUNIT_ASSERT(!rootSc->has("noNewPrivs"));
    CPPUNIT_ASSERT(!rootSc->has("capabilities"));
  }

  void testMounts() {
    json::ObjectPtr pod = makePod(
        R"({"volumes":[{"name":"certs","hostPath":{"path":"/etc/kubernetes/pki","type":"DirectoryOrCreate"}},)"
        R"({"name":"scratch","emptyDir":{}}],)"
        R"("containers":[{"name":"app","image":"x","securityContext":{"privileged":true},)"
        R"("env":[{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],"volumeMounts":[)"
        R"({"name":"certs","mountPath":"/pki","readOnly":true},)"
        R"({"name":"certs","mountPath":"/ca.crt","subPath":"ca.crt","mountPropagation":"HostToContainer"},)"
        R"({"name":"scratch","mountPath":"/tmp"},)"
        R"J({"name":"scratch","mountPath":"/data","subPathExpr":"data/$(POD)","mountPropagation":"Bidirectional"}]}]})J");
    json::ArrayPtr mounts = json::getArray(containerJson(pod, containerOf(pod), 0, opts_), "mounts");
    CPPUNIT_ASSERT_EQUAL(size_t{4}, mounts->size());

    json::ObjectPtr m0 = mounts->getObject(0);
    CPPUNIT_ASSERT_EQUAL(std::string("/pki"), json::getString(m0, "containerPath"));
    CPPUNIT_ASSERT_EQUAL(std::string("/etc/kubernetes/pki"), json::getString(m0, "hostPath"));
    CPPUNIT_ASSERT(json::getBool(m0, "readonly"));
    CPPUNIT_ASSERT_EQUAL(std::string("PROPAGATION_PRIVATE"), json::getString(m0, "propagation"));

    json::ObjectPtr m1 = mounts->getObject(1);
    CPPUNIT_ASSERT_EQUAL(std::string("/etc/kubernetes/pki/ca.crt"), json::getString(m1, "hostPath"));
    CPPUNIT_ASSERT(!json::getBool(m1, "readonly", true));
    CPPUNIT_ASSERT_EQUAL(std::string("PROPAGATION_HOST_TO_CONTAINER"), json::getString(m1, "propagation"));

    const std::string emptyDir =
        std::string("/var/lib/podwarden/pods/") + kUid + "/volumes/kubernetes.io~empty-dir/scratch";
    CPPUNIT_ASSERT_EQUAL(emptyDir, emptyDirPath(kUid, "scratch", opts_));
    CPPUNIT_ASSERT_EQUAL(emptyDir, json::getString(mounts->getObject(2), "hostPath"));
    CPPUNIT_ASSERT_EQUAL(emptyDir + "/data/web-node1", json::getString(mounts->getObject(3), "hostPath"));
    CPPUNIT_ASSERT_EQUAL(std::string("PROPAGATION_BIDIRECTIONAL"),
                         json::getString(mounts->getObject(3), "propagation"));
  }

  void testMountErrors() {
    auto errorFor = [&](const std::string& volumes, const std::string& mount, const std::string& extra = "") {
      json::ObjectPtr pod =
          makePod(R"({"volumes":)" + volumes + R"(,"containers":[{"name":"app","image":"x",)" + extra +
                  R"("volumeMounts":[)" + mount + "]}]}");
      try {
        containerJson(pod, containerOf(pod), 0, opts_);
      } catch (const TranslateError& e) {
        return std::string(e.what());
      }
      return std::string("no error");
    };
    const std::string hostVol = R"([{"name":"v","hostPath":{"path":"/srv"}}])";
    CPPUNIT_ASSERT_EQUAL(
        std::string("spec.containers[0].volumeMounts[0].name: no volume named \"w\" in spec.volumes"),
        errorFor(hostVol, R"({"name":"w","mountPath":"/x"})"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("spec.containers[0].volumeMounts[0].subPath: \"../etc\" must not contain \"..\""),
        errorFor(hostVol, R"({"name":"v","mountPath":"/x","subPath":"../etc"})"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("spec.containers[0].volumeMounts[0].subPath: \"/etc\" must be a relative path"),
        errorFor(hostVol, R"({"name":"v","mountPath":"/x","subPath":"/etc"})"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("spec.containers[0].volumeMounts[0].subPathExpr: missing value for NOPE"),
        errorFor(hostVol, R"J({"name":"v","mountPath":"/x","subPathExpr":"$(NOPE)"})J"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("spec.containers[0].volumeMounts[0].mountPropagation: Bidirectional needs a privileged "
                    "container"),
        errorFor(hostVol, R"({"name":"v","mountPath":"/x","mountPropagation":"Bidirectional"})"));
    std::string configMap = errorFor(R"([{"name":"cfg","configMap":{"name":"settings"}}])",
                                     R"({"name":"cfg","mountPath":"/cfg"})");
    CPPUNIT_ASSERT_EQUAL(
        std::string("spec.volumes[0]: volume \"cfg\" of type configMap is not supported: static pods "
                    "may use hostPath and emptyDir volumes only"),
        configMap);
  }

  void testQosClasses() {
    auto qos = [](const std::string& containers, const std::string& init = "[]") {
      return qosClass(makePod(R"({"initContainers":)" + init + R"(,"containers":)" + containers + "}"));
    };
    CPPUNIT_ASSERT_EQUAL(std::string("BestEffort"), qos(R"([{"name":"a"},{"name":"b","resources":{}}])"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("BestEffort"),
        qos(R"([{"name":"a","resources":{"requests":{"cpu":"0"},"limits":{"nvidia.com/gpu":1}}}])"));
    CPPUNIT_ASSERT_EQUAL(std::string("Burstable"),
                         qos(R"([{"name":"a","resources":{"requests":{"cpu":"250m"}}}])"));
    CPPUNIT_ASSERT_EQUAL(std::string("Guaranteed"),
                         qos(R"([{"name":"a","resources":{"requests":{"cpu":"500m","memory":"128Mi"},)"
                             R"("limits":{"cpu":"0.5","memory":"134217728"}}}])"));
    // Limits only: requests default to them.
    CPPUNIT_ASSERT_EQUAL(std::string("Guaranteed"),
                         qos(R"([{"name":"a","resources":{"limits":{"cpu":"1","memory":"1Gi"}}}])"));
    CPPUNIT_ASSERT_EQUAL(std::string("Burstable"),
                         qos(R"([{"name":"a","resources":{"requests":{"cpu":"250m","memory":"1Gi"},)"
                             R"("limits":{"cpu":"500m","memory":"1Gi"}}}])"));
    // One container without a memory limit spoils Guaranteed for the pod.
    CPPUNIT_ASSERT_EQUAL(std::string("Burstable"),
                         qos(R"([{"name":"a","resources":{"limits":{"cpu":"1","memory":"1Gi"}}},)"
                             R"({"name":"b","resources":{"limits":{"cpu":"1"}}}])"));
    // Init containers count too.
    CPPUNIT_ASSERT_EQUAL(
        std::string("Burstable"),
        qos(R"([{"name":"a","resources":{"limits":{"cpu":"1","memory":"1Gi"}}}])", R"([{"name":"i"}])"));
    CPPUNIT_ASSERT_EQUAL(std::string("Burstable"),
                         qos("[]", R"([{"name":"i","resources":{"requests":{"memory":"1Mi"}}}])"));
  }

  void testTranslateErrorsNameTheField() {
    json::ObjectPtr pod = makePod(R"({"containers":[{"name":"ok","image":"x"},{"name":"noimage"},)"
                                  R"({"name":"cm","image":"x","env":[{"name":"A","value":"1"},)"
                                  R"({"name":"B","valueFrom":{"configMapKeyRef":{"name":"c","key":"k"}}}]},)"
                                  R"({"name":"badcpu","image":"x","resources":{"limits":{"cpu":"lots"}}}]})");
    try {
      containerJson(pod, containerOf(pod, 1), 0, opts_);
      CPPUNIT_FAIL("missing image accepted");
    } catch (const TranslateError& e) {
      CPPUNIT_ASSERT_EQUAL(std::string("spec.containers[1].image"), e.field());
    }
    try {
      containerJson(pod, containerOf(pod, 2), 0, opts_);
      CPPUNIT_FAIL("configMapKeyRef accepted");
    } catch (const TranslateError& e) {
      CPPUNIT_ASSERT_EQUAL(std::string("spec.containers[2].env[1].valueFrom"), e.field());
      CPPUNIT_ASSERT(std::string(e.what()).find("ConfigMaps or Secrets") != std::string::npos);
    }
    try {
      containerJson(pod, containerOf(pod, 3), 0, opts_);
      CPPUNIT_FAIL("bad quantity accepted");
    } catch (const TranslateError& e) {
      CPPUNIT_ASSERT_EQUAL(std::string("spec.containers[3].resources.limits.cpu"), e.field());
      CPPUNIT_ASSERT(std::string(e.what()).find("\"lots\"") != std::string::npos);
    }
    CPPUNIT_ASSERT_THROW(qosClass(pod), TranslateError);
  }

 private:
  static constexpr const char* kUid = "0123456789abcdef0123456789abcdef";
  TranslateOptions opts_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(PodTranslatorTest);
