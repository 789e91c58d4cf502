// How mosquitto_sub / mosquitto_rr print a received message: the default (payload), -v
// (topic payload), -F with every specifier, flag, width, precision, @ time code and escape, %j/%J
// JSON (cJSON layout, --pretty), byte for byte as Mosquitto 2.0.11 prints them, plus the 2.1
// additions (%f, %d, hex grouping %.Nx / %.N:x); mq's JSON Lines (--json); and the 2.1 sub
// screens: -w/--watch (one fixed line per topic) and --message-rate. The time is passed in, so
// output is testable. Pure; safe on any thread (a WatchScreen is one caller's).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // %x / %X with a field width and no grouping: true keeps Mosquitto 2.0's quirk (the width
  // truncates the payload to width/2 bytes; what Debian's 2.0.11 mosquitto_sub prints, so the
  // Mosquitto names keep it); false is 2.1's fix (the width is a minimum, nothing is cut).
  bool legacy_hex_width = true;
};

// Validates a -F format as Mosquitto does when parsing options: "" when fine, else the
// error text ("Error: Invalid format specifier 'z'.\n").
std::string check_format_text(std::string_view format);

// Appends what Mosquitto would write to stdout for this message. A %J payload that is not JSON,
// or a %f / %d payload that is not 4 / 8 bytes long, sets *error to the stderr line (and prints
// nothing for that specifier).
// Local time (TZ) is used for %I, %j, @ codes, as Mosquitto does.
void format_message(std::string& out, const OutputOptions& opts, const ReceivedMessage& m,
                    WallTime now, std::string* error);

// -w / --watch: one fixed screen line per topic, in order of first arrival. A new topic's line
// is appended below the others; a known topic's line is redrawn in place with relative cursor
// movement, and the cursor is always left at column 0 of the line below the last topic:
//   new topic:    <line> "\n"
//   row r of n:   ESC[<n-r>A  "\r"  ESC[2K  <line>  ESC[<n-r>B  "\r"
// Only these VT100/ANSI sequences are written, whether or not stdout is a terminal. `line` has
// no newline of its own: CR and LF in it become spaces, and with columns > 0 it is cut to that
// many characters (UTF-8 code points) so that it cannot wrap and break the layout.
class WatchScreen {
 public:
  explicit WatchScreen(int columns = 0) : columns_(columns) {}
  void render(std::string& out, std::string_view topic, std::string_view line);
  size_t rows() const { return rows_.size(); }

 private:
  int columns_;
  std::unordered_map<std::string, size_t> rows_;  // topic -> row, 0 at the top
};

// --message-rate: the line printed once a second, "<count> messages/s\n".
void format_rate_line(std::string& out, uint64_t count);

}  // namespace mq::client
