// KubeconfigTest: reading a kubeconfig the way client-go does (current context, files relative to the
// kubeconfig, inline *-data, tokens) and refusing what podwarden cannot use, with the file and the field.
#include "Kubeconfig.h"

#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace podwarden::sink_apiserver;

namespace {

const char kCertPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const char kKeyPem[] = "-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n";
// base64 of kCertPem and kKeyPem
const char kCertB64[] = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
const char kKeyB64[] =
    "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCnNlY3JldC1rZXktbWF0ZXJpYWwKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo=";

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pw-kubeconfig-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string write(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string kubeconfig(const std::string& cluster, const std::string& user, const std::string& extra = "") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: node\n" + extra +
         "clusters:\n- name: other\n  cluster: {server: https://10.0.0.1:6443}\n"
         "- name: local\n  cluster:\n" + cluster +
         "contexts:\n- name: node\n  context: {cluster: local, user: node-user}\n"
         "- name: admin\n  context: {cluster: other, user: node-user}\n"
         "users:\n- name: node-user\n  user:\n" + user;
}

}  // namespace

class KubeconfigTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(KubeconfigTest);
  CPPUNIT_TEST(inlineData);
  CPPUNIT_TEST(filesRelativeToTheKubeconfig);
  CPPUNIT_TEST(bearerTokenAndTokenFile);
  CPPUNIT_TEST(explicitContext);
  CPPUNIT_TEST(errorsNameFileAndField);
  CPPUNIT_TEST(describeNeverShowsSecrets);
  CPPUNIT_TEST_SUITE_END();

 public:
  void inlineData() {
    TempDir dir;
    std::string path = dir.write("kubelet.conf", kubeconfig(std::string("    server: https://127.0.0.1:6443/\n") +
                                                                "    certificate-authority-data: " + kCertB64 + "\n",
                                                            std::string("    client-certificate-data: ") + kCertB64 +
                                                                "\n    client-key-data: " + kKeyB64 + "\n"));
    Credentials c = loadKubeconfig(path);
    CPPUNIT_ASSERT_EQUAL(std::string("https://127.0.0.1:6443"), c.server);
    CPPUNIT_ASSERT_EQUAL(std::string(kCertPem), c.caPem);
    CPPUNIT_ASSERT_EQUAL(std::string(kCertPem), c.clientCertPem);
    CPPUNIT_ASSERT_EQUAL(std::string(kKeyPem), c.clientKeyPem);
    CPPUNIT_ASSERT_EQUAL(std::string("node"), c.contextName);
    CPPUNIT_ASSERT(!c.insecureSkipVerify);
  }

  void filesRelativeToTheKubeconfig() {
    TempDir dir;
    dir.write("ca.crt", kCertPem);
    dir.write("node.crt", kCertPem);
    dir.write("node.key", kKeyPem);
    std::string path = dir.write(
        "kubelet.conf", kubeconfig("    server: https://127.0.0.1:6443\n    certificate-authority: ca.crt\n",
                                   "    client-certificate: node.crt\n    client-key: " + dir.path() + "/node.key\n"));
    char cwd[4096];
    CPPUNIT_ASSERT(getcwd(cwd, sizeof(cwd)) != nullptr);
    CPPUNIT_ASSERT_EQUAL(0, chdir("/"));  // relative names resolve against the kubeconfig, not the cwd
    Credentials c = loadKubeconfig(path);
    CPPUNIT_ASSERT_EQUAL(0, chdir(cwd));
    CPPUNIT_ASSERT_EQUAL(std::string(kCertPem), c.caPem);
    CPPUNIT_ASSERT_EQUAL(std::string(kCertPem), c.clientCertPem);
    CPPUNIT_ASSERT_EQUAL(std::string(kKeyPem), c.clientKeyPem);
  }

  void bearerTokenAndTokenFile() {
    TempDir dir;
    Credentials c = loadKubeconfig(
        dir.write("a.conf", kubeconfig("    server: https://127.0.0.1:6443\n", "    token: abc.def\n")));
    CPPUNIT_ASSERT_EQUAL(std::string("abc.def"), c.token);
    dir.write("token", "  tok-from-file\n");
    c = loadKubeconfig(dir.write("b.conf", kubeconfig("    server: https://127.0.0.1:6443\n", "    tokenFile: token\n")));
    CPPUNIT_ASSERT_EQUAL(dir.path() + "/token", c.tokenFile);
    CPPUNIT_ASSERT_EQUAL(std::string("tok-from-file"), readTokenFile(c.tokenFile));
  }

  void explicitContext() {
    TempDir dir;
    Credentials c = loadKubeconfig(
        dir.write("a.conf", kubeconfig("    server: https://127.0.0.1:6443\n", "    token: t\n")), "admin");
    CPPUNIT_ASSERT_EQUAL(std::string("https://10.0.0.1:6443"), c.server);
    CPPUNIT_ASSERT_EQUAL(std::string("admin"), c.contextName);
  }

  void errorsNameFileAndField() {
    TempDir dir;
    auto expectError = [&](const std::string& name, const std::string& content, const std::string& context,
                           const std::string& fragment) {
      std::string path = dir.write(name, content);
      try {
        loadKubeconfig(path, context);
        CPPUNIT_FAIL(name + ": accepted, expected an error containing " + fragment);
      } catch (const std::runtime_error& e) {
        std::string what = e.what();
        CPPUNIT_ASSERT_MESSAGE(what, what.find(path) != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(what, what.find(fragment) != std::string::npos);
      }
    };
    expectError("missing-context.conf", kubeconfig("    server: https://x\n", "    token: t\n"), "nope",
                "no entry named \"nope\"");
    expectError("no-server.conf", kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n"), "",
                "clusters[1].cluster.server");
    expectError("both.conf",
                kubeconfig("    server: https://x\n", std::string("    client-certificate: a\n    client-certificate-data: ") +
                                                          kCertB64 + "\n    client-key-data: " + kKeyB64 + "\n"),
                "", "client-certificate and client-certificate-data are both set");
    expectError("missing-file.conf",
                kubeconfig("    server: https://x\n    certificate-authority: nothere.crt\n", "    token: t\n"), "",
                "clusters[1].cluster.certificate-authority: cannot read " + dir.path() + "/nothere.crt");
    expectError("bad-base64.conf", kubeconfig("    server: https://x\n    certificate-authority-data: '!!!'\n", ""),
                "", "certificate-authority-data: is not valid base64");
    expectError("key-only.conf", kubeconfig("    server: https://x\n", std::string("    client-key-data: ") + kKeyB64 + "\n"),
                "", "client-key is set without client-certificate");
    expectError("clear-token.conf", kubeconfig("    server: http://127.0.0.1:8080\n", "    token: t\n"), "",
                "clear text");
    expectError("exec.conf", kubeconfig("    server: https://x\n", "    exec: {command: aws}\n"), "",
                "users[0].user.exec: is not supported");
    expectError("not-yaml.conf", "clusters: [\n", "", "not valid YAML");
    expectError("no-current.conf", "apiVersion: v1\nkind: Config\nclusters: []\n", "", "current-context");
    // Found by fuzz/fuzz_kubeconfig: a list entry that is not a map made yaml-cpp throw from operator[], and
    // the message named neither the file nor the field.
    expectError(
        "scalar-entry.conf",
        "current-context: node\nclusters:\n- name: x\n  cluster: {server: https://x}\ncontexts:\n- node\n",
        "", "contexts[0]: not a map");
  }

  void describeNeverShowsSecrets() {
    TempDir dir;
    Credentials c = loadKubeconfig(dir.write(
        "a.conf", kubeconfig("    server: https://127.0.0.1:6443\n", std::string("    token: super-secret-token\n    client-certificate-data: ") +
                                                                        kCertB64 + "\n    client-key-data: " + kKeyB64 + "\n")));
    std::string d = c.describe();
    CPPUNIT_ASSERT_MESSAGE(d, d.find("super-secret-token") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(d, d.find("secret-key-material") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(d, d.find("https://127.0.0.1:6443") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(d, d.find("client certificate and token") != std::string::npos);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(KubeconfigTest);
