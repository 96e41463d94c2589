#include "cri/PodTranslator.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "cri/Expansion.h"
#include "util/Quantity.h"
#include "cri/VolumePaths.h"
#include "util/Hash.h"

namespace podwarden::cri {

namespace {

using json::ArrayPtr;
using json::ObjectPtr;

constexpr int64_t kMinShares = 2;
constexpr int64_t kMaxShares = 262144;
constexpr int64_t kSharesPerCpu = 1024;
constexpr int64_t kMinQuotaUs = 1000;
constexpr size_t kHostnameMaxLen = 63;
constexpr size_t kMaxDnsNameservers = 3;

std::string scalarString(const Poco::Dynamic::Var& v) {
  if (v.isEmpty()) return "";
  if (v.type() == typeid(bool)) return v.extract<bool>() ? "true" : "false";
  if (v.isString() || v.isNumeric()) return v.toString();
  return json::stringify(v);
}

// A string field that a YAML manifest may have given as a number or boolean.
std::string scalarAt(const ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return "";
  return scalarString(o->get(key));
}

std::string at(const std::string& field, size_t index) {
  return field + "[" + std::to_string(index) + "]";
}

ArrayPtr stringArray(const ArrayPtr& in) {
  ArrayPtr out = new json::Array();
  if (in.isNull()) return out;
  for (const auto& v : *in) out->add(scalarString(v));
  return out;
}

std::vector<std::string> stringList(const ArrayPtr& in) {
  std::vector<std::string> out;
  if (in.isNull()) return out;
  for (const auto& v : *in) out.push_back(scalarString(v));
  return out;
}

std::optional<Quantity> quantityAt(const ObjectPtr& list, const std::string& name, const std::string& field) {
  if (list.isNull() || !list->has(name) || list->isNull(name)) return std::nullopt;
  try {
    Quantity q = Quantity::parse(scalarString(list->get(name)));
    if (q.negative()) throw std::invalid_argument("must not be negative");
    q.milliValue();  // range check
    return q;
  } catch (const std::exception& e) {
    throw TranslateError(field + "." + name, e.what());
  }
}

std::optional<Quantity> resourceAt(const ObjectPtr& c, const std::string& kind, const std::string& name,
                                   const std::string& field) {
  return quantityAt(json::getObject(json::getObject(c, "resources"), kind), name,
                    field + ".resources." + kind);
}

int64_t ceilDiv(int64_t a, int64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

// Node allocatable as the kubelet computes it with no reservations configured: the host's capacity.
int64_t hostMilliCpu() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return (n > 0 ? n : 1) * 1000;
}

int64_t hostMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long pageSize = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && pageSize > 0 ? static_cast<int64_t>(pages) * pageSize : 0;
}

std::vector<ObjectPtr> allContainers(const ObjectPtr& spec, bool withInit) {
  std::vector<ObjectPtr> out;
  for (const char* list : {"containers", "initContainers"}) {
    if (!withInit && std::string(list) == "initContainers") continue;
    ArrayPtr arr = json::getArray(spec, list);
    if (arr.isNull()) continue;
    for (size_t i = 0; i < arr->size(); ++i) {
      ObjectPtr c = arr->getObject(static_cast<unsigned>(i));
      if (!c.isNull()) out.push_back(c);
    }
  }
  return out;
}

ObjectPtr namespaceOptions(const ObjectPtr& spec) {
  ObjectPtr ns = new json::Object();
  ns->set("network", json::getBool(spec, "hostNetwork") ? "NODE" : "POD");
  // hostPID wins over shareProcessNamespace, which gives the whole pod one PID namespace.
  ns->set("pid", json::getBool(spec, "hostPID")                 ? "NODE"
                 : json::getBool(spec, "shareProcessNamespace") ? "POD"
                                                                : "CONTAINER");
  ns->set("ipc", json::getBool(spec, "hostIPC") ? "NODE" : "POD");
  return ns;
}

// Go's strconv.Quote for the byte values labels and annotations realistically hold.
std::string goQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (ch < 0x20 || ch == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", ch);
          out += buf;
        } else {
          out.push_back(static_cast<char>(ch));
        }
    }
  }
  return out + "\"";
}

// The downward API's rendering of a whole map: sorted `key="value"` lines.
std::string formatMap(const ObjectPtr& map) {
  std::string out;
  if (map.isNull()) return out;
  for (const auto& kv : *map) {  // Poco's default object keeps keys sorted
    if (!out.empty()) out += "\n";
    out += kv.first + "=" + goQuote(scalarString(kv.second));
  }
  return out;
}

std::string fieldRefValue(const ObjectPtr& pod, const std::string& path, const TranslateOptions& opts,
                          const std::string& field) {
  ObjectPtr meta = json::getObject(pod, "metadata");
  ObjectPtr spec = json::getObject(pod, "spec");
  bool hostNetwork = json::getBool(spec, "hostNetwork");
  if (path == "metadata.name") return json::getString(meta, "name");
  if (path == "metadata.namespace") return json::getString(meta, "namespace");
  if (path == "metadata.uid") return json::getString(meta, "uid");
  if (path == "metadata.labels") return formatMap(json::getObject(meta, "labels"));
  if (path == "metadata.annotations") return formatMap(json::getObject(meta, "annotations"));
  if (path == "spec.nodeName") return json::getString(spec, "nodeName", opts.nodeName);
  if (path == "spec.serviceAccountName") return json::getString(spec, "serviceAccountName");
  if (path == "status.hostIP" || path == "status.hostIPs") return opts.hostIP;
  if (path == "status.podIP" || path == "status.podIPs") return hostNetwork ? opts.hostIP : opts.podIP;
  // metadata.labels['key'] / metadata.annotations['key']; a missing key gives "".
  const std::string close = "']";
  size_t open = path.find("['");
  if (open != std::string::npos && open > 0 && path.size() >= open + 2 + close.size() &&
      path.compare(path.size() - close.size(), close.size(), close) == 0) {
    std::string base = path.substr(0, open);
    std::string key = path.substr(open + 2, path.size() - open - 2 - close.size());
    if (base == "metadata.labels" || base == "metadata.annotations") {
      return scalarAt(json::getObject(meta, base.substr(9)), key);
    }
  }
  throw TranslateError(field, "unsupported fieldPath \"" + path + "\"");
}

std::string resourceFieldValue(const ObjectPtr& pod, const ObjectPtr& c, const ObjectPtr& ref,
                               const std::string& field) {
  ObjectPtr target = c;
  std::string targetField = detail::containerField(pod, c);
  std::string containerName = json::getString(ref, "containerName");
  if (!containerName.empty() && containerName != json::getString(c, "name")) {
    target = nullptr;
    for (const ObjectPtr& other : allContainers(json::getObject(pod, "spec"), true)) {
      if (json::getString(other, "name") == containerName) target = other;
    }
    if (target.isNull()) {
      throw TranslateError(field + ".containerName", "no container named \"" + containerName + "\"");
    }
    targetField = detail::containerField(pod, target);
  }
  std::string resource = json::getString(ref, "resource");
  size_t dot = resource.find('.');
  std::string kind = resource.substr(0, dot == std::string::npos ? 0 : dot);
  std::string name = dot == std::string::npos ? "" : resource.substr(dot + 1);
  if ((kind != "limits" && kind != "requests") || (name != "cpu" && name != "memory")) {
    throw TranslateError(field + ".resource",
                         "unsupported resource \"" + resource +
                             "\" (limits.cpu, limits.memory, requests.cpu, requests.memory)");
  }
  Quantity divisor = Quantity::parse("1");
  if (std::optional<Quantity> d = quantityAt(ref, "divisor", field)) divisor = *d;
  if (divisor.isZero()) throw TranslateError(field + ".divisor", "must be positive");

  std::optional<Quantity> q = resourceAt(target, kind, name, targetField);
  // API defaulting copies limits into missing requests; a missing limit is the node's allocatable.
  if (!q && kind == "requests") q = resourceAt(target, "limits", name, targetField);
  if (name == "cpu") {
    int64_t milli = q ? q->milliValue() : (kind == "limits" ? hostMilliCpu() : 0);
    return std::to_string(ceilDiv(milli, std::max<int64_t>(divisor.milliValue(), 1)));
  }
  int64_t bytes = q ? q->value() : (kind == "limits" ? hostMemoryBytes() : 0);
  return std::to_string(ceilDiv(bytes, std::max<int64_t>(divisor.value(), 1)));
}

ObjectPtr linuxResources(const ObjectPtr& c, const std::string& field) {
  std::optional<Quantity> cpuRequest = resourceAt(c, "requests", "cpu", field);
  std::optional<Quantity> cpuLimit = resourceAt(c, "limits", "cpu", field);
  std::optional<Quantity> memoryLimit = resourceAt(c, "limits", "memory", field);

  // Shares from the request, or from the limit when there is no request (the kubelet repeats the API's
  // request-defaults-to-limit rule); nothing gives the minimum.
  int64_t shareMilli = cpuRequest ? cpuRequest->milliValue() : cpuLimit ? cpuLimit->milliValue() : 0;
  int64_t shares =
      shareMilli == 0 ? kMinShares : std::clamp(shareMilli * kSharesPerCpu / 1000, kMinShares, kMaxShares);
  // No limit: quota 0, which the runtime takes as unlimited.
  int64_t limitMilli = cpuLimit ? cpuLimit->milliValue() : 0;
  int64_t quota = limitMilli == 0 ? 0 : std::max(limitMilli * kCpuPeriodUs / 1000, kMinQuotaUs);

  ObjectPtr r = new json::Object();
  r->set("cpuPeriod", kCpuPeriodUs);
  r->set("cpuQuota", quota);
  r->set("cpuShares", shares);
  r->set("memoryLimitInBytes", memoryLimit ? memoryLimit->value() : int64_t{0});
  r->set("oomScoreAdj", kCriticalOomScoreAdj);
  return r;
}

void setId(ObjectPtr out, const std::string& key, const ObjectPtr& container, const ObjectPtr& pod,
           const std::string& name) {
  if (json::has(container, name)) {
    ObjectPtr v = new json::Object();
    v->set("value", json::getInt(container, name));
    out->set(key, v);
  } else if (json::has(pod, name)) {
    ObjectPtr v = new json::Object();
    v->set("value", json::getInt(pod, name));
    out->set(key, v);
  }
}

// fsGroup first, then supplementalGroups, as the kubelet orders them.
ArrayPtr supplementalGroups(const ObjectPtr& podSc) {
  ArrayPtr groups = new json::Array();
  if (json::has(podSc, "fsGroup")) groups->add(json::getInt(podSc, "fsGroup"));
  ArrayPtr extra = json::getArray(podSc, "supplementalGroups");
  if (!extra.isNull()) {
    for (const auto& g : *extra) groups->add(g.convert<int64_t>());
  }
  return groups;
}

bool isPrivileged(const ObjectPtr& c) {
  return json::getBool(json::getObject(c, "securityContext"), "privileged");
}

// The container's effective security context: run-as identities from the container, else the pod;
// privilege, capabilities and the root filesystem from the container alone.
ObjectPtr containerSecurityContext(const ObjectPtr& pod, const ObjectPtr& c) {
  ObjectPtr spec = json::getObject(pod, "spec");
  ObjectPtr podSc = json::getObject(spec, "securityContext");
  ObjectPtr sc = json::getObject(c, "securityContext");
  ObjectPtr out = new json::Object();
  out->set("namespaceOptions", namespaceOptions(spec));
  out->set("privileged", json::getBool(sc, "privileged"));
  ObjectPtr caps = json::getObject(sc, "capabilities");
  if (!caps.isNull()) {
    ObjectPtr runtimeCaps = new json::Object();
    runtimeCaps->set("addCapabilities", stringArray(json::getArray(caps, "add")));
    runtimeCaps->set("dropCapabilities", stringArray(json::getArray(caps, "drop")));
    out->set("capabilities", runtimeCaps);
  }
  setId(out, "runAsUser", sc, podSc, "runAsUser");
  setId(out, "runAsGroup", sc, podSc, "runAsGroup");
  out->set("readonlyRootfs", json::getBool(sc, "readOnlyRootFilesystem"));
  if (json::has(sc, "allowPrivilegeEscalation")) {
    out->set("noNewPrivs", !json::getBool(sc, "allowPrivilegeEscalation", true));
  }
  ArrayPtr groups = supplementalGroups(podSc);
  if (groups->size() > 0) out->set("supplementalGroups", groups);
  return out;
}

ArrayPtr containerMounts(const ObjectPtr& pod, const ObjectPtr& c, const std::vector<EnvVar>& env,
                         const std::string& field, const TranslateOptions& opts) {
  ArrayPtr mounts = new json::Array();
  ArrayPtr list = json::getArray(c, "volumeMounts");
  if (list.isNull()) return mounts;
  for (size_t i = 0; i < list->size(); ++i) {
    std::string mField = at(field + ".volumeMounts", i);
    ObjectPtr vm = list->getObject(static_cast<unsigned>(i));
    std::string name = json::getString(vm, "name");
    std::string volumeField;
    ObjectPtr volume = detail::findVolume(pod, name, &volumeField);
    if (volume.isNull())
      throw TranslateError(mField + ".name", "no volume named \"" + name + "\" in spec.volumes");
    std::string hostPath = detail::volumeHostPath(pod, volume, volumeField, opts);
    std::string subPath = detail::mountSubPath(vm, env, mField);
    if (!subPath.empty()) hostPath = detail::joinPath(hostPath, subPath);
    std::string mountPath = json::getString(vm, "mountPath");
    if (mountPath.empty()) throw TranslateError(mField + ".mountPath", "required");

    std::string mode = json::getString(vm, "mountPropagation", "None");
    std::string propagation;
    if (mode == "None") {
      propagation = "PROPAGATION_PRIVATE";
    } else if (mode == "HostToContainer") {
      propagation = "PROPAGATION_HOST_TO_CONTAINER";
    } else if (mode == "Bidirectional") {
      if (!isPrivileged(c)) {
        throw TranslateError(mField + ".mountPropagation", "Bidirectional needs a privileged container");
      }
      propagation = "PROPAGATION_BIDIRECTIONAL";
    } else {
      throw TranslateError(mField + ".mountPropagation",
                           "unknown mode \"" + mode + "\" (None, HostToContainer, Bidirectional)");
    }
    ObjectPtr m = new json::Object();
    m->set("containerPath", mountPath);
    m->set("hostPath", hostPath);
    m->set("readonly", json::getBool(vm, "readOnly"));
    m->set("propagation", propagation);
    mounts->add(m);
  }
  return mounts;
}

struct DnsConfig {
  std::vector<std::string> servers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
};

DnsConfig readResolvConf(const std::string& path) {
  DnsConfig cfg;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key;
    if (!(words >> key) || key[0] == '#' || key[0] == ';') continue;
    std::string value;
    if (key == "nameserver") {
      if (words >> value) cfg.servers.push_back(value);
    } else if (key == "search") {
      cfg.searches.clear();  // the last search line wins, as in the resolver
      while (words >> value) cfg.searches.push_back(value);
    } else if (key == "options") {
      while (words >> value) cfg.options.push_back(value);
    }
  }
  return cfg;
}

void appendUnique(std::vector<std::string>& to, const std::vector<std::string>& more) {
  for (const std::string& s : more) {
    if (std::find(to.begin(), to.end(), s) == to.end()) to.push_back(s);
  }
}

ArrayPtr toArray(const std::vector<std::string>& v) {
  ArrayPtr out = new json::Array();
  for (const std::string& s : v) out->add(s);
  return out;
}

// The kubelet's DNS: dnsPolicy None uses spec.dnsConfig alone. Default uses the host's resolver
// configuration; ClusterFirst(WithHostNet) falls back to it because podwarden has no cluster DNS (and
// hostNetwork pods with ClusterFirst get it anyway). spec.dnsConfig is merged over the base (servers and
// searches appended without duplicates, options by name, pod wins). Null means "no dnsConfig": the
// runtime gives the container the host's resolv.conf itself, so we only build one when we must.
ObjectPtr dnsConfig(const ObjectPtr& spec, const TranslateOptions& opts) {
  std::string policy = json::getString(spec, "dnsPolicy", "ClusterFirst");
  ObjectPtr podDns = json::getObject(spec, "dnsConfig");
  if (policy != "None" && (podDns.isNull() || podDns->size() == 0)) return nullptr;
  if (policy != "None" && policy != "Default" && policy != "ClusterFirst" &&
      policy != "ClusterFirstWithHostNet") {
    throw TranslateError("spec.dnsPolicy", "unknown policy \"" + policy + "\"");
  }
  DnsConfig cfg;
  if (policy != "None") cfg = readResolvConf(opts.resolvConf);
  appendUnique(cfg.servers, stringList(json::getArray(podDns, "nameservers")));
  appendUnique(cfg.searches, stringList(json::getArray(podDns, "searches")));
  if (cfg.servers.size() > kMaxDnsNameservers) cfg.servers.resize(kMaxDnsNameservers);

  std::map<std::string, std::string> options;
  for (const std::string& op : cfg.options) {
    size_t colon = op.find(':');
    options[op.substr(0, colon)] = colon == std::string::npos ? "" : op.substr(colon + 1);
  }
  ArrayPtr podOptions = json::getArray(podDns, "options");
  if (!podOptions.isNull()) {
    for (size_t i = 0; i < podOptions->size(); ++i) {
      ObjectPtr op = podOptions->getObject(static_cast<unsigned>(i));
      std::string name = json::getString(op, "name");
      if (name.empty()) throw TranslateError(at("spec.dnsConfig.options", i) + ".name", "required");
      options[name] = scalarAt(op, "value");
    }
  }
  std::vector<std::string> merged;
  for (const auto& kv : options) merged.push_back(kv.second.empty() ? kv.first : kv.first + ":" + kv.second);

  ObjectPtr out = new json::Object();
  out->set("servers", toArray(cfg.servers));
  out->set("searches", toArray(cfg.searches));
  out->set("options", toArray(merged));
  return out;
}

// The kubelet's pod hostname: spec.hostname, else the pod name cut to 63 characters without a trailing
// '-' or '.'.
std::string podHostname(const ObjectPtr& pod) {
  std::string hostname = json::getString(json::getObject(pod, "spec"), "hostname");
  if (!hostname.empty()) return hostname;
  hostname = json::getString(json::getObject(pod, "metadata"), "name");
  if (hostname.size() > kHostnameMaxLen) {
    hostname.resize(kHostnameMaxLen);
    while (!hostname.empty() && (hostname.back() == '-' || hostname.back() == '.')) hostname.pop_back();
  }
  return hostname;
}

ObjectPtr podIdentityLabels(const ObjectPtr& pod, const TranslateOptions& opts) {
  ObjectPtr meta = json::getObject(pod, "metadata");
  ObjectPtr labels = new json::Object();
  labels->set(kPodNameLabel, json::getString(meta, "name"));
  labels->set(kPodNamespaceLabel, json::getString(meta, "namespace"));
  labels->set(kPodUidLabel, json::getString(meta, "uid"));
  labels->set(kNodeLabel, opts.nodeName);
  return labels;
}

ObjectPtr stringMap(const ObjectPtr& in) {
  ObjectPtr out = new json::Object();
  if (in.isNull()) return out;
  for (const auto& kv : *in) out->set(kv.first, scalarString(kv.second));
  return out;
}

}  // namespace

std::string containerHash(const json::ObjectPtr& c) {
  return hash::fnv32aHex(json::stringify(c));
}

std::vector<EnvVar> containerEnv(const json::ObjectPtr& pod, const json::ObjectPtr& c,
                                 const TranslateOptions& opts) {
  std::string field = detail::containerField(pod, c);
  ArrayPtr envFrom = json::getArray(c, "envFrom");
  if (!envFrom.isNull() && envFrom->size() > 0) {
    throw TranslateError(field + ".envFrom", "static pods cannot reference ConfigMaps or Secrets");
  }
  std::vector<EnvVar> out;
  std::map<std::string, size_t> index;
  ArrayPtr env = json::getArray(c, "env");
  if (env.isNull()) return out;
  for (size_t i = 0; i < env->size(); ++i) {
    std::string eField = at(field + ".env", i);
    ObjectPtr e = env->getObject(static_cast<unsigned>(i));
    std::string name = json::getString(e, "name");
    if (name.empty()) throw TranslateError(eField + ".name", "required");
    std::string value;
    ObjectPtr from = json::getObject(e, "valueFrom");
    if (!from.isNull()) {
      std::string fromField = eField + ".valueFrom";
      if (ObjectPtr ref = json::getObject(from, "fieldRef"); !ref.isNull()) {
        value =
            fieldRefValue(pod, json::getString(ref, "fieldPath"), opts, fromField + ".fieldRef.fieldPath");
      } else if (ObjectPtr res = json::getObject(from, "resourceFieldRef"); !res.isNull()) {
        value = resourceFieldValue(pod, c, res, fromField + ".resourceFieldRef");
      } else if (json::has(from, "configMapKeyRef") || json::has(from, "secretKeyRef")) {
        throw TranslateError(fromField, "static pods cannot reference ConfigMaps or Secrets");
      } else {
        throw TranslateError(fromField, "no supported source (fieldRef, resourceFieldRef)");
      }
    } else {
      // Only literal values are expanded, against the variables defined above this one.
      value =
          expandReferences(scalarAt(e, "value"), [&](const std::string& ref) -> std::optional<std::string> {
            auto it = index.find(ref);
            if (it == index.end()) return std::nullopt;
            return out[it->second].value;
          });
    }
    auto it = index.find(name);
    if (it != index.end()) {
      out[it->second].value = value;
    } else {
      index[name] = out.size();
      out.push_back({name, value});
    }
  }
  return out;
}

json::ObjectPtr sandboxConfig(const json::ObjectPtr& pod, uint32_t attempt, const TranslateOptions& opts) {
  ObjectPtr meta = json::getObject(pod, "metadata");
  ObjectPtr spec = json::getObject(pod, "spec");
  std::string name = json::getString(meta, "name");
  std::string ns = json::getString(meta, "namespace", "default");
  std::string uid = json::getString(meta, "uid");
  if (name.empty()) throw TranslateError("metadata.name", "required");
  if (uid.empty()) throw TranslateError("metadata.uid", "required");
  bool hostNetwork = json::getBool(spec, "hostNetwork");

  ObjectPtr out = new json::Object();
  ObjectPtr md = new json::Object();
  md->set("name", name);
  md->set("uid", uid);
  md->set("namespace", ns);
  md->set("attempt", static_cast<int64_t>(attempt));
  out->set("metadata", md);
  // A host-network sandbox shares the host's UTS namespace: setting a hostname there fails in runc.
  out->set("hostname", hostNetwork ? std::string() : podHostname(pod));
  out->set("logDirectory", detail::joinPath(opts.logDir, ns + "_" + name + "_" + uid));
  if (ObjectPtr dns = dnsConfig(spec, opts); !dns.isNull()) out->set("dnsConfig", dns);

  ArrayPtr portMappings = new json::Array();
  ArrayPtr containers = json::getArray(spec, "containers");
  for (size_t i = 0; !containers.isNull() && i < containers->size(); ++i) {
    ArrayPtr ports = json::getArray(containers->getObject(static_cast<unsigned>(i)), "ports");
    for (size_t j = 0; !ports.isNull() && j < ports->size(); ++j) {
      ObjectPtr p = ports->getObject(static_cast<unsigned>(j));
      int64_t hostPort = json::getInt(p, "hostPort");
      if (hostPort <= 0) continue;  // only published ports need the runtime's help
      std::string pField = at(at("spec.containers", i) + ".ports", j);
      std::string protocol = json::getString(p, "protocol", "TCP");
      if (protocol != "TCP" && protocol != "UDP" && protocol != "SCTP") {
        throw TranslateError(pField + ".protocol", "unknown protocol \"" + protocol + "\"");
      }
      ObjectPtr m = new json::Object();
      m->set("protocol", protocol);
      m->set("containerPort", json::getInt(p, "containerPort"));
      m->set("hostPort", hostPort);
      m->set("hostIp", json::getString(p, "hostIP"));
      portMappings->add(m);
    }
  }
  out->set("portMappings", portMappings);

  ObjectPtr labels = stringMap(json::getObject(meta, "labels"));
  ObjectPtr identity = podIdentityLabels(pod, opts);
  for (const auto& kv : *identity) labels->set(kv.first, kv.second);
  out->set("labels", labels);
  out->set("annotations", stringMap(json::getObject(meta, "annotations")));

  ObjectPtr podSc = json::getObject(spec, "securityContext");
  ObjectPtr sc = new json::Object();
  sc->set("namespaceOptions", namespaceOptions(spec));
  bool privileged = false;
  for (const ObjectPtr& c : allContainers(spec, true)) privileged = privileged || isPrivileged(c);
  sc->set("privileged", privileged);
  setId(sc, "runAsUser", nullptr, podSc, "runAsUser");
  setId(sc, "runAsGroup", nullptr, podSc, "runAsGroup");
  ArrayPtr groups = supplementalGroups(podSc);
  if (groups->size() > 0) sc->set("supplementalGroups", groups);

  ObjectPtr sysctls = new json::Object();
  ArrayPtr podSysctls = json::getArray(podSc, "sysctls");
  for (size_t i = 0; !podSysctls.isNull() && i < podSysctls->size(); ++i) {
    ObjectPtr s = podSysctls->getObject(static_cast<unsigned>(i));
    std::string key = json::getString(s, "name");
    if (key.empty()) throw TranslateError(at("spec.securityContext.sysctls", i) + ".name", "required");
    sysctls->set(key, scalarAt(s, "value"));
  }
  ObjectPtr linux = new json::Object();
  linux->set("cgroupParent", "");
  linux->set("securityContext", sc);
  linux->set("sysctls", sysctls);
  out->set("linux", linux);
  return out;
}

json::ObjectPtr containerConfig(const json::ObjectPtr& pod, const json::ObjectPtr& c, uint32_t restartCount,
                                const TranslateOptions& opts) {
  std::string field = detail::containerField(pod, c);
  ObjectPtr meta = json::getObject(pod, "metadata");
  ObjectPtr spec = json::getObject(pod, "spec");
  std::string name = json::getString(c, "name");
  if (name.empty()) throw TranslateError(field + ".name", "required");
  std::string image = json::getString(c, "image");
  if (image.empty()) throw TranslateError(field + ".image", "required");

  std::vector<EnvVar> env = containerEnv(pod, c, opts);
  std::map<std::string, std::string> envMap;
  for (const EnvVar& e : env) envMap[e.name] = e.value;
  auto lookup = [&](const std::string& ref) -> std::optional<std::string> {
    auto it = envMap.find(ref);
    if (it == envMap.end()) return std::nullopt;
    return it->second;
  };

  ObjectPtr out = new json::Object();
  ObjectPtr md = new json::Object();
  md->set("name", name);
  md->set("attempt", static_cast<int64_t>(restartCount));
  out->set("metadata", md);
  ObjectPtr imageSpec = new json::Object();
  imageSpec->set("image", image);
  out->set("image", imageSpec);
  for (const char* key : {"command", "args"}) {
    ArrayPtr list = json::getArray(c, key);
    if (list.isNull()) continue;
    ArrayPtr expanded = new json::Array();
    for (const auto& v : *list) expanded->add(expandReferences(scalarString(v), lookup));
    out->set(key, expanded);
  }
  if (json::has(c, "workingDir")) out->set("workingDir", json::getString(c, "workingDir"));
  ArrayPtr envs = new json::Array();
  for (const EnvVar& e : env) {
    ObjectPtr kv = new json::Object();
    kv->set("key", e.name);
    kv->set("value", e.value);
    envs->add(kv);
  }
  out->set("envs", envs);
  out->set("mounts", containerMounts(pod, c, env, field, opts));

  ObjectPtr labels = podIdentityLabels(pod, opts);
  labels->set(kContainerNameLabel, name);
  out->set("labels", labels);

  ObjectPtr annotations = new json::Object();
  annotations->set(kContainerHashAnnotation, containerHash(c));
  annotations->set(kContainerRestartCountAnnotation, std::to_string(restartCount));
  annotations->set(kContainerTerminationMessagePathAnnotation,
                   json::getString(c, "terminationMessagePath", "/dev/termination-log"));
  annotations->set(kContainerTerminationMessagePolicyAnnotation,
                   json::getString(c, "terminationMessagePolicy", "File"));
  ArrayPtr ports = json::getArray(c, "ports");
  if (!ports.isNull() && ports->size() > 0)
    annotations->set(kContainerPortsAnnotation, json::stringify(Poco::Dynamic::Var(ports)));
  ObjectPtr preStop = json::getObject(json::getObject(c, "lifecycle"), "preStop");
  if (!preStop.isNull()) annotations->set(kContainerPreStopHandlerAnnotation, json::stringify(preStop));
  if (json::has(spec, "terminationGracePeriodSeconds")) {
    annotations->set(kPodTerminationGracePeriodAnnotation,
                     std::to_string(json::getInt(spec, "terminationGracePeriodSeconds")));
  }
  if (json::has(meta, "deletionGracePeriodSeconds")) {
    annotations->set(kPodDeletionGracePeriodAnnotation,
                     std::to_string(json::getInt(meta, "deletionGracePeriodSeconds")));
  }
  out->set("annotations", annotations);
  out->set("logPath", name + "/" + std::to_string(restartCount) + ".log");
  out->set("stdin", json::getBool(c, "stdin"));
  out->set("stdinOnce", json::getBool(c, "stdinOnce"));
  out->set("tty", json::getBool(c, "tty"));

  ObjectPtr linux = new json::Object();
  linux->set("resources", linuxResources(c, field));
  linux->set("securityContext", containerSecurityContext(pod, c));
  out->set("linux", linux);
  return out;
}

std::string qosClass(const json::ObjectPtr& pod) {
  // Sums of positive cpu (milli) and memory (bytes) requests and limits over all containers.
  std::map<std::string, int64_t> requests;
  std::map<std::string, int64_t> limits;
  bool guaranteed = true;
  ObjectPtr spec = json::getObject(pod, "spec");
  for (const ObjectPtr& c : allContainers(spec, true)) {
    std::string field = detail::containerField(pod, c);
    int limitsFound = 0;
    for (const char* name : {"cpu", "memory"}) {
      bool cpu = std::string(name) == "cpu";
      std::optional<Quantity> limit = resourceAt(c, "limits", name, field);
      std::optional<Quantity> request = resourceAt(c, "requests", name, field);
      if (!request) request = limit;  // API defaulting: a missing request equals the limit
      if (request && !request->isZero()) requests[name] += cpu ? request->milliValue() : request->value();
      if (limit && !limit->isZero()) {
        limits[name] += cpu ? limit->milliValue() : limit->value();
        ++limitsFound;
      }
    }
    // Every container needs both a cpu and a memory limit for the pod to be Guaranteed.
    if (limitsFound < 2) guaranteed = false;
  }
  if (requests.empty() && limits.empty()) return "BestEffort";
  if (guaranteed) {
    for (const auto& [name, request] : requests) {
      auto it = limits.find(name);
      if (it == limits.end() || it->second != request) guaranteed = false;
    }
  }
  return guaranteed && requests.size() == limits.size() ? "Guaranteed" : "Burstable";
}

}  // namespace podwarden::cri
