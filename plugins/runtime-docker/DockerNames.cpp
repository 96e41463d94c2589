#include "DockerNames.h"

#include <vector>

namespace podwarden::docker {

std::string sandboxName(const std::string& pod, const std::string& ns, const std::string& uid,
                        int64_t attempt) {
  return containerName("POD", pod, ns, uid, attempt);
}

std::string containerName(const std::string& container, const std::string& pod, const std::string& ns,
                          const std::string& uid, int64_t attempt) {
  return "k8s_" + container + "_" + pod + "_" + ns + "_" + uid + "_" + std::to_string(attempt);
}

ParsedName parseName(const std::string& dockerName) {
  ParsedName p;
  std::string name = !dockerName.empty() && dockerName[0] == '/' ? dockerName.substr(1) : dockerName;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t pos = name.find('_', start);
    parts.push_back(name.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  if (parts.size() != 6 || parts[0] != "k8s") return p;
  try {
    size_t used = 0;
    p.attempt = std::stoll(parts[5], &used);
    if (used != parts[5].size()) return p;
  } catch (const std::exception&) {
    return p;
  }
  p.container = parts[1];
  p.pod = parts[2];
  p.ns = parts[3];
  p.uid = parts[4];
  p.ok = true;
  return p;
}

StringMap toDockerLabels(const StringMap& labels, const StringMap& annotations, const StringMap& extra) {
  StringMap out = labels;
  for (const auto& [k, v] : annotations) out[kAnnotationPrefix + k] = v;
  for (const auto& [k, v] : extra) out[k] = v;
  return out;
}

void fromDockerLabels(const StringMap& dockerLabels, StringMap& labels, StringMap& annotations) {
  const std::string prefix = kAnnotationPrefix;
  for (const auto& [k, v] : dockerLabels) {
    if (k.compare(0, prefix.size(), prefix) == 0) {
      annotations[k.substr(prefix.size())] = v;
    } else if (k != kTypeLabel && k != kSandboxIdLabel && k != kLogPathLabel) {
      labels[k] = v;
    }
  }
}

}  // namespace podwarden::docker
