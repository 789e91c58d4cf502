// How mosquitto_sub / mosquitto_rr print a received message: the default (payload), -v
// (topic payload), -F with every specifier, flag, width, precision, @ time code and escape, %j/%J
// JSON (cJSON layout, --pretty), byte for byte as Mosquitto 2.0.11 prints them; and mq's JSON
// Lines (--json). The time is passed in, so output is testable. Pure; safe on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mq::client {

// A received PUBLISH as the formatter sees it. Views: valid for the call only.
struct ReceivedMessage {
  std::string_view topic;
  std::string_view payload;
  uint8_t qos = 0;
  bool retain = false;
  uint16_t mid = 0;
  // The MQTT 5 property block as received (codec::Properties::raw), in wire order; empty for
  // MQTT 3.x or when the message had none.
  std::string_view properties;
};

struct WallTime {
  int64_t sec = 0;  // Unix seconds
  long nsec = 0;
};

WallTime wall_time_now();

// One property of a received MQTT 5 property block, in wire order. Views into the block.
struct PropertyItem {
  uint8_t id = 0;
  uint32_t number = 0;    // byte, two-byte, four-byte and varint values
  std::string_view text;  // string / binary value, user-property value
  std::string_view key;   // user-property name
};

// Walks a property block (without its length); stops at the first malformed entry.
std::vector<PropertyItem> read_property_items(std::string_view raw);

struct OutputOptions {
  std::optional<std::string> format;  // -F
  bool verbose = false;               // -v
  bool eol = true;                    // !-N
  bool pretty = false;                // --pretty
  bool json_lines = false;            // mq --json
};

// Validates a -F format as Mosquitto does when parsing options: "" when fine, else the
// error text ("Error: Invalid format specifier 'z'.\n").
std::string check_format_text(std::string_view format);

// Appends what Mosquitto would write to stdout for this message. A %J payload that is not JSON
// sets *error to Mosquitto's stderr line (and prints nothing for that specifier).
// Local time (TZ) is used for %I, %j, @ codes, as Mosquitto does.
void format_message(std::string& out, const OutputOptions& opts, const ReceivedMessage& m,
                    WallTime now, std::string* error);

}  // namespace mq::client
