#include "DockerClient.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>

#include <cctype>
#include <cstdio>
#include <podwarden/plugin.hpp>
#include <sstream>

#include "JsonUtil.h"

namespace podwarden::docker {
namespace {

Poco::Timespan millis(long ms) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms) * 1000);
}

// "1.41" -> 1041; 0 if not a version.
int versionNumber(const std::string& v) {
  int major = 0, minor = 0;
  if (std::sscanf(v.c_str(), "%d.%d", &major, &minor) != 2) return 0;
  return major * 1000 + minor;
}

}  // namespace

Endpoint parseEndpoint(const std::string& value, const std::string& field) {
  std::string path;
  if (value.rfind("unix://", 0) == 0) {
    path = value.substr(7);
  } else if (!value.empty() && value[0] == '/') {
    path = value;
  } else {
    throw pw::Error(
        PW_INVALID_ARGUMENT,
        field + ": \"" + value + "\" is not a unix socket endpoint (expected unix:///path or /path)");
  }
  if (path.empty() || path[0] != '/') {
    throw pw::Error(PW_INVALID_ARGUMENT, field + ": \"" + value + "\" does not name an absolute socket path");
  }
  return Endpoint{"unix://" + path, path};
}

std::string urlEncode(const std::string& value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

DockerClient::DockerClient(Endpoint endpoint, std::string pinnedApiVersion)
    : endpoint_(std::move(endpoint)), pinnedApiVersion_(std::move(pinnedApiVersion)) {}

Poco::Net::StreamSocket DockerClient::connect(long timeoutMs) const {
  try {
    Poco::Net::StreamSocket socket;
    socket.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, endpoint_.socketPath),
                   millis(timeoutMs));
    socket.setSendTimeout(millis(timeoutMs));
    socket.setReceiveTimeout(millis(timeoutMs));
    return socket;
  } catch (const Poco::Exception& e) {
    throw pw::Error(PW_UNAVAILABLE,
                    "cannot connect to the Docker daemon at " + endpoint_.url + ": " + e.displayText());
  }
}

std::string DockerClient::fullPath(const std::string& pathAndQuery, bool versioned, long timeoutMs) {
  return versioned ? "/v" + apiVersion(timeoutMs) + pathAndQuery : pathAndQuery;
}

void DockerClient::stream(const std::string& method, const std::string& pathAndQuery,
                          const std::string& jsonBody, long timeoutMs, long receiveTimeoutMs,
                          const BodyReader& reader, const SocketObserver& observer) {
  const std::string path = fullPath(pathAndQuery, true, timeoutMs);
  Poco::Net::StreamSocket socket = connect(timeoutMs);
  if (observer) observer(&socket);
  const std::string what = method + " " + path + " on " + endpoint_.url;
  // Declared before the session, so it runs after the reader returns or throws but before the session
  // closes the socket.
  struct Unobserve {
    const SocketObserver& observer;
    ~Unobserve() {
      if (observer) observer(nullptr);
    }
  };
  try {
    Poco::Net::HTTPClientSession session(socket);
    Unobserve unobserve{observer};
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost("docker");  // Go's HTTP server rejects HTTP/1.1 requests without a Host
    if (method != Poco::Net::HTTPRequest::HTTP_GET || !jsonBody.empty()) {
      if (!jsonBody.empty()) request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(jsonBody.size()));
    }
    std::ostream& out = session.sendRequest(request);
    out << jsonBody;
    out.flush();
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    // Without this an I/O error (timeout, reset) inside the stream buffer only sets badbit and the body
    // looks short instead of failed.
    body.exceptions(std::ios::badbit);
    if (receiveTimeoutMs > 0) {
      socket.setReceiveTimeout(millis(receiveTimeoutMs));
    } else {
      socket.setReceiveTimeout(Poco::Timespan(0));
    }
    reader(static_cast<int>(response.getStatus()), body);
  } catch (const pw::Error&) {
    throw;
  } catch (const Poco::TimeoutException&) {
    throw pw::Error(PW_DEADLINE_EXCEEDED, what + ": no answer within the deadline");
  } catch (const Poco::Exception& e) {
    throw pw::Error(PW_UNAVAILABLE, what + " failed: " + e.displayText());
  }
}

HttpReply DockerClient::request(const std::string& method, const std::string& pathAndQuery,
                                const std::string& jsonBody, long timeoutMs, bool versioned) {
  const std::string path = fullPath(pathAndQuery, versioned, timeoutMs);
  Poco::Net::StreamSocket socket = connect(timeoutMs);
  const std::string what = method + " " + path + " on " + endpoint_.url;
  HttpReply reply;
  try {
    Poco::Net::HTTPClientSession session(socket);
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost("docker");
    if (method != Poco::Net::HTTPRequest::HTTP_GET || !jsonBody.empty()) {
      if (!jsonBody.empty()) request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(jsonBody.size()));
    }
    std::ostream& out = session.sendRequest(request);
    out << jsonBody;
    out.flush();
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    body.exceptions(std::ios::badbit);
    std::ostringstream text;
    Poco::StreamCopier::copyStream(body, text);
    reply.status = static_cast<int>(response.getStatus());
    reply.body = text.str();
  } catch (const Poco::TimeoutException&) {
    throw pw::Error(PW_DEADLINE_EXCEEDED, what + ": no answer within " + std::to_string(timeoutMs) + " ms");
  } catch (const Poco::Exception& e) {
    throw pw::Error(PW_UNAVAILABLE, what + " failed: " + e.displayText());
  }
  return reply;
}

std::string DockerClient::apiVersion(long timeoutMs) {
  if (!pinnedApiVersion_.empty()) return pinnedApiVersion_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!negotiated_.empty()) return negotiated_;
  }
  HttpReply reply = request("GET", "/version", "", timeoutMs, false);
  if (!reply.ok()) fail(reply, "GET /version on " + endpoint_.url);
  Poco::Dynamic::Var v = parseReply(reply.body, "GET /version");
  ObjectPtr o = v.type() == typeid(ObjectPtr) ? v.extract<ObjectPtr>() : ObjectPtr();
  const std::string server = getString(o, "ApiVersion");
  if (versionNumber(server) == 0) {
    throw pw::Error(PW_INTERNAL,
                    "GET /version on " + endpoint_.url + ": no usable ApiVersion in \"" + reply.body + "\"");
  }
  std::string chosen = versionNumber(server) < versionNumber(kMaxApiVersion) ? server : kMaxApiVersion;
  std::lock_guard<std::mutex> lock(mutex_);
  negotiated_ = chosen;
  return negotiated_;
}

std::string DockerClient::message(const HttpReply& reply) {
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var v = parser.parse(reply.body);
    if (v.type() == typeid(ObjectPtr)) {
      std::string m = getString(v.extract<ObjectPtr>(), "message");
      if (!m.empty()) return m;
    }
  } catch (const Poco::Exception&) {
  }
  std::string body = reply.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body.empty() ? "HTTP " + std::to_string(reply.status) : body;
}

void DockerClient::fail(const HttpReply& reply, const std::string& what) {
  pw_status code = PW_UNKNOWN;
  switch (reply.status) {
    case 400:
      code = PW_INVALID_ARGUMENT;
      break;
    case 401:
    case 403:
      code = PW_PERMISSION_DENIED;
      break;
    case 404:
      code = PW_NOT_FOUND;
      break;
    case 409:
      code = PW_ALREADY_EXISTS;
      break;
    default:
      code = PW_UNKNOWN;
      break;
  }
  throw pw::Error(code, what + ": " + message(reply) + " (HTTP " + std::to_string(reply.status) + ")");
}

}  // namespace podwarden::docker
