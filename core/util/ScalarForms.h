// ScalarForms.h - the textual forms of YAML plain scalars (integers, floats), recognised by character loops.
//
// No std::regex here or on any other unbounded input: libstdc++'s regex executor recurses once per input
// character, so a 30,000-digit scalar overflowed the stack and killed the daemon. These loops are linear
// and allocate nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace podwarden::scalar {

// [-+]?[0-9]+
bool isDecimal(std::string_view s);
// [-+]?0[0-7]+ (YAML 1.1 octal, as go-yaml and so kubectl read 0644)
bool isOctal11(std::string_view s);
// 0o[0-7]+ (YAML 1.2 octal)
bool isOctal12(std::string_view s);
// 0x[0-9a-fA-F]+
bool isHex(std::string_view s);
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool isFloat(std::string_view s);
// [-+]?\.(inf|Inf|INF) or \.(nan|NaN|NAN)
bool isSpecialFloat(std::string_view s);

// The value of a scalar isFloat() accepts; nullopt when it is beyond a double's range (1e400), which go-yaml
// then keeps as the string written. Underflow reads as 0 or a denormal, as in Go.
std::optional<double> finiteFloat(const std::string& s);

}  // namespace podwarden::scalar
