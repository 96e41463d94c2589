// Utf8.h - well-formed UTF-8 (RFC 3629): checking it and repairing it.
//
// Well-formed means what Go's utf8.Valid accepts: no stray continuation bytes, no overlong forms, no UTF-16
// surrogates, nothing beyond U+10FFFF, no truncated sequence. Text read from outside (manifests, config
// files) must be UTF-8; messages from plugins are repaired before they reach JSON.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace podwarden::utf8 {

// Length of the well-formed sequence that starts at s[i] (1 to 4); 0 when none does. i < s.size().
size_t sequenceLength(std::string_view s, size_t i);

// Offset of the first byte that is not part of well-formed UTF-8; npos when `s` is UTF-8.
size_t firstInvalid(std::string_view s);

// `s` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD, as Go's encoding/json
// writes such strings.
std::string repaired(std::string_view s);

// Line and column (both from 1; the column counts bytes) of byte offset `at` in `s`.
struct Position {
  int line = 1;
  int column = 1;
};
Position positionOf(std::string_view s, size_t at);

}  // namespace podwarden::utf8
