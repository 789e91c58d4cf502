// A small JSON value, parser and printer that reproduce what cJSON (as linked into Mosquitto 2.0's
// mosquitto_sub) prints: member order kept, duplicate keys kept, numbers printed as cJSON does,
// strings escaped as cJSON does (controls, quote and backslash only; other bytes raw), and the
// tab-indented --pretty layout. Also strict RFC 8259 escaping for mq's own JSON Lines output.
// Value types and pure functions; safe on any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mq::client {

struct JsonValue {
  enum class Type : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  double number = 0;
  std::string string;
  // Array elements (keys empty) or object members, in order.
  std::vector<std::pair<std::string, JsonValue>> children;

  static JsonValue null() { return JsonValue{}; }
  static JsonValue num(double d) {
    JsonValue v;
    v.type = Type::kNumber;
    v.number = d;
    return v;
  }
  static JsonValue str(std::string_view s) {
    JsonValue v;
    v.type = Type::kString;
    v.string = std::string(s);
    return v;
  }
  static JsonValue object() {
    JsonValue v;
    v.type = Type::kObject;
    return v;
  }
  void add(std::string key, JsonValue v) { children.emplace_back(std::move(key), std::move(v)); }
};

// cJSON_Print (pretty) / cJSON_PrintUnformatted.
void json_print(std::string& out, const JsonValue& v, bool pretty);

// cJSON_ParseWithOpts(text, &end, require_null_terminated=true) over exactly `text`: false when
// it is not one JSON value (surrounding whitespace allowed) or contains a NUL.
bool json_parse(std::string_view text, JsonValue* out);

// `"..."` with RFC 8259 escaping; REQUIRES valid UTF-8 for a valid JSON result.
void json_quote_strict(std::string& out, std::string_view s);

std::string base64_encode(std::string_view bytes);

}  // namespace mq::client
