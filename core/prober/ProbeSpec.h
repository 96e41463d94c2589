// ProbeSpec.h - a container probe (v1.Probe) turned into plain values the prober threads can read.
//
// Parsing happens once, when a container is registered, so probe attempts never touch the shared
// Poco JSON objects of the pod. Defaults are the kubelet's (API defaulting in
// pkg/apis/core/v1/defaults.go): a probe number of 0 counts as unset.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/Json.h"

namespace podwarden::prober {

enum class ProbeKind { kStartup = 0, kLiveness = 1, kReadiness = 2 };
constexpr int kProbeKinds = 3;

// "Startup", "Liveness", "Readiness": the word the kubelet puts before "probe failed: ...".
const char* probeKindName(ProbeKind kind);
// "startupProbe", "livenessProbe", "readinessProbe": the container field.
const char* probeField(ProbeKind kind);

// Success and Failure count towards the thresholds; Unknown (the probe could not be run, e.g. a named
// port the container does not declare, or a runtime error) changes nothing, as in the kubelet.
enum class ProbeOutcome { kSuccess, kFailure, kUnknown };

struct HttpGetAction {
  std::string scheme = "HTTP";  // HTTP or HTTPS (upper case, as in the API)
  std::string host;             // httpGet.host, else the target's pod IP
  int port = 0;
  std::string path = "/";                                    // may carry a query
  std::vector<std::pair<std::string, std::string>> headers;  // httpHeaders, in order; repeats allowed
};

struct TcpSocketAction {
  std::string host;
  int port = 0;
};

struct ExecAction {
  std::vector<std::string> command;
};

struct ProbeSpec {
  enum class Handler { kNone, kExec, kHttpGet, kTcpSocket, kGrpc };
  ProbeKind kind = ProbeKind::kLiveness;
  Handler handler = Handler::kNone;
  ExecAction exec;
  HttpGetAction httpGet;
  TcpSocketAction tcpSocket;
  int initialDelaySeconds = 0;
  int timeoutSeconds = 1;
  int periodSeconds = 10;
  int successThreshold = 1;
  int failureThreshold = 3;
  // Non-empty when an attempt cannot be made (unresolvable named port, no or unsupported handler):
  // every attempt then gives Unknown with this text.
  std::string error;
};

// Reads container[probeField(kind)]; nullopt when the container has no such probe. `podIP` is the host
// for httpGet/tcpSocket without an explicit host (the caller passes 127.0.0.1 or the host IP for
// hostNetwork pods). Named ports are looked up in container.ports.
std::optional<ProbeSpec> parseProbe(ProbeKind kind, const json::ObjectPtr& container,
                                    const std::string& podIP);

}  // namespace podwarden::prober
