// What an uncaught exception prints, in the static mq binary. libstdc++'s default handler
// demangles the exception's type name, which links its whole C++ demangler (about 50 KB) into
// a binary that never shows a mangled name. mq's own layers are built without exceptions and
// the option parsers catch theirs, so this runs only on a bug or when memory runs out; it says
// what was thrown, in one line, and aborts as the default handler does.
//
// Installed by defining the handler variable that libstdc++ reads at std::terminate (its
// initial value otherwise comes from the library's own definition, which is then not linked).
// Linked into the static mq only (see the top-level meson.build).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>

namespace {

[[noreturn]] void report_and_abort() noexcept {
  const char* what = "unknown exception";
  if (std::exception_ptr current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::bad_alloc&) {
      what = "out of memory";
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    std::fprintf(stderr, "mq: fatal: uncaught exception: %s\n", what);
  } else {
    std::fputs("mq: fatal: terminate called without an active exception\n", stderr);
  }
  std::abort();
}

}  // namespace

namespace __cxxabiv1 {
std::terminate_handler __terminate_handler = report_and_abort;
}  // namespace __cxxabiv1
