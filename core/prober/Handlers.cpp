#include "prober/Handlers.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <istream>
#include <memory>
#include <sstream>

namespace podwarden::prober {

namespace {

Poco::Timespan timespan(std::chrono::milliseconds d) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(d.count()) * 1000);
}

std::string joinHostPort(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Reads at most kMaxHttpBody bytes; the rest of the body is left unread (the session is discarded).
std::string readCapped(std::istream& in) {
  std::string body(kMaxHttpBody, '\0');
  in.read(body.data(), static_cast<std::streamsize>(body.size()));
  body.resize(static_cast<size_t>(in.gcount()));
  return body;
}

std::string errorText(const Poco::Exception& e) {
  return e.message().empty() ? e.displayText() : std::string(e.name()) + ": " + e.message();
}

// The kubelet's HTTPS probes do not verify the server's certificate (it is the pod's own, usually
// self-signed); neither do ours. One context for every probe; Poco's Context is thread-safe to share.
Poco::Net::Context::Ptr insecureTlsContext() {
  static Poco::Net::Context::Ptr context =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_NONE);
  return context;
}

}  // namespace

AttemptResult runHttpGet(const HttpGetAction& action, std::chrono::milliseconds timeout,
                         const std::string& userAgent) {
  const bool https = action.scheme == "HTTPS";
  const std::string scheme = https ? "https" : "http";
  Poco::URI uri(scheme + "://" + joinHostPort(action.host, action.port));
  try {
    uri.setPathEtc(action.path);
  } catch (const Poco::Exception& e) {
    return {ProbeOutcome::kUnknown, "httpGet.path \"" + action.path + "\": " + errorText(e)};
  }
  const std::string originalHost = uri.getHost();
  for (int redirects = 0;; ++redirects) {
    const std::string url = uri.toString();
    try {
      std::unique_ptr<Poco::Net::HTTPClientSession> sessionPtr;
      if (https) {
        sessionPtr = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), insecureTlsContext());
      } else {
        sessionPtr = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
      }
      Poco::Net::HTTPClientSession& session = *sessionPtr;
      session.setTimeout(timespan(timeout));
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, uri.getPathEtc(),
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      request.setHost(uri.getHost(), uri.getPort());
      bool hasUserAgent = false;
      bool hasAccept = false;
      for (const auto& [name, value] : action.headers) {
        if (Poco::icompare(name, "Host") == 0) {
          request.setHost(value);
          continue;
        }
        hasUserAgent = hasUserAgent || Poco::icompare(name, "User-Agent") == 0;
        hasAccept = hasAccept || Poco::icompare(name, "Accept") == 0;
        request.add(name, value);
      }
      if (!hasUserAgent) request.set("User-Agent", userAgent);
      if (!hasAccept) request.set("Accept", "*/*");
      request.set("Connection", "close");
      session.sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::istream& in = session.receiveResponse(response);
      const int code = static_cast<int>(response.getStatus());
      if (code >= 300 && code < 400 && response.has("Location")) {
        Poco::URI next(uri);
        next.resolve(response.get("Location"));
        if (next.getHost() != originalHost || next.getScheme() != scheme) {
          // Go's client stops at a cross-host redirect and the 3xx answer itself counts (kubelet 1.30).
          return {ProbeOutcome::kSuccess, "Probe terminated redirects, Response body: " + readCapped(in)};
        }
        if (redirects + 1 >= kMaxRedirects) {
          return {ProbeOutcome::kFailure, "Get \"" + next.toString() + "\": stopped after " +
                                              std::to_string(kMaxRedirects) + " redirects"};
        }
        uri = next;
        continue;
      }
      std::string body = readCapped(in);
      if (code >= 200 && code < 400) return {ProbeOutcome::kSuccess, body};
      return {ProbeOutcome::kFailure, "HTTP probe failed with statuscode: " + std::to_string(code)};
    } catch (const Poco::TimeoutException&) {
      return {
          ProbeOutcome::kFailure,
          "Get \"" + url + "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"};
    } catch (const Poco::Exception& e) {
      return {ProbeOutcome::kFailure, "Get \"" + url + "\": " + errorText(e)};
    }
  }
}

AttemptResult runTcpSocket(const TcpSocketAction& action, std::chrono::milliseconds timeout) {
  const std::string target = joinHostPort(action.host, action.port);
  try {
    Poco::Net::SocketAddress address(action.host, static_cast<Poco::UInt16>(action.port));
    Poco::Net::StreamSocket socket;
    socket.connect(address, timespan(timeout));
    socket.close();
    return {ProbeOutcome::kSuccess, ""};
  } catch (const Poco::TimeoutException&) {
    return {ProbeOutcome::kFailure, "dial tcp " + target + ": i/o timeout"};
  } catch (const Poco::Exception& e) {
    return {ProbeOutcome::kFailure, "dial tcp " + target + ": " + errorText(e)};
  }
}

AttemptResult runExec(runtime::Runtime& runtime, const std::string& containerId, const ExecAction& action,
                      std::chrono::milliseconds timeout) {
  std::string joined;
  for (const auto& arg : action.command) joined += (joined.empty() ? "" : " ") + arg;
  try {
    // The runtime enforces the probe timeout; PluginRuntime's own deadline only guards against a stuck
    // plugin.
    const runtime::ExecSyncResult r = runtime.execSync(
        containerId, action.command, std::chrono::duration_cast<std::chrono::seconds>(timeout));
    return {r.exitCode == 0 ? ProbeOutcome::kSuccess : ProbeOutcome::kFailure, r.out + r.err};
  } catch (const RuntimeError& e) {
    if (e.status() == PW_DEADLINE_EXCEEDED) {
      return {ProbeOutcome::kFailure, "command \"" + joined + "\" timed out"};
    }
    return {ProbeOutcome::kUnknown, e.what()};
  } catch (const std::exception& e) {
    return {ProbeOutcome::kUnknown, std::string("exec probe: ") + e.what()};
  }
}

}  // namespace podwarden::prober
