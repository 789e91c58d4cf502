#include "client/topic_check.h"

#include "codec/utf8.h"

namespace mq::client {

bool valid_utf8_arg(std::string_view s) { return s.size() <= 65535 && codec::valid_utf8(s); }

bool pub_topic_ok(std::string_view topic) {
  if (topic.size() > 65535) return false;
  return topic.find_first_of("+#") == std::string_view::npos;
}

bool sub_topic_ok(std::string_view filter) {
  if (filter.size() > 65535) return false;
  for (size_t i = 0; i < filter.size(); i++) {
    char c = filter[i];
    if (c != '+' && c != '#') continue;
    if (i > 0 && filter[i - 1] != '/') return false;
    if (c == '+' && i + 1 < filter.size() && filter[i + 1] != '/') return false;
    if (c == '#' && i + 1 != filter.size()) return false;
  }
  return true;
}

}  // namespace mq::client
