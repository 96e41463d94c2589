#include "FileSink.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <sstream>
#include <system_error>
#include <tuple>
#include <vector>

#include "AtomicFile.h"

namespace podwarden::sink_file {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw pw::Error(PW_INVALID_ARGUMENT, message);
}

Poco::JSON::Object::Ptr parseObject(std::string_view text, const char* what) {
  Poco::Dynamic::Var root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(text));
  } catch (const Poco::Exception& e) {
    invalid(std::string("sink-file: ") + what + " is not valid JSON: " + e.displayText());
  }
  if (root.type() != typeid(Poco::JSON::Object::Ptr))
    invalid(std::string("sink-file: ") + what + " is not an object");
  return root.extract<Poco::JSON::Object::Ptr>();
}

// A string member, or "" when absent; anything else present is an error naming `where`.
std::string stringField(const Poco::JSON::Object::Ptr& o, const std::string& key, const std::string& where) {
  if (!o->has(key) || o->isNull(key)) return "";
  Poco::Dynamic::Var v = o->get(key);
  if (!v.isString()) invalid("sink-file: " + where + "." + key + " is not a string");
  return v.convert<std::string>();
}

// The batch's "items" array (absent or null = none).
Poco::JSON::Array::Ptr itemsOf(const Poco::JSON::Object::Ptr& batch, const char* call) {
  if (!batch->has("items") || batch->isNull("items")) return new Poco::JSON::Array;
  if (!batch->isArray("items"))
    invalid(std::string("sink-file: ") + call + " batch: \"items\" is not an array");
  return batch->getArray("items");
}

std::string rfc3339(int64_t unixNs) {
  std::time_t seconds = static_cast<std::time_t>(unixNs / 1000000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

FileSink::FileSink(const pw::Host& host, std::string_view configJson, std::string_view nodeName)
    : host_(host), path_(kDefaultPath), node_(nodeName), errors_(new Poco::JSON::Array) {
  if (configJson.find_first_not_of(" \t\r\n") == std::string_view::npos) configJson = "{}";
  Poco::JSON::Object::Ptr config = parseObject(configJson, "config");
  for (const auto& [key, value] : *config) {
    if (key == "path") {
      if (!value.isString() || value.convert<std::string>().empty()) {
        invalid("sink-file config: \"path\" must be a non-empty string");
      }
      path_ = value.convert<std::string>();
      if (path_.back() == '/')
        invalid("sink-file config: \"path\" " + path_ + " names a directory, not a file");
    } else {
      invalid("sink-file config: unknown key \"" + key + "\" (known keys: path)");
    }
  }
}

pw_status FileSink::report(const pw::Call& /*call*/, std::string_view batchJson) {
  Poco::JSON::Object::Ptr batch = parseObject(batchJson, "report batch");
  Poco::JSON::Array::Ptr items = itemsOf(batch, "report");

  // Check everything before changing anything: a rejected batch leaves the state as it was.
  std::vector<std::pair<std::string, Poco::JSON::Object::Ptr>> updates;
  for (size_t i = 0; i < items->size(); ++i) {
    std::string where = "items[" + std::to_string(i) + "]";
    if (!items->isObject(i)) invalid("sink-file: report batch: " + where + " is not an object");
    Poco::JSON::Object::Ptr pod = items->getObject(i);
    if (!pod->isObject("metadata")) invalid("sink-file: report batch: " + where + ".metadata is missing");
    std::string uid = stringField(pod->getObject("metadata"), "uid", where + ".metadata");
    if (uid.empty()) invalid("sink-file: report batch: " + where + ".metadata.uid is missing or empty");
    stringField(pod->getObject("metadata"), "name", where + ".metadata");
    stringField(pod->getObject("metadata"), "namespace", where + ".metadata");
    updates.emplace_back(uid, pod);
  }
  Poco::JSON::Array::Ptr errors;
  if (batch->has("errors") && !batch->isNull("errors")) {
    if (!batch->isArray("errors")) invalid("sink-file: report batch: \"errors\" is not an array");
    errors = batch->getArray("errors");
  }

  for (auto& [uid, pod] : updates) pods_[uid] = pod;
  if (errors) errors_ = errors;
  write();
  return PW_OK;
}

pw_status FileSink::remove(const pw::Call& /*call*/, std::string_view batchJson) {
  Poco::JSON::Object::Ptr batch = parseObject(batchJson, "remove batch");
  Poco::JSON::Array::Ptr items = itemsOf(batch, "remove");

  struct Key {
    std::string uid, ns, name;
  };
  std::vector<Key> keys;
  for (size_t i = 0; i < items->size(); ++i) {
    std::string where = "items[" + std::to_string(i) + "]";
    if (!items->isObject(i)) invalid("sink-file: remove batch: " + where + " is not an object");
    Poco::JSON::Object::Ptr item = items->getObject(i);
    Key key{stringField(item, "uid", where), stringField(item, "namespace", where),
            stringField(item, "name", where)};
    if (key.uid.empty() && key.name.empty())
      invalid("sink-file: remove batch: " + where + " has neither uid nor name");
    keys.push_back(std::move(key));
  }

  for (const Key& key : keys) {
    if (!key.uid.empty()) {
      pods_.erase(key.uid);
      continue;
    }
    for (auto it = pods_.begin(); it != pods_.end();) {
      Poco::JSON::Object::Ptr meta = it->second->getObject("metadata");
      bool match = meta->optValue<std::string>("name", "") == key.name &&
                   meta->optValue<std::string>("namespace", "") == key.ns;
      it = match ? pods_.erase(it) : std::next(it);
    }
  }
  write();
  return PW_OK;
}

std::string FileSink::render() const {
  struct Entry {
    std::string ns, name, uid;
    Poco::JSON::Object::Ptr pod;
  };
  std::vector<Entry> entries;
  entries.reserve(pods_.size());
  for (const auto& [uid, pod] : pods_) {
    Poco::JSON::Object::Ptr meta = pod->getObject("metadata");
    entries.push_back(
        {meta->optValue<std::string>("namespace", ""), meta->optValue<std::string>("name", ""), uid, pod});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.ns, a.name, a.uid) < std::tie(b.ns, b.name, b.uid);
  });
  Poco::JSON::Array::Ptr pods = new Poco::JSON::Array;
  for (const Entry& e : entries) pods->add(e.pod);

  int64_t now = host_.nowUnixNs();
  if (now == 0) {
    now = std::chrono::duration_cast<std::chrono::nanoseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  }
  Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
  root.set("apiVersion", "podwarden.io/v1alpha1");
  root.set("kind", "NodeStatus");
  root.set("node", node_);
  root.set("updateTime", rfc3339(now));
  root.set("pods", pods);
  root.set("errors", errors_);
  std::ostringstream out;
  root.stringify(out, 2);
  out << '\n';
  return out.str();
}

void FileSink::write() {
  std::string content = render();
  try {
    writeFileAtomically(path_, content);
  } catch (const std::system_error& e) {
    // The host retries UNAVAILABLE with backoff; the next attempt writes the then-current state.
    throw pw::Error(PW_UNAVAILABLE, "sink-file: cannot write " + path_ + ": " + e.what());
  }
}

}  // namespace podwarden::sink_file
