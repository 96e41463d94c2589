#include "util/Utf8.h"

#include <algorithm>

namespace podwarden::utf8 {

size_t sequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF) n = 2;  // C0 and C1 only start overlong forms
  if (c >= 0xE0 && c <= 0xEF) n = 3;
  if (c >= 0xF0 && c <= 0xF4) n = 4;  // F5 and above start values beyond U+10FFFF
  if (n == 0 || i + n > s.size()) return 0;
  // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and values past U+10FFFF (F4).
  const unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  const unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

size_t firstInvalid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequenceLength(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string repaired(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

Position positionOf(std::string_view s, size_t at) {
  const std::string_view before = s.substr(0, at);
  const size_t lastNewline = before.rfind('\n');
  Position p;
  p.line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
  p.column = 1 + static_cast<int>(lastNewline == std::string_view::npos ? at : at - lastNewline - 1);
  return p;
}

}  // namespace podwarden::utf8
