// The client option table. Rows are grouped and ordered as `mq help` lists them; the order of
// Mosquitto's usage paragraphs is usage.cc's. Usage texts are Mosquitto 2.0.11's, byte for byte
// (tests compare them with Debian's clients); options Mosquitto added in 2.1 and mq's own have
// no paragraph. Each line of a usage text is one source line, past the column limit where
// Mosquitto's is, so the text reads as it prints.
#include "client/option_table.h"

#include "client/option_handlers.h"

namespace mq::client {

namespace {

using A = ArgKind;
using C = ClientConfig;
using G = Group;
using T = ToolSet;
namespace h = handlers;

// Text two rows share (an option split into rows for `mq help`).
constexpr const char kPublishTopicHelp[] = "topic to publish to";

constexpr OptionSpec kOptions[] = {
    // connection
    {.short_name = 'h', .long_name = "host", .arg = A::kString, .metavar = "host",
     .help = "broker host (default localhost)",
     .usage = " -h : mqtt host to connect to. Defaults to localhost.",
     .missing = "host", .text = &C::host},
    {.short_name = 'p', .long_name = "port", .arg = A::kInt, .metavar = "port",
     .help = "broker port (default 1883)",
     .usage = " -p : network port to connect to. Defaults to 1883 for plain MQTT and 8883 for MQTT over TLS.",
     .missing = "port", .handler = h::port},
    {.long_name = "unix", .arg = A::kString, .metavar = "path",
     .help = "connect through this Unix socket",
     .usage = " --unix : connect to a broker through a unix domain socket instead of a TCP socket,\n"
              "          e.g. /tmp/mosquitto.sock",
     .missing = "socket path", .handler = h::unix_socket},
    {.short_name = 'A', .arg = A::kString, .metavar = "bind_address",
     .help = "bind the outgoing socket to this address",
     .usage = " -A : bind the outgoing socket to this host/ip address. Use to control which interface\n"
              "      the client communicates over.",
     .missing = "address", .text = &C::bind_address},
    {.short_name = 'L', .long_name = "url", .arg = A::kString, .metavar = "URL",
     .help = "mqtt://[user[:pass]@]host[:port]/topic",
     .usage = " -L : specify user, password, hostname, port and topic as a URL in the form:\n"
              "      mqtt(s)://[username[:password]@]host[:port]/topic",
     .missing = "URL", .handler = h::url},
    {.short_name = 'V', .long_name = "protocol-version", .arg = A::kString, .metavar = "version",
     .help = "mqttv5, mqttv311 or mqttv31",
     .usage = {{T::kPub | T::kSub,
                " -V : specify the version of the MQTT protocol to use when connecting.\n"
                "      Can be mqttv5, mqttv311 or mqttv31. Defaults to mqttv311."},
               {T::kRr,
                " -V : specify the version of the MQTT protocol to use when connecting.\n"
                "      Defaults to 5."}},
     .missing = "Error: --protocol-version argument given but no version specified.\n\n",
     .handler = h::protocol_version},
    {.short_name = 'i', .long_name = "id", .arg = A::kString, .metavar = "id",
     .help = "client id",
     .usage = " -i : id to use for this client. Defaults to {tool}_ appended with the process id.",
     .missing = "id", .before = h::id_not_prefix, .handler = h::id},
    {.short_name = 'I', .long_name = "id-prefix", .arg = A::kString, .metavar = "id_prefix",
     .help = "client id prefix (+ process id)",
     .usage = {{T::kPub | T::kSub,
                " -I : define the client id as id_prefix appended with the process id. Useful for when the\n"
                "      broker is using the clientid_prefixes option."}},
     .missing = "id prefix", .before = h::prefix_not_id, .handler = h::id_prefix},
    {.short_name = 'k', .long_name = "keepalive", .arg = A::kInt, .metavar = "keepalive",
     .help = "keep alive in seconds (default 60)",
     .usage = " -k : keep alive in seconds for this client. Defaults to 60.",
     .missing = "keepalive", .handler = h::keepalive},
    {.short_name = 'c', .long_name = "disable-clean-session", .help = "persistent session",
     .usage = " -c : disable clean session/enable persistent client mode\n"
              "      When this argument is used, the broker will be instructed not to clean existing sessions\n"
              "      for the same client id when the client connects, and sessions will never expire when the\n"
              "      client disconnects. MQTT v5 clients can change their session expiry interval with the -x\n"
              "      argument.",
     .flag = &C::clean_session, .flag_value = false},
    {.short_name = 'x', .arg = A::kString, .metavar = "session-expiry-interval",
     .help = "session expiry interval (implies MQTT 5)",
     .usage = " -x : Set the session-expiry-interval property on the CONNECT packet. Applies to MQTT v5\n"
              "      clients only. Set to 0-4294967294 to specify the session will expire in that many\n"
              "      seconds after the client disconnects, or use -1, 4294967295, or ∞ for a session\n"
              "      that does not expire. Defaults to -1 if -c is also given, or 0 if -c not given.",
     .missing = "session expiry interval", .handler = h::session_expiry},
    {.short_name = 'M', .arg = A::kInt, .metavar = "max_inflight",
     .help = "maximum QoS 1/2 messages in flight (default 20)",
     .usage = {{T::kPub, " -M : the maximum inflight messages for QoS 1/2.."}},
     .missing = "Error: -M argument given but max_inflight not specified.\n\n",
     .handler = h::max_inflight},
    {.long_name = "nodelay", .help = "disable Nagle's algorithm",
     .usage = " --nodelay : disable Nagle's algorithm, to reduce socket sending latency at the possible\n"
              "             expense of more packets being sent.",
     .flag = &C::nodelay},
    {.short_name = 'o', .arg = A::kString, .metavar = "file",  // 2.1; read by load_config
     .help = "read options from this file instead of the default one", .missing = "options file"},
    {.short_name = 'D', .long_name = "property", .arg = A::kProperty,
     .metavar = "command identifier value", .help = "MQTT 5 property: COMMAND NAME VALUE",
     .usage = " -D : Define MQTT v5 properties. See the documentation for more details."},
    {.short_name = 'd', .long_name = "debug", .help = "print packets sent and received",
     .usage = " -d : enable debug messages.", .flag = &C::debug},
    {.long_name = "quiet", .help = "print no error messages",
     .usage = " --quiet : don't print error messages.", .flag = &C::quiet},
    {.long_name = "proxy", .arg = A::kString, .metavar = "socks-url",
     .help = "socks5h://[user[:pass]@]host[:port]",
     .usage = " --proxy : SOCKS5 proxy URL of the form:\n"
              "           socks5h://[username[:password]@]hostname[:port]\n"
              "           Only \"none\" and \"username\" authentication is supported.",
     .missing = "proxy url", .handler = h::proxy},

    // auth
    {.short_name = 'u', .long_name = "username", .group = G::kAuth, .arg = A::kString,
     .metavar = "username", .help = "user name", .usage = " -u : provide a username",
     .missing = "username", .handler = h::username},
    {.short_name = 'P', .long_name = "pw", .group = G::kAuth, .arg = A::kString,
     .metavar = "password", .help = "password", .usage = " -P : provide a password",
     .missing = "password", .handler = h::password},
    {.long_name = "pw-env", .mq_only = true, .group = G::kAuth, .arg = A::kString,
     .metavar = "variable", .help = "take the password from this environment variable",
     .missing = "variable name", .text = &C::pw_env},
    {.long_name = "pw-file", .mq_only = true, .group = G::kAuth, .arg = A::kString,
     .metavar = "file", .help = "take the password from the first line of this file",
     .missing = "file", .text = &C::pw_file},

    // will
    {.long_name = "will-topic", .group = G::kWill, .arg = A::kString, .metavar = "topic",
     .help = "will topic",
     .usage = " --will-topic : the topic on which to publish the client Will.",
     .missing = "will topic", .handler = h::will_topic},
    {.long_name = "will-payload", .group = G::kWill, .arg = A::kString, .metavar = "payload",
     .help = "will payload",
     .usage = " --will-payload : payload for the client Will, which is sent by the broker in case of\n"
              "                  unexpected disconnection. If not given and will-topic is set, a zero\n"
              "                  length message will be sent.",
     .missing = "will payload", .handler = h::will_payload},
    {.long_name = "will-qos", .group = G::kWill, .arg = A::kInt, .metavar = "qos",
     .help = "will QoS", .usage = " --will-qos : QoS level for the client Will.",
     .missing = "will QoS", .handler = h::will_qos},
    {.long_name = "will-retain", .group = G::kWill, .help = "retained will",
     .usage = " --will-retain : if given, make the client Will retained.", .flag = &C::will_retain},

    // TLS
    {.long_name = "cafile", .group = G::kTls, .arg = A::kString, .metavar = "file",
     .help = "trust the CA certificates in this PEM file",
     .usage = {{T::kPub,
                " --cafile : path to a file containing trusted CA certificates to enable encrypted\n"
                "            communication."},
               {T::kSubRr,
                " --cafile : path to a file containing trusted CA certificates to enable encrypted\n"
                "            certificate based communication."}},
     .missing = "file", .text = &C::cafile},
    {.long_name = "capath", .group = G::kTls, .arg = A::kString, .metavar = "dir",
     .help = "trust the CA certificates in this directory",
     .usage = " --capath : path to a directory containing trusted CA certificates to enable encrypted\n"
              "            communication.",
     .missing = "directory", .text = &C::capath},
    {.long_name = "cert", .group = G::kTls, .arg = A::kString, .metavar = "file",
     .help = "client certificate (PEM)",
     .usage = " --cert : client certificate for authentication, if required by server.",
     .missing = "file", .text = &C::certfile},
    {.long_name = "key", .group = G::kTls, .arg = A::kString, .metavar = "file",
     .help = "client private key (PEM)",
     .usage = " --key : client private key for authentication, if required by server.",
     .missing = "file", .text = &C::keyfile},
    {.long_name = "keyform", .group = G::kTls, .arg = A::kString, .metavar = "keyform",
     .help = "pem (engine keys are not supported)",
     .usage = {{T::kPub | T::kSub, " --keyform : keyfile type, can be either \"pem\" or \"engine\"."}},
     .missing = "keyform", .text = &C::keyform},
    {.long_name = "ciphers", .group = G::kTls, .arg = A::kString, .metavar = "ciphers",
     .help = "OpenSSL-style cipher list (TLS 1.2 suites)",
     .usage = " --ciphers : openssl compatible list of TLS ciphers to support.",
     .missing = "ciphers", .text = &C::ciphers},
    {.long_name = "tls-version", .group = G::kTls, .arg = A::kString, .metavar = "version",
     .help = "lowest TLS version: tlsv1.3 or tlsv1.2 (default)",
     .usage = " --tls-version : TLS protocol version, can be one of tlsv1.3 tlsv1.2 or tlsv1.1.\n"
              "                 Defaults to tlsv1.2 if available.",
     .missing = "version", .text = &C::tls_version},
    {.long_name = "tls-alpn", .group = G::kTls, .arg = A::kString, .metavar = "protocol",
     .help = "ALPN protocol to offer", .missing = "protocol", .text = &C::tls_alpn},
    {.long_name = "tls-engine", .group = G::kTls, .arg = A::kString, .metavar = "engine",
     .help = "not supported",
     .usage = {{T::kPub, " --tls-engine : If set, enables the use of a TLS engine device."},
               {T::kSub, " --tls-engine : If set, enables the use of a SSL engine device."}},
     .missing = "engine_id", .text = &C::tls_engine},
    {.long_name = "tls-engine-kpass-sha1", .group = G::kTls, .arg = A::kString,
     .metavar = "sha1", .help = "not supported",
     .usage = {{T::kPub | T::kSub,
                " --tls-engine-kpass-sha1 : SHA1 of the key password to be used with the selected SSL engine."}},
     .missing = "kpass sha1", .text = &C::tls_engine_kpass_sha1},
    {.long_name = "tls-use-os-certs", .group = G::kTls, .help = "trust Debian's CA bundle",
     .usage = " --tls-use-os-certs : Load and trust OS provided CA certificates.",
     .flag = &C::tls_use_os_certs},
    {.long_name = "tls-keylog", .group = G::kTls, .arg = A::kString, .metavar = "file",
     .help = "not supported", .missing = "file", .text = &C::tls_keylog},
    {.long_name = "insecure", .group = G::kTls, .help = "do not check the server's host name",
     .usage = " --insecure : do not check that the server certificate hostname matches the remote\n"
              "              hostname. Using this option means that you cannot be sure that the\n"
              "              remote host is the server you wish to connect to and so is insecure.\n"
              "              Do not use this option in a production environment.",
     .flag = &C::insecure},
    {.long_name = "psk", .group = G::kTls, .arg = A::kString, .metavar = "hex-key",
     .help = "TLS-PSK key in hex",
     .usage = " --psk : pre-shared-key in hexadecimal (no leading 0x) to enable TLS-PSK mode.",
     .missing = "key", .text = &C::psk},
    {.long_name = "psk-identity", .group = G::kTls, .arg = A::kString, .metavar = "identity",
     .help = "TLS-PSK identity",
     .usage = " --psk-identity : client identity string for TLS-PSK mode.",
     .missing = "identity", .text = &C::psk_identity},
    {.long_name = "no-tls", .group = G::kTls, .help = "ignore all TLS options",  // 2.1
     .flag = &C::no_tls},

    // WebSockets (mq)
    {.long_name = "ws", .group = G::kWebSockets,
     .help = "MQTT over WebSockets (also ws:// and wss:// URLs with -L)", .flag = &C::websockets},
    {.long_name = "ws-path", .group = G::kWebSockets, .arg = A::kString, .metavar = "path",
     .help = "HTTP path of the WebSocket endpoint (default /mqtt)", .missing = "path",
     .handler = h::ws_path},

    // the message of pub and rr
    {.short_name = 't', .long_name = "topic", .tools = T::kPubRr, .group = G::kMessage,
     .arg = A::kString, .metavar = "topic", .help = kPublishTopicHelp,
     .usage = {{T::kPub, " -t : mqtt topic to publish to."},
               {T::kRr, " -t : topic where the request message will be sent."}},
     .missing = "topic", .handler = h::topic},
    {.short_name = 'm', .long_name = "message", .tools = T::kPubRr, .group = G::kMessage,
     .arg = A::kString, .metavar = "message", .help = "payload",
     .usage = {{T::kPub, " -m : message payload to send."}},
     .missing = "message", .before = h::pub_mode_message, .handler = h::message},
    {.short_name = 'f', .long_name = "file", .tools = T::kPubRr, .group = G::kMessage,
     .arg = A::kString, .metavar = "file", .help = "payload from a file",
     .usage = {{T::kPub, " -f : send the contents of a file as the message."}},
     .missing = "file", .before = h::pub_mode_file, .text = &C::file_input},
    {.short_name = 's', .long_name = "stdin-file", .tools = T::kPubRr, .group = G::kMessage,
     .help = "payload from all of stdin",
     .usage = {{T::kPub, " -s : read message from stdin, sending the entire input as a message."}},
     .handler = h::stdin_file},
    {.short_name = 'n', .long_name = "null-message", .tools = T::kPubRr, .group = G::kMessage,
     .help = "zero-length payload",
     .usage = {{T::kPub, " -n : send a null (zero length) message."}},
     .handler = h::null_message},
    {.short_name = 'q', .long_name = "qos", .tools = T::kPubRr, .group = G::kMessage,
     .arg = A::kInt, .metavar = "qos", .help = "QoS 0, 1 or 2",
     .usage = {{T::kPub, " -q : quality of service level to use for all messages. Defaults to 0."},
               {T::kRr, " -q : quality of service level to use for communications. Defaults to 0."}},
     .missing = "QoS", .handler = h::qos},
    {.short_name = 'l', .long_name = "stdin-line", .tools = T::kPub, .group = G::kMessage,
     .help = "one message per line of stdin",
     .usage = " -l : read messages from stdin, sending a separate message for each line.",
     .handler = h::stdin_line},
    {.short_name = 'r', .long_name = "retain", .tools = T::kPub, .group = G::kMessage,
     .help = "retained message", .usage = " -r : message should be retained.",
     .flag = &C::retain},
    {.long_name = "repeat", .tools = T::kPub, .group = G::kMessage, .arg = A::kInt,
     .metavar = "N", .help = "publish N times",
     .usage = " --repeat : if publish mode is -f, -m, or -s, then repeat the publish N times.",
     .missing = "count", .handler = h::repeat},
    {.long_name = "repeat-delay", .tools = T::kPub, .group = G::kMessage, .arg = A::kDecimal,
     .metavar = "time", .help = "seconds between repeats",
     .usage = " --repeat-delay : if using --repeat, wait time seconds between publishes. Defaults to 0.",
     .missing = "time", .handler = h::repeat_delay},

    // the request of rr
    {.short_name = 'e', .tools = T::kRr, .group = G::kRequest, .arg = A::kString,
     .metavar = "response-topic", .help = "response topic",
     .usage = " -e : Response topic. The client will subscribe to this topic to wait for a response.",
     .missing = "response topic", .handler = h::response_topic},
    {.long_name = "latency", .tools = T::kRr, .group = G::kRequest,  // 2.1
     .help = "print the latency", .handler = h::latency},

    // the subscription of sub
    {.short_name = 't', .long_name = "topic", .tools = T::kSub, .group = G::kSubscription,
     .arg = A::kString, .metavar = "topic", .help = "topic filter (repeatable)",
     .usage = " -t : mqtt topic to subscribe to. May be repeated multiple times.",
     .missing = "topic", .handler = h::topic},
    {.short_name = 'T', .long_name = "filter-out", .tools = T::kSub, .group = G::kSubscription,
     .arg = A::kString, .metavar = "filter_out", .help = "do not print topics matching this filter",
     .usage = " -T : topic string to filter out of results. May be repeated.",
     .missing = "topic filter", .handler = h::filter_out},
    {.short_name = 'U', .long_name = "unsubscribe", .tools = T::kSub, .group = G::kSubscription,
     .arg = A::kString, .metavar = "topic", .help = "unsubscribe from this filter",
     .usage = " -U : unsubscribe from a topic. May be repeated.",
     .missing = "unsubscribe topic", .handler = h::unsubscribe},
    {.short_name = 'q', .long_name = "qos", .tools = T::kSub, .group = G::kSubscription,
     .arg = A::kInt, .metavar = "qos", .help = "subscription QoS",
     .usage = " -q : quality of service level to use for the subscription. Defaults to 0.",
     .missing = "QoS", .handler = h::qos},
    {.short_name = 'C', .tools = T::kSub, .group = G::kSubscription, .arg = A::kInt,
     .metavar = "msg_count", .help = "exit after N messages",
     .usage = " -C : disconnect and exit after receiving the 'msg_count' messages.",
     .missing = "count", .handler = h::msg_count},
    {.short_name = 'E', .tools = T::kSub, .group = G::kSubscription, .help = "exit once subscribed",
     .usage = " -E : Exit once all subscriptions have been acknowledged by the broker.",
     .flag = &C::exit_after_sub},
    {.long_name = "retained-only", .tools = T::kSub, .group = G::kSubscription,
     .help = "only retained messages; exit at the first other",
     .usage = " --retained-only : only handle messages with the retained flag set, and exit when the\n"
              "                   first non-retained message is received.",
     .flag = &C::retained_only},
    {.long_name = "remove-retained", .tools = T::kSub, .group = G::kSubscription,
     .help = "clear each retained message received",
     .usage = " --remove-retained : send a message to the server to clear any received retained messages\n"
              "                     Use -T to filter out messages you do not want to be cleared.",
     .flag = &C::remove_retained},
    {.long_name = "random-filter", .tools = T::kSub, .group = G::kSubscription,
     .arg = A::kDecimal, .metavar = "chance", .help = "print only this percentage of messages",
     .usage = " --random-filter : only print a percentage of received messages. Set to 100 to have all\n"
              "                   messages printed, 50.0 to have half of the messages received on average\n"
              "                   printed, and so on.",
     .missing = "chance", .handler = h::random_filter},
    {.long_name = "json", .tools = T::kSub, .mq_only = true, .group = G::kSubscription,
     .help = "JSON Lines output (topic, qos, retain, properties, payload)", .flag = &C::json_lines},
    {.short_name = 'w', .long_name = "watch", .tools = T::kSub, .group = G::kSubscription,  // 2.1
     .help = "one fixed screen line per topic, redrawn in place with ANSI cursor movement "
             "(\"topic payload\", or the -F format)",
     .flag = &C::watch},
    {.long_name = "message-rate", .tools = T::kSub, .group = G::kSubscription,  // 2.1
     .help = "instead of the messages, print once a second how many arrived in that second: "
             "\"<count> messages/s\"",
     .flag = &C::message_rate},

    // output of sub and rr
    {.short_name = 'F', .tools = T::kSubRr, .group = G::kOutput, .arg = A::kString,
     .metavar = "format", .help = "output format (%t %p %j ...; 2.1: %f %d, hex groups %.2x %.2:x)",
     .usage = " -F : output format.", .missing = "format", .handler = h::format},
    {.short_name = 'v', .long_name = "verbose", .tools = T::kSubRr, .group = G::kOutput,
     .help = "print the topic too",
     .usage = {{T::kSub, " -v : print published messages verbosely."},
               {T::kRr, " -v : print received messages verbosely."}},
     .flag = &C::verbose},
    {.short_name = 'N', .tools = T::kSubRr, .group = G::kOutput,
     .help = "no newline after each message",
     .usage = " -N : do not add an end of line character when printing the payload.",
     .flag = &C::eol, .flag_value = false},
    {.long_name = "pretty", .tools = T::kSubRr, .group = G::kOutput,
     .help = "indented JSON for %j / %J",
     .usage = " --pretty : print formatted output rather than minimised output when using the\n"
              "            JSON output format option.",
     .flag = &C::pretty},
    {.short_name = 'R', .tools = T::kSubRr, .group = G::kOutput, .help = "skip retained messages",
     .usage = " -R : do not print stale messages (those with retain set).", .flag = &C::no_retain},
    {.long_name = "retain-as-published", .tools = T::kSubRr, .group = G::kOutput,
     .help = "MQTT 5 subscription option", .flag = &C::retain_as_published},
    {.long_name = "retain-handling", .tools = T::kSubRr, .group = G::kOutput,  // 2.1
     .arg = A::kString, .metavar = "always|new|never", .help = "always, new or never",
     .missing = "value", .handler = h::retain_handling},
    {.short_name = 'W', .tools = T::kSubRr, .group = G::kOutput, .arg = A::kInt,
     .metavar = "timeout_secs", .help = "exit with status 27 after this many seconds",
     .usage = {{T::kSub, " -W : Specifies a timeout in seconds how long to process incoming MQTT messages."},
               {T::kRr, " -W : Specifies a timeout in seconds how long to wait for a response."}},
     .missing = "timeout", .handler = h::timeout},

    // answered at once
    {.long_name = "help", .group = G::kInfo, .help = "print the usage text and exit",
     .usage = " --help : display this message.", .stops = ParseStatus::kHelp},
    {.long_name = "version", .group = G::kInfo, .help = "print the version and exit",
     .stops = ParseStatus::kVersion},
};

bool name_is(const OptionSpec& o, std::string_view name) {
  if (name.size() == 2 && name[0] == '-') return o.short_name != 0 && name[1] == o.short_name;
  return o.long_name && name.size() > 2 && name.starts_with("--") && name.substr(2) == o.long_name;
}

}  // namespace

const char* group_name(Group g) {
  switch (g) {
    case Group::kConnection: return "connection";
    case Group::kAuth: return "auth";
    case Group::kWill: return "will";
    case Group::kTls: return "tls";
    case Group::kWebSockets: return "websockets";
    case Group::kMessage: return "message";
    case Group::kRequest: return "request";
    case Group::kSubscription: return "subscription";
    case Group::kOutput: return "output";
    case Group::kInfo: return "info";
  }
  return "";
}

std::span<const OptionSpec> client_options() { return kOptions; }

const OptionSpec* find_option(std::string_view name, Tool tool, bool mq_names) {
  for (const OptionSpec& o : kOptions)
    if (applies_to(o, tool, mq_names) && name_is(o, name)) return &o;
  return nullptr;
}

std::string primary_name(const OptionSpec& o) {
  if (o.short_name) return std::string("-") + o.short_name;
  return std::string("--") + o.long_name;
}

std::string missing_argument_text(const OptionSpec& o) {
  std::string_view m = o.missing ? o.missing : "";
  if (m.starts_with("Error:")) return std::string(m);
  return "Error: " + primary_name(o) + " argument given but no " + std::string(m) +
         " specified.\n\n";
}

}  // namespace mq::client
