#include "util/Hash.h"

#include <Poco/DigestEngine.h>
#include <Poco/MD5Engine.h>

#include <cstdio>

namespace podwarden::hash {

std::string md5Hex(std::string_view data) {
  Poco::MD5Engine md5;
  md5.update(data.data(), static_cast<unsigned>(data.size()));
  return Poco::DigestEngine::digestToHex(md5.digest());
}

std::string fnv32aHex(std::string_view data) {
  uint32_t h = 2166136261u;
  for (unsigned char c : data) {
    h ^= c;
    h *= 16777619u;
  }
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%x", h);
  return buf;
}

}  // namespace podwarden::hash
