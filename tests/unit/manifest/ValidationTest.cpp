// ValidationTest: every validation rule reports the field (and line:column where the YAML has one), and
// references to API objects are refused.
#include <cppunit/extensions/HelperMacros.h>

#include "ManifestTestUtil.h"

using namespace podwarden::manifest;
using namespace podwarden::manifest::testing;

namespace {

// Lines 1-8; tests append spec fields (line 9 on) or container fields (indented 4, line 9 on).
const std::string kHead =
    "apiVersion: v1\n"            // 1
    "kind: Pod\n"                 // 2
    "metadata:\n"                 // 3
    "  name: web\n"               // 4
    "spec:\n"                     // 5
    "  containers:\n"             // 6
    "  - name: app\n"             // 7
    "    image: busybox:1.36\n";  // 8

ParseResult parseHead(const std::string& tail) {
  return parseFile(kHead + tail, "/m/web.yaml");
}

}  // namespace

class ValidationTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ValidationTest);
  CPPUNIT_TEST(testGoodFixturesAreValid);
  CPPUNIT_TEST(testCollectsAllErrors);
  CPPUNIT_TEST(testMetadataName);
  CPPUNIT_TEST(testNameWithNodeSuffixTooLong);
  CPPUNIT_TEST(testNamespace);
  CPPUNIT_TEST(testLabelsAndAnnotations);
  CPPUNIT_TEST(testContainersRequired);
  CPPUNIT_TEST(testContainerNameAndImage);
  CPPUNIT_TEST(testDuplicateContainerNamesAcrossInit);
  CPPUNIT_TEST(testCommandArgsEnv);
  CPPUNIT_TEST(testPorts);
  CPPUNIT_TEST(testHostNetworkHostPort);
  CPPUNIT_TEST(testImagePullPolicy);
  CPPUNIT_TEST(testVolumeMounts);
  CPPUNIT_TEST(testResources);
  CPPUNIT_TEST(testProbes);
  CPPUNIT_TEST(testInitContainerRules);
  CPPUNIT_TEST(testPodFields);
  CPPUNIT_TEST(testVolumes);
  CPPUNIT_TEST(testSecretVolumeFixture);
  CPPUNIT_TEST(testRefusedVolumes);
  CPPUNIT_TEST(testRefusedEnvAndServiceAccount);
  CPPUNIT_TEST(testRefusedSpecLists);
  CPPUNIT_TEST(testDownwardApiAllowed);
  CPPUNIT_TEST(testJsonPositions);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testGoodFixturesAreValid() {
    for (const char* f : {"good/kube-apiserver.yaml", "good/kube-apiserver.json",
                          "good/kube-apiserver-reformatted.yaml", "good/pinned-uid.yaml", "good/web.yaml"}) {
      ParseResult r = parseFile(readFixture(f), std::string("/m/") + f);
      CPPUNIT_ASSERT_MESSAGE(std::string(f) + ": " + describe(r), r.errors.empty() && r.pod.has_value());
    }
  }

  void testCollectsAllErrors() {
    ParseResult r = parseFile(readFixture("bad/many-errors.yaml"), "/m/many-errors.yaml");
    expectInvalid(r);
    expectErrorAt(r, "metadata.name", "Invalid value: \"Many_Errors\"", 4, 3);
    expectErrorAt(r, "metadata.labels.tier", "must be a string, not a number; quote it (\"1\")", 6, 5);
    expectErrorAt(r, "spec.restartPolicy", "Unsupported value: \"Sometimes\"", 8, 3);
    expectErrorAt(r, "spec.containers[0].image", "Required value", 11, 5);
    expectErrorAt(r, "spec.containers[0].ports[0].containerPort", "must be between 1 and 65535", 13, 7);
    expectErrorAt(r, "spec.containers[0].volumeMounts[0].name", "Not found: \"missing\"", 15, 7);
    expectErrorAt(r, "spec.containers[0].resources.requests.memory", "Invalid value: \"1Gb\"", 20, 9);
    expectErrorAt(r, "spec.containers[0].resources.requests.cpu",
                  "must be less than or equal to cpu limit of 1", 19, 9);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(8), r.errors.size());
    CPPUNIT_ASSERT_EQUAL(std::string("/m/many-errors.yaml:11:5: spec.containers[0].image: Required value"),
                         expectError(r, "spec.containers[0].image", "Required").toString());
  }

  void testMetadataName() {
    ParseResult missing = parseFile(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: b}\nspec:\n"
        "  containers: [{name: app, image: busybox}]\n");
    expectErrorAt(missing, "metadata.name", "Required value", 3, 1);
    ParseResult noMeta =
        parseFile("apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: app, image: x}]\n");
    expectError(noMeta, "metadata", "Required value");
    ParseResult upper = parseFile(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web\nspec:\n"
        "  containers: [{name: app, image: busybox}]\n");
    expectErrorAt(upper, "metadata.name", "a lowercase RFC 1123 subdomain", 4, 3);
    ParseResult number = parseFile(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: 42\nspec:\n"
        "  containers: [{name: app, image: busybox}]\n");
    expectErrorAt(number, "metadata.name", "must be a string, not a number; quote it", 4, 3);
    // Dots are fine in a subdomain.
    expectValid(
        parseFile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web.v2\nspec:\n"
                  "  containers: [{name: app, image: busybox}]\n"));
  }

  void testNameWithNodeSuffixTooLong() {
    std::string name(240, 'a');
    std::string text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
                       "\nspec:\n  containers: [{name: app, image: busybox}]\n";
    expectValid(parseFile(text, "/m/long.yaml", "n1"));
    ParseResult r = parseFile(text, "/m/long.yaml", "a-rather-long-node-name.example.com");
    Problem p = expectErrorAt(r, "metadata.name", "with the node suffix", 4, 3);
    CPPUNIT_ASSERT_MESSAGE(
        p.message, p.message.find("is 276 characters; must be no more than 253") != std::string::npos);
  }

  void testNamespace() {
    ParseResult r = parseFile(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: Kube.System\nspec:\n"
        "  containers: [{name: app, image: busybox}]\n");
    expectErrorAt(r, "metadata.namespace", "a lowercase RFC 1123 label", 5, 3);
    ParseResult ok = parseFile(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: kube-system\nspec:\n"
        "  containers: [{name: app, image: busybox}]\n");
    expectValid(ok);
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), ok.pod->ns);
  }

  void testLabelsAndAnnotations() {
    std::string text =
        "apiVersion: v1\n"                   // 1
        "kind: Pod\n"                        // 2
        "metadata:\n"                        // 3
        "  name: web\n"                      // 4
        "  labels:\n"                        // 5
        "    app.kubernetes.io/name: web\n"  // 6 ok
        "    replicas: 3\n"                  // 7 number
        "    bad key: x\n"                   // 8 key
        "    long: " +
        std::string(64, 'v') +
        "\n"                                     // 9 value too long
        "    trailing: web-\n"                   // 10 value format
        "    -/x: y\n"                           // 11 prefix
        "  annotations:\n"                       // 12
        "    note: free text, anything goes!\n"  // 13 ok
        "    port: 8080\n"                       // 14 number
        "    enabled: true\n"                    // 15 bool
        "spec:\n"
        "  containers: [{name: app, image: busybox}]\n";
    ParseResult r = parseFile(text);
    expectErrorAt(r, "metadata.labels.replicas", "must be a string, not a number; quote it (\"3\")", 7, 5);
    expectErrorAt(r, "metadata.labels[bad key]", "name part must consist of alphanumeric characters", 8, 5);
    expectErrorAt(r, "metadata.labels.long", "must be no more than 63 characters", 9, 5);
    expectErrorAt(r, "metadata.labels.trailing", "a valid label must be an empty string", 10, 5);
    expectErrorAt(r, "metadata.labels[-/x]", "prefix part a lowercase RFC 1123 subdomain", 11, 5);
    expectErrorAt(r, "metadata.annotations.port", "must be a string, not a number; quote it (\"8080\")", 14,
                  5);
    expectErrorAt(r, "metadata.annotations.enabled", "must be a string, not a boolean; quote it (\"true\")",
                  15, 5);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(7), r.errors.size());
    ParseResult notMap = parseFile(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: [a]\nspec:\n"
        "  containers: [{name: app, image: busybox}]\n");
    expectErrorAt(notMap, "metadata.labels", "must be an object, not a list", 5, 3);
  }

  void testContainersRequired() {
    ParseResult none =
        parseFile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  hostNetwork: true\n");
    expectErrorAt(none, "spec.containers", "Required value", 5, 1);
    ParseResult empty =
        parseFile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: []\n");
    expectErrorAt(empty, "spec.containers", "Required value", 6, 3);
    ParseResult noSpec = parseFile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n");
    expectError(noSpec, "spec", "Required value");
    ParseResult scalar =
        parseFile("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: app\n");
    expectErrorAt(scalar, "spec.containers", "must be a list, not a string", 6, 3);
  }

  void testContainerNameAndImage() {
    ParseResult r = parseFile(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
        "  - name: App_1\n"          // 7
        "    image: \"\"\n"          // 8
        "  - image: busybox\n"       // 9: no name
        "  - name: c\n"              // 10: no image
        "  - name: d\n"              // 11
        "    image: ' busybox'\n");  // 12
    expectErrorAt(r, "spec.containers[0].name", "a lowercase RFC 1123 label", 7, 5);
    expectErrorAt(r, "spec.containers[0].image", "Required value", 8, 5);
    expectErrorAt(r, "spec.containers[1].name", "Required value", 9, 5);
    expectErrorAt(r, "spec.containers[2].image", "Required value", 10, 5);
    expectErrorAt(r, "spec.containers[3].image", "must not have leading or trailing whitespace", 12, 5);
    ParseResult number = parseHead("  - name: two\n    image: 2\n");
    expectErrorAt(number, "spec.containers[1].image", "must be a string, not a number", 10, 5);
  }

  void testDuplicateContainerNamesAcrossInit() {
    ParseResult r = parseHead(
        "  initContainers:\n"   // 9
        "  - name: app\n"       // 10
        "    image: busybox\n"  // 11
        "  - name: setup\n"     // 12
        "    image: busybox\n");
    expectErrorAt(r, "spec.containers[0].name", "Duplicate value: \"app\"", 7, 5);
    ParseResult twoApps = parseHead("  - name: app\n    image: busybox\n");
    expectErrorAt(twoApps, "spec.containers[1].name", "Duplicate value: \"app\"", 9, 5);
  }

  void testCommandArgsEnv() {
    ParseResult r = parseHead(
        "    command: sleep 10\n"  // 9
        "    args: [\"-c\", 3]\n"  // 10
        "    env:\n"               // 11
        "    - value: x\n"         // 12 no name
        "    - name: 1ST\n"        // 13 bad name
        "      value: a\n"         // 14
        "    - name: PORT\n"       // 15
        "      value: 8080\n"      // 16 number
        "    - name: BOTH\n"       // 17
        "      value: a\n"         // 18
        "      valueFrom:\n"       // 19
        "        fieldRef: {fieldPath: metadata.name}\n"
        "    - name: NONE\n"       // 21
        "      valueFrom: {}\n");  // 22
    expectErrorAt(r, "spec.containers[0].command", "must be a list, not a string", 9, 5);
    expectErrorAt(r, "spec.containers[0].args[1]", "must be a string, not a number; quote it (\"3\")", 10,
                  18);
    expectErrorAt(r, "spec.containers[0].env[0].name", "Required value", 12, 7);
    expectErrorAt(r, "spec.containers[0].env[1].name", "a valid environment variable name", 13, 7);
    expectErrorAt(r, "spec.containers[0].env[2].value", "must be a string, not a number; quote it (\"8080\")",
                  16, 7);
    expectErrorAt(r, "spec.containers[0].env[3].valueFrom", "may not be specified when `value` is not empty",
                  19, 7);
    expectErrorAt(r, "spec.containers[0].env[4].valueFrom", "must specify one of", 22, 7);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(7), r.errors.size());
  }

  void testPorts() {
    ParseResult r = parseHead(
        "    ports:\n"                         // 9
        "    - containerPort: 0\n"             // 10
        "    - containerPort: 8080\n"          // 11
        "      hostPort: 70000\n"              // 12
        "      protocol: HTTP\n"               // 13
        "      name: a-very-long-port-name\n"  // 14
        "    - containerPort: 8081\n"          // 15
        "      name: web\n"                    // 16
        "    - containerPort: 8082\n"          // 17
        "      name: web\n"                    // 18
        "    - name: metrics\n"                // 19 no containerPort
        "    - containerPort: 9000\n"          // 20
        "      hostPort: -1\n"                 // 21
        "      name: \"9000\"\n");             // 22
    expectErrorAt(r, "spec.containers[0].ports[0].containerPort",
                  "Invalid value: 0: must be between 1 and 65535", 10, 7);
    expectErrorAt(r, "spec.containers[0].ports[1].hostPort", "must be between 0 and 65535", 12, 7);
    expectErrorAt(r, "spec.containers[0].ports[1].protocol", "Unsupported value: \"HTTP\"", 13, 7);
    expectErrorAt(r, "spec.containers[0].ports[1].name", "must be no more than 15 characters", 14, 7);
    expectErrorAt(r, "spec.containers[0].ports[3].name", "Duplicate value: \"web\"", 18, 7);
    expectErrorAt(r, "spec.containers[0].ports[4].containerPort", "Required value", 19, 7);
    expectErrorAt(r, "spec.containers[0].ports[5].hostPort", "must be between 0 and 65535", 21, 7);
    expectErrorAt(r, "spec.containers[0].ports[5].name", "must contain at least one letter", 22, 7);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(8), r.errors.size());
    expectValid(
        parseHead("    ports:\n    - {containerPort: 53, protocol: UDP, name: dns}\n"
                  "    - {containerPort: 53, protocol: TCP, name: dns-tcp, hostPort: 5353}\n"));
  }

  void testHostNetworkHostPort() {
    ParseResult r =
        parseHead("    ports:\n    - containerPort: 8080\n      hostPort: 9090\n  hostNetwork: true\n");
    expectErrorAt(r, "spec.containers[0].ports[0].hostPort",
                  "must match `containerPort` when `hostNetwork` is true", 11, 7);
    expectValid(
        parseHead("    ports:\n    - containerPort: 8080\n      hostPort: 8080\n  hostNetwork: true\n"));
  }

  void testImagePullPolicy() {
    ParseResult r = parseHead("    imagePullPolicy: Sometimes\n");
    Problem p =
        expectErrorAt(r, "spec.containers[0].imagePullPolicy", "Unsupported value: \"Sometimes\"", 9, 5);
    CPPUNIT_ASSERT(p.message.find("\"Always\", \"IfNotPresent\", \"Never\"") != std::string::npos);
    expectValid(parseHead("    imagePullPolicy: Never\n"));
  }

  void testVolumeMounts() {
    ParseResult r = parseHead(
        "    volumeMounts:\n"       // 9
        "    - name: data\n"        // 10
        "      mountPath: /data\n"  // 11
        "    - name: nope\n"        // 12
        "      mountPath: /nope\n"  // 13
        "    - name: data\n"        // 14: no mountPath
        "    - name: data\n"        // 15
        "      mountPath: /data\n"  // 16 duplicate
        "      subPath: ../etc\n"   // 17
        "  volumes:\n"              // 18
        "  - name: data\n"
        "    emptyDir: {}\n");
    expectErrorAt(r, "spec.containers[0].volumeMounts[1].name", "Not found: \"nope\"", 12, 7);
    expectErrorAt(r, "spec.containers[0].volumeMounts[2].mountPath", "Required value", 14, 7);
    expectErrorAt(r, "spec.containers[0].volumeMounts[3].mountPath", "must be unique", 16, 7);
    expectErrorAt(r, "spec.containers[0].volumeMounts[3].subPath", "must not contain '..'", 17, 7);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(4), r.errors.size());
  }

  void testResources() {
    ParseResult r = parseHead(
        "    resources:\n"                 // 9
        "      requests:\n"                // 10
        "        cpu: 250x\n"              // 11
        "        memory: 2Gi\n"            // 12
        "        ephemeral-storage: -1\n"  // 13
        "      limits:\n"                  // 14
        "        memory: 1Gi\n"            // 15
        "        cpu: [1]\n");             // 16
    expectErrorAt(r, "spec.containers[0].resources.requests.cpu",
                  "Invalid value: \"250x\": must be a quantity", 11, 9);
    expectErrorAt(r, "spec.containers[0].resources.requests.memory",
                  "Invalid value: \"2Gi\": must be less than or equal to memory limit of 1Gi", 12, 9);
    expectErrorAt(r, "spec.containers[0].resources.requests.ephemeral-storage",
                  "must be greater than or equal to 0", 13, 9);
    expectErrorAt(r, "spec.containers[0].resources.limits.cpu",
                  "must be a quantity (e.g. 250m, 0.5, 128Mi), not a list", 16, 9);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(4), r.errors.size());
    // Every quantity form of the brief, and equal requests/limits in different units.
    expectValid(
        parseHead("    resources:\n"
                  "      requests: {cpu: 250m, memory: 128Mi}\n"
                  "      limits: {cpu: 0.5, memory: 1G}\n"
                  "  - name: b\n    image: busybox\n"
                  "    resources:\n"
                  "      requests: {cpu: \"1\", memory: 1e3}\n"
                  "      limits: {cpu: 1000m, memory: 1k}\n"
                  "  - name: c\n    image: busybox\n"
                  "    resources:\n"
                  "      requests: {cpu: 0.1}\n"
                  "      limits: {cpu: 100m}\n"));
    ParseResult millibytes = parseHead("    resources:\n      limits: {memory: 128m}\n");
    expectValid(millibytes);
    CPPUNIT_ASSERT_MESSAGE(describe(millibytes), !millibytes.warnings.empty());
  }

  void testProbes() {
    ParseResult r = parseHead(
        "    ports: [{containerPort: 8080, name: http}]\n"  // 9
        "    livenessProbe:\n"                              // 10 no handler
        "      periodSeconds: -5\n"                         // 11
        "    readinessProbe:\n"                             // 12
        "      exec: {command: [/bin/true]}\n"              // 13
        "      tcpSocket: {port: 8080}\n"                   // 14 two handlers
        "    startupProbe:\n"                               // 15
        "      httpGet:\n"                                  // 16
        "        port: 70000\n"                             // 17
        "        scheme: FTP\n"                             // 18
        "      successThreshold: 2\n"                       // 19
        "  - name: b\n"                                     // 20
        "    image: busybox\n"                              // 21
        "    livenessProbe:\n"                              // 22
        "      httpGet: {port: \"8080\"}\n"                 // 23
        "    readinessProbe:\n"                             // 24
        "      tcpSocket: {port: Http_1}\n"                 // 25
        "      timeoutSeconds: \"1\"\n");                   // 26
    expectErrorAt(r, "spec.containers[0].livenessProbe", "must specify a handler type", 10, 5);
    expectErrorAt(r, "spec.containers[0].livenessProbe.periodSeconds", "must be greater than or equal to 0",
                  11, 7);
    expectErrorAt(r, "spec.containers[0].readinessProbe.tcpSocket",
                  "may not specify more than 1 handler type", 14, 7);
    expectErrorAt(r, "spec.containers[0].startupProbe.httpGet.port", "must be between 1 and 65535", 17, 9);
    expectErrorAt(r, "spec.containers[0].startupProbe.httpGet.scheme", "Unsupported value: \"FTP\"", 18, 9);
    expectErrorAt(r, "spec.containers[0].startupProbe.successThreshold", "must be 1 for liveness and startup",
                  19, 7);
    expectErrorAt(r, "spec.containers[1].livenessProbe.httpGet.port", "must contain at least one letter", 23,
                  17);
    expectErrorAt(r, "spec.containers[1].readinessProbe.tcpSocket.port", "must contain only lowercase", 25,
                  19);
    expectErrorAt(r, "spec.containers[1].readinessProbe.timeoutSeconds", "must be an integer, not a string",
                  26, 7);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(9), r.errors.size());
    // A named port that the container declares is fine; one it does not declare is a warning.
    ParseResult named = parseHead(
        "    ports: [{containerPort: 8080, name: http}]\n"
        "    readinessProbe: {httpGet: {port: http}}\n"
        "    livenessProbe: {tcpSocket: {port: admin}}\n");
    expectValid(named);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(named), size_t(1), named.warnings.size());
    CPPUNIT_ASSERT_EQUAL(std::string("spec.containers[0].livenessProbe.tcpSocket.port"),
                         named.warnings[0].field);
  }

  void testInitContainerRules() {
    ParseResult r = parseHead(
        "  initContainers:\n"                                  // 9
        "  - name: Init\n"                                     // 10
        "    image: busybox\n"                                 // 11
        "    imagePullPolicy: Maybe\n"                         // 12
        "    livenessProbe: {exec: {command: [/bin/true]}}\n"  // 13
        "  - name: sidecar\n"                                  // 14
        "    image: busybox\n"                                 // 15
        "    restartPolicy: Always\n"                          // 16
        "    readinessProbe: {exec: {command: [/bin/true]}}\n");
    expectErrorAt(r, "spec.initContainers[0].name", "a lowercase RFC 1123 label", 10, 5);
    expectErrorAt(r, "spec.initContainers[0].imagePullPolicy", "Unsupported value: \"Maybe\"", 12, 5);
    expectErrorAt(r, "spec.initContainers[0].livenessProbe", "may not be set for init containers", 13, 5);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(3), r.errors.size());
  }

  void testPodFields() {
    ParseResult r = parseHead(
        "  restartPolicy: always\n"              // 9
        "  terminationGracePeriodSeconds: -1\n"  // 10
        "  dnsPolicy: Cluster\n"                 // 11
        "  hostNetwork: yes please\n"            // 12
        "  nodeName: elsewhere\n");              // 13
    expectErrorAt(r, "spec.restartPolicy", "Unsupported value: \"always\"", 9, 3);
    expectErrorAt(r, "spec.terminationGracePeriodSeconds", "must be greater than or equal to 0", 10, 3);
    expectErrorAt(r, "spec.dnsPolicy", "Unsupported value: \"Cluster\"", 11, 3);
    expectErrorAt(r, "spec.hostNetwork", "must be a boolean", 12, 3);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(4), r.errors.size());
    bool warned = false;
    for (const auto& w : r.warnings) warned = warned || (w.field == "spec.nodeName" && w.line == 13);
    CPPUNIT_ASSERT_MESSAGE(describe(r), warned);
    expectValid(parseHead("  restartPolicy: OnFailure\n  terminationGracePeriodSeconds: 0\n"));
  }

  void testVolumes() {
    ParseResult r = parseHead(
        "  volumes:\n"                       // 9
        "  - name: a\n"                      // 10
        "    emptyDir: {}\n"                 // 11
        "  - name: a\n"                      // 12 duplicate
        "    emptyDir: {}\n"                 // 13
        "  - name: Bad_Name\n"               // 14
        "    emptyDir: {}\n"                 // 15
        "  - name: nothing\n"                // 16 no source
        "  - name: two\n"                    // 17
        "    emptyDir: {}\n"                 // 18
        "    hostPath: {path: /tmp}\n"       // 19 second source
        "  - name: nopath\n"                 // 20
        "    hostPath: {type: Directory}\n"  // 21
        "  - name: badtype\n"                // 22
        "    hostPath:\n"                    // 23
        "      path: /srv\n"                 // 24
        "      type: Folder\n"               // 25
        "  - emptyDir: {}\n");               // 26 no name
    expectErrorAt(r, "spec.volumes[1].name", "Duplicate value: \"a\"", 12, 5);
    expectErrorAt(r, "spec.volumes[2].name", "a lowercase RFC 1123 label", 14, 5);
    expectErrorAt(r, "spec.volumes[3]", "must specify a volume type", 16, 5);
    expectErrorAt(r, "spec.volumes[4].hostPath", "may not specify more than 1 volume type", 19, 5);
    expectErrorAt(r, "spec.volumes[5].hostPath.path", "Required value", 21, 5);
    expectErrorAt(r, "spec.volumes[6].hostPath.type", "Unsupported value: \"Folder\"", 25, 7);
    expectErrorAt(r, "spec.volumes[7].name", "Required value", 26, 5);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(7), r.errors.size());
    ParseResult ok = parseHead(
        "  volumes:\n"
        "  - {name: a, hostPath: {path: /a, type: \"\"}}\n"
        "  - {name: b, hostPath: {path: /b, type: Socket}}\n"
        "  - {name: c, hostPath: {path: /c, type: FileOrCreate}}\n"
        "  - {name: d, emptyDir: {medium: Memory, sizeLimit: 64Mi}}\n"
        "  - name: e\n    emptyDir:\n"
        "  - {name: f, hostPath: {path: /srv/..data/x..}}\n");
    expectValid(ok);
    // Kubernetes refuses backsteps in a hostPath (validatePathNoBacksteps), wherever they are.
    for (const char* path : {"../../etc", "/srv/../etc", "/srv/..", "..", "/a//../b"}) {
      ParseResult back =
          parseHead(std::string("  volumes:\n  - name: up\n    hostPath:\n      path: \"") + path + "\"\n");
      expectErrorAt(back, "spec.volumes[0].hostPath.path",
                    std::string("Invalid value: \"") + path + "\": must not contain '..'", 12, 7);
    }
  }

  void testSecretVolumeFixture() {
    ParseResult r = parseFile(readFixture("bad/secret-volume.yaml"), "/m/secret-volume.yaml");
    expectInvalid(r);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(1), r.errors.size());
    Problem p = expectErrorAt(r, "spec.volumes[1].secret", "static pods cannot reference API objects", 12, 5);
    CPPUNIT_ASSERT_EQUAL(
        std::string("/m/secret-volume.yaml:12:5: spec.volumes[1].secret: static pods cannot reference "
                    "API objects: secret volume \"creds\" (the kubelet refuses it and the API server "
                    "would reject its mirror pod)"),
        p.toString());
  }

  void testRefusedVolumes() {
    ParseResult r = parseHead(
        "  volumes:\n"                                         // 9
        "  - name: cm\n"                                       // 10
        "    configMap: {name: settings}\n"                    // 11
        "  - name: claim\n"                                    // 12
        "    persistentVolumeClaim: {claimName: data}\n"       // 13
        "  - name: token\n"                                    // 14
        "    projected: {sources: [{downwardAPI: {}}]}\n"      // 15
        "  - name: driver\n"                                   // 16
        "    csi:\n"                                           // 17
        "      driver: x.example.com\n"                        // 18
        "      nodePublishSecretRef: {name: s}\n"              // 19
        "  - name: scratch\n"                                  // 20
        "    ephemeral: {volumeClaimTemplate: {spec: {}}}\n"   // 21
        "  - name: ceph\n"                                     // 22
        "    cephfs: {monitors: [a], secretRef: {name: s}}\n"  // 23
        "  - name: plaincsi\n"                                 // 24
        "    csi: {driver: y.example.com}\n");                 // 25 allowed
    expectErrorAt(r, "spec.volumes[0].configMap", "configMap volume \"cm\"", 11, 5);
    expectErrorAt(r, "spec.volumes[1].persistentVolumeClaim", "persistentVolumeClaim volume \"claim\"", 13,
                  5);
    expectErrorAt(r, "spec.volumes[2].projected", "projected volume \"token\"", 15, 5);
    expectErrorAt(r, "spec.volumes[3].csi.nodePublishSecretRef", "csi volume \"driver\" with a secret", 19,
                  7);
    expectErrorAt(r, "spec.volumes[4].ephemeral", "ephemeral volume \"scratch\"", 21, 5);
    expectErrorAt(r, "spec.volumes[5].cephfs.secretRef", "cephfs volume \"ceph\" with a secret", 23, 29);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(6), r.errors.size());
    for (const auto& e : r.errors) {
      CPPUNIT_ASSERT_MESSAGE(e.toString(), e.message.find("static pods cannot reference API objects: ") == 0);
    }
  }

  void testRefusedEnvAndServiceAccount() {
    ParseResult r = parseFile(readFixture("bad/service-account.yaml"), "/m/service-account.yaml");
    expectErrorAt(r, "spec.serviceAccountName", "service account \"builder\"", 6, 3);
    expectErrorAt(r, "spec.containers[0].env[0].valueFrom.secretKeyRef", "secret for env \"TOKEN\"", 13, 9);
    expectErrorAt(r, "spec.containers[0].envFrom[0].configMapRef", "config map \"settings\" in envFrom", 17,
                  7);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(3), r.errors.size());
    ParseResult more = parseHead(
        "    env:\n"                                               // 9
        "    - name: A\n"                                          // 10
        "      valueFrom: {configMapKeyRef: {name: c, key: k}}\n"  // 11
        "    envFrom:\n"                                           // 12
        "    - secretRef: {name: s}\n"                             // 13
        "  serviceAccount: old-style\n");                          // 14
    expectErrorAt(more, "spec.containers[0].env[0].valueFrom.configMapKeyRef", "config map for env \"A\"", 11,
                  19);
    expectErrorAt(more, "spec.containers[0].envFrom[0].secretRef", "secret \"s\" in envFrom", 13, 7);
    expectErrorAt(more, "spec.serviceAccount", "service account \"old-style\"", 14, 3);
    // An empty service account name is no reference.
    expectValid(parseHead("  serviceAccountName: \"\"\n"));
  }

  void testRefusedSpecLists() {
    ParseResult r = parseHead(
        "  imagePullSecrets: [{name: regcred}]\n"                            // 9
        "  ephemeralContainers: [{name: debug, image: busybox}]\n"           // 10
        "  resourceClaims: [{name: gpu, resourceClaimName: gpu-claim}]\n");  // 11
    expectErrorAt(r, "spec.imagePullSecrets", "image pull secrets", 9, 3);
    expectErrorAt(r, "spec.ephemeralContainers", "ephemeral containers", 10, 3);
    expectErrorAt(r, "spec.resourceClaims", "resource claims", 11, 3);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), size_t(3), r.errors.size());
    expectValid(parseHead("  imagePullSecrets: []\n"));
  }

  void testDownwardApiAllowed() {
    expectValid(
        parseHead("    env:\n"
                  "    - name: POD_NAME\n"
                  "      valueFrom: {fieldRef: {fieldPath: metadata.name}}\n"
                  "    - name: CPU_LIMIT\n"
                  "      valueFrom: {resourceFieldRef: {resource: limits.cpu}}\n"
                  "  volumes:\n"
                  "  - name: info\n"
                  "    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}\n"));
  }

  // JSON is parsed as YAML flow style, so JSON manifests get positions too.
  void testJsonPositions() {
    ParseResult r = parseFile(
        "{\n"
        "  \"apiVersion\": \"v1\",\n"
        "  \"kind\": \"Pod\",\n"
        "  \"metadata\": {\"name\": \"web\"},\n"
        "  \"spec\": {\n"
        "    \"containers\": [{\"name\": \"app\", \"image\": \"busybox\"}],\n"
        "    \"volumes\": [{\"name\": \"s\", \"secret\": {\"secretName\": \"s\"}}]\n"
        "  }\n"
        "}\n");
    Problem p = expectError(r, "spec.volumes[0].secret", "secret volume \"s\"");
    CPPUNIT_ASSERT_EQUAL(7, p.line);
    CPPUNIT_ASSERT(p.column > 0);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ValidationTest);
