// DirConfig.h - the config block of the source-dir plugin.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace podwarden::source_dir {

// The kubelet's maxConfigLength: manifests are read through a reader bounded at 10 MiB.
inline constexpr uint64_t kDefaultMaxFileBytes = 10ull * 1024 * 1024;

struct DirConfig {
  // Absolute, without trailing '/'. A directory or a single file (kubelet staticPodPath).
  std::string path = "/etc/kubernetes/manifests";
  // Full re-listing period (kubelet fileCheckFrequency, 20 s).
  std::chrono::seconds rescan{20};
  uint64_t maxFileBytes = kDefaultMaxFileBytes;
  // false = kubelet behaviour: backup-looking names are read (with a warning); true = skipped.
  bool ignoreBackupFiles = false;
};

// Parses and checks the JSON config block. Throws pw::Error(PW_INVALID_ARGUMENT) naming the key and what is
// wrong with it. An empty text is the empty object (all defaults).
DirConfig parseDirConfig(std::string_view json);

// "10 MiB", "512 KiB" or "1000 bytes": how a limit is shown in messages.
std::string describeBytes(uint64_t bytes);

}  // namespace podwarden::source_dir
