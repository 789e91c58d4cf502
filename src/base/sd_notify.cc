#include "base/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace mq {

SdNotifier SdNotifier::from_environment() {
  SdNotifier n;
  const char* path = getenv("NOTIFY_SOCKET");
  if (path && (path[0] == '/' || path[0] == '@') && strlen(path) < sizeof(sockaddr_un::sun_path))
    n.socket_path_ = path;
  const char* usec = getenv("WATCHDOG_USEC");
  const char* pid = getenv("WATCHDOG_PID");
  if (usec && (!pid || strtol(pid, nullptr, 10) == long(getpid())))
    n.watchdog_usec_ = strtoull(usec, nullptr, 10);
  return n;
}

bool SdNotifier::notify(std::string_view state) const {
  if (!enabled()) return false;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + socket_path_.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract: no terminating NUL counted
  else len += 1;
  ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                     reinterpret_cast<const sockaddr*>(&addr), len);
  close(fd);
  return n == ssize_t(state.size());
}

bool SdNotifier::notify_reloading() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec = uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
  return notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

}  // namespace mq
