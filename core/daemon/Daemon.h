// Daemon.h - `podwarden run`: load plugins, start sources, reconcile until SIGTERM/SIGINT.
#pragma once

#include "config/Config.h"

namespace podwarden {

// Runs the daemon with `config` until SIGTERM or SIGINT. Returns the process exit code: 0 after a clean
// stop, 1 when a required plugin could not be loaded or created (nothing was started then).
// Stopping podwarden leaves the pods running (like stopping the kubelet); a restart adopts them.
int runDaemon(const config::Config& config);

}  // namespace podwarden
