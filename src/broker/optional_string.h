// OptionalString: an optional std::string that costs one pointer when absent, where
// std::optional<std::string> costs 40 bytes. For per-client fields most clients leave out
// (the user name of an idle connection and of its session).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mq::broker {

class OptionalString {
 public:
  OptionalString() = default;
  OptionalString(const OptionalString& o) { *this = o; }
  OptionalString& operator=(const OptionalString& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<std::string>(*o.p_) : nullptr;
    return *this;
  }
  OptionalString(OptionalString&&) noexcept = default;
  OptionalString& operator=(OptionalString&&) noexcept = default;

  explicit operator bool() const { return p_ != nullptr; }
  const std::string& operator*() const { return *p_; }
  const std::string* operator->() const { return p_.get(); }

  void emplace(std::string_view v) { p_ = std::make_unique<std::string>(v); }
  void reset() { p_.reset(); }
  std::optional<std::string_view> view() const {
    return p_ ? std::optional<std::string_view>(*p_) : std::nullopt;
  }
  const std::string& value_or_empty() const {
    static const std::string empty;
    return p_ ? *p_ : empty;
  }

 private:
  std::unique_ptr<std::string> p_;
};

}  // namespace mq::broker
