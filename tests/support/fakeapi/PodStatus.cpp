// PodStatus.cpp - the pod status as a real kube-apiserver 1.28 decodes, converts and validates it on a write.
// Each rule names the Kubernetes function it mirrors; messages and field paths are the real ones (including
// the real server's quirks, such as `metadata.conditions[i].Type` for a pod condition).
#include "PodStatus.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "util/Json.h"

namespace podwarden::fakeapi {

using ObjectPtr = Poco::JSON::Object::Ptr;
using ArrayPtr = Poco::JSON::Array::Ptr;
using Poco::Dynamic::Var;

namespace {

bool isObject(const Var& v) {
  return !v.isEmpty() && v.type() == typeid(ObjectPtr);
}
bool isArray(const Var& v) {
  return !v.isEmpty() && v.type() == typeid(ArrayPtr);
}

ObjectPtr objectAt(const ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return nullptr;
  Var v = o->get(key);
  return isObject(v) ? v.extract<ObjectPtr>() : nullptr;
}

ArrayPtr arrayAt(const ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return nullptr;
  Var v = o->get(key);
  return isArray(v) ? v.extract<ArrayPtr>() : nullptr;
}

std::vector<ObjectPtr> objectsIn(const ArrayPtr& a) {
  std::vector<ObjectPtr> out;
  if (a.isNull()) return out;
  for (const auto& v : *a)
    out.push_back(isObject(v) ? v.extract<ObjectPtr>() : ObjectPtr(new Poco::JSON::Object()));
  return out;
}

std::string str(const ObjectPtr& o, const std::string& key) {
  return json::getString(o, key);
}

std::string idx(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// --- Go formatting ---

// time's quote(): bytes outside printable ASCII as \xNN, `"` and `\` escaped.
std::string timeQuote(const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x80 || c < 0x20) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// %q / %#v of a Go string (strconv.Quote, ASCII-only approximation).
std::string goQuote(const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// --- time.Parse(time.RFC3339, value), the general parser's path and error texts (src/time/format.go) ---

bool isDigitAt(const std::string& s, size_t i) {
  return i < s.size() && s[i] >= '0' && s[i] <= '9';
}

// getnum(s, fixed): one or two digits (exactly two when fixed).
bool getnum(std::string& s, bool fixed, int& n) {
  if (!isDigitAt(s, 0)) return false;
  if (!isDigitAt(s, 1)) {
    if (fixed) return false;
    n = s[0] - '0';
    s.erase(0, 1);
    return true;
  }
  n = (s[0] - '0') * 10 + (s[1] - '0');
  s.erase(0, 2);
  return true;
}

// atoi: optional sign, then digits only.
bool goAtoi(std::string s, int& n) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.erase(0, 1);
  }
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  if (neg) n = -n;
  return true;
}

int daysIn(int month, int year) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))) return 29;
  return days[(month - 1) % 12];
}

// --- IPs: k8s.io/utils/net ParseIPSloppy (the pre-Go-1.17 parser: IPv4 octets may have leading zeros) ---

struct ParsedIp {
  bool ok = false;
  bool v4 = false;  // net.IP.To4() != nil: IPv4, or IPv4-mapped IPv6
};

// Go 1.16 parseIPv4 via dtoi: decimal octets <= 255, leading zeros allowed.
bool parseIPv4Sloppy(const std::string& s) {
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    if (pos >= s.size()) return false;
    if (i > 0) {
      if (s[pos] != '.') return false;
      ++pos;
    }
    size_t start = pos;
    long n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && n < 0xFFFFFF) n = n * 10 + (s[pos++] - '0');
    if (pos == start || n >= 0xFFFFFF || n > 0xFF) return false;
  }
  return pos == s.size();
}

ParsedIp parseIPSloppy(const std::string& s) {
  ParsedIp ip;
  for (char c : s) {
    if (c == '.') {
      ip.ok = parseIPv4Sloppy(s);
      ip.v4 = ip.ok;
      return ip;
    }
    if (c == ':') {
      unsigned char buf[16];
      ip.ok = inet_pton(AF_INET6, s.c_str(), buf) == 1;
      static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      ip.v4 = ip.ok && std::memcmp(buf, mapped, 12) == 0;
      return ip;
    }
  }
  return ip;
}

// validation.IsValidIP (k8s.io/apimachinery/pkg/util/validation, 1.28).
const char* kInvalidIpMessage = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

// The IP lists of validatePodIPs and validateHostIPs: every entry a valid IP; more than one entry: at most
// one per family (netutils.IsDualStackIPStrings) and no duplicates. `goType` is the internal type's name for
// the messages (%#v of core.PodIP / core.HostIP).
void validateIpList(const std::vector<std::string>& ips, const std::string& path, const std::string& goType,
                    std::vector<StatusCause>& causes) {
  for (size_t i = 0; i < ips.size(); ++i) {
    if (!parseIPSloppy(ips[i]).ok) causes.push_back(fieldInvalid(idx(path, i), ips[i], kInvalidIpMessage));
  }
  if (ips.size() <= 1) return;
  bool v4 = false, v6 = false;
  std::string dualStackError;
  for (size_t i = 0; i < ips.size(); ++i) {
    ParsedIp ip = parseIPSloppy(ips[i]);
    if (!ip.ok) {
      dualStackError = "ip at index " + std::to_string(i) + " is invalid";
      break;
    }
    (ip.v4 ? v4 : v6) = true;
  }
  bool dualStack = dualStackError.empty() && v4 && v6;
  if (!dualStackError.empty()) {
    causes.push_back(
        StatusCause{"InternalError",
                    "Internal error: failed to check for dual stack with error:" + dualStackError, path});
  }
  if (!dualStack || ips.size() > 2) {
    std::string value = "[]core." + goType + "{";
    for (size_t i = 0; i < ips.size(); ++i) {
      value += (i ? ", " : "") + std::string("core.") + goType + "{IP:" + goQuote(ips[i]) + "}";
    }
    value += "}";
    causes.push_back(StatusCause{
        "FieldValueInvalid",
        "Invalid value: " + value + ": may specify no more than one IP for each IP family", path});
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < ips.size(); ++i) {
    if (!seen.insert(ips[i]).second) {
      causes.push_back(StatusCause{"FieldValueDuplicate",
                                   "Duplicate value: core." + goType + "{IP:" + goQuote(ips[i]) + "}",
                                   idx(path, i)});
    }
  }
}

std::vector<std::string> ipsOf(const ArrayPtr& list) {
  std::vector<std::string> ips;
  for (const auto& entry : objectsIn(list)) ips.push_back(str(entry, "ip"));
  return ips;
}

// --- names: k8s.io/apimachinery/pkg/util/validation ---

const char* kSubdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char* kQualifiedNameMessage =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}

// dns1123SubdomainRegexp, without the length limit.
bool matchesSubdomain(const std::string& s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || !isLowerAlnum(label.front()) || !isLowerAlnum(label.back()) ||
        !std::all_of(label.begin(), label.end(), [](char c) { return isLowerAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

// IsDNS1123Subdomain.
std::vector<std::string> dns1123SubdomainErrors(const std::string& value) {
  std::vector<std::string> errs;
  if (value.size() > 253) errs.push_back("must be no more than 253 characters");
  if (!matchesSubdomain(value)) errs.push_back(kSubdomainMessage);
  return errs;
}

// IsQualifiedName: [prefix/]name, the prefix a DNS subdomain, the name
// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] of at most 63 characters.
std::vector<std::string> qualifiedNameErrors(const std::string& value) {
  std::vector<std::string> errs;
  std::string name;
  size_t slashes = static_cast<size_t>(std::count(value.begin(), value.end(), '/'));
  if (slashes == 0) {
    name = value;
  } else if (slashes == 1) {
    std::string prefix = value.substr(0, value.find('/'));
    name = value.substr(value.find('/') + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const auto& msg : dns1123SubdomainErrors(prefix)) errs.push_back("prefix part " + msg);
    }
  } else {
    errs.push_back(std::string("a qualified name ") + kQualifiedNameMessage +
                   " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    return errs;
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.push_back("name part must be no more than 63 characters");
  }
  bool matches = !name.empty() && isAlnum(name.front()) && isAlnum(name.back()) &&
                 std::all_of(name.begin(), name.end(),
                             [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
  if (!matches) errs.push_back(std::string("name part ") + kQualifiedNameMessage);
  return errs;
}

// --- ValidatePodStatusUpdate's parts ---

// validatePodConditions: the types the system owns (PodScheduled, Ready, Initialized) pass; any other type
// must be a qualified name. Nothing else about a condition is checked (its status may be any string). The
// real server reports these under `metadata.conditions[i].Type` (ValidatePodStatusUpdate passes the
// metadata path).
void validatePodConditions(const ObjectPtr& status, std::vector<StatusCause>& causes) {
  static const std::set<std::string> systemConditions = {"PodScheduled", "Ready", "Initialized"};
  auto conditions = objectsIn(arrayAt(status, "conditions"));
  for (size_t i = 0; i < conditions.size(); ++i) {
    std::string type = str(conditions[i], "type");
    if (systemConditions.count(type)) continue;
    for (const auto& msg : qualifiedNameErrors(type)) {
      causes.push_back(fieldInvalid(idx("metadata.conditions", i) + ".Type", type, msg));
    }
  }
}

bool terminated(const ObjectPtr& containerStatus) {
  return !objectAt(objectAt(containerStatus, "state"), "terminated").isNull();
}

// ValidateContainerStateTransition (and ValidateInitContainerStateTransition, which also lets restartable
// init containers - restartPolicy Always, sidecars - restart): unless the pod's restartPolicy is Always, a
// container terminated in the old status (with OnFailure: terminated with exit code 0) may not be
// non-terminated in the new one. The path indexes the OLD status list.
void validateStateTransition(const ArrayPtr& newStatuses, const ArrayPtr& oldStatuses,
                             const std::string& path, const std::string& restartPolicy,
                             const ArrayPtr& initContainers, std::vector<StatusCause>& causes) {
  if (restartPolicy == "Always") return;
  auto olds = objectsIn(oldStatuses);
  auto news = objectsIn(newStatuses);
  for (size_t i = 0; i < olds.size(); ++i) {
    if (!terminated(olds[i])) continue;
    ObjectPtr term = objectAt(objectAt(olds[i], "state"), "terminated");
    if (json::getInt(term, "exitCode", 0) != 0 && restartPolicy == "OnFailure") continue;
    std::string name = str(olds[i], "name");
    bool restartable = false;
    for (const auto& c : objectsIn(initContainers)) {
      if (str(c, "name") == name) {
        restartable = str(c, "restartPolicy") == "Always";
        break;
      }
    }
    if (restartable) continue;
    for (const auto& n : news) {
      if (str(n, "name") == name && !terminated(n)) {
        causes.push_back(
            fieldForbidden(idx(path, i) + ".state", "may not be transitioned to non-terminated state"));
      }
    }
  }
}

// validatePodIPs: every status.podIPs entry a valid IP, at most one per family, no duplicates. (podIP
// itself is not checked: conversion has made it podIPs[0].)
void validatePodIPs(const ObjectPtr& status, std::vector<StatusCause>& causes) {
  validateIpList(ipsOf(arrayAt(status, "podIPs")), "status.podIPs", "PodIP", causes);
}

// validateHostIPs (PodHostIPs: alpha in 1.28, on by default from 1.29): with status.hostIPs set,
// hostIPs[0].ip must equal hostIP, and the list follows the podIPs rules. A hostIP without hostIPs is not
// checked at all.
void validateHostIPs(const ObjectPtr& status, std::vector<StatusCause>& causes) {
  auto hostIPs = ipsOf(arrayAt(status, "hostIPs"));
  if (hostIPs.empty()) return;
  if (str(status, "hostIP") != hostIPs[0]) {
    causes.push_back(fieldInvalid("status.hostIPs[0].ip", hostIPs[0], "must be equal to `hostIP`"));
  }
  validateIpList(hostIPs, "status.hostIPs", "HostIP", causes);
}

// --- timestamps ---

// One metav1.Time value as metav1.Time.UnmarshalJSON decodes it: null is the zero time, a string must parse
// as RFC 3339, anything else fails json.Unmarshal into a string (the decoder adds the struct and the JSON
// path).
std::optional<std::string> timeError(const ObjectPtr& o, const std::string& key, const std::string& goStruct,
                                     const std::string& jsonPath, bool decoderContext) {
  if (o.isNull() || !o->has(key)) return std::nullopt;
  Var v = o->get(key);
  if (v.isEmpty()) return std::nullopt;
  if (v.isString()) return rfc3339ParseError(v.convert<std::string>());
  std::string kind = isObject(v)                ? "object"
                     : isArray(v)               ? "array"
                     : v.type() == typeid(bool) ? "bool"
                                                : "number";
  if (!decoderContext) return "json: cannot unmarshal " + kind + " into Go value of type string";
  return "json: cannot unmarshal " + kind + " into Go struct field " + goStruct + "." + jsonPath + "." + key +
         " of type string";
}

std::optional<std::string> containerTimesError(const ArrayPtr& statuses, const std::string& path,
                                               bool context) {
  for (const auto& cs : objectsIn(statuses)) {
    for (const char* which : {"state", "lastState"}) {
      ObjectPtr state = objectAt(cs, which);
      std::string p = path + "." + which;
      if (auto e = timeError(objectAt(state, "running"), "startedAt", "ContainerStateRunning", p + ".running",
                             context))
        return e;
      ObjectPtr term = objectAt(state, "terminated");
      for (const char* key : {"startedAt", "finishedAt"}) {
        if (auto e = timeError(term, key, "ContainerStateTerminated", p + ".terminated", context)) return e;
      }
    }
  }
  return std::nullopt;
}

void goFormatTo(const Var& v, std::ostringstream& out) {
  if (v.isEmpty()) {
    out << "<nil>";
  } else if (isObject(v)) {
    ObjectPtr o = v.extract<ObjectPtr>();
    std::map<std::string, Var> sorted(o->begin(), o->end());
    out << "map[";
    bool first = true;
    for (const auto& kv : sorted) {
      out << (first ? "" : " ") << kv.first << ":";
      goFormatTo(kv.second, out);
      first = false;
    }
    out << "]";
  } else if (isArray(v)) {
    ArrayPtr a = v.extract<ArrayPtr>();
    out << "[";
    for (unsigned i = 0; i < a->size(); ++i) {
      if (i) out << " ";
      goFormatTo(a->get(i), out);
    }
    out << "]";
  } else if (v.type() == typeid(bool)) {
    out << (v.extract<bool>() ? "true" : "false");
  } else {
    out << v.convert<std::string>();
  }
}

}  // namespace

std::optional<std::string> rfc3339ParseError(const std::string& value) {
  static const std::string layout = "2006-01-02T15:04:05Z07:00";
  auto cannotParse = [&](const std::string& valueElem, const std::string& layoutElem) {
    return "parsing time " + timeQuote(value) + " as " + timeQuote(layout) + ": cannot parse " +
           timeQuote(valueElem) + " as " + timeQuote(layoutElem);
  };
  auto outOfRange = [&](const std::string& what) {
    return "parsing time " + timeQuote(value) + ": " + what + " out of range";
  };
  std::string v = value;
  auto skip = [&](char c) {
    if (v.empty() || v[0] != c) return false;
    v.erase(0, 1);
    return true;
  };
  std::string hold;
  // "2006"
  int year = 0;
  if (v.size() < 4 || !goAtoi(v.substr(0, 4), year)) return cannotParse(v, "2006");
  v.erase(0, 4);
  // "-01": month, 1..12
  if (!skip('-')) return cannotParse(v, "-");
  int month = 0;
  hold = v;
  if (!getnum(v, true, month)) return cannotParse(hold, "01");
  if (month <= 0 || month > 12) return outOfRange("month");
  // "-02": day, checked against the month at the end
  if (!skip('-')) return cannotParse(v, "-");
  int day = 0;
  hold = v;
  if (!getnum(v, true, day)) return cannotParse(hold, "02");
  // "T15": hour, one or two digits
  if (!skip('T')) return cannotParse(v, "T");
  int hour = 0;
  hold = v;
  if (!getnum(v, false, hour)) return cannotParse(hold, "15");
  if (hour >= 24) return outOfRange("hour");
  // ":04"
  if (!skip(':')) return cannotParse(v, ":");
  int minute = 0;
  hold = v;
  if (!getnum(v, true, minute)) return cannotParse(hold, "04");
  if (minute >= 60) return outOfRange("minute");
  // ":05", and fractional seconds although the layout has none
  if (!skip(':')) return cannotParse(v, ":");
  int second = 0;
  hold = v;
  if (!getnum(v, true, second)) return cannotParse(hold, "05");
  if (second >= 60) return outOfRange("second");
  if (v.size() >= 2 && (v[0] == '.' || v[0] == ',') && isDigitAt(v, 1)) {
    size_t n = 2;
    while (isDigitAt(v, n)) ++n;
    v.erase(0, n);
  }
  // "Z07:00": Z, or a sign, two digits, ':' and two digits
  hold = v;
  if (!v.empty() && v[0] == 'Z') {
    v.erase(0, 1);
  } else {
    if (v.size() < 6 || v[3] != ':') return cannotParse(hold, "Z07:00");
    std::string sign = v.substr(0, 1), hh = v.substr(1, 2), mm = v.substr(4, 2);
    v.erase(0, 6);
    int hr = 0, mn = 0;
    bool ok = getnum(hh, true, hr) && getnum(mm, true, mn);
    if (hr > 24) return outOfRange("time zone offset hour");
    if (mn > 60) return outOfRange("time zone offset minute");
    if (!ok || (sign != "+" && sign != "-")) return cannotParse(hold, "Z07:00");
  }
  if (!v.empty()) return "parsing time " + timeQuote(value) + ": extra text: " + timeQuote(v);
  if (day < 1 || day > daysIn(month, year)) return outOfRange("day");
  return std::nullopt;
}

std::optional<std::string> podTimeDecodeError(const ObjectPtr& pod, bool decoderContext) {
  ObjectPtr meta = objectAt(pod, "metadata");
  for (const char* key : {"creationTimestamp", "deletionTimestamp"}) {
    if (auto e = timeError(meta, key, "ObjectMeta", "metadata", decoderContext)) return e;
  }
  ObjectPtr status = objectAt(pod, "status");
  if (auto e = timeError(status, "startTime", "PodStatus", "status", decoderContext)) return e;
  for (const auto& c : objectsIn(arrayAt(status, "conditions"))) {
    for (const char* key : {"lastProbeTime", "lastTransitionTime"}) {
      if (auto e = timeError(c, key, "PodCondition", "status.conditions", decoderContext)) return e;
    }
  }
  for (const char* list : {"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"}) {
    if (auto e = containerTimesError(arrayAt(status, list), std::string("status.") + list, decoderContext))
      return e;
  }
  return std::nullopt;
}

void convertPodIPs(ObjectPtr status) {
  if (status.isNull()) return;
  std::string podIP = str(status, "podIP");
  auto podIPs = ipsOf(arrayAt(status, "podIPs"));
  // Convert_v1_PodStatus_To_core_PodStatus: "If both fields (v1.PodIPs and v1.PodIP) are provided and
  // differ, then PodIP is authoritative for compatibility with older kubelets"; a PodIP alone fills PodIPs.
  if (!podIP.empty() && (podIPs.empty() || podIPs[0] != podIP)) {
    ObjectPtr entry = new Poco::JSON::Object();
    entry->set("ip", podIP);
    ArrayPtr list = new Poco::JSON::Array();
    list->add(entry);
    status->set("podIPs", list);
    podIPs = {podIP};
  }
  // Convert_core_PodStatus_To_v1_PodStatus: podIP is podIPs[0]; empty values are omitted.
  if (podIPs.empty() && status->has("podIPs")) status->remove("podIPs");
  if (podIPs.empty() || podIPs[0].empty()) {
    status->remove("podIP");
  } else {
    status->set("podIP", podIPs[0]);
  }
}

void validatePodStatusUpdate(const ObjectPtr& newPod, const ObjectPtr& oldPod,
                             std::vector<StatusCause>& causes) {
  ObjectPtr status = objectAt(newPod, "status");
  ObjectPtr oldStatus = objectAt(oldPod, "status");
  ObjectPtr oldSpec = objectAt(oldPod, "spec");
  validatePodConditions(status, causes);
  // status.nominatedNodeName, when changed and set, must be a node name (a DNS subdomain).
  std::string nominated = str(status, "nominatedNodeName");
  if (nominated != str(oldStatus, "nominatedNodeName") && !nominated.empty()) {
    for (const auto& msg : dns1123SubdomainErrors(nominated)) {
      causes.push_back(fieldInvalid("status.nominatedNodeName", nominated, msg));
    }
  }
  std::string restartPolicy = str(oldSpec, "restartPolicy");
  validateStateTransition(arrayAt(status, "containerStatuses"), arrayAt(oldStatus, "containerStatuses"),
                          "status.containerStatuses", restartPolicy, nullptr, causes);
  validateStateTransition(arrayAt(status, "initContainerStatuses"),
                          arrayAt(oldStatus, "initContainerStatuses"), "status.initContainerStatuses",
                          restartPolicy, arrayAt(oldSpec, "initContainers"), causes);
  // The kubelet never restarts ephemeral containers: an implicit restartPolicy Never.
  validateStateTransition(arrayAt(status, "ephemeralContainerStatuses"),
                          arrayAt(oldStatus, "ephemeralContainerStatuses"),
                          "status.ephemeralContainerStatuses", "Never", nullptr, causes);
  validatePodIPs(status, causes);
  validateHostIPs(status, causes);
}

std::string goFormat(const Var& value) {
  std::ostringstream out;
  goFormatTo(value, out);
  return out.str();
}

}  // namespace podwarden::fakeapi
