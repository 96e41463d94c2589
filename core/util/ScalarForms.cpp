#include "util/ScalarForms.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace podwarden::scalar {

namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isOctalDigit(char c) {
  return c >= '0' && c <= '7';
}
bool isHexDigit(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

template <typename Pred>
bool nonEmptyAllOf(std::string_view s, Pred pred) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

std::string_view withoutSign(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  return s;
}

// Consumes a run of digits from the front of `s`; returns how many.
size_t takeDigits(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && isDigit(s[n])) ++n;
  s.remove_prefix(n);
  return n;
}

bool hasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

bool isDecimal(std::string_view s) {
  return nonEmptyAllOf(withoutSign(s), isDigit);
}

bool isOctal11(std::string_view s) {
  std::string_view body = withoutSign(s);
  return body.size() >= 2 && body[0] == '0' && nonEmptyAllOf(body.substr(1), isOctalDigit);
}

bool isOctal12(std::string_view s) {
  return hasPrefix(s, "0o") && nonEmptyAllOf(s.substr(2), isOctalDigit);
}

bool isHex(std::string_view s) {
  return hasPrefix(s, "0x") && nonEmptyAllOf(s.substr(2), isHexDigit);
}

bool isFloat(std::string_view s) {
  std::string_view rest = withoutSign(s);
  size_t whole = takeDigits(rest);
  size_t fraction = 0;
  if (!rest.empty() && rest[0] == '.') {
    rest.remove_prefix(1);
    fraction = takeDigits(rest);
  } else if (whole == 0) {
    return false;
  }
  if (whole == 0 && fraction == 0) return false;
  if (rest.empty()) return true;
  if (rest[0] != 'e' && rest[0] != 'E') return false;
  rest = withoutSign(rest.substr(1));
  return nonEmptyAllOf(rest, isDigit);
}

bool isSpecialFloat(std::string_view s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return true;
  std::string_view body = withoutSign(s);
  return body == ".inf" || body == ".Inf" || body == ".INF";
}

std::optional<double> finiteFloat(const std::string& s) {
  errno = 0;
  const double d = std::strtod(s.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(d)) return std::nullopt;
  return d;
}

}  // namespace podwarden::scalar
