// Tables.cpp - server-side printing: meta.k8s.io/v1 Table for `kubectl get` (Accept: ...;as=Table;...), with
// the columns the real printers define for pods, nodes, events and namespaces.
#include "ServerState.h"
#include "util/Json.h"

#include <algorithm>
#include <set>

namespace podwarden::fakeapi {

using ObjectPtr = Poco::JSON::Object::Ptr;
using ArrayPtr = Poco::JSON::Array::Ptr;
using Poco::Dynamic::Var;

namespace {

struct Column {
  const char* name;
  const char* type;
  const char* format;
  const char* description;
  int priority;
};

// "5s", "3m20s", "2d4h": the short human duration kubectl shows in AGE columns.
std::string humanDuration(int64_t seconds) {
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  auto f = [](int64_t a, const char* ua, int64_t b, const char* ub) {
    return std::to_string(a) + ua + (b == 0 ? std::string() : std::to_string(b) + ub);
  };
  if (seconds < 120) return std::to_string(seconds) + "s";
  int64_t minutes = seconds / 60;
  if (minutes < 10) return f(minutes, "m", seconds % 60, "s");
  if (minutes < 180) return std::to_string(minutes) + "m";
  int64_t hours = minutes / 60;
  if (hours < 8) return f(hours, "h", minutes % 60, "m");
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) return f(hours / 24, "d", hours % 24, "h");
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) return f(hours / (24 * 365), "y", (hours / 24) % 365, "d");
  return std::to_string(hours / (24 * 365)) + "y";
}

std::string ageOf(const std::string& timestamp) {
  if (timestamp.empty()) return "<unknown>";
  return humanDuration((nowNanos() - parseRfc3339(timestamp)) / 1000000000LL);
}

ObjectPtr meta(const ObjectPtr& o) { return json::getObject(o, "metadata"); }

std::vector<ObjectPtr> objectsIn(const ArrayPtr& a) {
  std::vector<ObjectPtr> out;
  if (a.isNull()) return out;
  for (const auto& v : *a) {
    if (v.type() == typeid(ObjectPtr)) out.push_back(v.extract<ObjectPtr>());
  }
  return out;
}

std::string orNone(const std::string& s) { return s.empty() ? "<none>" : s; }

// NAME READY STATUS RESTARTS AGE | IP NODE NOMINATED NODE READINESS GATES
std::vector<Column> podColumns() {
  return {
      {"Name", "string", "name", "Name must be unique within a namespace.", 0},
      {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0},
      {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
      {"Restarts", "integer", "", "The number of times the containers in this pod have been restarted.", 0},
      {"Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0},
      {"IP", "string", "", "IP address allocated to the pod. Routable at least within the cluster.", 1},
      {"Node", "string", "", "NodeName is a request to schedule this pod onto a specific node.", 1},
      {"Nominated Node", "string", "", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1},
      {"Readiness Gates", "string", "", "If specified, all readiness gates will be evaluated for pod readiness.", 1},
  };
}

std::vector<Var> podCells(const ObjectPtr& pod) {
  ObjectPtr spec = json::getObject(pod, "spec");
  ObjectPtr status = json::getObject(pod, "status");
  int64_t restarts = 0;
  int ready = 0;
  ArrayPtr containers = json::getArray(spec, "containers");
  int total = containers.isNull() ? 0 : static_cast<int>(containers->size());
  std::string reason = json::getString(status, "phase");
  if (!json::getString(status, "reason").empty()) reason = json::getString(status, "reason");

  bool initializing = false;
  auto inits = objectsIn(json::getArray(status, "initContainerStatuses"));
  ArrayPtr initSpecs = json::getArray(spec, "initContainers");
  for (size_t i = 0; i < inits.size(); ++i) {
    const ObjectPtr& c = inits[i];
    restarts += json::getInt(c, "restartCount");
    ObjectPtr state = json::getObject(c, "state");
    ObjectPtr terminated = json::getObject(state, "terminated");
    ObjectPtr waiting = json::getObject(state, "waiting");
    if (!terminated.isNull() && json::getInt(terminated, "exitCode") == 0) continue;
    initializing = true;
    if (!terminated.isNull()) {
      std::string r = json::getString(terminated, "reason");
      if (r.empty()) {
        int64_t signal = json::getInt(terminated, "signal");
        r = signal != 0 ? "Signal:" + std::to_string(signal) : "ExitCode:" + std::to_string(json::getInt(terminated, "exitCode"));
      }
      reason = "Init:" + r;
    } else if (!waiting.isNull() && !json::getString(waiting, "reason").empty() &&
               json::getString(waiting, "reason") != "PodInitializing") {
      reason = "Init:" + json::getString(waiting, "reason");
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(initSpecs.isNull() ? 0 : initSpecs->size());
    }
    break;
  }
  if (!initializing) {
    bool hasRunning = false;
    auto statuses = objectsIn(json::getArray(status, "containerStatuses"));
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
      const ObjectPtr& c = *it;
      restarts += json::getInt(c, "restartCount");
      ObjectPtr state = json::getObject(c, "state");
      ObjectPtr terminated = json::getObject(state, "terminated");
      ObjectPtr waiting = json::getObject(state, "waiting");
      if (!waiting.isNull() && !json::getString(waiting, "reason").empty()) {
        reason = json::getString(waiting, "reason");
      } else if (!terminated.isNull() && !json::getString(terminated, "reason").empty()) {
        reason = json::getString(terminated, "reason");
      } else if (!terminated.isNull()) {
        int64_t signal = json::getInt(terminated, "signal");
        reason = signal != 0 ? "Signal:" + std::to_string(signal)
                             : "ExitCode:" + std::to_string(json::getInt(terminated, "exitCode"));
      } else if (json::getBool(c, "ready") && json::has(state, "running")) {
        hasRunning = true;
        ++ready;
      }
    }
    if (reason == "Completed" && hasRunning) reason = "Running";
  }
  if (json::has(meta(pod), "deletionTimestamp")) reason = reason == "NodeLost" ? "Unknown" : "Terminating";

  std::string gates = "<none>";
  ArrayPtr readinessGates = json::getArray(spec, "readinessGates");
  if (!readinessGates.isNull() && readinessGates->size() > 0) {
    std::set<std::string> types;
    for (const auto& g : objectsIn(readinessGates)) types.insert(json::getString(g, "conditionType"));
    size_t trueCount = 0;
    for (const auto& c : objectsIn(json::getArray(status, "conditions"))) {
      if (types.count(json::getString(c, "type")) && json::getString(c, "status") == "True") ++trueCount;
    }
    gates = std::to_string(trueCount) + "/" + std::to_string(readinessGates->size());
  }
  return {json::getString(meta(pod), "name"),
          std::to_string(ready) + "/" + std::to_string(total),
          reason,
          restarts,
          ageOf(json::getString(meta(pod), "creationTimestamp")),
          orNone(json::getString(status, "podIP")),
          orNone(json::getString(spec, "nodeName")),
          orNone(json::getString(status, "nominatedNodeName")),
          gates};
}

std::vector<Column> nodeColumns() {
  return {
      {"Name", "string", "name", "Name must be unique within a namespace.", 0},
      {"Status", "string", "", "The status of the node", 0},
      {"Roles", "string", "", "The roles of the node", 0},
      {"Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0},
      {"Version", "string", "", "Kubelet Version reported by the node.", 0},
      {"Internal-IP", "string", "", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1},
      {"External-IP", "string", "", "List of addresses reachable to the node. Queried from cloud provider, if available.", 1},
      {"OS-Image", "string", "", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1},
      {"Kernel-Version", "string", "", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1},
      {"Container-Runtime", "string", "", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1},
  };
}

std::vector<Var> nodeCells(const ObjectPtr& node) {
  ObjectPtr status = json::getObject(node, "status");
  std::string ready = "Unknown";
  for (const auto& c : objectsIn(json::getArray(status, "conditions"))) {
    if (json::getString(c, "type") == "Ready") ready = json::getString(c, "status") == "True" ? "Ready" : "NotReady";
  }
  if (json::getBool(json::getObject(node, "spec"), "unschedulable")) ready += ",SchedulingDisabled";
  std::set<std::string> roles;
  auto labels = json::getObject(meta(node), "labels");
  if (!labels.isNull()) {
    static const std::string prefix = "node-role.kubernetes.io/";
    for (const auto& kv : *labels) {
      if (kv.first.compare(0, prefix.size(), prefix) == 0 && kv.first.size() > prefix.size()) {
        roles.insert(kv.first.substr(prefix.size()));
      } else if (kv.first == "kubernetes.io/role" && !kv.second.isEmpty()) {
        roles.insert(kv.second.toString());
      }
    }
  }
  std::string roleText;
  for (const auto& r : roles) roleText += (roleText.empty() ? "" : ",") + r;
  std::string internal, external;
  for (const auto& a : objectsIn(json::getArray(status, "addresses"))) {
    if (json::getString(a, "type") == "InternalIP" && internal.empty()) internal = json::getString(a, "address");
    if (json::getString(a, "type") == "ExternalIP" && external.empty()) external = json::getString(a, "address");
  }
  ObjectPtr info = json::getObject(status, "nodeInfo");
  auto unknown = [](const std::string& s) { return s.empty() ? std::string("<unknown>") : s; };
  return {json::getString(meta(node), "name"), ready, orNone(roleText),
          ageOf(json::getString(meta(node), "creationTimestamp")), json::getString(info, "kubeletVersion"),
          orNone(internal), orNone(external), unknown(json::getString(info, "osImage")),
          unknown(json::getString(info, "kernelVersion")), unknown(json::getString(info, "containerRuntimeVersion"))};
}

std::vector<Column> eventColumns() {
  return {
      {"Last Seen", "string", "", "Time when this Event was last observed.", 0},
      {"Type", "string", "", "Type of this event (Normal, Warning), new types could be added in the future.", 0},
      {"Reason", "string", "", "This should be a short, machine understandable string that gives the reason for this event being generated.", 0},
      {"Object", "string", "", "The object that this event is about.", 0},
      {"Message", "string", "", "A human-readable description of the status of this operation.", 0},
  };
}

std::vector<Var> eventCells(const ObjectPtr& event) {
  std::string last = json::getString(event, "lastTimestamp");
  if (last.empty()) last = json::getString(event, "eventTime");
  if (last.empty()) last = json::getString(meta(event), "creationTimestamp");
  ObjectPtr involved = json::getObject(event, "involvedObject");
  std::string kind = json::getString(involved, "kind");
  std::transform(kind.begin(), kind.end(), kind.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  return {ageOf(last), json::getString(event, "type"), json::getString(event, "reason"),
          kind + "/" + json::getString(involved, "name"), json::getString(event, "message")};
}

std::vector<Column> namespaceColumns() {
  return {
      {"Name", "string", "name", "Name must be unique within a namespace.", 0},
      {"Status", "string", "", "The status of the namespace", 0},
      {"Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0},
  };
}

std::vector<Var> namespaceCells(const ObjectPtr& ns) {
  return {json::getString(meta(ns), "name"), json::getString(json::getObject(ns, "status"), "phase"),
          ageOf(json::getString(meta(ns), "creationTimestamp"))};
}

}  // namespace

ObjectPtr makeTable(const std::string& resource, const std::vector<ObjectPtr>& objects, const std::string& includeObject,
                    const std::string& listResourceVersion) {
  std::vector<Column> columns;
  std::vector<Var> (*cells)(const ObjectPtr&) = nullptr;
  if (resource == "pods") {
    columns = podColumns(), cells = podCells;
  } else if (resource == "nodes") {
    columns = nodeColumns(), cells = nodeCells;
  } else if (resource == "events") {
    columns = eventColumns(), cells = eventCells;
  } else {
    columns = namespaceColumns(), cells = namespaceCells;
  }
  ObjectPtr table = new Poco::JSON::Object();
  table->set("kind", "Table");
  table->set("apiVersion", "meta.k8s.io/v1");
  ObjectPtr tableMeta = new Poco::JSON::Object();
  if (!listResourceVersion.empty()) tableMeta->set("resourceVersion", listResourceVersion);
  table->set("metadata", tableMeta);
  ArrayPtr definitions = new Poco::JSON::Array();
  for (const auto& c : columns) {
    ObjectPtr d = new Poco::JSON::Object();
    d->set("name", c.name);
    d->set("type", c.type);
    d->set("format", c.format);
    d->set("description", c.description);
    d->set("priority", c.priority);
    definitions->add(d);
  }
  table->set("columnDefinitions", definitions);
  ArrayPtr rows = new Poco::JSON::Array();
  for (const auto& o : objects) {
    ObjectPtr row = new Poco::JSON::Object();
    ArrayPtr rowCells = new Poco::JSON::Array();
    for (const auto& v : cells(o)) rowCells->add(v);
    row->set("cells", rowCells);
    if (includeObject == "Object") {
      row->set("object", json::deepCopy(o));
    } else if (includeObject != "None") {
      ObjectPtr partial = new Poco::JSON::Object();
      partial->set("kind", "PartialObjectMetadata");
      partial->set("apiVersion", "meta.k8s.io/v1");
      partial->set("metadata", json::deepCopy(meta(o)));
      row->set("object", partial);
    }
    rows->add(row);
  }
  table->set("rows", rows);
  return table;
}

}  // namespace podwarden::fakeapi
