#include "util/Quantity.h"

#include <cctype>
#include <limits>
#include <stdexcept>

namespace podwarden {

namespace {

__extension__ typedef __int128 Int128;

constexpr Int128 kNanoPerUnit = 1000000000;
// 2^63 units in nano-units: larger quantities are refused (far beyond any CPU or memory amount).
const Int128 kMaxNano = (static_cast<Int128>(1) << 63) * kNanoPerUnit;

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<Quantity> Quantity::tryParse(std::string_view text, std::string* why) {
  auto fail = [why](const std::string& reason) -> std::optional<Quantity> {
    if (why) *why = reason;
    return std::nullopt;
  };
  size_t i = 0;
  const size_t n = text.size();
  bool neg = false;
  if (i < n && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
  std::string intDigits, fracDigits;
  while (i < n && isDigit(text[i])) intDigits += text[i++];
  if (i < n && text[i] == '.') {
    ++i;
    while (i < n && isDigit(text[i])) fracDigits += text[i++];
  }
  if (intDigits.empty() && fracDigits.empty()) return fail("expected a number");

  // Scale = 10^exp10 * 1024^exp1024.
  int exp10 = 0;
  int exp1024 = 0;
  std::string suffix(text.substr(i));
  if (suffix.empty()) {
  } else if (suffix == "Ki" || suffix == "Mi" || suffix == "Gi" || suffix == "Ti" || suffix == "Pi" ||
             suffix == "Ei") {
    exp1024 = static_cast<int>(std::string("KMGTPE").find(suffix[0])) + 1;
  } else if (suffix == "n" || suffix == "u" || suffix == "m") {
    // n and u are outside the documented grammar, but Kubernetes parses them (and prints CPU in n).
    exp10 = suffix == "n" ? -9 : suffix == "u" ? -6 : -3;
  } else if (suffix == "k" || suffix == "M" || suffix == "G" || suffix == "T" || suffix == "P" ||
             suffix == "E") {
    exp10 = 3 * (static_cast<int>(std::string("kMGTPE").find(suffix[0])) + 1);
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    size_t j = 1;
    bool eneg = false;
    if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) eneg = suffix[j++] == '-';
    if (j >= suffix.size()) return fail("exponent \"" + suffix + "\" has no digits");
    int e = 0;
    for (; j < suffix.size(); ++j) {
      if (!isDigit(suffix[j])) return fail("unknown suffix \"" + suffix + "\"");
      e = e * 10 + (suffix[j] - '0');
      if (e > 1000) return fail("exponent too large");
    }
    exp10 = eneg ? -e : e;
  } else {
    return fail("unknown suffix \"" + suffix + "\"");
  }

  // value = digits * 10^(exp10 - fracDigits.size()) * 1024^exp1024, in nano-units: * 10^9.
  std::string digits = intDigits + fracDigits;
  size_t firstNonZero = digits.find_first_not_of('0');
  if (firstNonZero == std::string::npos) return Quantity(0);
  digits = digits.substr(firstNonZero);
  int pow10 = exp10 - static_cast<int>(fracDigits.size()) + 9;
  // Drop digits that fall below one nano-unit, remembering whether anything non-zero was dropped (round up).
  bool roundUp = false;
  if (exp1024 == 0 && pow10 < 0) {
    size_t drop = static_cast<size_t>(-pow10);
    if (drop >= digits.size()) {
      return Quantity(neg ? -1 : 1);  // 0 < |value| < 1n rounds to 1n
    }
    roundUp = digits.find_first_not_of('0', digits.size() - drop) != std::string::npos;
    digits.resize(digits.size() - drop);
    pow10 = 0;
  }
  if (digits.size() > 38) return fail("too large");
  Int128 v = 0;
  for (char c : digits) {
    v = v * 10 + (c - '0');
    if (v > kMaxNano) return fail("too large");
  }
  for (int k = 0; k < exp1024; ++k) {
    v *= 1024;
    if (v > kMaxNano) return fail("too large");
  }
  if (pow10 < 0) {
    // Binary suffix with a fraction ("1.5Gi"): divide after the multiply, rounding up.
    for (int k = 0; k < -pow10; ++k) {
      roundUp = roundUp || (v % 10 != 0);
      v /= 10;
    }
  }
  for (int k = 0; k < pow10; ++k) {
    v *= 10;
    if (v > kMaxNano) return fail("too large");
  }
  if (roundUp) v += 1;
  return Quantity(neg ? -v : v);
}

bool Quantity::hasFraction() const {
  return nano_ % kNanoPerUnit != 0;
}

}  // namespace podwarden

namespace podwarden {

Quantity Quantity::parse(std::string_view text) {
  std::string why;
  std::optional<Quantity> q = tryParse(text, &why);
  if (!q) throw std::invalid_argument("invalid quantity \"" + std::string(text) + "\": " + why);
  return *q;
}

int64_t Quantity::scaled(int64_t nanoPerStep) const {
  Nano whole = nano_ / nanoPerStep;
  if (nano_ % nanoPerStep != 0) whole += nano_ < 0 ? -1 : 1;
  if (whole > std::numeric_limits<int64_t>::max() || whole < std::numeric_limits<int64_t>::min()) {
    throw std::out_of_range("quantity does not fit in 64 bits");
  }
  return static_cast<int64_t>(whole);
}

}  // namespace podwarden
