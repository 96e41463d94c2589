// The host side of a pod's volumes: what the kubelet's hostPath and emptyDir plugins and its subPath
// handling do before the first container of a pod is created.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "cri/PodTranslator.h"
#include "cri/VolumePaths.h"

namespace podwarden::cri {

namespace {

namespace fs = std::filesystem;

constexpr mode_t kHostPathDirMode = 0755;   // hostPath DirectoryOrCreate (before umask, like the kubelet)
constexpr mode_t kHostPathFileMode = 0644;  // hostPath FileOrCreate (before umask)
constexpr mode_t kEmptyDirMode = 0777;      // emptyDir: forced with chmod whatever the umask
constexpr mode_t kPodDirMode = 0750;        // <podsDir>/<uid>/volumes/<plugin>, as the kubelet's pod dirs

std::string errnoText(int err) {
  return std::strerror(err);
}

// What is at `path` (following symlinks, as the kubelet's type checks do); "" when nothing is there.
std::string fileTypeAt(const std::string& path, int* err) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *err = errno;
    return "";
  }
  *err = 0;
  if (S_ISDIR(st.st_mode)) return "directory";
  if (S_ISREG(st.st_mode)) return "file";
  if (S_ISSOCK(st.st_mode)) return "socket";
  if (S_ISCHR(st.st_mode)) return "character device";
  if (S_ISBLK(st.st_mode)) return "block device";
  if (S_ISFIFO(st.st_mode)) return "fifo";
  return "unknown file type";
}

// mkdir -p with `mode` for each directory it creates, subject to the umask as Go's os.MkdirAll unless
// `exactMode`, which chmods what it created.
bool makeDirs(const std::string& path, mode_t mode, std::string* error, bool exactMode = false) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    size_t next = path.find('/', pos + 1);
    partial = path.substr(0, next);
    pos = next;
    if (partial.empty() || partial == "/") continue;
    if (::mkdir(partial.c_str(), mode) != 0) {
      if (errno == EEXIST) continue;
      *error = "cannot create directory " + partial + ": " + errnoText(errno);
      return false;
    }
    if (exactMode && ::chmod(partial.c_str(), mode) != 0) {
      *error = "cannot chmod " + partial + ": " + errnoText(errno);
      return false;
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = path + " exists and is not a directory";
    return false;
  }
  return true;
}

// The kubelet's hostPath type check (pkg/volume/hostpath): the *OrCreate types create what is missing
// (a directory tree 0755; a single empty file 0644 whose parent must already exist, the kubelet does not
// create it), then every type requires the path to be of that type.
std::string checkHostPath(const std::string& path, const std::string& type) {
  static const std::set<std::string> kTypes = {
      "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"};
  if (kTypes.count(type) == 0) return "invalid hostPath type \"" + type + "\"";
  if (type.empty()) return "";  // unset: no checks, the runtime deals with the path
  int err = 0;
  std::string found = fileTypeAt(path, &err);
  if (found.empty() && err != ENOENT && err != ENOTDIR) return "cannot stat " + path + ": " + errnoText(err);
  if (found.empty() && type == "DirectoryOrCreate") {
    std::string error;
    return makeDirs(path, kHostPathDirMode, &error) ? "" : error;
  }
  if (found.empty() && type == "FileOrCreate") {
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, kHostPathFileMode);
    if (fd < 0) {
      int openErr = errno;
      return "cannot create file " + path + ": " + errnoText(openErr) +
             (openErr == ENOENT ? " (FileOrCreate does not create the parent directory)" : "");
    }
    ::close(fd);
    return "";
  }
  std::string want = type == "DirectoryOrCreate" || type == "Directory" ? "directory"
                     : type == "FileOrCreate" || type == "File"         ? "file"
                     : type == "Socket"                                 ? "socket"
                     : type == "CharDevice"                             ? "character device"
                                                                        : "block device";
  if (found == want) return "";
  return "hostPath type check failed: " + path + " is not a " + want +
         (found.empty() ? " (it does not exist)" : " (found a " + found + ")");
}

std::string prepareEmptyDir(const std::string& dir, const json::ObjectPtr& emptyDir, bool* memoryWarning) {
  std::string error;
  if (!makeDirs(fs::path(dir).parent_path().string(), kPodDirMode, &error)) return error;
  if (!makeDirs(dir, kEmptyDirMode, &error)) return error;
  if (::chmod(dir.c_str(), kEmptyDirMode) != 0) return "cannot chmod " + dir + ": " + errnoText(errno);
  *memoryWarning = json::getString(emptyDir, "medium") == "Memory";
  return "";
}

// Creates a missing subPath below an existing volume directory with exactly the volume root's
// permissions (umask ignored), as the kubelet does before the runtime could create it with the wrong
// mode. A subPath that
// resolves outside the volume (through a symlink) is refused.
std::string prepareSubPath(const std::string& root, const std::string& subPath) {
  std::string full = detail::joinPath(root, subPath);
  struct stat rootSt {};
  if (::stat(root.c_str(), &rootSt) != 0) return "cannot stat volume " + root + ": " + errnoText(errno);
  if (!S_ISDIR(rootSt.st_mode))
    return "subPath " + subPath + " needs a directory volume, " + root + " is not one";
  int err = 0;
  if (fileTypeAt(full, &err).empty()) {
    std::string error;
    if (!makeDirs(full, rootSt.st_mode & 07777, &error, true)) return error;
  }
  std::error_code ec;
  fs::path realRoot = fs::canonical(root, ec);
  fs::path realFull = ec ? fs::path() : fs::canonical(full, ec);
  if (ec) return "cannot resolve " + full + ": " + ec.message();
  std::string r = realRoot.string();
  std::string f = realFull.string();
  if (f != r && f.compare(0, r.size() + 1, r + "/") != 0) {
    return "subPath " + subPath + " resolves to " + f + ", outside the volume " + r;
  }
  return "";
}

// Mount points at or below `dir`, from /proc/self/mountinfo (field 5, octal-escaped).
std::vector<std::string> mountsBelow(const std::string& dir) {
  std::vector<std::string> found;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string skip;
    std::string mountPoint;
    for (int i = 0; i < 4; ++i) fields >> skip;
    fields >> mountPoint;
    std::string decoded;
    for (size_t i = 0; i < mountPoint.size(); ++i) {
      if (mountPoint[i] == '\\' && i + 3 < mountPoint.size()) {
        decoded.push_back(static_cast<char>(std::stoi(mountPoint.substr(i + 1, 3), nullptr, 8)));
        i += 3;
      } else {
        decoded.push_back(mountPoint[i]);
      }
    }
    if (decoded == dir || decoded.compare(0, dir.size() + 1, dir + "/") == 0) found.push_back(decoded);
  }
  return found;
}

}  // namespace

std::vector<VolumeProblem> prepareVolumes(const json::ObjectPtr& pod, const TranslateOptions& opts) {
  std::vector<VolumeProblem> problems;
  std::set<std::string> failed;
  json::ObjectPtr spec = json::getObject(pod, "spec");
  json::ArrayPtr volumes = json::getArray(spec, "volumes");
  for (size_t i = 0; !volumes.isNull() && i < volumes->size(); ++i) {
    json::ObjectPtr v = volumes->getObject(static_cast<unsigned>(i));
    std::string name = json::getString(v, "name");
    std::string field = "spec.volumes[" + std::to_string(i) + "]";
    std::string problem;
    bool memoryWarning = false;
    try {
      std::string path = detail::volumeHostPath(pod, v, field, opts);
      if (json::has(v, "hostPath")) {
        problem = checkHostPath(path, json::getString(json::getObject(v, "hostPath"), "type"));
      } else {
        problem = prepareEmptyDir(path, json::getObject(v, "emptyDir"), &memoryWarning);
      }
    } catch (const TranslateError& e) {
      problem = e.what();
    }
    if (!problem.empty()) {
      failed.insert(name);
      problems.push_back({name, "volume \"" + name + "\": " + problem, false});
    } else if (memoryWarning) {
      problems.push_back(
          {name,
           "volume \"" + name + "\": emptyDir medium Memory is served from a directory on disk (no tmpfs)",
           true});
    }
  }

  // subPaths of every container's mounts, once per volume and path.
  std::set<std::pair<std::string, std::string>> done;
  for (const char* list : {"initContainers", "containers"}) {
    json::ArrayPtr containers = json::getArray(spec, list);
    for (size_t ci = 0; !containers.isNull() && ci < containers->size(); ++ci) {
      json::ObjectPtr c = containers->getObject(static_cast<unsigned>(ci));
      json::ArrayPtr mounts = json::getArray(c, "volumeMounts");
      for (size_t mi = 0; !mounts.isNull() && mi < mounts->size(); ++mi) {
        json::ObjectPtr vm = mounts->getObject(static_cast<unsigned>(mi));
        if (!json::has(vm, "subPath") && !json::has(vm, "subPathExpr")) continue;
        std::string name = json::getString(vm, "name");
        std::string volumeField;
        json::ObjectPtr v = detail::findVolume(pod, name, &volumeField);
        if (v.isNull() || failed.count(name) != 0) continue;
        std::string field = std::string("spec.") + list + "[" + std::to_string(ci) + "].volumeMounts[" +
                            std::to_string(mi) + "]";
        std::string problem;
        try {
          std::vector<EnvVar> env;
          if (json::has(vm, "subPathExpr")) env = containerEnv(pod, c, opts);
          std::string subPath = detail::mountSubPath(vm, env, field);
          if (subPath.empty() || !done.insert({name, subPath}).second) continue;
          problem = prepareSubPath(detail::volumeHostPath(pod, v, volumeField, opts), subPath);
        } catch (const TranslateError& e) {
          problem = e.what();
        }
        if (!problem.empty()) problems.push_back({name, "volume \"" + name + "\": " + problem, false});
      }
    }
  }
  return problems;
}

void removePodDir(const std::string& uid, const TranslateOptions& opts) {
  if (uid.empty() || uid == "." || uid == ".." || uid.find('/') != std::string::npos) {
    throw std::runtime_error("refusing to remove the pod directory of invalid uid \"" + uid + "\"");
  }
  std::string dir = podDir(uid, opts);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return;
  fs::path resolved = fs::weakly_canonical(dir, ec);  // mountinfo lists resolved paths
  std::vector<std::string> mounts = mountsBelow(ec ? dir : resolved.string());
  if (!mounts.empty()) {
    throw std::runtime_error("cannot remove " + dir + ": " + mounts.front() + " is still mounted");
  }
  fs::remove_all(dir, ec);
  if (ec) throw std::runtime_error("cannot remove " + dir + ": " + ec.message());
}

}  // namespace podwarden::cri
