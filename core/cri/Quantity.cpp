#include "cri/Quantity.h"

#include <cctype>
#include <limits>
#include <stdexcept>

namespace podwarden::cri {

namespace {

std::invalid_argument badQuantity(std::string_view text, const std::string& why) {
  return std::invalid_argument("invalid quantity \"" + std::string(text) + "\": " + why);
}

bool parseSuffix(std::string_view s, int& exp10, int& exp2) {
  struct Suffix {
    const char* name;
    int exp10;
    int exp2;
  };
  static const Suffix kSuffixes[] = {
      {"", 0, 0},    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},
      {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
      {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
  };
  for (const Suffix& suffix : kSuffixes) {
    if (s == suffix.name) {
      exp10 = suffix.exp10;
      exp2 = suffix.exp2;
      return true;
    }
  }
  // Decimal exponent: e|E followed by an optionally signed integer ("E" alone is exa, handled above).
  if (s.size() >= 2 && (s[0] == 'e' || s[0] == 'E')) {
    size_t i = 1;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-') {
      neg = s[i] == '-';
      ++i;
    }
    if (i == s.size()) return false;
    int value = 0;
    for (; i < s.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      value = value * 10 + (s[i] - '0');
      if (value > 1000) return false;
    }
    exp10 = neg ? -value : value;
    exp2 = 0;
    return true;
  }
  return false;
}

bool mulOverflows(uint64_t& v, uint64_t factor) {
  return __builtin_mul_overflow(v, factor, &v);
}

}  // namespace

Quantity Quantity::parse(std::string_view text) {
  if (text.empty()) throw badQuantity(text, "empty");
  Quantity q;
  size_t i = 0;
  if (text[i] == '+' || text[i] == '-') {
    q.negative_ = text[i] == '-';
    ++i;
  }
  std::string digits;
  int fractionDigits = 0;
  bool seenPoint = false;
  bool seenDigit = false;
  for (; i < text.size(); ++i) {
    char ch = text[i];
    if (std::isdigit(static_cast<unsigned char>(ch))) {
      digits.push_back(ch);
      seenDigit = true;
      if (seenPoint) ++fractionDigits;
    } else if (ch == '.' && !seenPoint) {
      seenPoint = true;
    } else {
      break;
    }
  }
  if (!seenDigit) throw badQuantity(text, "expected a number");
  int exp10 = 0;
  int exp2 = 0;
  if (!parseSuffix(text.substr(i), exp10, exp2)) {
    throw badQuantity(text, "unknown suffix \"" + std::string(text.substr(i)) + "\"");
  }
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    q.negative_ = false;
    return q;
  }
  digits.erase(0, first);
  size_t last = digits.find_last_not_of('0');
  int trailingZeros = static_cast<int>(digits.size() - 1 - last);
  digits.erase(last + 1);
  q.digits_ = digits;
  q.exp10_ = exp10 - fractionDigits + trailingZeros;
  q.exp2_ = exp2;
  return q;
}

int64_t Quantity::scaled(int exp10Shift) const {
  if (digits_.empty()) return 0;
  const std::out_of_range tooLarge("quantity too large");
  if (digits_.size() > 19) throw tooLarge;
  uint64_t n = 0;
  for (char ch : digits_) {
    if (mulOverflows(n, 10) || __builtin_add_overflow(n, static_cast<uint64_t>(ch - '0'), &n)) throw tooLarge;
  }
  for (int k = 0; k < exp2_; ++k) {
    if (mulOverflows(n, 2)) throw tooLarge;
  }
  int e = exp10_ + exp10Shift;
  uint64_t result;
  if (e >= 0) {
    for (int k = 0; k < e; ++k) {
      if (mulOverflows(n, 10)) throw tooLarge;
    }
    result = n;
  } else if (-e > 19) {
    result = 1;  // a positive amount smaller than one unit rounds up to one
  } else {
    uint64_t d = 1;
    for (int k = 0; k < -e; ++k) d *= 10;
    result = n / d + (n % d != 0 ? 1 : 0);
  }
  if (result > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) throw tooLarge;
  return negative_ ? -static_cast<int64_t>(result) : static_cast<int64_t>(result);
}

}  // namespace podwarden::cri
