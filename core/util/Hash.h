// Hash.h - the hashes podwarden's identities are made of.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace podwarden::hash {

// MD5 of the bytes, 32 lowercase hex characters (the kubelet's static pod UID format).
std::string md5Hex(std::string_view data);
// FNV-1a 32-bit, lowercase hex without leading zeros (the kubelet's container hash format).
std::string fnv32aHex(std::string_view data);

}  // namespace podwarden::hash
