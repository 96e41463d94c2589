// sink-jsonl: a podwarden status sink that appends one JSON line per pod change to a file.
//
//   {"time":"2026-01-02T03:04:05.123Z","event":"report","namespace":"kube-system","name":"etcd-node1",
//    "uid":"…","phase":"Running","containers":[{"name":"etcd","state":"running","restartCount":0}]}
//   {"time":"…","event":"remove","namespace":"kube-system","name":"etcd-node1","uid":"…"}
//
// Config: {"path": "/absolute/file.jsonl"}.
//
// Threads: the host calls report/remove from the sink's own host thread, one call at a time (the
// factory does not declare PW_CAP_CONCURRENT), so the class needs no locking.
#include "MiniJson.h"

#include <podwarden/plugin.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#ifndef SINK_JSONL_VERSION
#define SINK_JSONL_VERSION "0.0.0"
#endif

namespace sinkjsonl {
namespace {

constexpr const char kConfigSchema[] = R"({
  "type": "object",
  "properties": {"path": {"type": "string"}},
  "required": ["path"],
  "additionalProperties": false
})";

// RFC 3339 in UTC with nanoseconds, trailing zeros trimmed (Kubernetes' RFC3339Nano).
std::string rfc3339Nano(int64_t unixNs) {
  int64_t secs = unixNs / 1000000000;
  int64_t nanos = unixNs % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof(frac), ".%09lld", static_cast<long long>(nanos));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::string stringAt(const JsonValue* object, const char* key) {
  const JsonValue* v = object ? object->find(key) : nullptr;
  return v && v->isString() ? v->text() : std::string();
}

// The state a ContainerStatus is in: the one key of its "state" object ("waiting", "running",
// "terminated"), or "unknown" when the runtime has not reported one yet.
std::string containerState(const JsonValue& status) {
  const JsonValue* state = status.find("state");
  if (state && state->isObject()) {
    for (const char* s : {"running", "waiting", "terminated"}) {
      if (state->find(s)) return s;
    }
  }
  return "unknown";
}

void appendHead(std::string& line, const std::string& time, const char* event, const JsonValue* identity) {
  line += "{\"time\":";
  appendJsonString(line, time);
  line += ",\"event\":";
  appendJsonString(line, event);
  line += ",\"namespace\":";
  appendJsonString(line, stringAt(identity, "namespace"));
  line += ",\"name\":";
  appendJsonString(line, stringAt(identity, "name"));
  line += ",\"uid\":";
  appendJsonString(line, stringAt(identity, "uid"));
}

JsonValue parseBatch(std::string_view batchJson, const char* call) {
  JsonValue batch;
  try {
    batch = JsonValue::parse(batchJson);
  } catch (const std::exception& e) {
    // Resending the same bytes cannot help: not retryable.
    throw pw::Error(PW_INVALID_ARGUMENT, std::string("sink-jsonl: ") + call + " batch: " + e.what());
  }
  if (!batch.isObject()) {
    throw pw::Error(PW_INVALID_ARGUMENT, std::string("sink-jsonl: ") + call + " batch is not a JSON object");
  }
  return batch;
}

// The elements of `v` if it is an array; none otherwise.
const std::vector<JsonValue>& arrayItems(const JsonValue* v) {
  static const std::vector<JsonValue> kNone;
  return v && v->isArray() ? v->items() : kNone;
}

class JsonlSink : public pw::Sink {
 public:
  JsonlSink(const pw::Host& host, std::string_view configJson, std::string_view /*nodeName*/) : host_(host) {
    JsonValue config;
    try {
      config = JsonValue::parse(configJson);
    } catch (const std::exception& e) {
      throw pw::Error(PW_INVALID_ARGUMENT, std::string("sink-jsonl: config: ") + e.what());
    }
    if (!config.isObject()) throw pw::Error(PW_INVALID_ARGUMENT, "sink-jsonl: config must be a JSON object");
    for (const auto& member : config.members()) {
      if (member.first != "path") {
        throw pw::Error(PW_INVALID_ARGUMENT,
                        "sink-jsonl: config: unknown field \"" + member.first + "\" (the only field is \"path\")");
      }
    }
    const JsonValue* path = config.find("path");
    if (!path || !path->isString() || path->text().empty()) {
      throw pw::Error(PW_INVALID_ARGUMENT,
                      "sink-jsonl: config: field \"path\" is required: a string naming the file to append to");
    }
    if (path->text()[0] != '/') {
      throw pw::Error(PW_INVALID_ARGUMENT,
                      "sink-jsonl: config: field \"path\" must be an absolute path, got \"" + path->text() + "\"");
    }
    path_ = path->text();
    // Fail at startup, where the operator is looking, when the file can never be opened (a typo in the
    // directory, a read-only mount). Later failures are retried (see append()).
    int fd = openForAppend();
    if (fd < 0) {
      throw pw::Error(PW_FAILED_PRECONDITION,
                      "sink-jsonl: cannot open " + path_ + " for appending: " + std::strerror(errno));
    }
    ::close(fd);
  }

  pw_status report(const pw::Call& /*call*/, std::string_view batchJson) override {
    JsonValue batch = parseBatch(batchJson, "report");
    const std::string time = rfc3339Nano(host_.nowUnixNs());
    std::string lines;
    for (const JsonValue& pod : arrayItems(batch.find("items"))) {
      if (!pod.isObject()) continue;
      const JsonValue* status = pod.find("status");
      appendHead(lines, time, "report", pod.find("metadata"));
      lines += ",\"phase\":";
      appendJsonString(lines, stringAt(status, "phase"));
      lines += ",\"containers\":[";
      bool first = true;
      for (const JsonValue& cs : arrayItems(status ? status->find("containerStatuses") : nullptr)) {
        if (!cs.isObject()) continue;
        if (!first) lines += ',';
        first = false;
        lines += "{\"name\":";
        appendJsonString(lines, stringAt(&cs, "name"));
        lines += ",\"state\":";
        appendJsonString(lines, containerState(cs));
        lines += ",\"restartCount\":";
        const JsonValue* restarts = cs.find("restartCount");
        lines += restarts && restarts->isNumber() ? restarts->text() : "0";
        lines += '}';
      }
      lines += "]}\n";
    }
    return append(lines);
  }

  pw_status remove(const pw::Call& /*call*/, std::string_view batchJson) override {
    JsonValue batch = parseBatch(batchJson, "remove");
    const std::string time = rfc3339Nano(host_.nowUnixNs());
    std::string lines;
    for (const JsonValue& pod : arrayItems(batch.find("items"))) {
      if (!pod.isObject()) continue;
      appendHead(lines, time, "remove", &pod);
      lines += "}\n";
    }
    return append(lines);
  }

 private:
  int openForAppend() const { return ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644); }

  // Opens the file for every batch, so that log rotation (rename + new file) needs no signal. One
  // write() of the whole batch: with O_APPEND, concurrent readers see whole lines. A failure is
  // UNAVAILABLE, so the host retries later with the latest state (a full disk, a remounted volume).
  pw_status append(const std::string& lines) {
    if (lines.empty()) return PW_OK;
    int fd = openForAppend();
    if (fd < 0) {
      throw pw::Error(PW_UNAVAILABLE, "sink-jsonl: cannot open " + path_ + " for appending: " + std::strerror(errno));
    }
    size_t done = 0;
    while (done < lines.size()) {
      ssize_t n = ::write(fd, lines.data() + done, lines.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        throw pw::Error(PW_UNAVAILABLE, "sink-jsonl: cannot write to " + path_ + ": " + std::strerror(err));
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) {
      throw pw::Error(PW_UNAVAILABLE, "sink-jsonl: cannot write to " + path_ + ": " + std::strerror(errno));
    }
    return PW_OK;
  }

  pw::Host host_;
  std::string path_;
};

const pw_sink_vtable kVtable = pw::sinkVtable<JsonlSink>();
const pw_factory kFactory = pw::factory(PW_KIND_SINK, "jsonl", 0, &kVtable);

}  // namespace
}  // namespace sinkjsonl

PW_DEFINE_PLUGIN("sink-jsonl", SINK_JSONL_VERSION, "appends one JSON line per static pod change to a file",
                 sinkjsonl::kConfigSchema, &sinkjsonl::kFactory)
