#include "Kubeconfig.h"

#include <Poco/Base64Decoder.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace podwarden::sink_apiserver {
namespace {

class KubeconfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string readWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw KubeconfigError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The kubeconfig being read: its path and directory, for messages and relative file names.
struct Reader {
  std::string path;
  std::string dir;

  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw KubeconfigError("kubeconfig " + path + ": " + where + ": " + what);
  }

  std::string resolve(const std::string& file) const {
    if (file.empty() || file[0] == '/') return file;
    return dir + "/" + file;
  }

  // A string field; "" when absent or null.
  std::string str(const YAML::Node& node, const char* key, const std::string& where) const {
    YAML::Node v = node[key];
    if (!v || v.IsNull()) return "";
    if (!v.IsScalar()) fail(where + "." + key, "must be a string");
    return v.as<std::string>();
  }

  bool boolean(const YAML::Node& node, const char* key, const std::string& where) const {
    YAML::Node v = node[key];
    if (!v || v.IsNull()) return false;
    std::string s = v.IsScalar() ? v.as<std::string>() : "";
    if (s == "true") return true;
    if (s == "false") return false;
    fail(where + "." + key, "must be true or false");
  }

  std::string base64(const std::string& text, const std::string& where) const {
    for (unsigned char ch : text) {  // Poco's decoder would skip what it does not know
      if (!std::isalnum(ch) && ch != '+' && ch != '/' && ch != '=' && !std::isspace(ch)) {
        fail(where, "is not valid base64 (unexpected character '" + std::string(1, static_cast<char>(ch)) + "')");
      }
    }
    std::istringstream in(text);
    Poco::Base64Decoder decoder(in);
    std::string out;
    try {
      std::ostringstream buf;
      buf << decoder.rdbuf();
      out = buf.str();
    } catch (const std::exception& e) {
      fail(where, std::string("is not valid base64 (") + e.what() + ")");
    }
    if (out.empty()) fail(where, "is empty after base64 decoding");
    return out;
  }

  // `<name>-data` (base64, inline) or `<name>` (a file); both set is an error, as in client-go.
  std::string pem(const YAML::Node& node, const std::string& name, const std::string& where) const {
    std::string data = str(node, (name + "-data").c_str(), where);
    std::string file = str(node, name.c_str(), where);
    if (!data.empty() && !file.empty()) {
      fail(where, name + " and " + name + "-data are both set; keep one");
    }
    if (!data.empty()) return base64(data, where + "." + name + "-data");
    if (file.empty()) return "";
    try {
      return readWhole(resolve(file));
    } catch (const KubeconfigError& e) {
      fail(where + "." + name, e.what());
    }
  }

  // The entry `name` of the list `key` (clusters, users, contexts); its inner `field` map.
  YAML::Node named(const YAML::Node& root, const char* key, const char* field, const std::string& name,
                   std::string& where) const {
    YAML::Node list = root[key];
    if (!list || !list.IsSequence()) fail(key, "missing or not a list");
    for (size_t i = 0; i < list.size(); ++i) {
      // client-go refuses the whole file when an entry is not a map; yaml-cpp would throw from operator[].
      if (!list[i].IsMap()) fail(std::string(key) + "[" + std::to_string(i) + "]", "not a map");
      if (list[i]["name"] && list[i]["name"].IsScalar() && list[i]["name"].as<std::string>() == name) {
        where = std::string(key) + "[" + std::to_string(i) + "]." + field;
        YAML::Node inner = list[i][field];
        if (!inner || !inner.IsMap()) fail(where, "missing or not a map");
        return inner;
      }
    }
    fail(key, "no entry named \"" + name + "\"");
  }
};

}  // namespace

std::string Credentials::describe() const {
  std::string auth;
  if (!clientCertPem.empty()) auth = "client certificate";
  if (!token.empty() || !tokenFile.empty()) {
    auth += std::string(auth.empty() ? "" : " and ") + (token.empty() ? "token file " + tokenFile : "token");
  }
  if (auth.empty()) auth = "no credentials";
  return "server " + server + " (context \"" + contextName + "\", user \"" + userName + "\", " + auth +
         (insecureSkipVerify ? ", TLS verification OFF" : "") + ")";
}

std::string readTokenFile(const std::string& path) {
  std::string token;
  try {
    token = trimmed(readWhole(path));
  } catch (const KubeconfigError& e) {
    throw std::runtime_error(std::string("token file: ") + e.what());
  }
  if (token.empty()) throw std::runtime_error("token file " + path + " is empty");
  return token;
}

Credentials loadKubeconfig(const std::string& path, const std::string& context) {
  Reader r{path, dirOf(path)};
  YAML::Node root;
  try {
    root = YAML::Load(readWhole(path));
  } catch (const KubeconfigError& e) {
    throw KubeconfigError("kubeconfig: " + std::string(e.what()));
  } catch (const YAML::Exception& e) {
    throw KubeconfigError("kubeconfig " + path + ": not valid YAML: line " + std::to_string(e.mark.line + 1) +
                          ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) r.fail("top level", "not a map (is this a kubeconfig?)");
  std::string kind = r.str(root, "kind", "top level");
  if (!kind.empty() && kind != "Config") r.fail("kind", "is \"" + kind + "\", expected Config");

  Credentials c;
  c.contextName = context.empty() ? r.str(root, "current-context", "top level") : context;
  if (c.contextName.empty()) r.fail("current-context", "not set, and no context was given");

  std::string where;
  YAML::Node ctx = r.named(root, "contexts", "context", c.contextName, where);
  std::string clusterName = r.str(ctx, "cluster", where);
  c.userName = r.str(ctx, "user", where);
  if (clusterName.empty()) r.fail(where + ".cluster", "not set");

  YAML::Node cluster = r.named(root, "clusters", "cluster", clusterName, where);
  c.server = r.str(cluster, "server", where);
  if (c.server.empty()) r.fail(where + ".server", "not set");
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
    r.fail(where + ".server", "\"" + c.server + "\" is not an http:// or https:// URL");
  }
  c.caPem = r.pem(cluster, "certificate-authority", where);
  c.insecureSkipVerify = r.boolean(cluster, "insecure-skip-tls-verify", where);
  c.tlsServerName = r.str(cluster, "tls-server-name", where);
  if (c.insecureSkipVerify && !c.caPem.empty()) {
    r.fail(where, "insecure-skip-tls-verify and a certificate authority are both set; keep one");
  }
  if (cluster["proxy-url"]) r.fail(where + ".proxy-url", "is not supported by podwarden");

  if (!c.userName.empty()) {
    YAML::Node user = r.named(root, "users", "user", c.userName, where);
    c.clientCertPem = r.pem(user, "client-certificate", where);
    c.clientKeyPem = r.pem(user, "client-key", where);
    if (c.clientCertPem.empty() != c.clientKeyPem.empty()) {
      r.fail(where, c.clientCertPem.empty() ? "client-key is set without client-certificate"
                                            : "client-certificate is set without client-key");
    }
    c.token = r.str(user, "token", where);
    c.tokenFile = r.resolve(r.str(user, "tokenFile", where));
    if (!c.token.empty() && !c.tokenFile.empty()) r.fail(where, "token and tokenFile are both set; keep one");
    if (!c.tokenFile.empty()) {
      try {
        readTokenFile(c.tokenFile);
      } catch (const std::exception& e) {
        r.fail(where + ".tokenFile", e.what());
      }
    }
    for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
      if (user[unsupported]) {
        r.fail(where + "." + unsupported, "is not supported by podwarden (use a client certificate or a token)");
      }
    }
  }
  if (c.server.rfind("http://", 0) == 0 && (!c.token.empty() || !c.tokenFile.empty())) {
    r.fail("server", "a bearer token would be sent in clear text over http://; use https://");
  }
  return c;
}

}  // namespace podwarden::sink_apiserver
