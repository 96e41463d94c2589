// FuzzInput.h - the input conventions shared by the fuzz targets (header-only, no podwarden code).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace podwarden::fuzz {

inline std::string_view bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Targets with several entry points read "<mode>\n<body>": the first line names what the body is, so
// that seeds and crash reproducers stay readable ("list-containers\n[{...}]"). No newline: mode only.
struct ModeInput {
  std::string_view mode;
  std::string_view body;
};

inline ModeInput splitMode(std::string_view in) {
  const size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return {in, {}};
  return {in.substr(0, nl), in.substr(nl + 1)};
}

}  // namespace podwarden::fuzz
