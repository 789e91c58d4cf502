// cJSON-compatible printing and parsing (see json.h). Parsing follows cJSON's leniency where it
// shows in output: whitespace is any byte <= 32, numbers are whatever strtod reads from the
// run of number characters, \u escapes become UTF-8 (surrogate pairs joined).
#include "client/json.h"

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mq::client {

namespace {

void print_string(std::string& out, std::string_view s) {
  // cJSON works on C strings: the value ends at the first NUL.
  if (size_t nul = s.find('\0'); nul != std::string_view::npos) s = s.substr(0, nul);
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 32) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

void print_number(std::string& out, double d) {
  char buf[32];
  int as_int = d >= double(INT_MAX) ? INT_MAX : d <= double(INT_MIN) ? INT_MIN : int(d);
  if (std::isnan(d) || std::isinf(d)) {
    snprintf(buf, sizeof buf, "null");
  } else if (d == double(as_int)) {
    snprintf(buf, sizeof buf, "%d", as_int);
  } else {
    snprintf(buf, sizeof buf, "%1.15g", d);
    if (strtod(buf, nullptr) != d) snprintf(buf, sizeof buf, "%1.17g", d);
  }
  out += buf;
}

void print_value(std::string& out, const JsonValue& v, bool pretty, int depth) {
  switch (v.type) {
    case JsonValue::Type::kNull: out += "null"; return;
    case JsonValue::Type::kFalse: out += "false"; return;
    case JsonValue::Type::kTrue: out += "true"; return;
    case JsonValue::Type::kNumber: print_number(out, v.number); return;
    case JsonValue::Type::kString: print_string(out, v.string); return;
    case JsonValue::Type::kArray:
      out += '[';
      for (size_t i = 0; i < v.children.size(); i++) {
        if (i) out += pretty ? ", " : ",";
        print_value(out, v.children[i].second, pretty, depth + 1);
      }
      out += ']';
      return;
    case JsonValue::Type::kObject:
      out += '{';
      if (pretty) out += '\n';
      for (size_t i = 0; i < v.children.size(); i++) {
        if (pretty) out.append(size_t(depth + 1), '\t');
        print_string(out, v.children[i].first);
        out += ':';
        if (pretty) out += '\t';
        print_value(out, v.children[i].second, pretty, depth + 1);
        if (i + 1 < v.children.size()) out += ',';
        if (pretty) out += '\n';
      }
      if (pretty) out.append(size_t(depth), '\t');
      out += '}';
      return;
  }
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool parse_document(JsonValue* out) {
    skip();
    if (!value(out, 0)) return false;
    skip();
    return pos_ == s_.size();
  }

 private:
  void skip() {
    while (pos_ < s_.size() && static_cast<unsigned char>(s_[pos_]) <= 32 && s_[pos_] != '\0') pos_++;
  }
  bool literal(const char* word) {
    size_t n = strlen(word);
    if (s_.substr(pos_, n) != word) return false;
    pos_ += n;
    return true;
  }
  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return false;
    *v = 0;
    for (int i = 0; i < 4; i++) {
      char c = s_[pos_ + size_t(i)];
      *v <<= 4;
      if (c >= '0' && c <= '9') *v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') *v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') *v |= uint32_t(c - 'A' + 10);
      else return false;
    }
    pos_ += 4;
    return true;
  }
  bool string(std::string* out) {
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    pos_++;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c == '\0') return false;
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case 'b': *out += '\b'; break;
        case 'f': *out += '\f'; break;
        case 'n': *out += '\n'; break;
        case 'r': *out += '\r'; break;
        case 't': *out += '\t'; break;
        case '"': case '\\': case '/': *out += e; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') return false;
            pos_ += 2;
            if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + (((cp & 0x3FF) << 10) | (lo & 0x3FF));
          }
          append_utf8(*out, cp);
          break;
        }
        default: return false;
      }
    }
    if (pos_ >= s_.size()) return false;
    pos_++;
    return true;
  }
  bool number(JsonValue* out) {
    size_t start = pos_;
    while (pos_ < s_.size() && strchr("0123456789+-.eE", s_[pos_]) && s_[pos_] != '\0') pos_++;
    std::string text(s_.substr(start, pos_ - start));
    if (text.empty()) return false;
    char* end = nullptr;
    double d = strtod(text.c_str(), &end);
    if (end == text.c_str()) return false;
    pos_ = start + size_t(end - text.c_str());
    *out = JsonValue::num(d);
    return true;
  }
  bool value(JsonValue* out, int depth) {
    if (depth > 1000 || pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (literal("null")) { *out = JsonValue::null(); return true; }
    if (literal("false")) { out->type = JsonValue::Type::kFalse; return true; }
    if (literal("true")) { out->type = JsonValue::Type::kTrue; return true; }
    if (c == '"') {
      out->type = JsonValue::Type::kString;
      return string(&out->string);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number(out);
    if (c == '[' || c == '{') {
      bool obj = c == '{';
      out->type = obj ? JsonValue::Type::kObject : JsonValue::Type::kArray;
      pos_++;
      skip();
      char close = obj ? '}' : ']';
      if (pos_ < s_.size() && s_[pos_] == close) {
        pos_++;
        return true;
      }
      for (;;) {
        std::string key;
        if (obj) {
          skip();
          if (!string(&key)) return false;
          skip();
          if (pos_ >= s_.size() || s_[pos_] != ':') return false;
          pos_++;
        }
        skip();
        JsonValue child;
        if (!value(&child, depth + 1)) return false;
        out->children.emplace_back(std::move(key), std::move(child));
        skip();
        if (pos_ >= s_.size()) return false;
        if (s_[pos_] == ',') {
          pos_++;
          continue;
        }
        if (s_[pos_] != close) return false;
        pos_++;
        return true;
      }
    }
    return false;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

void json_print(std::string& out, const JsonValue& v, bool pretty) { print_value(out, v, pretty, 0); }

bool json_parse(std::string_view text, JsonValue* out) {
  if (text.find('\0') != std::string_view::npos) return false;
  return Parser(text).parse_document(out);
}

void json_quote_strict(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 32 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  out += '"';
}

std::string base64_encode(std::string_view in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | (rest == 2 ? uint32_t(uint8_t(in[i + 1])) << 8 : 0);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace mq::client
