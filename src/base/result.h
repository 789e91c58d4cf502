// Result<T>: a value or an Error, shaped like std::expected (which g++ 12 lacks).
// Errors are values: the codec, the event loop and the config parser return them instead of
// throwing. An Error carries a kind, an optional MQTT reason code to put on the wire, and a
// short human-readable context. Cheap to move; not thread-safe beyond ordinary value semantics.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace mq {

enum class ErrorKind : uint8_t {
  kMalformed,      // bytes that do not parse (MQTT "Malformed Packet")
  kProtocol,       // parses, but breaks a protocol rule (MQTT "Protocol Error")
  kTooLarge,       // over a configured or protocol limit
  kUnsupported,    // valid, but not something we implement or allow
  kNotFound,
  kIo,             // operating-system call failed; context says which
  kConfig,         // bad configuration or command-line input
  kAuth,           // authentication or authorisation refused
  kInternal,
};

const char* error_kind_name(ErrorKind k);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  uint8_t reason = 0;  // MQTT 5 reason code to send, 0 when there is none to send
  std::string context;

  Error() = default;
  Error(ErrorKind k, std::string ctx, uint8_t rc = 0) : kind(k), reason(rc), context(std::move(ctx)) {}

  // "malformed: remaining length exceeds 4 bytes"
  std::string to_string() const { return std::string(error_kind_name(kind)) + ": " + context; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok()
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }
  Error& error() { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Error make_error(ErrorKind k, std::string ctx, uint8_t reason = 0) {
  return Error(k, std::move(ctx), reason);
}

}  // namespace mq
