#include "prober/ProbeSpec.h"

#include <Poco/Dynamic/Var.h>

#include <algorithm>

namespace podwarden::prober {

const char* probeKindName(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kStartup:
      return "Startup";
    case ProbeKind::kLiveness:
      return "Liveness";
    case ProbeKind::kReadiness:
      return "Readiness";
  }
  return "?";
}

const char* probeField(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kStartup:
      return "startupProbe";
    case ProbeKind::kLiveness:
      return "livenessProbe";
    case ProbeKind::kReadiness:
      return "readinessProbe";
  }
  return "?";
}

namespace {

int positiveOr(const json::ObjectPtr& o, const std::string& key, int fallback) {
  int64_t v = json::getInt(o, key, 0);
  return v > 0 ? static_cast<int>(v) : fallback;
}

// IntOrString port: a number, or the name of one of the container's ports (ResolveContainerPort).
// Returns 0 and sets *error when it cannot be resolved.
int resolvePort(const json::ObjectPtr& action, const json::ObjectPtr& container, const std::string& field,
                std::string* error) {
  if (!action->has("port")) {
    *error = field + ".port is missing";
    return 0;
  }
  Poco::Dynamic::Var port = action->get("port");
  if (!port.isString()) {
    int64_t n = 0;
    try {
      n = port.convert<int64_t>();
    } catch (const Poco::Exception&) {
      n = 0;
    }
    if (n <= 0 || n > 65535) {
      *error = field + ".port " + port.toString() + " is not a port number (1-65535)";
      return 0;
    }
    return static_cast<int>(n);
  }
  const std::string name = port.toString();
  json::ArrayPtr ports = json::getArray(container, "ports");
  for (size_t i = 0; !ports.isNull() && i < ports->size(); ++i) {
    json::ObjectPtr p = ports->getObject(static_cast<unsigned>(i));
    if (!p.isNull() && json::getString(p, "name") == name) {
      return static_cast<int>(json::getInt(p, "containerPort"));
    }
  }
  *error = field + ".port \"" + name + "\": the container declares no port with this name";
  return 0;
}

}  // namespace

std::optional<ProbeSpec> parseProbe(ProbeKind kind, const json::ObjectPtr& container,
                                    const std::string& podIP) {
  json::ObjectPtr p = json::getObject(container, probeField(kind));
  if (p.isNull()) return std::nullopt;
  const std::string base =
      std::string("container \"") + json::getString(container, "name") + "\" " + probeField(kind);
  ProbeSpec s;
  s.kind = kind;
  s.initialDelaySeconds = static_cast<int>(std::max<int64_t>(0, json::getInt(p, "initialDelaySeconds", 0)));
  s.timeoutSeconds = positiveOr(p, "timeoutSeconds", 1);
  s.periodSeconds = positiveOr(p, "periodSeconds", 10);
  s.successThreshold = positiveOr(p, "successThreshold", 1);
  s.failureThreshold = positiveOr(p, "failureThreshold", 3);

  if (json::ObjectPtr exec = json::getObject(p, "exec"); !exec.isNull()) {
    s.handler = ProbeSpec::Handler::kExec;
    json::ArrayPtr cmd = json::getArray(exec, "command");
    for (size_t i = 0; !cmd.isNull() && i < cmd->size(); ++i)
      s.exec.command.push_back(cmd->get(i).toString());
    if (s.exec.command.empty()) s.error = base + ".exec.command is empty";
  } else if (json::ObjectPtr http = json::getObject(p, "httpGet"); !http.isNull()) {
    s.handler = ProbeSpec::Handler::kHttpGet;
    s.httpGet.scheme = json::getString(http, "scheme", "HTTP");
    s.httpGet.host = json::getString(http, "host");
    if (s.httpGet.host.empty()) s.httpGet.host = podIP;
    s.httpGet.path = json::getString(http, "path", "/");
    if (s.httpGet.path.empty() || s.httpGet.path[0] != '/') s.httpGet.path = "/" + s.httpGet.path;
    json::ArrayPtr headers = json::getArray(http, "httpHeaders");
    for (size_t i = 0; !headers.isNull() && i < headers->size(); ++i) {
      json::ObjectPtr h = headers->getObject(static_cast<unsigned>(i));
      if (!h.isNull())
        s.httpGet.headers.emplace_back(json::getString(h, "name"), json::getString(h, "value"));
    }
    s.httpGet.port = resolvePort(http, container, base + ".httpGet", &s.error);
    if (s.error.empty() && s.httpGet.scheme != "HTTP" && s.httpGet.scheme != "HTTPS") {
      s.error = base + ".httpGet.scheme \"" + s.httpGet.scheme + "\" is neither HTTP nor HTTPS";
    }
    if (s.error.empty() && s.httpGet.host.empty()) s.error = base + ".httpGet: the pod has no IP to probe";
  } else if (json::ObjectPtr tcp = json::getObject(p, "tcpSocket"); !tcp.isNull()) {
    s.handler = ProbeSpec::Handler::kTcpSocket;
    s.tcpSocket.host = json::getString(tcp, "host");
    if (s.tcpSocket.host.empty()) s.tcpSocket.host = podIP;
    s.tcpSocket.port = resolvePort(tcp, container, base + ".tcpSocket", &s.error);
    if (s.error.empty() && s.tcpSocket.host.empty())
      s.error = base + ".tcpSocket: the pod has no IP to probe";
  } else if (json::has(p, "grpc")) {
    s.handler = ProbeSpec::Handler::kGrpc;
    s.error = base + ".grpc: gRPC probes are not supported by podwarden";
  } else {
    s.error = base + " has no handler (exec, httpGet, tcpSocket)";
  }
  return s;
}

}  // namespace podwarden::prober
