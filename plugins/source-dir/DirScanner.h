// DirScanner.h - one listing of a manifest path with the kubelet's file rules. No threads, no state.
#pragma once

#include <string>
#include <vector>

#include "DirConfig.h"

namespace podwarden::source_dir {

// One origin of a snapshot (the plugin-side copy of pw_manifest_doc).
struct Doc {
  std::string origin;  // absolute path as listed (symlinks not resolved)
  std::string contentType;
  std::string data;     // raw bytes; empty when `error` is set
  std::string error;    // non-empty: the file exists but could not be read
  std::string warning;  // non-empty: read, but the operator should look at it

  bool operator==(const Doc& o) const {
    return origin == o.origin && contentType == o.contentType && data == o.data && error == o.error &&
           warning == o.warning;
  }
  bool operator!=(const Doc& o) const { return !(*this == o); }
};

enum class PathKind {
  kMissing,    // the path does not exist: empty set, checked again every second
  kDirectory,  // listed non-recursively
  kFile,       // the path is one manifest
  kOther,      // exists but is neither: empty set, logged as an error
  kError,      // could not be examined or listed (e.g. EACCES): no snapshot, keep the previous one
};

// Something the scan skipped or noticed, for the log. The same note comes back on every scan while its
// cause persists; the caller logs only notes that are new since the previous scan.
struct ScanNote {
  int32_t level;  // PW_LOG_*
  std::string message;
};

struct ScanResult {
  PathKind kind = PathKind::kMissing;
  std::vector<Doc> docs;  // sorted by origin (kubelet sorts the directory listing)
  std::string problem;    // kError / kOther: why, naming the path
  std::vector<ScanNote> notes;
};

// What `path` is right now (stat, following symlinks). `problem` gets the reason for kError/kOther.
PathKind examinePath(const std::string& path, std::string* problem);

// Lists and reads `config.path` following the kubelet's rules: names starting with '.' are ignored, every
// other name is read whatever its extension, no recursion, symlinks to files followed, other non-regular
// entries skipped, files over maxFileBytes become an error doc without reading past the limit.
ScanResult scanPath(const DirConfig& config);

// Reads one regular file, never more than maxFileBytes + 1 bytes.
Doc readManifestFile(const std::string& path, uint64_t maxFileBytes);

// True for names editors and package managers leave behind (`x~`, `#x#`, `.bak`, `.swp`, `.orig`, `.rej`,
// `.tmp`, `.dpkg-*`, `.rpm*`...). The kubelet reads them as manifests; users rarely mean it to.
bool looksLikeBackup(const std::string& name);

}  // namespace podwarden::source_dir
