// Small text helpers for the file formats mq reads (password and ACL files), with C's isspace
// set of blanks and no dependence on the locale. Pure; no allocation.
#pragma once

#include <string_view>

namespace mq {

inline bool is_c_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// `s` without leading and trailing is_c_space characters.
inline std::string_view trim_c_space(std::string_view s) {
  while (!s.empty() && is_c_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_c_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace mq
