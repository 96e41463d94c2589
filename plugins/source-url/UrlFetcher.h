// UrlFetcher.h - one conditional GET of the configured URL, with redirects, a size cap and a deadline.
#pragma once

#include <Poco/Net/Context.h>

#include <mutex>
#include <string>

#include "UrlConfig.h"

namespace podwarden::source_url {

struct FetchResult {
  enum class Kind { kBody, kNotModified, kError };
  Kind kind = Kind::kError;
  std::string body;
  std::string contentType;  // "application/json", "application/yaml" or empty (the host sniffs)
  std::string etag;         // validators of a kBody answer, for the next request
  std::string lastModified;
  std::string error;     // kError: why, without the URL (the caller prefixes it)
  std::string finalUrl;  // where the answer came from after redirects
};

// Not thread-safe except abort(): one thread fetches, any thread may abort.
class UrlFetcher {
 public:
  // Builds the TLS context for https URLs; throws pw::Error(PW_INVALID_ARGUMENT) naming the file that
  // OpenSSL refused.
  explicit UrlFetcher(const UrlConfig& config);

  // GET config.url. Non-empty `etag` / `lastModified` are sent as If-None-Match / If-Modified-Since; a 304
  // answer is kNotModified. Never throws for anything the network or the server does.
  FetchResult fetch(const std::string& etag, const std::string& lastModified);

  // Makes a fetch in progress (and every later one) fail at once. Thread-safe.
  void abort();

 private:
  FetchResult fetchOnce(const std::string& etag, const std::string& lastModified);

  const UrlConfig config_;
  Poco::Net::Context::Ptr tls_;  // null until the first https request

  std::mutex mutex_;   // guards activeFd_ and aborted_
  int activeFd_ = -1;  // socket of the request in progress, shut down by abort()
  bool aborted_ = false;
  friend class ActiveSocket;
};

}  // namespace podwarden::source_url
