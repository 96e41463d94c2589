// DaemonProcess.h - one `podwarden` process started by a test, its stdout and stderr appended to a log file.
//
// The destructor SIGKILLs a process that is still running, so a failing test never leaves a daemon behind.
// Not thread-safe; owned by the test thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace podwarden::e2e {

class DaemonProcess {
 public:
  // `argv[0]` is the program path. The log file is created if needed and appended to.
  DaemonProcess(std::vector<std::string> argv, std::string logPath);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Spawns the process; throws std::runtime_error when it cannot be spawned.
  void start();
  // true while the process has not exited (reaps it when it has).
  bool running();
  // Exit status as `waitpid` reported it (valid once running() is false).
  int waitStatus() const { return waitStatus_; }
  // SIGTERM, then waits up to `graceSeconds`; SIGKILL after that. Returns true when SIGTERM sufficed.
  bool terminate(int graceSeconds);
  // SIGKILL and reap: the way a crashed or OOM-killed daemon disappears.
  void killHard();
  pid_t pid() const { return pid_; }
  const std::string& logPath() const { return logPath_; }
  // Whole log so far.
  std::string log() const;
  // The command line, for failure messages.
  std::string commandLine() const;

 private:
  bool waitExit(int timeoutMs);

  std::vector<std::string> argv_;
  std::string logPath_;
  pid_t pid_ = -1;
  int waitStatus_ = 0;
};

}  // namespace podwarden::e2e
