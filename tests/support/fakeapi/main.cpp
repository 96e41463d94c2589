// podwarden-fake-apiserver --pki DIR [--port N] [--kubeconfig-out PATH --user USER] [--write-kubeconfig USER=PATH]...
// Runs the fake Kubernetes API server (tests/support/fakeapi) until SIGINT or SIGTERM, for trying kubectl
// or a node agent by hand (scripts/run-sample.sh --with-apiserver uses it). USER: a certificate stem in DIR
// ("admin", "node-n1"); default admin. --write-kubeconfig may be repeated, one kubeconfig per user.
#include "FakeApiServer.h"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace {

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0
            << " --pki DIR [--port N] [--kubeconfig-out PATH [--user admin|node-NAME]] [--write-kubeconfig USER=PATH]...\n"
            << "  DIR holds ca.crt, server.crt/key, admin.crt/key, node-NAME.crt/key:"
            << " make it with tests/scripts/pki.sh DIR NAME...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  podwarden::fakeapi::FakeApiServer::Options options;
  std::string kubeconfig, user = "admin";
  std::vector<std::pair<std::string, std::string>> more;  // user, path
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << arg << " needs a value\n";
        std::exit(usage(argv[0]));
      }
      return argv[++i];
    };
    if (arg == "--pki") {
      options.pkiDir = value();
    } else if (arg == "--port") {
      options.port = static_cast<uint16_t>(std::stoi(value()));
    } else if (arg == "--kubeconfig-out") {
      kubeconfig = value();
    } else if (arg == "--user") {
      user = value();
    } else if (arg == "--write-kubeconfig") {
      std::string v = value();
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) return usage(argv[0]);
      more.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else {
      return usage(argv[0]);
    }
  }
  if (options.pkiDir.empty()) return usage(argv[0]);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // Blocked before any thread starts, so that only sigwait() below sees them.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    podwarden::fakeapi::FakeApiServer server(options);
    server.start();
    if (!kubeconfig.empty()) {
      server.writeKubeconfig(kubeconfig, user, podwarden::fakeapi::KubeconfigAuth::kClientCertFiles);
      std::cout << "kubeconfig: " << kubeconfig << " (user " << user << ")\n";
    }
    for (const auto& [u, path] : more) {
      server.writeKubeconfig(path, u, podwarden::fakeapi::KubeconfigAuth::kClientCertFiles);
      std::cout << "kubeconfig: " << path << " (user " << u << ")\n";
    }
    std::cout << server.url() << std::endl;
    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "stopping (signal " << sig << ")\n";
    server.stop();
  } catch (const std::exception& e) {
    std::cerr << "podwarden-fake-apiserver: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
