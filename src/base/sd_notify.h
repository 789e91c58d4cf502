// The systemd readiness protocol (sd_notify(3)) without libsystemd: datagrams such as "READY=1"
// sent to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract
// namespace). Without that variable every call does nothing, so the broker calls it
// unconditionally. $WATCHDOG_USEC (when $WATCHDOG_PID is unset or ours) asks for "WATCHDOG=1"
// at least that often.
// Owned by the broker's start-up code; single-threaded use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mq {

class SdNotifier {
 public:
  // Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID.
  static SdNotifier from_environment();

  bool enabled() const { return !socket_path_.empty(); }
  // Sends `state` ("READY=1", "STOPPING=1", ...). Returns whether it was sent (false when
  // disabled or the socket refused it; the broker goes on either way).
  bool notify(std::string_view state) const;
  // "RELOADING=1" with the MONOTONIC_USEC field systemd wants with it.
  bool notify_reloading() const;
  // Microseconds between the watchdog pings systemd expects; 0 when it expects none.
  uint64_t watchdog_usec() const { return watchdog_usec_; }

 private:
  std::string socket_path_;  // '@' first for the abstract namespace
  uint64_t watchdog_usec_ = 0;
};

}  // namespace mq
