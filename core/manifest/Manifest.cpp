#include "manifest/Manifest.h"

#include <Poco/Types.h>

#include <algorithm>
#include <set>

#include "manifest/Defaults.h"
#include "manifest/Document.h"
#include "manifest/Validate.h"
#include "util/Hash.h"

namespace podwarden::manifest {

std::string Problem::toString() const {
  std::string out;
  if (!origin.empty()) out += origin;
  if (line > 0) {
    out += (out.empty() ? "" : ":") + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  // A field path holds the map keys on its way, which may be as long as the user made them.
  constexpr size_t kShownField = 300;
  std::string shown = field.size() <= kShownField ? field : field.substr(0, kShownField) + "...";
  if (!shown.empty()) out += (out.empty() ? "" : ": ") + shown;
  if (!message.empty()) out += (out.empty() ? "" : ": ") + message;
  return out;
}

namespace {

Problem wholeInput(const std::string& origin, const std::string& message) {
  Problem p;
  p.origin = origin;
  p.message = message;
  return p;
}

// Problems in document order (those without a position first), the order a reader fixes them in.
void sortByPosition(std::vector<Problem>& problems) {
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    return std::make_pair(a.line, a.column) < std::make_pair(b.line, b.column);
  });
}

// Checks that hold before any byte is parsed. Returns false after adding an error.
bool checkInput(std::string_view bytes, const SourceRef& ref, const ParseOptions& opts,
                std::vector<Problem>& errors) {
  if (ref.source != "file" && ref.source != "http") {
    errors.push_back(
        wholeInput(ref.origin, "unknown manifest source \"" + ref.source + "\" (expected file or http)"));
    return false;
  }
  if (opts.nodeName.empty()) {
    errors.push_back(wholeInput(ref.origin, "node name is empty: static pod names are <name>-<node>"));
    return false;
  }
  if (bytes.size() > opts.maxBytes) {
    errors.push_back(wholeInput(ref.origin, "manifest is " + std::to_string(bytes.size()) +
                                                " bytes; the limit is " + std::to_string(opts.maxBytes) +
                                                " bytes"));
    return false;
  }
  return true;
}

bool looksLikeJson(std::string_view bytes) {
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  size_t first = bytes.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && bytes[first] == '{';
}

// YAML first (positions for both YAML and JSON). JSON that yaml-cpp cannot read (it is stricter about a few
// JSON forms than JSON itself) still loads through the JSON parser, without positions.
bool load(std::string_view bytes, const std::string& origin, Document& doc, std::vector<Problem>& errors,
          std::vector<Problem>& warnings) {
  std::vector<Problem> yamlErrors;
  if (loadDocument(bytes, origin, doc, yamlErrors, warnings)) return true;
  if (looksLikeJson(bytes)) {
    try {
      std::string_view text = bytes;
      if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
      doc.root = json::parse(text);
      doc.positions = Positions();
      return true;
    } catch (const std::exception&) {
    }
  }
  errors.insert(errors.end(), yamlErrors.begin(), yamlErrors.end());
  return false;
}

json::ObjectPtr rootObject(const Document& doc, const std::string& origin, std::vector<Problem>& errors) {
  if (doc.root.type() == typeid(json::ObjectPtr)) return doc.root.extract<json::ObjectPtr>();
  Problem p =
      wholeInput(origin, "manifest must be a mapping (a v1 Pod object), not a " +
                             std::string(doc.root.type() == typeid(json::ArrayPtr) ? "list" : "scalar"));
  Position pos = doc.positions.find("");
  p.line = pos.line;
  p.column = pos.column;
  errors.push_back(p);
  return nullptr;
}

// Validates one written Pod and, when valid, gives it its static identity and defaults.
std::optional<StaticPod> buildPod(const json::ObjectPtr& written, const std::string& base,
                                  const SourceRef& ref, const ParseOptions& opts, Reporter& reporter) {
  size_t before = reporter.errorCount();
  validatePod(written, base, opts.nodeName, reporter);
  if (reporter.errorCount() > before) return std::nullopt;

  StaticPod out;
  out.ref = ref;
  json::ObjectPtr writtenMeta = json::getObject(written, "metadata");
  out.manifestName = json::getString(writtenMeta, "name");
  out.name = out.manifestName + "-" + opts.nodeName;
  out.ns = json::getString(writtenMeta, "namespace", "");
  if (out.ns.empty()) out.ns = "default";
  std::string pinnedUid = json::getString(writtenMeta, "uid", "");

  // Config hash over the manifest as written (not the defaulted pod): a default added by a later podwarden
  // release must not change every UID and restart every static pod (the kubelet's kubernetes#67537). The
  // source data follows the content as in kubelet >= 1.21: file pods add host and path, URL pods add the URL
  // only (so one URL serves the same UID to every node).
  json::ObjectPtr hashed = json::deepCopy(written);
  json::ObjectPtr hashedMeta = json::getObject(hashed, "metadata");
  if (!hashedMeta.isNull()) hashedMeta->remove("uid");
  std::string input = json::stringify(hashed);
  if (ref.source == "http") {
    input += "url:" + ref.origin;
  } else {
    input += "host:" + opts.nodeName + "file:" + ref.origin;
  }
  out.configHash = hash::md5Hex(input);
  out.uidPinned = !pinnedUid.empty();
  out.uid = out.uidPinned ? pinnedUid : out.configHash;

  json::ObjectPtr pod = json::deepCopy(written);
  applyDefaults(pod, ref.source == "file");
  json::ObjectPtr meta = json::ensureObject(pod, "metadata");
  meta->set("name", out.name);
  meta->set("namespace", out.ns);
  meta->set("uid", out.uid);
  json::ObjectPtr annotations = json::ensureObject(meta, "annotations");
  annotations->set("kubernetes.io/config.hash", out.configHash);
  annotations->set("kubernetes.io/config.source", ref.source);
  annotations->set("kubernetes.io/config.seen", json::rfc3339Nano(opts.seenUnixNs));
  json::ObjectPtr spec = json::ensureObject(pod, "spec");
  spec->set("nodeName", opts.nodeName);
  json::ObjectPtr status = json::ensureObject(pod, "status");
  status->set("phase", std::string("Pending"));
  out.pod = pod;
  return out;
}

}  // namespace

ParseResult parseManifest(std::string_view bytes, const SourceRef& ref, const ParseOptions& opts) {
  ParseResult result;
  try {
    if (!checkInput(bytes, ref, opts, result.errors)) return result;
    Document doc;
    if (!load(bytes, ref.origin, doc, result.errors, result.warnings)) return result;
    json::ObjectPtr root = rootObject(doc, ref.origin, result.errors);
    if (root.isNull()) return result;
    Reporter reporter(ref.origin, doc.positions, result.errors, result.warnings);
    result.pod = buildPod(root, "", ref, opts, reporter);
  } catch (const std::exception& e) {
    // Bad input never throws; this is a podwarden bug, reported instead of taking the caller down.
    result.errors.push_back(wholeInput(ref.origin, std::string("internal error while parsing: ") + e.what()));
  }
  if (!result.errors.empty()) result.pod.reset();
  sortByPosition(result.errors);
  sortByPosition(result.warnings);
  return result;
}

ParseListResult parseManifestList(std::string_view bytes, const SourceRef& ref, const ParseOptions& opts) {
  ParseListResult result;
  try {
    if (!checkInput(bytes, ref, opts, result.errors)) return result;
    std::string_view trimmed = bytes;
    if (trimmed.substr(0, 3) == "\xEF\xBB\xBF") trimmed.remove_prefix(3);
    if (trimmed.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      // The kubelet treats an empty body as an empty set of pods.
      result.warnings.push_back(wholeInput(ref.origin, "body is empty: no static pods from this source"));
      return result;
    }
    Document doc;
    if (!load(bytes, ref.origin, doc, result.errors, result.warnings)) return result;
    json::ObjectPtr root = rootObject(doc, ref.origin, result.errors);
    if (root.isNull()) return result;
    Reporter reporter(ref.origin, doc.positions, result.errors, result.warnings);
    std::string kind = json::getString(root, "kind");
    if (kind != "PodList" && kind != "List") {
      std::optional<StaticPod> pod = buildPod(root, "", ref, opts, reporter);
      if (pod) result.pods.push_back(std::move(*pod));
    } else {
      json::ArrayPtr items = json::getArray(root, "items");
      if (items.isNull() && json::has(root, "items")) reporter.error("items", "must be a list");
      std::set<std::string> fullNames;
      for (size_t i = 0; !items.isNull() && i < items->size(); ++i) {
        std::string base = indexPath("items", i);
        Poco::Dynamic::Var v = items->get(static_cast<unsigned>(i));
        if (v.type() != typeid(json::ObjectPtr)) {
          reporter.error(base, "must be an object (a v1 Pod)");
          continue;
        }
        // Items of a typed list need not repeat apiVersion/kind; fill them so that both forms hash alike.
        json::ObjectPtr item = json::deepCopy(v.extract<json::ObjectPtr>());
        if (!json::has(item, "apiVersion")) item->set("apiVersion", std::string("v1"));
        if (!json::has(item, "kind")) item->set("kind", std::string("Pod"));
        std::optional<StaticPod> pod = buildPod(item, base, ref, opts, reporter);
        if (!pod) continue;
        if (!fullNames.insert(pod->fullName()).second) {
          // The kubelet keeps the first pod of a name in one update and drops the others.
          reporter.warn(fieldPath(fieldPath(base, "metadata"), "name"),
                        "duplicate pod " + pod->fullName() + " in this list: the first one is kept");
          continue;
        }
        result.pods.push_back(std::move(*pod));
      }
    }
  } catch (const std::exception& e) {
    result.errors.push_back(wholeInput(ref.origin, std::string("internal error while parsing: ") + e.what()));
  }
  // One invalid item rejects the whole body, as the kubelet's HTTP source does.
  if (!result.errors.empty()) result.pods.clear();
  sortByPosition(result.errors);
  sortByPosition(result.warnings);
  return result;
}

}  // namespace podwarden::manifest
