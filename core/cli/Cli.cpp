#include "cli/Cli.h"

#include <dirent.h>
#include <podwarden/abi.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "config/Config.h"
#include "config/Plugins.h"
#include "daemon/Daemon.h"
#include "manifest/Manifest.h"
#include "util/Log.h"

namespace podwarden::cli {

namespace {

const char kUsage[] =
    "usage: podwarden <command> [arguments]\n"
    "\n"
    "Runs Kubernetes static pods (the kubelet's staticPodPath / manifest URL) through plugins.\n"
    "\n"
    "commands:\n"
    "  run [flags]                  run the static pods of the configured sources until SIGTERM/SIGINT\n"
    "  validate [--hostname-override NAME] FILE|DIR...\n"
    "                               check manifests as the daemon would, with file:line:column for each "
    "problem\n"
    "  plugins [--plugin-dir DIR]... [--config FILE]\n"
    "                               list the plugins on the search path and what they offer\n"
    "  version                      print the podwarden and plugin ABI versions\n"
    "\n"
    "Each command takes --help.\n";

const char kRunUsage[] =
    "usage: podwarden run [flags]\n"
    "\n"
    "Loads the config (--config FILE: a PodwardenConfig or a kubelet KubeletConfiguration), loads the "
    "plugins it\n"
    "names and runs the static pods of its sources until SIGTERM or SIGINT. Stopping podwarden leaves the "
    "pods\n"
    "running; the next start adopts them.\n"
    "\n"
    "flags:\n";

const char kValidateUsage[] =
    "usage: podwarden validate [--hostname-override NAME] FILE|DIR...\n"
    "\n"
    "Parses and validates static pod manifests exactly as the daemon's file source would: a DIR is read "
    "like\n"
    "the kubelet's staticPodPath (its files, not recursive, names starting with '.' skipped). Every problem "
    "is\n"
    "printed on stderr as FILE:LINE:COLUMN: FIELD: MESSAGE, followed by a summary. Two files of one DIR "
    "that\n"
    "define the same pod are an error (the kubelet would silently run only one); among files named one by "
    "one\n"
    "they are a warning.\n"
    "\n"
    "  --hostname-override NAME   node name for the pod name suffix and UID (default: the host name)\n"
    "\n"
    "Exit status: 0 when every manifest is valid, 1 otherwise, 2 on bad usage.\n";

const char kPluginsUsage[] =
    "usage: podwarden plugins [--plugin-dir DIR]... [--config FILE]\n"
    "\n"
    "Loads every *.so on the plugin search path (--plugin-dir directories first, then the config file's\n"
    "pluginDirs, then $PODWARDEN_PLUGIN_PATH and the built-in directories) and prints what each offers, or "
    "why\n"
    "it was refused.\n";

const char kVersionUsage[] =
    "usage: podwarden version\n\nPrints the podwarden version and the plugin ABI version.\n";

bool isHelp(const std::string& arg) {
  return arg == "--help" || arg == "-h";
}

bool wantsHelp(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), isHelp);
}

// ---- run --------------------------------------------------------------------------------------------

LogLevel logLevelOf(const std::string& name) {
  if (name == "error") return LogLevel::kError;
  if (name == "warning") return LogLevel::kWarning;
  if (name == "debug") return LogLevel::kDebug;
  return LogLevel::kInfo;
}

int runCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (wantsHelp(args)) {
    out << kRunUsage << config::flagsHelp();
    return 0;
  }
  config::Config cfg;
  try {
    cfg = config::load(args);
  } catch (const config::ConfigError& e) {
    err << "podwarden run: " << e.what() << "\n";
    return 2;
  }
  Log::setLevel(logLevelOf(cfg.logLevel));
  // runDaemon logs cfg.warnings itself, first thing.
  return runDaemon(cfg);
}

// ---- validate ---------------------------------------------------------------------------------------

struct ManifestFile {
  std::string display;  // as the user named it (errors point there)
  std::string origin;   // absolute path: the daemon's config.source origin, part of the UID
  bool fromDirectory = false;
  size_t argument = 0;  // index of the command-line path it came from
};

std::string absolutePath(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX] = {};
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  std::string base = cwd;
  std::string rel = path;
  while (rel.compare(0, 2, "./") == 0) rel.erase(0, 2);
  return base == "/" ? "/" + rel : base + "/" + rel;
}

std::string joinPath(const std::string& dir, const std::string& name) {
  return !dir.empty() && dir.back() == '/' ? dir + name : dir + "/" + name;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Names editors and package managers leave behind; the kubelet reads them like any other manifest.
bool looksLikeBackup(const std::string& name) {
  for (const char* suffix : {"~", ".bak", ".swp", ".swo", ".orig", ".rej", ".dpkg-old", ".dpkg-dist"}) {
    if (endsWith(name, suffix)) return true;
  }
  return false;
}

// Expands the command-line paths into files the way the source-dir plugin lists a directory. Returns
// false (after printing why) if some path cannot be read at all.
bool collectFiles(const std::vector<std::string>& paths, std::vector<ManifestFile>& files,
                  std::ostream& err) {
  bool ok = true;
  for (size_t arg = 0; arg < paths.size(); ++arg) {
    const std::string& path = paths[arg];
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      err << path << ": " << std::strerror(errno) << "\n";
      ok = false;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      files.push_back({path, absolutePath(path), false, arg});
      continue;
    }
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) {
      err << path << ": cannot list: " << std::strerror(errno) << "\n";
      ok = false;
      continue;
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') names.push_back(entry->d_name);  // kubelet: dotfiles are ignored
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string file = joinPath(path, name);
      struct stat fst {};
      // stat follows symlinks, as the kubelet's listing does; subdirectories are not entered.
      if (::stat(file.c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;
      files.push_back({file, absolutePath(file), true, arg});
    }
  }
  return ok;
}

// Reads at most `limit` + 1 bytes, so that the parser can tell an oversized file from a full one.
bool readBounded(const std::string& path, size_t limit, std::string& data, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return false;
  }
  data.resize(limit + 1);
  in.read(&data[0], static_cast<std::streamsize>(data.size()));
  if (in.bad()) {
    why = std::strerror(errno);
    return false;
  }
  data.resize(static_cast<size_t>(in.gcount()));
  return true;
}

std::string withDisplayOrigin(manifest::Problem problem, const ManifestFile& file) {
  if (problem.origin.empty() || problem.origin == file.origin) problem.origin = file.display;
  return problem.toString();
}

struct ValidateArgs {
  std::string nodeName = config::defaults().nodeName;
  std::vector<std::string> paths;
};

// The flags and paths of `podwarden validate`; an exit code (after printing why) when they are not usable.
std::optional<int> parseValidateArgs(const std::vector<std::string>& args, ValidateArgs& v,
                                     std::ostream& err) {
  bool flagsDone = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flagsDone || arg.empty() || arg[0] != '-' || arg == "-") {
      v.paths.push_back(arg);
    } else if (arg == "--") {
      flagsDone = true;
    } else if (arg == "--hostname-override" || arg.compare(0, 20, "--hostname-override=") == 0) {
      std::string value;
      if (arg.size() > 19) {
        value = arg.substr(20);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        err << "podwarden validate: flag --hostname-override needs a value (NAME)\n";
        return 2;
      }
      std::transform(value.begin(), value.end(), value.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!value.empty()) v.nodeName = value;
    } else {
      err << "podwarden validate: unknown flag " << arg << "; see podwarden validate --help\n";
      return 2;
    }
  }
  if (v.paths.empty()) {
    err << "podwarden validate: no FILE or DIR given\n\n" << kValidateUsage;
    return 2;
  }
  return std::nullopt;
}

using FirstFiles = std::map<std::string, const ManifestFile*>;  // pod full name -> first file defining it

// Checks one file and prints its verdict; false when it has errors.
bool validateFile(const ManifestFile& file, const manifest::ParseOptions& opts, FirstFiles& firstFileOfPod,
                  std::ostream& out, std::ostream& err) {
  std::string data, why;
  if (!readBounded(file.display, opts.maxBytes, data, why)) {
    err << file.display << ": cannot read: " << why << "\n";
    return false;
  }
  if (file.fromDirectory && looksLikeBackup(file.display)) {
    err << "warning: " << file.display
        << ": looks like an editor or backup copy; the kubelet and podwarden read it like any other "
           "manifest\n";
  }
  manifest::ParseResult result =
      manifest::parseManifest(data, manifest::SourceRef{"file", file.origin}, opts);
  for (const auto& w : result.warnings) err << "warning: " << withDisplayOrigin(w, file) << "\n";
  for (const auto& e : result.errors) err << withDisplayOrigin(e, file) << "\n";
  if (!result.errors.empty() || !result.pod) return false;
  const manifest::StaticPod& pod = *result.pod;
  auto [it, fresh] = firstFileOfPod.emplace(pod.fullName(), &file);
  if (!fresh && it->second->fromDirectory && it->second->argument == file.argument) {
    // One directory = one staticPodPath. The kubelet keys its file store by namespace/name, so one file
    // silently replaces the other (on a full listing the last name in order wins).
    err << file.display << ": duplicate pod " << pod.ns << "/" << pod.name << ": also defined by "
        << it->second->display
        << "; the kubelet would silently run only one of them (after a full listing: " << file.display
        << ")\n";
    return false;
  }
  if (!fresh) {
    // Files named one by one are often alternatives being compared; only a note.
    err << "warning: " << file.display << ": pod " << pod.ns << "/" << pod.name << " is also defined by "
        << it->second->display << "; in one manifest directory only one of them would run\n";
  }
  out << file.display << ": ok: pod " << pod.ns << "/" << pod.name << " uid " << pod.uid << "\n";
  return true;
}

int validateCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (wantsHelp(args)) {
    out << kValidateUsage;
    return 0;
  }
  ValidateArgs v;
  if (std::optional<int> code = parseValidateArgs(args, v, err)) return *code;
  std::vector<ManifestFile> files;
  const bool ok = collectFiles(v.paths, files, err);
  manifest::ParseOptions opts;
  opts.nodeName = v.nodeName;
  opts.seenUnixNs = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  size_t withErrors = 0;
  FirstFiles firstFileOfPod;
  for (const auto& file : files) {
    if (!validateFile(file, opts, firstFileOfPod, out, err)) ++withErrors;
  }
  err << files.size() << " manifest" << (files.size() == 1 ? "" : "s") << " checked, " << withErrors
      << " with errors\n";
  return ok && withErrors == 0 ? 0 : 1;
}

// ---- plugins ----------------------------------------------------------------------------------------

std::string capabilityNames(uint64_t caps) {
  if (caps == 0) return "none";
  std::string names;
  if (caps & PW_CAP_CONCURRENT) names = "concurrent";
  uint64_t unknown = caps & ~static_cast<uint64_t>(PW_CAP_CONCURRENT);
  if (unknown != 0) {
    std::ostringstream hex;
    hex << "0x" << std::hex << unknown;
    names += (names.empty() ? "" : ", ") + hex.str();
  }
  return names;
}

int pluginsCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (wantsHelp(args)) {
    out << kPluginsUsage;
    return 0;
  }
  // Only the flags that shape the search path; config::load parses them (and reads the config file).
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    bool known = arg == "--plugin-dir" || arg == "--config";
    bool knownWithValue = arg.compare(0, 13, "--plugin-dir=") == 0 || arg.compare(0, 9, "--config=") == 0;
    if (known) {
      ++i;
    } else if (!knownWithValue) {
      err << "podwarden plugins: unexpected argument " << arg << "; see podwarden plugins --help\n";
      return 2;
    }
  }
  config::Config cfg;
  try {
    cfg = config::load(args);
  } catch (const config::ConfigError& e) {
    err << "podwarden plugins: " << e.what() << "\n";
    return 2;
  }
  out << "plugin search path:";
  for (const auto& dir : cfg.pluginDirs) out << " " << dir;
  out << "\n";
  std::vector<config::Discovered> found = config::discover(cfg.pluginDirs);
  if (found.empty()) {
    out << "no plugins found\n";
    return 0;
  }
  for (const auto& d : found) {
    out << "\n" << d.path << "\n";
    if (!d.library) {
      out << "  refused: " << d.error << "\n";
      continue;
    }
    const plugin::PluginInfo& info = d.library->info();
    out << "  name: " << info.name << "\n";
    out << "  version: " << info.version << "\n";
    if (!info.description.empty()) out << "  description: " << info.description << "\n";
    out << "  abi: " << info.abiMajor << "." << info.abiMinor << " (needs host minor >= " << info.minHostMinor
        << ")\n";
    out << "  config schema: " << (info.configSchemaJson.empty() ? "none" : "yes") << "\n";
    for (const auto& f : info.factories) {
      out << "  factory: " << plugin::kindName(f.kind) << "/" << f.type
          << " (capabilities: " << capabilityNames(f.capabilities) << ")\n";
    }
  }
  return 0;
}

// ---- version ----------------------------------------------------------------------------------------

int versionCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (wantsHelp(args)) {
    out << kVersionUsage;
    return 0;
  }
  if (!args.empty()) {
    err << "podwarden version: unexpected argument " << args.front() << "\n";
    return 2;
  }
  out << "podwarden " << PODWARDEN_VERSION << "\n";
  out << "plugin ABI " << PW_ABI_MAJOR << "." << PW_ABI_MINOR << "\n";
  return 0;
}

}  // namespace

int dispatch(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << kUsage;
    return 2;
  }
  const std::string& command = args.front();
  std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (isHelp(command) || command == "help") {
      out << kUsage;
      return 0;
    }
    if (command == "run") return runCommand(rest, out, err);
    if (command == "validate") return validateCommand(rest, out, err);
    if (command == "plugins") return pluginsCommand(rest, out, err);
    if (command == "version" || command == "--version") return versionCommand(rest, out, err);
  } catch (const std::exception& e) {
    err << "podwarden " << command << ": " << e.what() << "\n";
    return 1;
  }
  err << "podwarden: unknown command " << command << "\n\n" << kUsage;
  return 2;
}

int main(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  int code = dispatch(args, std::cout, std::cerr);
  std::cout.flush();
  return code;
}

}  // namespace podwarden::cli
