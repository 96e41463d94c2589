// ManifestTest: bytes -> static pod identity (name, namespace, UID / config hash, annotations) and the
// document-level failures (syntax, several documents, empty, oversize).
#include <cppunit/extensions/HelperMacros.h>

#include <regex>

#include "ManifestTestUtil.h"
#include "util/Hash.h"
#include "util/Json.h"

using namespace podwarden;
using namespace podwarden::manifest;
using namespace podwarden::manifest::testing;

namespace {

const char* const kApiserverPath = "/etc/kubernetes/manifests/kube-apiserver.yaml";

StaticPod apiserver(const std::string& bytes, const std::string& path = kApiserverPath,
                    const std::string& node = "node1") {
  ParseResult r = parseFile(bytes, path, node);
  expectValid(r);
  return *r.pod;
}

std::string replaceOnce(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  CPPUNIT_ASSERT_MESSAGE("test text not found: " + from, at != std::string::npos);
  return s.replace(at, from.size(), to);
}

const char* const kSmall =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: small\n"
    "spec:\n"
    "  containers:\n"
    "  - name: app\n"
    "    image: busybox:1.36\n";

}  // namespace

class ManifestTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ManifestTest);
  CPPUNIT_TEST(testApiserverIdentity);
  CPPUNIT_TEST(testConfigHashIsMd5OfWrittenManifest);
  CPPUNIT_TEST(testYamlAndJsonGiveSameUid);
  CPPUNIT_TEST(testReformattingKeepsUid);
  CPPUNIT_TEST(testAddedFlagChangesUid);
  CPPUNIT_TEST(testNodeAndPathChangeUid);
  CPPUNIT_TEST(testHttpUidIgnoresNode);
  CPPUNIT_TEST(testPinnedUid);
  CPPUNIT_TEST(testWrittenDefaultsChangeUidButNotOurDefaults);
  CPPUNIT_TEST(testBrokenYamlHasPosition);
  CPPUNIT_TEST(testMultiDocument);
  CPPUNIT_TEST(testDocumentMarkersAlone);
  CPPUNIT_TEST(testEmptyFile);
  CPPUNIT_TEST(testOversize);
  CPPUNIT_TEST(testByteOrderMark);
  CPPUNIT_TEST(testTopLevelList);
  CPPUNIT_TEST(testDuplicateKey);
  CPPUNIT_TEST(testMergeKeys);
  CPPUNIT_TEST(testScalarTypes);
  CPPUNIT_TEST(testDeployment);
  CPPUNIT_TEST(testProblemToString);
  CPPUNIT_TEST(testUrlPodList);
  CPPUNIT_TEST(testUrlPodListOneBadItemRejectsAll);
  CPPUNIT_TEST(testUrlEmptyBody);
  CPPUNIT_TEST(testHostileInput);
  CPPUNIT_TEST(testLongRunsOfOneCharacter);
  CPPUNIT_TEST(testErrorsInDocumentOrder);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testApiserverIdentity() {
    StaticPod pod = apiserver(readFixture("good/kube-apiserver.yaml"));
    CPPUNIT_ASSERT_EQUAL(std::string("kube-apiserver"), pod.manifestName);
    CPPUNIT_ASSERT_EQUAL(std::string("kube-apiserver-node1"), pod.name);
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), pod.ns);
    CPPUNIT_ASSERT_EQUAL(std::string("kube-apiserver-node1_kube-system"), pod.fullName());
    CPPUNIT_ASSERT(std::regex_match(pod.uid, std::regex("[0-9a-f]{32}")));
    CPPUNIT_ASSERT_EQUAL(pod.uid, pod.configHash);
    CPPUNIT_ASSERT(!pod.uidPinned);
    CPPUNIT_ASSERT_EQUAL(std::string("file"), pod.ref.source);
    CPPUNIT_ASSERT_EQUAL(std::string(kApiserverPath), pod.ref.origin);

    json::ObjectPtr meta = json::getObject(pod.pod, "metadata");
    CPPUNIT_ASSERT_EQUAL(pod.name, json::getString(meta, "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), json::getString(meta, "namespace"));
    CPPUNIT_ASSERT_EQUAL(pod.uid, json::getString(meta, "uid"));
    json::ObjectPtr ann = json::getObject(meta, "annotations");
    CPPUNIT_ASSERT_EQUAL(pod.configHash, json::getString(ann, "kubernetes.io/config.hash"));
    CPPUNIT_ASSERT_EQUAL(std::string("file"), json::getString(ann, "kubernetes.io/config.source"));
    CPPUNIT_ASSERT_EQUAL(std::string("2023-11-14T22:13:20.123456789Z"),
                         json::getString(ann, "kubernetes.io/config.seen"));
    // Written annotations and labels survive.
    CPPUNIT_ASSERT_EQUAL(
        std::string("127.0.0.1:6443"),
        json::getString(ann, "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"));
    CPPUNIT_ASSERT_EQUAL(std::string("control-plane"),
                         json::getString(json::getObject(meta, "labels"), "tier"));

    json::ObjectPtr spec = json::getObject(pod.pod, "spec");
    CPPUNIT_ASSERT_EQUAL(std::string("node1"), json::getString(spec, "nodeName"));
    CPPUNIT_ASSERT(json::getBool(spec, "hostNetwork"));
    CPPUNIT_ASSERT_EQUAL(std::string("Pending"),
                         json::getString(json::getObject(pod.pod, "status"), "phase"));
    json::ObjectPtr c = json::getArray(spec, "containers")->getObject(0);
    CPPUNIT_ASSERT_EQUAL(std::string("IfNotPresent"), json::getString(c, "imagePullPolicy"));
    CPPUNIT_ASSERT_EQUAL(size_t(21), json::getArray(c, "command")->size());
    CPPUNIT_ASSERT_EQUAL(
        std::string("250m"),
        json::getString(json::getObject(json::getObject(c, "resources"), "requests"), "cpu"));
    json::ObjectPtr live = json::getObject(c, "livenessProbe");
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), json::getString(json::getObject(live, "httpGet"), "host"));
    CPPUNIT_ASSERT_EQUAL(int64_t(6443), json::getInt(json::getObject(live, "httpGet"), "port"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("DirectoryOrCreate"),
        json::getString(json::getObject(json::getArray(spec, "volumes")->getObject(1), "hostPath"), "type"));
  }

  // Pins the hash algorithm (the value was computed outside podwarden with Python's json + hashlib): a change
  // here would restart every static pod on upgrade, which is exactly the kubelet pitfall we avoid.
  void testConfigHashIsMd5OfWrittenManifest() {
    StaticPod pod = apiserver(readFixture("good/kube-apiserver.yaml"));
    CPPUNIT_ASSERT_EQUAL(std::string("7900ec2287ff505ab337697cafcbcdb3"), pod.uid);
    ParseResult http = parseManifest(readFixture("good/kube-apiserver.yaml"),
                                     SourceRef{"http", "http://127.0.0.1:8080/pods"}, options());
    expectValid(http);
    CPPUNIT_ASSERT_EQUAL(std::string("4024088711a1f0e4fb6abfdee82ad34f"), http.pod->uid);
  }

  void testYamlAndJsonGiveSameUid() {
    StaticPod yaml = apiserver(readFixture("good/kube-apiserver.yaml"));
    StaticPod json = apiserver(readFixture("good/kube-apiserver.json"));
    CPPUNIT_ASSERT_EQUAL(yaml.uid, json.uid);
    CPPUNIT_ASSERT_EQUAL(json::stringify(yaml.pod), json::stringify(json.pod));
  }

  void testReformattingKeepsUid() {
    StaticPod a = apiserver(readFixture("good/kube-apiserver.yaml"));
    StaticPod b = apiserver(readFixture("good/kube-apiserver-reformatted.yaml"));
    CPPUNIT_ASSERT_EQUAL(a.uid, b.uid);
    // Comments and trailing whitespace are not content either.
    StaticPod c = apiserver("# edited by hand\n" + readFixture("good/kube-apiserver.yaml") + "\n\n# end\n");
    CPPUNIT_ASSERT_EQUAL(a.uid, c.uid);
  }

  void testAddedFlagChangesUid() {
    std::string base = readFixture("good/kube-apiserver.yaml");
    std::string edited = replaceOnce(base, "    - --secure-port=6443\n",
                                     "    - --secure-port=6443\n    - --profiling=false\n");
    StaticPod a = apiserver(base);
    StaticPod b = apiserver(edited);
    CPPUNIT_ASSERT(a.uid != b.uid);
    // A changed value, too.
    StaticPod c = apiserver(replaceOnce(base, "cpu: 250m", "cpu: 300m"));
    CPPUNIT_ASSERT(a.uid != c.uid);
  }

  void testNodeAndPathChangeUid() {
    std::string bytes = readFixture("good/kube-apiserver.yaml");
    StaticPod a = apiserver(bytes);
    StaticPod otherNode = apiserver(bytes, kApiserverPath, "node2");
    StaticPod otherPath = apiserver(bytes, "/etc/kubernetes/manifests/apiserver-copy.yaml");
    CPPUNIT_ASSERT(a.uid != otherNode.uid);
    CPPUNIT_ASSERT(a.uid != otherPath.uid);
    CPPUNIT_ASSERT(otherNode.uid != otherPath.uid);
    CPPUNIT_ASSERT_EQUAL(std::string("kube-apiserver-node2"), otherNode.name);
  }

  void testHttpUidIgnoresNode() {
    std::string bytes = readFixture("good/kube-apiserver.yaml");
    SourceRef ref{"http", "http://127.0.0.1:8080/pods"};
    ParseResult a = parseManifest(bytes, ref, options("node1"));
    ParseResult b = parseManifest(bytes, ref, options("node2"));
    expectValid(a);
    expectValid(b);
    // kubelet >= 1.21: URL pods hash content + url only, so every node agrees on the UID.
    CPPUNIT_ASSERT_EQUAL(a.pod->uid, b.pod->uid);
    CPPUNIT_ASSERT(a.pod->name != b.pod->name);
    CPPUNIT_ASSERT_EQUAL(
        std::string("http"),
        json::getString(json::getObject(json::getObject(a.pod->pod, "metadata"), "annotations"),
                        "kubernetes.io/config.source"));
    ParseResult otherUrl =
        parseManifest(bytes, SourceRef{"http", "http://127.0.0.1:8080/other"}, options("node1"));
    expectValid(otherUrl);
    CPPUNIT_ASSERT(a.pod->uid != otherUrl.pod->uid);
    // A file pod of the same content is a different pod.
    CPPUNIT_ASSERT(a.pod->uid != apiserver(bytes).uid);
  }

  void testPinnedUid() {
    std::string bytes = readFixture("good/pinned-uid.yaml");
    ParseResult r = parseFile(bytes);
    expectValid(r);
    CPPUNIT_ASSERT(r.pod->uidPinned);
    CPPUNIT_ASSERT_EQUAL(std::string("6c1b2f5e-0d1a-4f7e-9a53-2b9d6f0e1a77"), r.pod->uid);
    CPPUNIT_ASSERT_EQUAL(r.pod->uid, json::getString(json::getObject(r.pod->pod, "metadata"), "uid"));
    CPPUNIT_ASSERT(std::regex_match(r.pod->configHash, std::regex("[0-9a-f]{32}")));
    CPPUNIT_ASSERT_EQUAL(
        r.pod->configHash,
        json::getString(json::getObject(json::getObject(r.pod->pod, "metadata"), "annotations"),
                        "kubernetes.io/config.hash"));
    // The hash leaves the pinned uid out: the same content without a uid has the same hash...
    ParseResult unpinned = parseFile(replaceOnce(bytes, "  uid: 6c1b2f5e-0d1a-4f7e-9a53-2b9d6f0e1a77\n", ""));
    expectValid(unpinned);
    CPPUNIT_ASSERT_EQUAL(r.pod->configHash, unpinned.pod->configHash);
    CPPUNIT_ASSERT(!unpinned.pod->uidPinned);
    // ...and an edit under a pinned uid keeps the uid but changes the hash, so it can be noticed.
    ParseResult edited = parseFile(replaceOnce(bytes, "\"3600\"", "\"7200\""));
    expectValid(edited);
    CPPUNIT_ASSERT_EQUAL(r.pod->uid, edited.pod->uid);
    CPPUNIT_ASSERT(r.pod->configHash != edited.pod->configHash);
  }

  // The hash covers what is written, not what podwarden defaults; writing a default out is a content change.
  void testWrittenDefaultsChangeUidButNotOurDefaults() {
    ParseResult plain = parseFile(kSmall);
    ParseResult explicitDefault = parseFile(std::string(kSmall) + "  restartPolicy: Always\n");
    expectValid(plain);
    expectValid(explicitDefault);
    CPPUNIT_ASSERT(plain.pod->uid != explicitDefault.pod->uid);
    // Same defaulted result either way.
    json::ObjectPtr a = json::getObject(plain.pod->pod, "spec");
    json::ObjectPtr b = json::getObject(explicitDefault.pod->pod, "spec");
    CPPUNIT_ASSERT_EQUAL(json::getString(a, "restartPolicy"), json::getString(b, "restartPolicy"));
    // The hash equals md5(canonical written JSON + host + file) computed from the written object.
    json::ObjectPtr written = json::parseObject(
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"small\"},"
        "\"spec\":{\"containers\":[{\"image\":\"busybox:1.36\",\"name\":\"app\"}]}}");
    std::string expected =
        hash::md5Hex(json::stringify(written) + "host:node1" + "file:/etc/kubernetes/manifests/pod.yaml");
    CPPUNIT_ASSERT_EQUAL(expected, plain.pod->uid);
  }

  void testBrokenYamlHasPosition() {
    ParseResult r = parseFile(readFixture("bad/broken-syntax.yaml"), "/m/broken-syntax.yaml");
    expectInvalid(r);
    CPPUNIT_ASSERT_EQUAL(size_t(1), r.errors.size());
    const Problem& p = r.errors[0];
    CPPUNIT_ASSERT_MESSAGE(p.toString(), p.message.find("YAML syntax error") == 0);
    CPPUNIT_ASSERT_MESSAGE(p.toString(), p.line >= 9 && p.line <= 10);
    CPPUNIT_ASSERT_MESSAGE(p.toString(), p.column > 0);
    CPPUNIT_ASSERT_EQUAL(std::string("/m/broken-syntax.yaml"), p.origin);
    // A tab used for indentation, another syntax error, with its line.
    ParseResult tab = parseFile("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n");
    expectInvalid(tab);
    CPPUNIT_ASSERT_MESSAGE(tab.errors[0].toString(), tab.errors[0].line >= 3);
  }

  void testMultiDocument() {
    ParseResult r = parseFile(readFixture("bad/multi-document.yaml"));
    expectInvalid(r);
    CPPUNIT_ASSERT_EQUAL(size_t(1), r.errors.size());
    CPPUNIT_ASSERT_EQUAL(
        std::string("file holds 2 YAML documents; a static pod manifest holds exactly one Pod"),
        r.errors[0].message);
    CPPUNIT_ASSERT_EQUAL(10, r.errors[0].line);  // where the second document starts
  }

  void testDocumentMarkersAlone() {
    expectValid(parseFile(std::string("---\n") + kSmall));
    expectValid(parseFile(std::string(kSmall) + "---\n"));
    expectValid(parseFile(std::string("---\n") + kSmall + "...\n"));
    CPPUNIT_ASSERT_EQUAL(parseFile(kSmall).pod->uid,
                         parseFile(std::string("---\n") + kSmall + "---\n").pod->uid);
  }

  void testEmptyFile() {
    ParseResult r = parseFile(readFixture("bad/empty.yaml"));
    expectInvalid(r);
    CPPUNIT_ASSERT(r.errors[0].message.find("file is empty") == 0);
    ParseResult blanks = parseFile(" \n\n\t\n");
    expectInvalid(blanks);
    CPPUNIT_ASSERT(blanks.errors[0].message.find("file is empty") == 0);
    ParseResult comments = parseFile("# nothing here yet\n---\n");
    expectInvalid(comments);
    CPPUNIT_ASSERT_MESSAGE(comments.errors[0].toString(),
                           comments.errors[0].message.find("no YAML document") != std::string::npos);
  }

  void testOversize() {
    std::string bytes = std::string(kSmall) + "# " + std::string(10 * 1024 * 1024, 'x') + "\n";
    ParseResult r = parseFile(bytes);
    expectInvalid(r);
    CPPUNIT_ASSERT_MESSAGE(r.errors[0].toString(),
                           r.errors[0].message.find("limit is 10485760 bytes") != std::string::npos);
    ParseOptions small = options();
    small.maxBytes = 64;
    ParseResult tiny = parseManifest(kSmall, SourceRef{"file", "/m/small.yaml"}, small);
    expectInvalid(tiny);
    CPPUNIT_ASSERT_EQUAL("/m/small.yaml: manifest is " + std::to_string(std::string(kSmall).size()) +
                             " bytes; the limit is 64 bytes",
                         tiny.errors[0].toString());
  }

  void testByteOrderMark() {
    ParseResult r = parseFile(std::string("\xEF\xBB\xBF") + kSmall);
    expectValid(r);
    CPPUNIT_ASSERT_EQUAL(parseFile(kSmall).pod->uid, r.pod->uid);
    ParseResult json =
        parseFile(std::string("\xEF\xBB\xBF") + readFixture("good/kube-apiserver.json"), kApiserverPath);
    expectValid(json);
  }

  void testTopLevelList() {
    ParseResult r = parseFile("- a\n- b\n");
    expectInvalid(r);
    CPPUNIT_ASSERT_MESSAGE(r.errors[0].toString(),
                           r.errors[0].message.find("must be a mapping") != std::string::npos);
    ParseResult scalar = parseFile("just text\n");
    expectInvalid(scalar);
  }

  void testDuplicateKey() {
    ParseResult r = parseFile(std::string(kSmall) + "  restartPolicy: Never\n  restartPolicy: Always\n");
    expectInvalid(r);
    expectErrorAt(r, "spec.restartPolicy", "duplicate key \"restartPolicy\"", 10, 3);
  }

  // YAML merge keys, as go-yaml (the kubelet's decoder) reads them: keys written in the mapping win, then
  // the merged mappings in order; a quoted "<<" is an ordinary key.
  void testMergeKeys() {
    const std::string base =
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        "  name: merged\n"
        "x-defaults: &defaults\n"
        "  image: busybox:1.36\n"
        "  imagePullPolicy: Never\n"
        "x-more: &more\n"
        "  imagePullPolicy: Always\n"
        "  workingDir: /srv\n"
        "spec:\n"
        "  containers:\n"
        "  - name: app\n"
        "    <<: *defaults\n"
        "  - name: two\n"
        "    <<: [*defaults, *more]\n"
        "    workingDir: /tmp\n";
    ParseResult r = parseFile(base);
    expectValid(r);
    json::ArrayPtr containers = json::getArray(json::getObject(r.pod->pod, "spec"), "containers");
    json::ObjectPtr app = containers->getObject(0);
    CPPUNIT_ASSERT_EQUAL(std::string("busybox:1.36"), json::getString(app, "image"));
    CPPUNIT_ASSERT_EQUAL(std::string("Never"), json::getString(app, "imagePullPolicy"));
    CPPUNIT_ASSERT(!app->has("<<"));
    json::ObjectPtr two = containers->getObject(1);
    CPPUNIT_ASSERT_EQUAL(std::string("busybox:1.36"), json::getString(two, "image"));
    CPPUNIT_ASSERT_EQUAL(std::string("Never"), json::getString(two, "imagePullPolicy"));
    CPPUNIT_ASSERT_EQUAL(std::string("/tmp"), json::getString(two, "workingDir"));

    ParseResult scalar = parseFile(replaceOnce(base, "    <<: *defaults\n", "    <<: busybox\n"));
    expectErrorAt(scalar, "spec.containers[0][<<]", "a merge key (<<) takes a mapping or a list of mappings",
                  14, 9);
    ParseResult quoted = parseFile(replaceOnce(base, "    <<: *defaults\n", "    \"<<\": *defaults\n"));
    expectInvalid(quoted);
  }

  // Plain true/false -> bool, numbers -> numbers, quoted -> strings: visible through validation.
  void testScalarTypes() {
    ParseResult quotedPort = parseFile(std::string(kSmall) + "    ports:\n    - containerPort: \"80\"\n");
    expectError(quotedPort, "spec.containers[0].ports[0].containerPort", "must be an integer, not a string");
    ParseResult boolString = parseFile(std::string(kSmall) + "  hostNetwork: \"true\"\n");
    expectError(boolString, "spec.hostNetwork", "must be a boolean");
    ParseResult realBool = parseFile(std::string(kSmall) + "  hostNetwork: True\n");
    expectValid(realBool);
    CPPUNIT_ASSERT(json::getBool(json::getObject(realBool.pod->pod, "spec"), "hostNetwork"));
    ParseResult nullValue = parseFile(std::string(kSmall) + "  restartPolicy: ~\n");
    expectValid(nullValue);
    CPPUNIT_ASSERT_EQUAL(std::string("Always"),
                         json::getString(json::getObject(nullValue.pod->pod, "spec"), "restartPolicy"));
    // YAML 1.1 booleans stay strings here but are flagged, since kubectl would read them as booleans.
    ParseResult yes = parseFile(replaceOnce(kSmall, "kind: Pod\n", "kind: Pod\nx-note: yes\n"));
    expectValid(yes);
    bool warned = false;
    for (const auto& w : yes.warnings) warned = warned || (w.field == "x-note" && w.line == 3);
    CPPUNIT_ASSERT_MESSAGE(contextOf(yes), warned);
  }

  void testDeployment() {
    ParseResult r = parseFile(readFixture("bad/deployment.yaml"));
    expectInvalid(r);
    CPPUNIT_ASSERT_EQUAL(size_t(1), r.errors.size());
    expectErrorAt(r, "kind", "kind Deployment is not supported: a static pod manifest must be a v1 Pod", 2,
                  1);
    ParseResult apps = parseFile(replaceOnce(kSmall, "apiVersion: v1", "apiVersion: apps/v1"));
    expectErrorAt(apps, "apiVersion", "Unsupported value: \"apps/v1\"", 1, 1);
    ParseResult noKind = parseFile(replaceOnce(kSmall, "kind: Pod\n", ""));
    expectError(noKind, "kind", "Required value");
    ParseResult list = parseFile("apiVersion: v1\nkind: PodList\nitems: []\n");
    expectError(list, "kind", "lists are accepted only from a URL source");
  }

  void testProblemToString() {
    Problem p{"/m/a.yaml", "spec.containers[0].image", 8, 5, "Required value"};
    CPPUNIT_ASSERT_EQUAL(std::string("/m/a.yaml:8:5: spec.containers[0].image: Required value"),
                         p.toString());
    Problem noPos{"/m/a.yaml", "spec", 0, 0, "Required value"};
    CPPUNIT_ASSERT_EQUAL(std::string("/m/a.yaml: spec: Required value"), noPos.toString());
    Problem noField{"/m/a.yaml", "", 3, 0, "oops"};
    CPPUNIT_ASSERT_EQUAL(std::string("/m/a.yaml:3: oops"), noField.toString());
    Problem bare{"", "", 0, 0, "oops"};
    CPPUNIT_ASSERT_EQUAL(std::string("oops"), bare.toString());
  }

  void testUrlPodList() {
    std::string body =
        "apiVersion: v1\n"
        "kind: PodList\n"
        "items:\n"
        "- metadata: {name: a}\n"
        "  spec: {containers: [{name: app, image: busybox:1.36}]}\n"
        "- apiVersion: v1\n"
        "  kind: Pod\n"
        "  metadata: {name: b, namespace: tools}\n"
        "  spec: {containers: [{name: app, image: busybox:1.36}]}\n"
        "- metadata: {name: a}\n"
        "  spec: {containers: [{name: other, image: busybox:1.36}]}\n";
    SourceRef ref{"http", "http://127.0.0.1:8080/pods"};
    ParseListResult r = parseManifestList(body, ref, options());
    CPPUNIT_ASSERT_MESSAGE(r.errors.empty() ? "" : r.errors[0].toString(), r.errors.empty());
    CPPUNIT_ASSERT_EQUAL(size_t(2), r.pods.size());
    CPPUNIT_ASSERT_EQUAL(std::string("a-node1_default"), r.pods[0].fullName());
    CPPUNIT_ASSERT_EQUAL(std::string("b-node1_tools"), r.pods[1].fullName());
    CPPUNIT_ASSERT_EQUAL(size_t(1), r.warnings.size());
    CPPUNIT_ASSERT_EQUAL(std::string("items[2].metadata.name"), r.warnings[0].field);
    CPPUNIT_ASSERT_EQUAL(10, r.warnings[0].line);
    // A list item hashes like the same pod served alone (with apiVersion/kind written out).
    ParseResult alone = parseManifest(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: app, image: "
        "busybox:1.36}]}\n",
        ref, options());
    expectValid(alone);
    CPPUNIT_ASSERT_EQUAL(alone.pod->uid, r.pods[0].uid);
    // A single Pod body works through the list entry point too.
    ParseListResult single = parseManifestList(kSmall, ref, options());
    CPPUNIT_ASSERT(single.errors.empty());
    CPPUNIT_ASSERT_EQUAL(size_t(1), single.pods.size());
  }

  void testUrlPodListOneBadItemRejectsAll() {
    std::string body =
        "kind: List\n"
        "apiVersion: v1\n"
        "items:\n"
        "- metadata: {name: good}\n"
        "  spec: {containers: [{name: app, image: busybox:1.36}]}\n"
        "- metadata: {name: bad}\n"
        "  spec: {containers: [{name: app}]}\n";
    ParseListResult r = parseManifestList(body, SourceRef{"http", "http://127.0.0.1/p"}, options());
    CPPUNIT_ASSERT(r.pods.empty());
    CPPUNIT_ASSERT_EQUAL(size_t(1), r.errors.size());
    CPPUNIT_ASSERT_EQUAL(std::string("items[1].spec.containers[0].image"), r.errors[0].field);
    CPPUNIT_ASSERT_EQUAL(7, r.errors[0].line);
  }

  void testUrlEmptyBody() {
    ParseListResult r = parseManifestList("", SourceRef{"http", "http://127.0.0.1/p"}, options());
    CPPUNIT_ASSERT(r.errors.empty());
    CPPUNIT_ASSERT(r.pods.empty());
    CPPUNIT_ASSERT_EQUAL(size_t(1), r.warnings.size());
  }

  // Bad input never throws and never costs much: alias bombs, deep nesting, binary garbage.
  void testHostileInput() {
    std::string bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int i = 1; i < 9; ++i) {
      bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
      for (int j = 0; j < 10; ++j) bomb += std::string(j ? ", " : "") + "*a" + std::to_string(i - 1);
      bomb += "]\n";
    }
    ParseResult r = parseFile(bomb);
    expectInvalid(r);
    CPPUNIT_ASSERT_MESSAGE(describe(r), r.errors[0].message.find("alias expansion") != std::string::npos);

    ParseResult deep = parseFile("x: " + std::string(300, '[') + std::string(300, ']') + "\n");
    expectInvalid(deep);

    std::string garbage;
    unsigned seed = 12345;
    for (int round = 0; round < 200; ++round) {
      garbage.clear();
      for (int i = 0; i < 64; ++i) {
        seed = seed * 1103515245u + 12345u;
        garbage += static_cast<char>((seed >> 16) & 0xff);
      }
      ParseResult g = parseFile(garbage);
      CPPUNIT_ASSERT(!g.errors.empty());
      CPPUNIT_ASSERT(!g.pod.has_value());
    }
    ParseResult nul = parseFile(std::string(kSmall) + std::string(1, '\0'));
    expectInvalid(nul);
    // yaml-cpp 0.7 loops forever on a document that starts with a stray ',': reported, not hung.
    for (const char* stuck : {",x", "- a\n,b", "apiVersion: v1\n---\n,kind: Pod\n"}) {
      ParseResult s = parseFile(stuck);
      expectInvalid(s);
      CPPUNIT_ASSERT_MESSAGE(describe(s), s.errors[0].message.find("YAML syntax error") == 0);
    }
    ParseResult latin1 = parseFile(std::string(kSmall) + "  # caf\xE9\n");
    expectInvalid(latin1);
    CPPUNIT_ASSERT_EQUAL(
        std::string("/etc/kubernetes/manifests/pod.yaml:9:8: file is not UTF-8 text (invalid byte "
                    "sequence)"),
        latin1.errors[0].toString());
    expectValid(parseFile(std::string(kSmall) + "  # caf\xC3\xA9\n"));
  }

  // A long run of one character class once overflowed the stack (std::regex recursed per character): the
  // number forms of the YAML reader and every name format of validation, each with a 1 MiB run.
  void testLongRunsOfOneCharacter() {
    const std::string digits(1 << 20, '7');
    const std::string letters(1 << 20, 'a');
    ParseResult number = parseFile(digits);
    expectInvalid(number);
    // An integer field given a long float, and a long octal that overflows 64 bits.
    ParseResult floating =
        parseFile(std::string(kSmall) + "  terminationGracePeriodSeconds: 1." + digits + "\n");
    expectError(floating, "spec.terminationGracePeriodSeconds", "");
    ParseResult octal = parseFile(std::string(kSmall) + "  terminationGracePeriodSeconds: 0" + digits + "\n");
    expectError(octal, "spec.terminationGracePeriodSeconds", "");
    ParseResult name = parseFile(replaceOnce(kSmall, "name: small", "name: " + letters));
    expectError(name, "metadata.name", "must be no more than 253 characters");
    ParseResult ns =
        parseFile(replaceOnce(kSmall, "  name: small\n", "  name: small\n  namespace: " + letters + "\n"));
    expectError(ns, "metadata.namespace", "must be no more than 63 characters");
    ParseResult label =
        parseFile(replaceOnce(kSmall, "  name: small\n",
                              "  name: small\n  labels:\n    ? " + letters + "\n    : " + letters + "\n"));
    expectInvalid(label);
    CPPUNIT_ASSERT_MESSAGE(describe(label),
                           describe(label).find("must be no more than 63 characters") != std::string::npos);
    ParseResult prefixed = parseFile(replaceOnce(
        kSmall, "  name: small\n", "  name: small\n  annotations:\n    ? " + letters + "/x\n    : \"1\"\n"));
    CPPUNIT_ASSERT_MESSAGE(
        describe(prefixed),
        describe(prefixed).find("prefix part must be no more than 253") != std::string::npos);
    // Environment variable names have no length limit in Kubernetes.
    expectValid(parseFile(std::string(kSmall) + "    env:\n    - name: " + letters + "\n      value: x\n"));
    ParseResult env =
        parseFile(std::string(kSmall) + "    env:\n    - name: " + digits + "\n      value: x\n");
    expectError(env, "spec.containers[0].env[0].name", "a valid environment variable name");
    ParseResult port =
        parseFile(std::string(kSmall) + "    ports:\n    - containerPort: 80\n      name: " + letters + "\n");
    expectError(port, "spec.containers[0].ports[0].name", "must be no more than 15 characters");
    // Messages quote the start of a long value, not all of it.
    for (const ParseResult* r : {&number, &floating, &octal, &name, &ns, &label, &prefixed, &env, &port}) {
      for (const Problem& p : r->errors)
        CPPUNIT_ASSERT_MESSAGE(p.toString().substr(0, 300), p.toString().size() < 1024);
    }
  }

  void testErrorsInDocumentOrder() {
    ParseResult r = parseFile(readFixture("bad/many-errors.yaml"));
    for (size_t i = 1; i < r.errors.size(); ++i) {
      CPPUNIT_ASSERT_MESSAGE(describe(r), r.errors[i - 1].line <= r.errors[i].line);
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ManifestTest);
