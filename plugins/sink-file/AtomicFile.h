// AtomicFile.h - replacing a file so that readers see either the old or the new content, never a mix.
#pragma once

#include <string>
#include <string_view>

namespace podwarden::sink_file {

// Writes `content` to `path`: creates missing parent directories (0755), writes a temporary file in the
// same directory (a dot name, so manifest watchers and globs skip it), fsyncs it, renames it over `path`
// and fsyncs the directory so the rename survives a crash. The file gets mode 0644.
// Throws std::system_error whose what() names the path and the step that failed; the temporary file is
// removed on failure.
void writeFileAtomically(const std::string& path, std::string_view content);

}  // namespace podwarden::sink_file
