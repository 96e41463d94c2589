// Handlers.h - one attempt of each probe handler, as the kubelet's pkg/probe/{http,tcp,exec} run it.
//
// Each call blocks the calling thread for at most about the timeout (HTTP: per connect/send/receive
// step) and never throws: problems are reported in the result. Thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "prober/ProbeSpec.h"
#include "runtime/Runtime.h"

namespace podwarden::prober {

// The kubelet sends "kube-probe/<major>.<minor>" of its own version; we claim the Kubernetes release
// whose behaviour we match.
constexpr const char* kDefaultUserAgent = "kube-probe/1.30";
// The kubelet reads at most this much of an HTTP probe's body.
constexpr size_t kMaxHttpBody = 10 * 1024;
// Same-host redirects followed before the probe fails (Go's http.Client default).
constexpr int kMaxRedirects = 10;

struct AttemptResult {
  ProbeOutcome outcome = ProbeOutcome::kUnknown;
  // Failure: the kubelet's text ("HTTP probe failed with statuscode: 500", the command's output,
  // "dial tcp ...: Connection refused"); Unknown: why the probe could not run; Success: body or output.
  std::string output;
};

// GET scheme://host:port/path with the headers; 200-399 is success. A redirect to another host ends the
// probe with success (kubelet: "Probe terminated redirects"); same-host redirects are followed.
// HTTPS gives Unknown: this build does not link a TLS library.
AttemptResult runHttpGet(const HttpGetAction& action, std::chrono::milliseconds timeout,
                         const std::string& userAgent = kDefaultUserAgent);
// Success when a TCP connection is established within the timeout.
AttemptResult runTcpSocket(const TcpSocketAction& action, std::chrono::milliseconds timeout);
// ExecSync in the container through the runtime; exit code 0 is success, the combined stdout and
// stderr is the output; the runtime's deadline error is a failure ("command \"...\" timed out"),
// other runtime errors are Unknown.
AttemptResult runExec(runtime::Runtime& runtime, const std::string& containerId, const ExecAction& action,
                      std::chrono::milliseconds timeout);

}  // namespace podwarden::prober
