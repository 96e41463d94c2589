// Quantity.h - Kubernetes resource quantities ("250m", "0.5", "128Mi", "1G", "1e3").
#pragma once

#include <optional>
#include <string>

namespace podwarden::manifest {

// A parsed quantity as an exact count of nano-units (1 = 1e-9), so "0.1" and "100m" compare equal. Digits
// below a nano-unit round up, as Kubernetes rounds them.
class Quantity {
 public:
  // Grammar: [+-] (digits | digits. | digits.digits | .digits) [Ki|Mi|Gi|Ti|Pi|Ei | n|u|m|k|M|G|T|P|E |
  // (e|E)[+-]digits] Returns nullopt when the text does not follow it or the value is beyond 2^63 units.
  static std::optional<Quantity> parse(const std::string& text);

  bool negative() const { return nano_ < 0; }
  bool operator<(const Quantity& o) const { return nano_ < o.nano_; }
  bool operator==(const Quantity& o) const { return nano_ == o.nano_; }
  // True when the value has a fraction of a unit (memory in bytes: "128m" is 0.128 bytes).
  bool hasFraction() const;

 private:
  __extension__ typedef __int128 Nano;
  explicit Quantity(Nano nano) : nano_(nano) {}
  Nano nano_ = 0;
};

}  // namespace podwarden::manifest
