#include "DaemonProcess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace podwarden::e2e {

DaemonProcess::DaemonProcess(std::vector<std::string> argv, std::string logPath)
    : argv_(std::move(argv)), logPath_(std::move(logPath)) {}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) killHard();
}

void DaemonProcess::start() {
  if (pid_ > 0) throw std::runtime_error("daemon already started: " + commandLine());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, logPath_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // Nothing else of the test process: a test server's listening socket held open by the daemon would
  // keep accepting connections into a backlog nobody serves once the test stops that server.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + commandLine() + ": " + std::strerror(rc));
  }
  pid_ = pid;
  waitStatus_ = 0;
}

bool DaemonProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    waitStatus_ = status;
    pid_ = -1;
    return false;
  }
  return true;
}

bool DaemonProcess::waitExit(int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

bool DaemonProcess::terminate(int graceSeconds) {
  if (!running()) return true;
  ::kill(pid_, SIGTERM);
  if (waitExit(graceSeconds * 1000)) return true;
  killHard();
  return false;
}

void DaemonProcess::killHard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  waitStatus_ = status;
  pid_ = -1;
}

std::string DaemonProcess::log() const {
  std::ifstream in(logPath_, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string DaemonProcess::commandLine() const {
  std::string line;
  for (const auto& a : argv_) {
    if (!line.empty()) line += ' ';
    line += a;
  }
  return line;
}

}  // namespace podwarden::e2e
