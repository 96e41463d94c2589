#include "UrlFetcher.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <podwarden/plugin.hpp>

#ifndef PW_PLUGIN_VERSION
#define PW_PLUGIN_VERSION "0.0.0"
#endif

namespace podwarden::source_url {

// Registers the socket of the request in progress so that abort() can shut it down from another thread.
// shutdown(2) (not close) wakes a blocked read without freeing the descriptor under the reader.
class ActiveSocket {
 public:
  ActiveSocket(UrlFetcher& fetcher, int fd) : fetcher_(fetcher) {
    std::lock_guard<std::mutex> lock(fetcher_.mutex_);
    fetcher_.activeFd_ = fd;
    if (fetcher_.aborted_) ::shutdown(fd, SHUT_RDWR);
  }
  ~ActiveSocket() {
    std::lock_guard<std::mutex> lock(fetcher_.mutex_);
    fetcher_.activeFd_ = -1;
  }
  ActiveSocket(const ActiveSocket&) = delete;
  ActiveSocket& operator=(const ActiveSocket&) = delete;

 private:
  UrlFetcher& fetcher_;
};

namespace {

using Clock = std::chrono::steady_clock;

// Thrown inside a fetch for a failure we describe ourselves; caught in fetch().
struct FetchFailure {
  std::string reason;
};

FetchResult failure(std::string reason) {
  FetchResult r;
  r.kind = FetchResult::Kind::kError;
  r.error = std::move(reason);
  return r;
}

Poco::Net::Context::Ptr makeTlsContext(const UrlConfig& config) {
  static std::once_flag sslInit;
  // Never uninitialized: the library stays loaded for the life of the process.
  std::call_once(sslInit, [] { Poco::Net::initializeSSL(); });
  using Poco::Net::Context;
  Context::Ptr context;
  try {
    context = new Context(Context::TLS_CLIENT_USE, config.clientKeyFile, config.clientCertFile, config.caFile,
                          // For a client STRICT verifies like RELAXED, and it also makes Poco check the
                          // host name of a loopback server, which RELAXED skips.
                          config.insecureSkipVerify ? Context::VERIFY_NONE : Context::VERIFY_STRICT, 9,
                          /*loadDefaultCAs=*/config.caFile.empty());
  } catch (const Poco::Exception& e) {
    std::string files;
    if (!config.caFile.empty()) files += " caFile " + config.caFile;
    if (!config.clientCertFile.empty()) {
      files += " clientCertFile " + config.clientCertFile + " clientKeyFile " + config.clientKeyFile;
    }
    throw pw::Error(PW_INVALID_ARGUMENT, "source-url config: cannot set up TLS" +
                                             (files.empty() ? std::string() : " with" + files) + ": " +
                                             e.displayText());
  }
  // Hostname check against the certificate; off only together with chain verification.
  context->enableExtendedCertificateVerification(!config.insecureSkipVerify);
  return context;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The two content types the host understands; anything else (text/plain, octet-stream) is left to sniffing.
std::string normalizeContentType(const std::string& header) {
  std::string t = lower(header.substr(0, header.find(';')));
  if (t.find("json") != std::string::npos) return "application/json";
  if (t.find("yaml") != std::string::npos || t.find("yml") != std::string::npos) return "application/yaml";
  return "";
}

bool isRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string origin(const Poco::URI& uri) {
  return uri.getScheme() + "://" + uri.getHost() + ":" + std::to_string(uri.getPort());
}

// Headers that carry credentials are not forwarded to another origin (Go's client does the same).
bool isCredential(const std::string& name) {
  std::string n = lower(name);
  return n == "authorization" || n == "cookie" || n == "proxy-authorization" || n == "www-authenticate";
}

long remainingMs(Clock::time_point deadline) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

}  // namespace

UrlFetcher::UrlFetcher(const UrlConfig& config) : config_(config) {
  if (Poco::URI(config_.url).getScheme() == "https") tls_ = makeTlsContext(config_);
}

void UrlFetcher::abort() {
  std::lock_guard<std::mutex> lock(mutex_);
  aborted_ = true;
  if (activeFd_ >= 0) ::shutdown(activeFd_, SHUT_RDWR);
}

FetchResult UrlFetcher::fetch(const std::string& etag, const std::string& lastModified) {
  std::string timeoutText = std::to_string(config_.timeout.count()) + " s";
  try {
    return fetchOnce(etag, lastModified);
  } catch (const FetchFailure& f) {
    return failure(f.reason);
  } catch (const Poco::TimeoutException&) {
    return failure("no answer within the timeout of " + timeoutText);
  } catch (const Poco::Net::CertificateValidationException& e) {
    // Poco's own check after the chain verified: the certificate does not name the host we connected to.
    return failure("TLS failure: the server certificate is not valid for host " +
                   Poco::URI(config_.url).getHost() + ": " + e.displayText());
  } catch (const Poco::Net::SSLException& e) {
    std::string reason = "TLS failure: " + e.displayText();
    std::string l = lower(reason);
    if (l.find("certificate verify failed") != std::string::npos) {
      reason += config_.caFile.empty()
                    ? " (the server certificate is not trusted by the system CAs; set caFile)"
                    : " (the server certificate is not signed by caFile " + config_.caFile + ")";
    } else if (l.find("alert") != std::string::npos &&
               (l.find("certificate") != std::string::npos || l.find("unknown ca") != std::string::npos ||
                l.find("handshake failure") != std::string::npos)) {
      // An alert from the server about certificates is about ours.
      reason +=
          config_.clientCertFile.empty()
              ? " (the server may require a client certificate: set clientCertFile and clientKeyFile)"
              : " (the server refused the client certificate clientCertFile " + config_.clientCertFile + ")";
    }
    return failure(reason);
  } catch (const Poco::Net::ConnectionResetException& e) {
    std::string reason = "transport error: " + e.displayText();
    // With TLS 1.3 a server that requires a client certificate checks it after the client's handshake is done
    // and often just drops the connection, so the client sees a reset on its first read.
    if (!tls_.isNull() && config_.clientCertFile.empty()) {
      reason += " (if the server requires a client certificate, set clientCertFile and clientKeyFile)";
    }
    return failure(reason);
  } catch (const Poco::Exception& e) {
    bool aborted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      aborted = aborted_;
    }
    std::string reason = aborted ? std::string("fetch abandoned: the source is stopping")
                                 : "transport error: " + e.displayText();
    return failure(reason);
  } catch (const std::exception& e) {
    return failure(std::string("unexpected error: ") + e.what());
  }
}

FetchResult UrlFetcher::fetchOnce(const std::string& etag, const std::string& lastModified) {
  const Clock::time_point deadline = Clock::now() + config_.timeout;
  const std::string timeoutText = std::to_string(config_.timeout.count()) + " s";
  Poco::URI uri(config_.url);
  const std::string firstOrigin = origin(uri);

  for (int hop = 0;; ++hop) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (aborted_) throw FetchFailure{"fetch abandoned: the source is stopping"};
    }
    long left = remainingMs(deadline);
    if (left <= 0) throw FetchFailure{"no answer within the timeout of " + timeoutText};

    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      if (tls_.isNull()) tls_ = makeTlsContext(config_);
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), tls_);
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    session->setTimeout(Poco::Timespan(left * Poco::Timespan::MILLISECONDS));
    session->setKeepAlive(false);

    std::string target = uri.getPathEtc();
    if (target.empty()) target = "/";
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, target,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("User-Agent", "podwarden-source-url/" PW_PLUGIN_VERSION);
    const bool sameOrigin = origin(uri) == firstOrigin;
    for (const auto& [name, value] : config_.headers) {
      if (sameOrigin || !isCredential(name)) request.add(name, value);
    }
    if (!etag.empty()) request.set("If-None-Match", etag);
    if (!lastModified.empty()) request.set("If-Modified-Since", lastModified);

    session->sendRequest(request);
    ActiveSocket active(*this, session->socket().impl()->sockfd());
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    const int status = static_cast<int>(response.getStatus());

    if (isRedirect(status) && response.has("Location")) {
      if (hop >= config_.maxRedirects) {
        throw FetchFailure{"stopped after " + std::to_string(config_.maxRedirects) + " redirects (last to " +
                           response.get("Location") + "; raise maxRedirects if this is intended)"};
      }
      Poco::URI next(uri);
      next.resolve(response.get("Location"));
      if (uri.getScheme() == "https" && next.getScheme() != "https") {
        throw FetchFailure{"refusing a redirect from https to " + next.toString()};
      }
      if (next.getScheme() != "http" && next.getScheme() != "https") {
        throw FetchFailure{"redirect to unsupported URL " + next.toString()};
      }
      uri = next;
      continue;
    }

    FetchResult result;
    result.finalUrl = uri.toString();
    if (status == Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED) {
      if (etag.empty() && lastModified.empty()) {
        throw FetchFailure{"the server answered 304 Not Modified to a request without validators"};
      }
      result.kind = FetchResult::Kind::kNotModified;
      return result;
    }
    if (status != Poco::Net::HTTPResponse::HTTP_OK) {
      std::string reason = "the server answered " + std::to_string(status) + " " + response.getReason();
      if (uri.toString() != config_.url) reason += " (at " + uri.toString() + ")";
      throw FetchFailure{reason};
    }

    const bool haveLength = response.hasContentLength();
    const uint64_t length = haveLength ? static_cast<uint64_t>(response.getContentLength64()) : 0;
    if (haveLength && length > config_.maxBytes) {
      throw FetchFailure{"the body of " + std::to_string(length) + " bytes is larger than the limit of " +
                         describeBytes(config_.maxBytes) + " (maxBytes)"};
    }
    // Surface the stream's own exceptions (a Poco::TimeoutException mid-body) instead of a bare badbit.
    in.exceptions(std::ios::badbit);
    std::string body;
    char buffer[65536];
    while (in) {
      left = remainingMs(deadline);
      if (left <= 0) {
        throw FetchFailure{"the body was not complete within the timeout of " + timeoutText + " (" +
                           std::to_string(body.size()) + " bytes received)"};
      }
      session->socket().setReceiveTimeout(Poco::Timespan(left * Poco::Timespan::MILLISECONDS));
      in.read(buffer, sizeof(buffer));
      body.append(buffer, static_cast<size_t>(in.gcount()));
      if (body.size() > config_.maxBytes) {
        throw FetchFailure{"the body is larger than the limit of " + describeBytes(config_.maxBytes) +
                           " (maxBytes); stopped reading"};
      }
    }
    if (in.bad())
      throw FetchFailure{"reading the body failed after " + std::to_string(body.size()) + " bytes"};
    if (haveLength && body.size() != length) {
      throw FetchFailure{"the connection closed after " + std::to_string(body.size()) + " of " +
                         std::to_string(length) + " body bytes"};
    }
    result.kind = FetchResult::Kind::kBody;
    result.body = std::move(body);
    result.contentType = normalizeContentType(response.getContentType());
    if (response.has("ETag")) result.etag = response.get("ETag");
    if (response.has("Last-Modified")) result.lastModified = response.get("Last-Modified");
    return result;
  }
}

}  // namespace podwarden::source_url
