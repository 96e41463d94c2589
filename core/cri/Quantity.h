// Quantity.h - Kubernetes resource quantities ("250m", "1.5Gi", "2e3", 0.5).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace podwarden::cri {

// A parsed quantity, held exactly as digits x 10^exp10 x 2^exp2 so that rounding happens only when a
// scaled integer is asked for.
class Quantity {
 public:
  // Accepts the Kubernetes syntax: an optionally signed decimal number followed by nothing, a decimal SI
  // suffix (n u m k M G T P E), a binary suffix (Ki Mi Gi Ti Pi Ei) or a decimal exponent (e3, E-2).
  // Throws std::invalid_argument naming the text and what is wrong.
  static Quantity parse(std::string_view text);

  bool negative() const { return negative_; }
  bool isZero() const { return digits_.empty(); }
  // The value in whole units and in thousandths, rounded up (away from zero) like resource.Quantity's
  // Value() and MilliValue(). Throw std::out_of_range when the result does not fit int64.
  int64_t value() const { return scaled(0); }
  int64_t milliValue() const { return scaled(3); }

 private:
  int64_t scaled(int exp10Shift) const;

  bool negative_ = false;
  std::string digits_;  // significant decimal digits, no leading or trailing zeros; empty means zero
  int exp10_ = 0;
  int exp2_ = 0;
};

}  // namespace podwarden::cri
