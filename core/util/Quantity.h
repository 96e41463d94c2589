// Quantity.h - Kubernetes resource quantities ("250m", "0.5", "128Mi", "1.5Gi", "1e3").
//
// One parser for the whole daemon: manifest validation compares quantities exactly, and the CRI
// translation asks for scaled integers (CPU millis, memory bytes) rounded like resource.Quantity.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace podwarden {

// An exact count of nano-units (1 = 1e-9), so "0.1" and "100m" compare equal. Digits below a nano-unit
// round up (away from zero), as Kubernetes rounds them. Values beyond 2^63 units are refused.
class Quantity {
 public:
  // Grammar: [+-] (digits | digits. | digits.digits | .digits) [Ki|Mi|Gi|Ti|Pi|Ei | n|u|m|k|M|G|T|P|E |
  // (e|E)[+-]digits]. Returns nullopt when the text does not follow it; `why` (if given) says what is wrong.
  static std::optional<Quantity> tryParse(std::string_view text, std::string* why = nullptr);
  // Like tryParse, but throws std::invalid_argument("invalid quantity \"<text>\": <why>").
  static Quantity parse(std::string_view text);

  bool negative() const { return nano_ < 0; }
  bool isZero() const { return nano_ == 0; }
  // True when the value has a fraction of a unit (memory in bytes: "128m" is 0.128 bytes).
  bool hasFraction() const;
  // The value in whole units and in thousandths, rounded away from zero like resource.Quantity's Value()
  // and MilliValue(). Throw std::out_of_range when the result does not fit int64.
  int64_t value() const { return scaled(1000000000); }
  int64_t milliValue() const { return scaled(1000000); }

  bool operator<(const Quantity& o) const { return nano_ < o.nano_; }
  bool operator==(const Quantity& o) const { return nano_ == o.nano_; }

 private:
  __extension__ typedef __int128 Nano;
  explicit Quantity(Nano nano) : nano_(nano) {}
  int64_t scaled(int64_t nanoPerStep) const;
  Nano nano_ = 0;
};

}  // namespace podwarden
