// Mosquitto 2.0's usage texts for the three clients (what `mosquitto_pub --help` prints), with
// mq's version in the version line: the hand-formatted synopsis of each tool, then the option
// paragraphs from the option table in Mosquitto's order.
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "base/version.h"
#include "client/option_table.h"
#include "client/options.h"

namespace mq::client {

namespace {

// The order of Mosquitto's option paragraphs. It is the same in the three texts but for -d (pub
// prints it before -c) and --tls-use-os-certs (rr prints it before --tls-version). An option is
// printed for a tool when the entry names the tool and the table has a paragraph for it.
struct UsageEntry {
  std::string_view name;
  ToolSet tools = ToolSet::kAll;
};

constexpr UsageEntry kUsageOrder[] = {
    {"-A"}, {"-d", ToolSet::kPub}, {"-c"}, {"-C"}, {"-d", ToolSet::kSubRr}, {"-D"}, {"-e"}, {"-E"},
    {"-f"}, {"-F"}, {"-h"}, {"-i"}, {"-I"}, {"-k"}, {"-L"}, {"-l"}, {"-m"}, {"-M"}, {"-n"}, {"-N"},
    {"-p"}, {"-P"}, {"-q"}, {"-r"}, {"-R"}, {"-s"}, {"-t"}, {"-T"}, {"-u"}, {"-U"}, {"-v"}, {"-V"},
    {"-W"}, {"-x"}, {"--help"}, {"--nodelay"}, {"--pretty"}, {"--quiet"}, {"--random-filter"},
    {"--repeat"}, {"--repeat-delay"}, {"--retained-only"}, {"--remove-retained"}, {"--unix"},
    {"--will-payload"}, {"--will-qos"}, {"--will-retain"}, {"--will-topic"}, {"--cafile"},
    {"--capath"}, {"--cert"}, {"--key"}, {"--keyform"}, {"--ciphers"},
    {"--tls-use-os-certs", ToolSet::kRr}, {"--tls-version"}, {"--insecure"}, {"--tls-engine"},
    {"--tls-engine-kpass-sha1"}, {"--tls-use-os-certs", ToolSet::kPub | ToolSet::kSub}, {"--psk"},
    {"--psk-identity"}, {"--proxy"},
};

// The will and TLS part of the synopsis (pub and sub; rr's is indented one less).
constexpr const char kSynopsisWillTls[] =
    "                     [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]\n"
    "                     [{--cafile file | --capath dir} [--cert file] [--key file]\n"
    "                       [--ciphers ciphers] [--insecure]\n"
    "                       [--tls-alpn protocol]\n"
    "                       [--tls-engine engine] [--keyform keyform] [--tls-engine-kpass-sha1]]\n"
    "                       [--tls-use-os-certs]\n"
    "                     [--psk hex-key --psk-identity identity [--ciphers ciphers]]\n"
    "                     [--proxy socks-url]\n";

constexpr const char kSynopsisPub[] =
    "mosquitto_pub is a simple mqtt client that will publish a message on a single topic and exit.\n"
    "@VERSION@\n"
    "\n"
    "Usage: mosquitto_pub {[-h host] [--unix path] [-p port] [-u username] [-P password] -t topic | -L URL}\n"
    "                     {-f file | -l | -n | -m message}\n"
    "                     [-c] [-k keepalive] [-q qos] [-r] [--repeat N] [--repeat-delay time] [-x session-expiry]\n"
    "                     [-A bind_address] [--nodelay]\n"
    "                     [-i id] [-I id_prefix]\n"
    "                     [-d] [--quiet]\n"
    "                     [-M max_inflight]\n"
    "                     [-u username [-P password]]\n"
    "@SYNOPSIS_WILL_TLS@\n"
    "                     [--property command identifier value]\n"
    "                     [-D command identifier value]\n"
    "       mosquitto_pub --help\n"
    "\n";

constexpr const char kSynopsisSub[] =
    "mosquitto_sub is a simple mqtt client that will subscribe to a set of topics and print all messages it receives.\n"
    "@VERSION@\n"
    "\n"
    "Usage: mosquitto_sub {[-h host] [--unix path] [-p port] [-u username] [-P password] -t topic | -L URL [-t topic]}\n"
    "                     [-c] [-k keepalive] [-q qos] [-x session-expiry-interval]\n"
    "                     [-C msg_count] [-E] [-R] [--retained-only] [--remove-retained] [-T filter_out] [-U topic ...]\n"
    "                     [-F format]\n"
    "                     [-W timeout_secs]\n"
    "                     [-A bind_address] [--nodelay]\n"
    "                     [-i id] [-I id_prefix]\n"
    "                     [-d] [-N] [--quiet] [-v]\n"
    "@SYNOPSIS_WILL_TLS@\n"
    "                     [-D command identifier value]\n"
    "       mosquitto_sub --help\n"
    "\n";

constexpr const char kSynopsisRr[] =
    "mosquitto_rr is an mqtt client that can be used to publish a request message and wait for a response.\n"
    "             Defaults to MQTT v5, where the Request-Response feature will be used, but v3.1.1 can also be used\n"
    "             with v3.1.1 brokers.\n"
    "@VERSION@\n"
    "\n"
    "Usage: mosquitto_rr {[-h host] [--unix path] [-p port] [-u username] [-P password] -t topic | -L URL} -e response-topic\n"
    "                    [-c] [-k keepalive] [-q qos] [-R] [-x session-expiry-interval\n"
    "                    [-F format]\n"
    "                    [-W timeout_secs]\n"
    "                    [-A bind_address] [--nodelay]\n"
    "                    [-i id] [-I id_prefix]\n"
    "                    [-d] [-N] [--quiet] [-v]\n"
    "                    [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]\n"
    "                    [{--cafile file | --capath dir} [--cert file] [--key file]\n"
    "                      [--ciphers ciphers] [--insecure]\n"
    "                      [--tls-alpn protocol]\n"
    "                      [--tls-engine engine] [--keyform keyform] [--tls-engine-kpass-sha1]]\n"
    "                      [--tls-use-os-certs]\n"
    "                     [--psk hex-key --psk-identity identity [--ciphers ciphers]]\n"
    "                    [--proxy socks-url]\n"
    "                    [-D command identifier value]\n"
    "       mosquitto_rr --help\n"
    "\n";

constexpr const char kClosing[] = "\nSee https://mosquitto.org/ for more information.\n\n";

std::string version_line(Tool tool) {
  // Mosquitto's line names the libmosquitto it runs on; mq's clients run on no libmosquitto.
  return std::string(tool_name(tool)) + " version 2.0.11 (mq " + kVersion + ")\n";
}

// Replaces each `marker` line in `text` with `with`.
void replace_line(std::string& text, std::string_view marker, std::string_view with) {
  const std::string line = std::string(marker) + "\n";
  for (size_t at = text.find(line); at != std::string::npos; at = text.find(line, at + with.size()))
    text.replace(at, line.size(), with);
}

std::string paragraph(const OptionSpec& o, Tool tool) {
  std::string text = o.usage.for_tool(tool);
  const std::string_view marker = "{tool}";
  if (size_t at = text.find(marker); at != std::string::npos)
    text.replace(at, marker.size(), tool_name(tool));
  return text + "\n";
}

}  // namespace

std::string usage_text(Tool tool) {
  std::string text;
  switch (tool) {
    case Tool::kPub: text = kSynopsisPub; break;
    case Tool::kSub: text = kSynopsisSub; break;
    case Tool::kRr: text = kSynopsisRr; break;
  }
  replace_line(text, "@VERSION@", version_line(tool));
  replace_line(text, "@SYNOPSIS_WILL_TLS@", kSynopsisWillTls);
  for (const UsageEntry& e : kUsageOrder) {
    if (!has_tool(e.tools, tool)) continue;
    const OptionSpec* o = find_option(e.name, tool, false);
    if (o && o->usage.for_tool(tool)) text += paragraph(*o, tool);
  }
  return text + kClosing;
}

void print_usage(Tool tool) { fputs(usage_text(tool).c_str(), stdout); }

void print_version(Tool tool) { fputs(version_line(tool).c_str(), stdout); }

}  // namespace mq::client
