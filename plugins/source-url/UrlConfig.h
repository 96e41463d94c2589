// UrlConfig.h - the config block of the source-url plugin.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podwarden::source_url {

// The kubelet's maxConfigLength applies to URL bodies too.
inline constexpr uint64_t kDefaultMaxBytes = 10ull * 1024 * 1024;

struct UrlConfig {
  std::string url;  // absolute http:// or https:// URL; the origin of every document this source emits
  // In the order given; a name may repeat (kubelet staticPodURLHeader is map[string][]string).
  std::vector<std::pair<std::string, std::string>> headers;
  // Pause between the end of one fetch and the start of the next (kubelet httpCheckFrequency, 20 s).
  std::chrono::seconds check{20};
  // Whole fetch, connect to last body byte, redirects included (kubelet's HTTP client timeout, 10 s).
  std::chrono::seconds timeout{10};
  uint64_t maxBytes = kDefaultMaxBytes;
  std::string caFile;          // PEM bundle that replaces the system roots; empty: system roots
  std::string clientCertFile;  // PEM; set together with clientKeyFile
  std::string clientKeyFile;
  bool insecureSkipVerify = false;
  int maxRedirects = 10;  // Go's http.Client default, which the kubelet uses
  std::string sha256;     // lowercase hex pin of the body; empty: none
  // true: an empty 200 body is an empty set, removing every pod of this URL (kubelet behaviour);
  // false: an empty body is reported as an error and the previous pods keep running.
  bool emptyBodyMeansEmpty = true;
};

// Parses and checks the JSON config block. Throws pw::Error(PW_INVALID_ARGUMENT) naming the key and what is
// wrong with it. Files named by caFile/clientCertFile/clientKeyFile must be readable.
UrlConfig parseUrlConfig(std::string_view json);

// "10 MiB", "512 KiB" or "1000 bytes".
std::string describeBytes(uint64_t bytes);

}  // namespace podwarden::source_url
