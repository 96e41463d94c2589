// SystemdNotify.h - the sd_notify protocol (READY=1, STOPPING=1, STATUS=...), for Type=notify units.
//
// A datagram to the unix socket named by $NOTIFY_SOCKET (a path, or an abstract name starting with '@').
// Implemented directly rather than through libsystemd, so every build supports it; without
// $NOTIFY_SOCKET (not started by systemd) it does nothing. Thread-safe.
#pragma once

#include <string>

namespace podwarden {

// Sends `state` (newline-separated assignments, e.g. "READY=1\nSTATUS=3 pods"). Returns false when
// $NOTIFY_SOCKET is unset or the datagram could not be sent.
bool systemdNotify(const std::string& state);

}  // namespace podwarden
