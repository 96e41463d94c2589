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

runtime::NamespaceOption namespaceOptions(const ObjectPtr& spec) {
  using runtime::NamespaceMode;
  runtime::NamespaceOption ns;
  ns.network = json::getBool(spec, "hostNetwork") ? NamespaceMode::kNode : NamespaceMode::kPod;
  // hostPID wins over shareProcessNamespace, which gives the whole pod one PID namespace.
  ns.pid = json::getBool(spec, "hostPID")                 ? NamespaceMode::kNode
           : json::getBool(spec, "shareProcessNamespace") ? NamespaceMode::kPod
                                                          : NamespaceMode::kContainer;
  ns.ipc = json::getBool(spec, "hostIPC") ? NamespaceMode::kNode : NamespaceMode::kPod;
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

runtime::LinuxContainerResources linuxResources(const ObjectPtr& c, const std::string& field) {
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

  runtime::LinuxContainerResources r;
  r.cpuPeriod = kCpuPeriodUs;
  r.cpuQuota = quota;
  r.cpuShares = shares;
  r.memoryLimitInBytes = memoryLimit ? memoryLimit->value() : int64_t{0};
  r.oomScoreAdj = kCriticalOomScoreAdj;
  return r;
}

// runAsUser/runAsGroup: the container's, else the pod's.
std::optional<int64_t> idOf(const ObjectPtr& container, const ObjectPtr& pod, const std::string& name) {
  if (json::has(container, name)) return json::getInt(container, name);
  if (json::has(pod, name)) return json::getInt(pod, name);
  return std::nullopt;
}

// fsGroup first, then supplementalGroups, as the kubelet orders them.
std::vector<int64_t> supplementalGroups(const ObjectPtr& podSc) {
  std::vector<int64_t> groups;
  if (json::has(podSc, "fsGroup")) groups.push_back(json::getInt(podSc, "fsGroup"));
  ArrayPtr extra = json::getArray(podSc, "supplementalGroups");
  if (!extra.isNull()) {
    for (const auto& g : *extra) groups.push_back(g.convert<int64_t>());
  }
  return groups;
}

bool isPrivileged(const ObjectPtr& c) {
  return json::getBool(json::getObject(c, "securityContext"), "privileged");
}

// The container's effective security context: run-as identities from the container, else the pod;
// privilege, capabilities and the root filesystem from the container alone.
runtime::LinuxContainerSecurityContext containerSecurityContext(const ObjectPtr& pod, const ObjectPtr& c) {
  ObjectPtr spec = json::getObject(pod, "spec");
  ObjectPtr podSc = json::getObject(spec, "securityContext");
  ObjectPtr sc = json::getObject(c, "securityContext");
  runtime::LinuxContainerSecurityContext out;
  out.namespaceOptions = namespaceOptions(spec);
  out.privileged = json::getBool(sc, "privileged");
  ObjectPtr caps = json::getObject(sc, "capabilities");
  if (!caps.isNull()) {
    out.capabilities = runtime::Capability{stringList(json::getArray(caps, "add")),
                                           stringList(json::getArray(caps, "drop"))};
  }
  out.runAsUser = idOf(sc, podSc, "runAsUser");
  out.runAsGroup = idOf(sc, podSc, "runAsGroup");
  out.readonlyRootfs = json::getBool(sc, "readOnlyRootFilesystem");
  if (json::has(sc, "allowPrivilegeEscalation")) {
    out.noNewPrivs = !json::getBool(sc, "allowPrivilegeEscalation", true);
  }
  out.supplementalGroups = supplementalGroups(podSc);
  return out;
}

runtime::MountPropagation propagationOf(const ObjectPtr& c, const ObjectPtr& vm, const std::string& mField) {
  const std::string mode = json::getString(vm, "mountPropagation", "None");
  if (mode == "None") return runtime::MountPropagation::kPrivate;
  if (mode == "HostToContainer") return runtime::MountPropagation::kHostToContainer;
  if (mode == "Bidirectional") {
    if (!isPrivileged(c)) {
      throw TranslateError(mField + ".mountPropagation", "Bidirectional needs a privileged container");
    }
    return runtime::MountPropagation::kBidirectional;
  }
  throw TranslateError(mField + ".mountPropagation",
                       "unknown mode \"" + mode + "\" (None, HostToContainer, Bidirectional)");
}

std::vector<runtime::Mount> containerMounts(const ObjectPtr& pod, const ObjectPtr& c,
                                            const std::vector<EnvVar>& env, const std::string& field,
                                            const TranslateOptions& opts) {
  std::vector<runtime::Mount> mounts;
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

    mounts.push_back({mountPath, hostPath, json::getBool(vm, "readOnly"), propagationOf(c, vm, mField)});
  }
  return mounts;
}

runtime::DnsConfig readResolvConf(const std::string& path) {
  runtime::DnsConfig cfg;
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

// The kubelet's DNS: dnsPolicy None uses spec.dnsConfig alone. Default uses the host's resolver
// configuration; ClusterFirst(WithHostNet) falls back to it because podwarden has no cluster DNS (and
// hostNetwork pods with ClusterFirst get it anyway). spec.dnsConfig is merged over the base (servers and
// searches appended without duplicates, options by name, pod wins). Null means "no dnsConfig": the
// runtime gives the container the host's resolv.conf itself, so we only build one when we must.
std::optional<runtime::DnsConfig> dnsConfig(const ObjectPtr& spec, const TranslateOptions& opts) {
  std::string policy = json::getString(spec, "dnsPolicy", "ClusterFirst");
  ObjectPtr podDns = json::getObject(spec, "dnsConfig");
  if (policy != "None" && (podDns.isNull() || podDns->size() == 0)) return std::nullopt;
  if (policy != "None" && policy != "Default" && policy != "ClusterFirst" &&
      policy != "ClusterFirstWithHostNet") {
    throw TranslateError("spec.dnsPolicy", "unknown policy \"" + policy + "\"");
  }
  runtime::DnsConfig cfg;
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
  cfg.options.clear();
  for (const auto& kv : options)
    cfg.options.push_back(kv.second.empty() ? kv.first : kv.first + ":" + kv.second);
  return cfg;
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

runtime::StringMap podIdentityLabels(const ObjectPtr& pod, const TranslateOptions& opts) {
  ObjectPtr meta = json::getObject(pod, "metadata");
  return {{kPodNameLabel, json::getString(meta, "name")},
          {kPodNamespaceLabel, json::getString(meta, "namespace")},
          {kPodUidLabel, json::getString(meta, "uid")},
          {kNodeLabel, opts.nodeName}};
}

runtime::StringMap stringMap(const ObjectPtr& in) {
  runtime::StringMap out;
  if (in.isNull()) return out;
  for (const auto& kv : *in) out[kv.first] = scalarString(kv.second);
  return out;
}

std::vector<runtime::PortMapping> portMappings(const ObjectPtr& spec) {
  std::vector<runtime::PortMapping> out;
  ArrayPtr containers = json::getArray(spec, "containers");
  for (size_t i = 0; !containers.isNull() && i < containers->size(); ++i) {
    ArrayPtr ports = json::getArray(containers->getObject(static_cast<unsigned>(i)), "ports");
    for (size_t j = 0; !ports.isNull() && j < ports->size(); ++j) {
      ObjectPtr p = ports->getObject(static_cast<unsigned>(j));
      int64_t hostPort = json::getInt(p, "hostPort");
      if (hostPort <= 0) continue;  // only published ports need the runtime's help
      std::string protocol = json::getString(p, "protocol", "TCP");
      runtime::Protocol proto = runtime::Protocol::kTcp;
      if (protocol == "UDP") {
        proto = runtime::Protocol::kUdp;
      } else if (protocol == "SCTP") {
        proto = runtime::Protocol::kSctp;
      } else if (protocol != "TCP") {
        throw TranslateError(at(at("spec.containers", i) + ".ports", j) + ".protocol",
                             "unknown protocol \"" + protocol + "\"");
      }
      out.push_back({proto, json::getInt(p, "containerPort"), hostPort, json::getString(p, "hostIP")});
    }
  }
  return out;
}

runtime::LinuxSandboxSecurityContext sandboxSecurityContext(const ObjectPtr& spec) {
  ObjectPtr podSc = json::getObject(spec, "securityContext");
  runtime::LinuxSandboxSecurityContext sc;
  sc.namespaceOptions = namespaceOptions(spec);
  for (const ObjectPtr& c : allContainers(spec, true)) sc.privileged = sc.privileged || isPrivileged(c);
  sc.runAsUser = idOf(nullptr, podSc, "runAsUser");
  sc.runAsGroup = idOf(nullptr, podSc, "runAsGroup");
  sc.supplementalGroups = supplementalGroups(podSc);
  return sc;
}

runtime::StringMap sysctls(const ObjectPtr& podSc) {
  runtime::StringMap out;
  ArrayPtr podSysctls = json::getArray(podSc, "sysctls");
  for (size_t i = 0; !podSysctls.isNull() && i < podSysctls->size(); ++i) {
    ObjectPtr s = podSysctls->getObject(static_cast<unsigned>(i));
    std::string key = json::getString(s, "name");
    if (key.empty()) throw TranslateError(at("spec.securityContext.sysctls", i) + ".name", "required");
    out[key] = scalarAt(s, "value");
  }
  return out;
}

// What the host records on a container to recognise and stop it later without its manifest.
runtime::StringMap containerAnnotations(const ObjectPtr& pod, const ObjectPtr& c, uint32_t restartCount) {
  ObjectPtr meta = json::getObject(pod, "metadata");
  ObjectPtr spec = json::getObject(pod, "spec");
  runtime::StringMap a;
  a[kContainerHashAnnotation] = containerHash(c);
  a[kContainerRestartCountAnnotation] = std::to_string(restartCount);
  a[kContainerTerminationMessagePathAnnotation] =
      json::getString(c, "terminationMessagePath", "/dev/termination-log");
  a[kContainerTerminationMessagePolicyAnnotation] = json::getString(c, "terminationMessagePolicy", "File");
  ArrayPtr ports = json::getArray(c, "ports");
  if (!ports.isNull() && ports->size() > 0)
    a[kContainerPortsAnnotation] = json::stringify(Poco::Dynamic::Var(ports));
  ObjectPtr preStop = json::getObject(json::getObject(c, "lifecycle"), "preStop");
  if (!preStop.isNull()) a[kContainerPreStopHandlerAnnotation] = json::stringify(preStop);
  if (json::has(spec, "terminationGracePeriodSeconds")) {
    a[kPodTerminationGracePeriodAnnotation] =
        std::to_string(json::getInt(spec, "terminationGracePeriodSeconds"));
  }
  if (json::has(meta, "deletionGracePeriodSeconds")) {
    a[kPodDeletionGracePeriodAnnotation] = std::to_string(json::getInt(meta, "deletionGracePeriodSeconds"));
  }
  return a;
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

runtime::PodSandboxConfig sandboxConfig(const json::ObjectPtr& pod, uint32_t attempt,
                                        const TranslateOptions& opts) {
  ObjectPtr meta = json::getObject(pod, "metadata");
  ObjectPtr spec = json::getObject(pod, "spec");
  runtime::PodSandboxConfig out;
  out.metadata = {json::getString(meta, "name"), json::getString(meta, "uid"),
                  json::getString(meta, "namespace", "default"), attempt};
  const runtime::PodSandboxMetadata& md = out.metadata;
  if (md.name.empty()) throw TranslateError("metadata.name", "required");
  if (md.uid.empty()) throw TranslateError("metadata.uid", "required");
  // A host-network sandbox shares the host's UTS namespace: setting a hostname there fails in runc.
  out.hostname = json::getBool(spec, "hostNetwork") ? std::string() : podHostname(pod);
  out.logDirectory = detail::joinPath(opts.logDir, md.ns + "_" + md.name + "_" + md.uid);
  out.dnsConfig = dnsConfig(spec, opts);
  out.portMappings = portMappings(spec);
  out.labels = stringMap(json::getObject(meta, "labels"));
  for (const auto& [k, v] : podIdentityLabels(pod, opts)) out.labels[k] = v;
  out.annotations = stringMap(json::getObject(meta, "annotations"));
  out.linuxConfig.securityContext = sandboxSecurityContext(spec);
  out.linuxConfig.sysctls = sysctls(json::getObject(spec, "securityContext"));
  return out;
}

runtime::ContainerConfig containerConfig(const json::ObjectPtr& pod, const json::ObjectPtr& c,
                                         uint32_t restartCount, const TranslateOptions& opts) {
  std::string field = detail::containerField(pod, c);
  runtime::ContainerConfig out;
  out.metadata = {json::getString(c, "name"), restartCount};
  const std::string& name = out.metadata.name;
  if (name.empty()) throw TranslateError(field + ".name", "required");
  out.image = json::getString(c, "image");
  if (out.image.empty()) throw TranslateError(field + ".image", "required");

  std::vector<EnvVar> env = containerEnv(pod, c, opts);
  std::map<std::string, std::string> envMap;
  for (const EnvVar& e : env) envMap[e.name] = e.value;
  auto expanded = [&](const char* key) -> std::optional<std::vector<std::string>> {
    ArrayPtr list = json::getArray(c, key);
    if (list.isNull()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& v : *list) {
      out.push_back(
          expandReferences(scalarString(v), [&](const std::string& ref) -> std::optional<std::string> {
            auto it = envMap.find(ref);
            if (it == envMap.end()) return std::nullopt;
            return it->second;
          }));
    }
    return out;
  };
  out.command = expanded("command");
  out.args = expanded("args");
  if (json::has(c, "workingDir")) out.workingDir = json::getString(c, "workingDir");
  for (const EnvVar& e : env) out.envs.push_back({e.name, e.value});
  out.mounts = containerMounts(pod, c, env, field, opts);
  out.labels = podIdentityLabels(pod, opts);
  out.labels[kContainerNameLabel] = name;
  out.annotations = containerAnnotations(pod, c, restartCount);
  out.logPath = name + "/" + std::to_string(restartCount) + ".log";
  out.stdinOpen = json::getBool(c, "stdin");
  out.stdinOnce = json::getBool(c, "stdinOnce");
  out.tty = json::getBool(c, "tty");
  out.linuxConfig.resources = linuxResources(c, field);
  out.linuxConfig.securityContext = containerSecurityContext(pod, c);
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
