// The -F formatter. Field widths and padding follow sub_client_output.c, including its quirks:
// a width truncates %p, and %x/%X take width/2 bytes at most (2.0; see legacy_hex_width).
//
// The 2.1 additions, as decided here where the reference is silent:
// - %f / %d read the payload as a 4-byte float / 8-byte double in host byte order (a memcpy of
//   the payload, as a C client does) and print it like printf's %f with the flags '-' and '0',
//   the width and the precision (default 6). A payload of any other length prints nothing for
//   that field (not even the width's padding) and reports one stderr line, the way %J treats a
//   payload that is not JSON: a format is applied to every message of every topic subscribed,
//   so one odd message must not stop the program, but it should not pass silently either.
// - %.Nx / %.NX split the hex digits into groups of N nibbles separated by a space, or by the
//   punctuation character written between the precision and the conversion (%.2:x -> 18:83).
//   A separator is recognised only before x / X; elsewhere the character stays what 2.0 makes
//   of it ("Invalid format specifier"). With a grouping the whole payload is printed and the
//   width is a minimum over the grouped text, as in 2.1.
#include "client/format.h"

#include <time.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

#include "client/json.h"
#include "codec/utf8.h"
#include "codec/wire.h"

namespace mq::client {

namespace {

const PropertyItem* find(const std::vector<PropertyItem>& props, uint8_t id) {
  for (const PropertyItem& p : props)
    if (p.id == id) return &p;
  return nullptr;
}

struct tm local_tm(WallTime t) {
  struct tm ti {};
  time_t s = time_t(t.sec);
  localtime_r(&s, &ti);
  return ti;
}

// One parsed %-specifier: %[-][0][width][.precision[separator]]conversion.
struct Spec {
  char conversion = 0;
  char align = 0;  // '-': left-align
  char pad = ' ';
  int width = 0;
  int precision = -1;  // -1: none given
  char separator = ' ';  // hex grouping (2.1)
};

// The characters Mosquitto 2.1 accepts as a hex group separator.
bool is_hex_separator(char c) {
  return c != 0 && std::strchr("!\"#$&'()*+,-./:;=?@[\\]^_`{|}~", c) != nullptr;
}

void append_printf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void append_printf(std::string& out, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (size_t(n) < sizeof buf) {
    out.append(buf, size_t(n));
    return;
  }
  std::string big(size_t(n) + 1, '\0');
  va_start(ap, fmt);
  vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  out.append(big.data(), size_t(n));
}

void write_payload(std::string& out, std::string_view payload, int hex, char align, char pad,
                   int width) {
  int len = int(payload.size());
  int padlen;
  if (width > 0) {
    if (len > width) len = width;
    if (hex > 0) {
      len /= 2;
      padlen = width - len * 2;
    } else {
      padlen = width - len;
    }
  } else {
    padlen = width - len;
  }
  if (align != '-')
    for (int i = 0; i < padlen; i++) out += pad;
  for (int i = 0; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(payload[size_t(i)]);
    if (hex == 0) out += char(c);
    else append_printf(out, hex == 1 ? "%02x" : "%02X", c);
  }
  if (align == '-' && padlen > 0) out.append(size_t(padlen), ' ');
}

// %x / %X with a grouping precision, or under 2.1's width rule: every byte printed, the width a
// minimum over the whole (grouped) text.
void write_hex_grouped(std::string& out, std::string_view payload, bool upper, const Spec& s) {
  static const char kLower[] = "0123456789abcdef", kUpper[] = "0123456789ABCDEF";
  const char* digits = upper ? kUpper : kLower;
  const size_t group = s.precision > 0 ? size_t(s.precision) : 0;
  std::string hex;
  hex.reserve(payload.size() * 3);
  size_t nibbles = 0;
  for (unsigned char c : payload) {
    for (int shift : {4, 0}) {
      if (group && nibbles && nibbles % group == 0) hex += s.separator;
      hex += digits[(c >> shift) & 0xF];
      nibbles++;
    }
  }
  size_t padlen = size_t(s.width) > hex.size() ? size_t(s.width) - hex.size() : 0;
  if (s.align != '-') out.append(padlen, s.pad);
  out += hex;
  if (s.align == '-') out.append(padlen, ' ');
}

// %f (4-byte float) / %d (8-byte double). Returns false when the payload length is wrong.
bool print_floating(std::string& out, std::string_view payload, const Spec& s) {
  double value = 0;
  if (s.conversion == 'f') {
    float f;
    if (payload.size() != sizeof f) return false;
    std::memcpy(&f, payload.data(), sizeof f);
    value = f;
  } else {
    if (payload.size() != sizeof value) return false;
    std::memcpy(&value, payload.data(), sizeof value);
  }
  const int precision = s.precision >= 0 ? s.precision : 6;  // printf's default
  const char* fmt = s.align == '-' ? "%-*.*f" : s.pad == '0' ? "%0*.*f" : "%*.*f";
  int n = snprintf(nullptr, 0, fmt, s.width, precision, value);
  if (n < 0) return true;
  std::string buf(size_t(n) + 1, '\0');
  snprintf(buf.data(), buf.size(), fmt, s.width, precision, value);
  out.append(buf.data(), size_t(n));
  return true;
}

void print_int(std::string& out, long value, char align, char pad, int width) {
  if (width == 0) append_printf(out, "%ld", value);
  else if (align == '-') append_printf(out, "%-*ld", width, value);
  else if (pad == '0') append_printf(out, "%0*ld", width, value);
  else append_printf(out, "%*ld", width, value);
}

void print_str(std::string& out, std::string_view v, char align, int width, int precision) {
  std::string s(v.substr(0, v.find('\0')));  // printf("%s") stops at a NUL
  if (width == 0 && precision == -1) out += s;
  else if (precision == -1) append_printf(out, align == '-' ? "%-*s" : "%*s", width, s.c_str());
  else append_printf(out, align == '-' ? "%-*.*s" : "%*.*s", width, precision, s.c_str());
}

void blank(std::string& out, char pad, int width) {
  if (width > 0) out.append(size_t(width), pad);
}

JsonValue json_message(const ReceivedMessage& m, const std::vector<PropertyItem>& props, WallTime now,
                       bool escaped, bool* bad_json) {
  struct tm ti = local_tm(now);
  char buf[100];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000000Z%z", &ti);
  char us[24];
  snprintf(us, sizeof us, "%06ld", now.nsec / 1000);
  std::string tst(buf);
  tst.replace(20, 6, std::string(us, 6));  // Mosquitto 2.0.11 keeps the stray 'Z' before %z
  JsonValue root = JsonValue::object();
  root.add("tst", JsonValue::str(tst));
  root.add("topic", JsonValue::str(m.topic));
  root.add("qos", JsonValue::num(m.qos));
  root.add("retain", JsonValue::num(m.retain ? 1 : 0));
  root.add("payloadlen", JsonValue::num(double(m.payload.size())));
  if (m.qos > 0) root.add("mid", JsonValue::num(m.mid));
  if (!props.empty()) {
    JsonValue pj = JsonValue::object();
    int user_index = -1;
    for (const PropertyItem& p : props) {
      switch (p.id) {
        case 0x01: pj.add("payload-format-indicator", JsonValue::num(p.number)); break;
        case 0x02: pj.add("message-expiry-interval", JsonValue::num(p.number)); break;
        case 0x03: pj.add("content-type", JsonValue::str(p.text)); break;
        case 0x08: pj.add("response-topic", JsonValue::str(p.text)); break;
        case 0x09: pj.add("correlation-data", JsonValue::str(p.text)); break;
        case 0x0B: pj.add("subscription-identifier", JsonValue::num(p.number)); break;
        case 0x23: pj.add("topic-alias", JsonValue::num(p.number)); break;
        case 0x26:
          if (user_index < 0) {
            user_index = int(pj.children.size());
            pj.add("user-properties", JsonValue::object());
          }
          pj.children[size_t(user_index)].second.add(std::string(p.key), JsonValue::str(p.text));
          break;
        default: break;
      }
    }
    root.add("properties", std::move(pj));
  }
  if (escaped) {
    root.add("payload", m.payload.empty() ? JsonValue::null() : JsonValue::str(m.payload));
  } else {
    JsonValue payload;
    if (!m.payload.empty() && !json_parse(m.payload, &payload)) *bad_json = true;
    root.add("payload", std::move(payload));
  }
  return root;
}

void json_lines(std::string& out, const ReceivedMessage& m, const std::vector<PropertyItem>& props) {
  auto text_or_b64 = [&out](const char* key, std::string_view v) {
    bool utf8 = codec::valid_utf8(v);
    out += '"';
    out += key;
    out += utf8 ? "\":" : "_base64\":";
    if (utf8) json_quote_strict(out, v);
    else json_quote_strict(out, base64_encode(v));
  };
  out += "{\"topic\":";
  json_quote_strict(out, m.topic);
  append_printf(out, ",\"qos\":%d,\"retain\":%s", m.qos, m.retain ? "true" : "false");
  if (!props.empty()) {
    out += ",\"properties\":{";
    bool first = true;
    bool users = false;
    for (const PropertyItem& p : props) {
      if (p.id == 0x26) {
        users = true;
        continue;
      }
      if (!first) out += ',';
      first = false;
      switch (p.id) {
        case 0x01: append_printf(out, "\"payload-format-indicator\":%u", p.number); break;
        case 0x02: append_printf(out, "\"message-expiry-interval\":%u", p.number); break;
        case 0x03: text_or_b64("content-type", p.text); break;
        case 0x08: text_or_b64("response-topic", p.text); break;
        case 0x09: text_or_b64("correlation-data", p.text); break;
        case 0x0B: append_printf(out, "\"subscription-identifier\":%u", p.number); break;
        case 0x23: append_printf(out, "\"topic-alias\":%u", p.number); break;
        default: append_printf(out, "\"property-%u\":%u", p.id, p.number); break;
      }
    }
    if (users) {
      if (!first) out += ',';
      out += "\"user-properties\":[";
      bool f = true;
      for (const PropertyItem& p : props) {
        if (p.id != 0x26) continue;
        if (!f) out += ',';
        f = false;
        out += '[';
        json_quote_strict(out, p.key);
        out += ',';
        json_quote_strict(out, p.text);
        out += ']';
      }
      out += ']';
    }
    out += '}';
  }
  out += ',';
  text_or_b64("payload", m.payload);
  out += "}\n";
}

void percent(std::string& out, const OutputOptions& opts, const ReceivedMessage& m,
             const std::vector<PropertyItem>& props, WallTime now, const Spec& s,
             std::string* error) {
  const PropertyItem* p = nullptr;
  const char align = s.align, pad = s.pad;
  const int width = s.width, precision = s.precision;
  switch (s.conversion) {
    case '%': out += '%'; break;
    case 'A':
      if ((p = find(props, 0x23))) print_int(out, p->number, align, pad, width);
      else blank(out, pad, width);
      break;
    case 'C':
      if ((p = find(props, 0x03))) print_str(out, p->text, align, width, precision);
      else blank(out, ' ', width);
      break;
    case 'D':
      if ((p = find(props, 0x09))) out.append(p->text);
      break;
    case 'E':
      if ((p = find(props, 0x02))) print_int(out, int(p->number), align, pad, width);
      else blank(out, pad, width);
      break;
    case 'F':
      if ((p = find(props, 0x01))) print_int(out, p->number, align, pad, width);
      else blank(out, pad, width);
      break;
    case 'I': {
      struct tm ti = local_tm(now);
      char buf[100];
      if (strftime(buf, sizeof buf, "%FT%T%z", &ti) != 0) print_str(out, buf, align, width, precision);
      else blank(out, ' ', width);
      break;
    }
    case 'j':
    case 'J': {
      bool bad = false;
      JsonValue v = json_message(m, props, now, s.conversion == 'j', &bad);
      if (bad) {
        if (error) *error = "Error: Message payload is not valid JSON on topic " + std::string(m.topic) + ".\n";
        break;
      }
      json_print(out, v, opts.pretty);
      break;
    }
    case 'l': print_int(out, long(m.payload.size()), align, pad, width); break;
    case 'm': print_int(out, m.mid, align, pad, width); break;
    case 'P': {
      bool first = true;
      for (const PropertyItem& q : props) {
        if (q.id != 0x26) continue;
        if (!first) out += ' ';
        first = false;
        out.append(q.key.substr(0, q.key.find('\0')));
        out += ':';
        out.append(q.text.substr(0, q.text.find('\0')));
      }
      break;
    }
    case 'p': write_payload(out, m.payload, 0, align, pad, width); break;
    case 'q': out += char('0' + m.qos); break;
    case 'R':
      if ((p = find(props, 0x08))) print_str(out, p->text, align, width, precision);
      break;
    case 'r': out += m.retain ? '1' : '0'; break;
    case 'S':
      if ((p = find(props, 0x0B))) print_int(out, long(int(p->number)), align, pad, width);
      else blank(out, pad, width);
      break;
    case 't': print_str(out, m.topic, align, width, precision); break;
    case 'U': append_printf(out, "%lld.%09ld", static_cast<long long>(now.sec), now.nsec); break;
    case 'd':
    case 'f':
      if (!print_floating(out, m.payload, s) && error)
        *error += std::string("Error: Message payload is not ") +
                 (s.conversion == 'f' ? "a 4 byte float" : "an 8 byte double") + " on topic " +
                 std::string(m.topic) + ".\n";
      break;
    case 'x':
    case 'X':
      if (precision > 0 || !opts.legacy_hex_width) write_hex_grouped(out, m.payload, s.conversion == 'X', s);
      else write_payload(out, m.payload, s.conversion == 'x' ? 1 : 2, align, pad, width);
      break;
    default: break;
  }
}

void formatted(std::string& out, const OutputOptions& opts, const ReceivedMessage& m,
               const std::vector<PropertyItem>& props, WallTime now, std::string* error) {
  const std::string& f = *opts.format;
  const size_t len = f.size();
  for (size_t i = 0; i < len; i++) {
    char c = f[i];
    if (c == '%') {
      Spec s;
      if (i < len - 1) {
        i++;
        if (f[i] == '-') {
          s.align = '-';
          if (i < len - 1) i++;
        }
        if (f[i] == '0') {
          s.pad = '0';
          if (i < len - 1) i++;
        }
        while (i < len - 1 && f[i] >= '0' && f[i] <= '9') s.width = s.width * 10 + (f[i++] - '0');
        if (f[i] == '.' && i < len - 1) {
          i++;
          s.precision = 0;
          while (i < len - 1 && f[i] >= '0' && f[i] <= '9') s.precision = s.precision * 10 + (f[i++] - '0');
          if (i < len - 1 && is_hex_separator(f[i]) && (f[i + 1] == 'x' || f[i + 1] == 'X'))
            s.separator = f[i++];
        }
        s.conversion = f[i];
        percent(out, opts, m, props, now, s, error);
      }
    } else if (c == '@') {
      if (i < len - 1) {
        i++;
        if (f[i] == '@') {
          out += '@';
        } else if (f[i] == 'N') {
          append_printf(out, "%09ld", now.nsec);
        } else {
          struct tm ti = local_tm(now);
          char strf[3] = {'%', f[i], 0};
          char buf[100];
          size_t n = strftime(buf, sizeof buf, strf, &ti);
          out.append(buf, n);
        }
      }
    } else if (c == '\\') {
      if (i < len - 1) {
        i++;
        switch (f[i]) {
          case '\\': out += '\\'; break;
          case '0': out += '\0'; break;
          case 'a': out += '\a'; break;
          case 'e': out += '\033'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'v': out += '\v'; break;
          default: break;
        }
      }
    } else {
      out += c;
    }
  }
  if (opts.eol) out += '\n';
}

}  // namespace

std::vector<PropertyItem> read_property_items(std::string_view raw) {
  std::vector<PropertyItem> out;
  codec::Reader r(raw);
  while (!r.at_end()) {
    uint8_t id;
    if (!r.u8(id)) break;
    PropertyItem p;
    p.id = id;
    bool ok = true;
    switch (id) {
      case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A: {
        uint8_t v;
        ok = r.u8(v);
        p.number = v;
        break;
      }
      case 0x13: case 0x21: case 0x22: case 0x23: {
        uint16_t v;
        ok = r.u16(v);
        p.number = v;
        break;
      }
      case 0x02: case 0x11: case 0x18: case 0x27: ok = r.u32(p.number); break;
      case 0x0B: ok = r.varint(p.number) == codec::VarintStatus::kOk; break;
      case 0x26: ok = r.binary(p.key) && r.binary(p.text); break;
      default: ok = r.binary(p.text); break;  // every other property is a string or binary
    }
    if (!ok) break;
    out.push_back(p);
  }
  return out;
}

WallTime wall_time_now() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return WallTime{int64_t(ts.tv_sec), ts.tv_nsec};
}

std::string check_format_text(std::string_view s) {
  const std::string incomplete = "Error: Incomplete format specifier.\n";
  const size_t len = s.size();
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '%') {
      if (i == len - 1) return incomplete;
      if (s[i + 1] == '0' || s[i + 1] == '-') {
        i++;
        if (i == len - 1) return incomplete;
      }
      while (s[i + 1] >= '0' && s[i + 1] <= '9') {
        i++;
        if (i == len - 1) return incomplete;
      }
      if (s[i + 1] == '.') {
        i++;
        if (i == len - 1) return incomplete;
        while (s[i + 1] >= '0' && s[i + 1] <= '9') {
          i++;
          if (i == len - 1) return incomplete;
        }
        // 2.1: a hex group separator, %.2:x
        if (is_hex_separator(s[i + 1]) && i + 2 < len && (s[i + 2] == 'x' || s[i + 2] == 'X')) i++;
      }
      static const std::string_view kKnown = "%ACDdEFfIlmPpqRSrtjJUxX";
      if (kKnown.find(s[i + 1]) == std::string_view::npos)
        return std::string("Error: Invalid format specifier '") + s[i + 1] + "'.\n";
      i++;
    } else if (s[i] == '@') {
      if (i == len - 1) return incomplete;
      i++;
    } else if (s[i] == '\\') {
      if (i == len - 1) return "Error: Incomplete escape specifier.\n";
      static const std::string_view kEscapes = "\\0aenrtv";
      if (kEscapes.find(s[i + 1]) == std::string_view::npos)
        return std::string("Error: Invalid escape specifier '") + s[i + 1] + "'.\n";
      i++;
    }
  }
  return "";
}

void format_message(std::string& out, const OutputOptions& opts, const ReceivedMessage& m,
                    WallTime now, std::string* error) {
  std::vector<PropertyItem> props = read_property_items(m.properties);
  if (opts.json_lines) {
    json_lines(out, m, props);
  } else if (opts.format) {
    formatted(out, opts, m, props, now, error);
  } else if (opts.verbose) {
    if (!m.payload.empty()) {
      out.append(m.topic.substr(0, m.topic.find('\0')));
      out += ' ';
      out.append(m.payload);
      if (opts.eol) out += '\n';
    } else if (opts.eol) {
      out.append(m.topic);
      out += " (null)\n";
    }
  } else if (!m.payload.empty()) {
    out.append(m.payload);
    if (opts.eol) out += '\n';
  }
}

void WatchScreen::render(std::string& out, std::string_view topic, std::string_view line) {
  std::string text;
  text.reserve(line.size());
  int shown = 0;
  for (char c : line) {
    bool continuation = (static_cast<unsigned char>(c) & 0xC0) == 0x80;
    if (!continuation) {
      if (columns_ > 0 && shown == columns_) break;
      shown++;
    }
    text += (c == '\n' || c == '\r') ? ' ' : c;
  }
  auto [it, added] = rows_.try_emplace(std::string(topic), rows_.size());
  if (added) {
    out += text;
    out += '\n';
    return;
  }
  const size_t up = rows_.size() - it->second;
  append_printf(out, "\033[%zuA\r\033[2K", up);
  out += text;
  append_printf(out, "\033[%zuB\r", up);
}

void format_rate_line(std::string& out, uint64_t count) {
  append_printf(out, "%llu messages/s\n", static_cast<unsigned long long>(count));
}

}  // namespace mq::client
