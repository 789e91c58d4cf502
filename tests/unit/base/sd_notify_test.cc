// SdNotifier sends to a real AF_UNIX datagram socket of the test's own (path and abstract).
#include "base/sd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace mq {
namespace {

// A bound datagram socket; `name` is a path, or "@..." for the abstract namespace.
int bind_dgram(const std::string& name) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path, name.data(), name.size());
  socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + name.size());
  if (name[0] == '@') a.sun_path[0] = '\0';
  else len += 1;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0) << strerror(errno);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string recv_all(int fd) {
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

TEST(SdNotify, DisabledWithoutNotifySocket) {
  unsetenv("NOTIFY_SOCKET");
  SdNotifier n = SdNotifier::from_environment();
  EXPECT_FALSE(n.enabled());
  EXPECT_FALSE(n.notify("READY=1"));
}

TEST(SdNotify, SendsToAPathSocket) {
  std::string path = "/tmp/mq-sd-notify-test-" + std::to_string(getpid());
  unlink(path.c_str());
  int fd = bind_dgram(path);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  SdNotifier n = SdNotifier::from_environment();
  ASSERT_TRUE(n.enabled());
  EXPECT_TRUE(n.notify("READY=1"));
  EXPECT_EQ(recv_all(fd), "READY=1");
  EXPECT_TRUE(n.notify_reloading());
  std::string r = recv_all(fd);
  EXPECT_EQ(r.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << r;
  close(fd);
  unlink(path.c_str());
  unsetenv("NOTIFY_SOCKET");
}

TEST(SdNotify, SendsToAnAbstractSocket) {
  std::string name = "@mq-sd-notify-test-" + std::to_string(getpid());
  int fd = bind_dgram(name);
  setenv("NOTIFY_SOCKET", name.c_str(), 1);
  SdNotifier n = SdNotifier::from_environment();
  EXPECT_TRUE(n.notify("STOPPING=1"));
  EXPECT_EQ(recv_all(fd), "STOPPING=1");
  close(fd);
  unsetenv("NOTIFY_SOCKET");
}

TEST(SdNotify, WatchdogOnlyForThisProcess) {
  setenv("WATCHDOG_USEC", "3000000", 1);
  unsetenv("WATCHDOG_PID");
  EXPECT_EQ(SdNotifier::from_environment().watchdog_usec(), 3000000u);
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_EQ(SdNotifier::from_environment().watchdog_usec(), 0u);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(SdNotifier::from_environment().watchdog_usec(), 3000000u);
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
}

}  // namespace
}  // namespace mq
