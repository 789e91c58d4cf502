// The static mq's terminate handler (src/cli/terminate_handler.cc) names what was thrown in one
// line and aborts.
#include <gtest/gtest.h>

#include <csignal>
#include <stdexcept>

namespace {

[[noreturn]] void throw_uncaught(const char* what) noexcept(false) {
  throw std::runtime_error(what);
}

void call_noexcept(const char* what) noexcept { throw_uncaught(what); }

TEST(TerminateHandler, NamesTheExceptionAndAborts) {
  EXPECT_EXIT(call_noexcept("boom 42"), testing::KilledBySignal(SIGABRT),
              "^mq: fatal: uncaught exception: boom 42\n");
}

TEST(TerminateHandler, TerminateWithoutExceptionSaysSo) {
  EXPECT_EXIT(std::terminate(), testing::KilledBySignal(SIGABRT),
              "^mq: fatal: terminate called without an active exception\n");
}

}  // namespace
