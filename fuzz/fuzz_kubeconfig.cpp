// fuzz_kubeconfig: a kubeconfig file (sink-apiserver's --kubeconfig) through loadKubeconfig, with the
// current context and with a named one. loadKubeconfig takes a path, so each input is written to one file
// in a private directory, which also holds the files a kubeconfig may name relative to itself.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "FuzzInput.h"
#include "Kubeconfig.h"

namespace sa = podwarden::sink_apiserver;

namespace {

std::string gPath;

void writeFile(const std::string& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    std::perror(path.c_str());
    std::abort();
  }
  ::close(fd);
}

// Kubeconfig.h: failures are std::runtime_error naming the file (and the field).
void load(const std::string& context) {
  try {
    sa::Credentials c = sa::loadKubeconfig(gPath, context);
    (void)c.describe();
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find(gPath) == std::string::npos) {
      std::fprintf(stderr, "kubeconfig error does not name the file: %s\n", e.what());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  std::string d = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/pw-fuzz-kubeconfig-XXXXXX";
  if (::mkdtemp(d.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  writeFile(d + "/ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  writeFile(d + "/client.crt", "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n");
  writeFile(d + "/client.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
  writeFile(d + "/token", "  fuzz-token\n");
  writeFile(d + "/empty", "");
  gPath = d + "/kubelet.conf";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  writeFile(gPath, podwarden::fuzz::bytes(data, size));
  load("");
  load("admin");
  return 0;
}
