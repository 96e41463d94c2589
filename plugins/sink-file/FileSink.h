// FileSink.h - the `file` sink: one JSON document with the status of every static pod on this node.
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <map>
#include <podwarden/plugin.hpp>
#include <string>
#include <string_view>

namespace podwarden::sink_file {

inline constexpr const char* kDefaultPath = "/var/lib/podwarden/status.json";

// Keeps every pod it was told about (keyed by metadata.uid) and rewrites the whole file after each call:
//   {"apiVersion":"podwarden.io/v1alpha1","kind":"NodeStatus","node":..., "updateTime":<RFC 3339>,
//    "pods":[<pod>... sorted by namespace, name], "errors":[<manifest error>...]}
// A write failure returns PW_UNAVAILABLE; the state is kept, so the host's retry (or any later call) writes
// everything. Not thread-safe: the host serializes calls (no PW_CAP_CONCURRENT).
class FileSink : public pw::Sink {
 public:
  FileSink(const pw::Host& host, std::string_view configJson, std::string_view nodeName);

  // batch: {"items":[Pod...], "errors":[...]?}; "errors", when present, replaces the whole error list.
  pw_status report(const pw::Call& call, std::string_view batchJson) override;
  // batch: {"items":[{"namespace","name","uid"}...]}.
  pw_status remove(const pw::Call& call, std::string_view batchJson) override;

  const std::string& path() const { return path_; }

 private:
  void write();
  std::string render() const;

  pw::Host host_;
  std::string path_;
  std::string node_;
  std::map<std::string, Poco::JSON::Object::Ptr> pods_;  // by metadata.uid
  Poco::JSON::Array::Ptr errors_;
};

}  // namespace podwarden::sink_file
