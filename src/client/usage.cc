// Mosquitto 2.0's usage texts for the three clients (what `mosquitto_pub --help` prints), with
// mq's version in the version line. Paragraphs the texts share are written once and named by a
// marker line. Constants only.
#include <cstdio>
#include <span>
#include <string_view>

#include "base/version.h"
#include "client/options.h"

namespace mq::client {

namespace {

// Paragraphs two or more of the texts share, named by a marker line in the texts below.
// the will and TLS part of the synopsis (pub, sub)
const char* const kSynopsisWillTls[] = {
    "                     [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]",
    "                     [{--cafile file | --capath dir} [--cert file] [--key file]",
    "                       [--ciphers ciphers] [--insecure]",
    "                       [--tls-alpn protocol]",
    "                       [--tls-engine engine] [--keyform keyform] [--tls-engine-kpass-sha1]]",
    "                       [--tls-use-os-certs]",
    "                     [--psk hex-key --psk-identity identity [--ciphers ciphers]]",
    "                     [--proxy socks-url]",
};

// -c
const char* const kHelpC[] = {
    " -c : disable clean session/enable persistent client mode",
    "      When this argument is used, the broker will be instructed not to clean existing sessions",
    "      for the same client id when the client connects, and sessions will never expire when the",
    "      client disconnects. MQTT v5 clients can change their session expiry interval with the -x",
    "      argument.",
};

// -k, -L
const char* const kHelpKL[] = {
    " -k : keep alive in seconds for this client. Defaults to 60.",
    " -L : specify user, password, hostname, port and topic as a URL in the form:",
    "      mqtt(s)://[username[:password]@]host[:port]/topic",
};

// -x, --help, --nodelay
const char* const kHelpXHelpNodelay[] = {
    " -x : Set the session-expiry-interval property on the CONNECT packet. Applies to MQTT v5",
    "      clients only. Set to 0-4294967294 to specify the session will expire in that many",
    "      seconds after the client disconnects, or use -1, 4294967295, or ∞ for a session",
    "      that does not expire. Defaults to -1 if -c is also given, or 0 if -c not given.",
    " --help : display this message.",
    " --nodelay : disable Nagle's algorithm, to reduce socket sending latency at the possible",
    "             expense of more packets being sent.",
};

// --unix, the will options
const char* const kHelpUnixWill[] = {
    " --unix : connect to a broker through a unix domain socket instead of a TCP socket,",
    "          e.g. /tmp/mosquitto.sock",
    " --will-payload : payload for the client Will, which is sent by the broker in case of",
    "                  unexpected disconnection. If not given and will-topic is set, a zero",
    "                  length message will be sent.",
    " --will-qos : QoS level for the client Will.",
    " --will-retain : if given, make the client Will retained.",
    " --will-topic : the topic on which to publish the client Will.",
};

// --capath, --cert, --key
const char* const kHelpCapathCertKey[] = {
    " --capath : path to a directory containing trusted CA certificates to enable encrypted",
    "            communication.",
    " --cert : client certificate for authentication, if required by server.",
    " --key : client private key for authentication, if required by server.",
};

// --tls-version, --insecure
const char* const kHelpTlsVersionInsecure[] = {
    " --tls-version : TLS protocol version, can be one of tlsv1.3 tlsv1.2 or tlsv1.1.",
    "                 Defaults to tlsv1.2 if available.",
    " --insecure : do not check that the server certificate hostname matches the remote",
    "              hostname. Using this option means that you cannot be sure that the",
    "              remote host is the server you wish to connect to and so is insecure.",
    "              Do not use this option in a production environment.",
};

// --psk, --psk-identity, --proxy and the closing lines
const char* const kHelpPskProxyEnd[] = {
    " --psk : pre-shared-key in hexadecimal (no leading 0x) to enable TLS-PSK mode.",
    " --psk-identity : client identity string for TLS-PSK mode.",
    " --proxy : SOCKS5 proxy URL of the form:",
    "           socks5h://[username[:password]@]hostname[:port]",
    "           Only \"none\" and \"username\" authentication is supported.",
    "",
    "See https://mosquitto.org/ for more information.",
    "",
};

struct Block {
  std::string_view marker;
  std::span<const char* const> lines;
};

const Block kBlocks[] = {
    {"@SYNOPSIS_WILL_TLS@", kSynopsisWillTls},
    {"@HELP_C@", kHelpC},
    {"@HELP_K_L@", kHelpKL},
    {"@HELP_X_HELP_NODELAY@", kHelpXHelpNodelay},
    {"@HELP_UNIX_WILL@", kHelpUnixWill},
    {"@HELP_CAPATH_CERT_KEY@", kHelpCapathCertKey},
    {"@HELP_TLS_VERSION_INSECURE@", kHelpTlsVersionInsecure},
    {"@HELP_PSK_PROXY_END@", kHelpPskProxyEnd},
};

void print_version_line(const char* tool) {
  printf("%s version 2.0.11 (mq %s) running on libmosquitto 2.0.11.\n", tool, kVersion);
}

const char* const kUsagePub[] = {
    "mosquitto_pub is a simple mqtt client that will publish a message on a single topic and exit.",
    "@VERSION@",
    "",
    "Usage: mosquitto_pub {[-h host] [--unix path] [-p port] [-u username] [-P password] -t topic | -L URL}",
    "                     {-f file | -l | -n | -m message}",
    "                     [-c] [-k keepalive] [-q qos] [-r] [--repeat N] [--repeat-delay time] [-x session-expiry]",
    "                     [-A bind_address] [--nodelay]",
    "                     [-i id] [-I id_prefix]",
    "                     [-d] [--quiet]",
    "                     [-M max_inflight]",
    "                     [-u username [-P password]]",
    "@SYNOPSIS_WILL_TLS@",
    "                     [--property command identifier value]",
    "                     [-D command identifier value]",
    "       mosquitto_pub --help",
    "",
    " -A : bind the outgoing socket to this host/ip address. Use to control which interface",
    "      the client communicates over.",
    " -d : enable debug messages.",
    "@HELP_C@",
    " -D : Define MQTT v5 properties. See the documentation for more details.",
    " -f : send the contents of a file as the message.",
    " -h : mqtt host to connect to. Defaults to localhost.",
    " -i : id to use for this client. Defaults to mosquitto_pub_ appended with the process id.",
    " -I : define the client id as id_prefix appended with the process id. Useful for when the",
    "      broker is using the clientid_prefixes option.",
    "@HELP_K_L@",
    " -l : read messages from stdin, sending a separate message for each line.",
    " -m : message payload to send.",
    " -M : the maximum inflight messages for QoS 1/2..",
    " -n : send a null (zero length) message.",
    " -p : network port to connect to. Defaults to 1883 for plain MQTT and 8883 for MQTT over TLS.",
    " -P : provide a password",
    " -q : quality of service level to use for all messages. Defaults to 0.",
    " -r : message should be retained.",
    " -s : read message from stdin, sending the entire input as a message.",
    " -t : mqtt topic to publish to.",
    " -u : provide a username",
    " -V : specify the version of the MQTT protocol to use when connecting.",
    "      Can be mqttv5, mqttv311 or mqttv31. Defaults to mqttv311.",
    "@HELP_X_HELP_NODELAY@",
    " --quiet : don't print error messages.",
    " --repeat : if publish mode is -f, -m, or -s, then repeat the publish N times.",
    " --repeat-delay : if using --repeat, wait time seconds between publishes. Defaults to 0.",
    "@HELP_UNIX_WILL@",
    " --cafile : path to a file containing trusted CA certificates to enable encrypted",
    "            communication.",
    "@HELP_CAPATH_CERT_KEY@",
    " --keyform : keyfile type, can be either \"pem\" or \"engine\".",
    " --ciphers : openssl compatible list of TLS ciphers to support.",
    "@HELP_TLS_VERSION_INSECURE@",
    " --tls-engine : If set, enables the use of a TLS engine device.",
    " --tls-engine-kpass-sha1 : SHA1 of the key password to be used with the selected SSL engine.",
    " --tls-use-os-certs : Load and trust OS provided CA certificates.",
    "@HELP_PSK_PROXY_END@",
};

const char* const kUsageSub[] = {
    "mosquitto_sub is a simple mqtt client that will subscribe to a set of topics and print all messages it receives.",
    "@VERSION@",
    "",
    "Usage: mosquitto_sub {[-h host] [--unix path] [-p port] [-u username] [-P password] -t topic | -L URL [-t topic]}",
    "                     [-c] [-k keepalive] [-q qos] [-x session-expiry-interval]",
    "                     [-C msg_count] [-E] [-R] [--retained-only] [--remove-retained] [-T filter_out] [-U topic ...]",
    "                     [-F format]",
    "                     [-W timeout_secs]",
    "                     [-A bind_address] [--nodelay]",
    "                     [-i id] [-I id_prefix]",
    "                     [-d] [-N] [--quiet] [-v]",
    "@SYNOPSIS_WILL_TLS@",
    "                     [-D command identifier value]",
    "       mosquitto_sub --help",
    "",
    " -A : bind the outgoing socket to this host/ip address. Use to control which interface",
    "      the client communicates over.",
    "@HELP_C@",
    " -C : disconnect and exit after receiving the 'msg_count' messages.",
    " -d : enable debug messages.",
    " -D : Define MQTT v5 properties. See the documentation for more details.",
    " -E : Exit once all subscriptions have been acknowledged by the broker.",
    " -F : output format.",
    " -h : mqtt host to connect to. Defaults to localhost.",
    " -i : id to use for this client. Defaults to mosquitto_sub_ appended with the process id.",
    " -I : define the client id as id_prefix appended with the process id. Useful for when the",
    "      broker is using the clientid_prefixes option.",
    "@HELP_K_L@",
    " -N : do not add an end of line character when printing the payload.",
    " -p : network port to connect to. Defaults to 1883 for plain MQTT and 8883 for MQTT over TLS.",
    " -P : provide a password",
    " -q : quality of service level to use for the subscription. Defaults to 0.",
    " -R : do not print stale messages (those with retain set).",
    " -t : mqtt topic to subscribe to. May be repeated multiple times.",
    " -T : topic string to filter out of results. May be repeated.",
    " -u : provide a username",
    " -U : unsubscribe from a topic. May be repeated.",
    " -v : print published messages verbosely.",
    " -V : specify the version of the MQTT protocol to use when connecting.",
    "      Can be mqttv5, mqttv311 or mqttv31. Defaults to mqttv311.",
    " -W : Specifies a timeout in seconds how long to process incoming MQTT messages.",
    "@HELP_X_HELP_NODELAY@",
    " --pretty : print formatted output rather than minimised output when using the",
    "            JSON output format option.",
    " --quiet : don't print error messages.",
    " --random-filter : only print a percentage of received messages. Set to 100 to have all",
    "                   messages printed, 50.0 to have half of the messages received on average",
    "                   printed, and so on.",
    " --retained-only : only handle messages with the retained flag set, and exit when the",
    "                   first non-retained message is received.",
    " --remove-retained : send a message to the server to clear any received retained messages",
    "                     Use -T to filter out messages you do not want to be cleared.",
    "@HELP_UNIX_WILL@",
    " --cafile : path to a file containing trusted CA certificates to enable encrypted",
    "            certificate based communication.",
    "@HELP_CAPATH_CERT_KEY@",
    " --keyform : keyfile type, can be either \"pem\" or \"engine\".",
    " --ciphers : openssl compatible list of TLS ciphers to support.",
    "@HELP_TLS_VERSION_INSECURE@",
    " --tls-engine : If set, enables the use of a SSL engine device.",
    " --tls-engine-kpass-sha1 : SHA1 of the key password to be used with the selected SSL engine.",
    " --tls-use-os-certs : Load and trust OS provided CA certificates.",
    "@HELP_PSK_PROXY_END@",
};

const char* const kUsageRr[] = {
    "mosquitto_rr is an mqtt client that can be used to publish a request message and wait for a response.",
    "             Defaults to MQTT v5, where the Request-Response feature will be used, but v3.1.1 can also be used",
    "             with v3.1.1 brokers.",
    "@VERSION@",
    "",
    "Usage: mosquitto_rr {[-h host] [--unix path] [-p port] [-u username] [-P password] -t topic | -L URL} -e response-topic",
    "                    [-c] [-k keepalive] [-q qos] [-R] [-x session-expiry-interval",
    "                    [-F format]",
    "                    [-W timeout_secs]",
    "                    [-A bind_address] [--nodelay]",
    "                    [-i id] [-I id_prefix]",
    "                    [-d] [-N] [--quiet] [-v]",
    "                    [--will-topic [--will-payload payload] [--will-qos qos] [--will-retain]]",
    "                    [{--cafile file | --capath dir} [--cert file] [--key file]",
    "                      [--ciphers ciphers] [--insecure]",
    "                      [--tls-alpn protocol]",
    "                      [--tls-engine engine] [--keyform keyform] [--tls-engine-kpass-sha1]]",
    "                      [--tls-use-os-certs]",
    "                     [--psk hex-key --psk-identity identity [--ciphers ciphers]]",
    "                    [--proxy socks-url]",
    "                    [-D command identifier value]",
    "       mosquitto_rr --help",
    "",
    " -A : bind the outgoing socket to this host/ip address. Use to control which interface",
    "      the client communicates over.",
    "@HELP_C@",
    " -d : enable debug messages.",
    " -D : Define MQTT v5 properties. See the documentation for more details.",
    " -e : Response topic. The client will subscribe to this topic to wait for a response.",
    " -F : output format.",
    " -h : mqtt host to connect to. Defaults to localhost.",
    " -i : id to use for this client. Defaults to mosquitto_rr_ appended with the process id.",
    "@HELP_K_L@",
    " -N : do not add an end of line character when printing the payload.",
    " -p : network port to connect to. Defaults to 1883 for plain MQTT and 8883 for MQTT over TLS.",
    " -P : provide a password",
    " -q : quality of service level to use for communications. Defaults to 0.",
    " -R : do not print stale messages (those with retain set).",
    " -t : topic where the request message will be sent.",
    " -u : provide a username",
    " -v : print received messages verbosely.",
    " -V : specify the version of the MQTT protocol to use when connecting.",
    "      Defaults to 5.",
    " -W : Specifies a timeout in seconds how long to wait for a response.",
    "@HELP_X_HELP_NODELAY@",
    " --pretty : print formatted output rather than minimised output when using the",
    "            JSON output format option.",
    " --quiet : don't print error messages.",
    "@HELP_UNIX_WILL@",
    " --cafile : path to a file containing trusted CA certificates to enable encrypted",
    "            certificate based communication.",
    "@HELP_CAPATH_CERT_KEY@",
    " --ciphers : openssl compatible list of TLS ciphers to support.",
    " --tls-use-os-certs : Load and trust OS provided CA certificates.",
    "@HELP_TLS_VERSION_INSECURE@",
    "@HELP_PSK_PROXY_END@",
};

void print_lines(std::span<const char* const> lines, const char* tool) {
  for (const char* line : lines) {
    std::string_view l(line);
    if (l == "@VERSION@") {
      print_version_line(tool);
      continue;
    }
    const Block* block = nullptr;
    for (const Block& b : kBlocks)
      if (b.marker == l) block = &b;
    if (block) {
      print_lines(block->lines, tool);
      continue;
    }
    fputs(line, stdout);
    fputc('\n', stdout);
  }
}

}  // namespace

void print_usage(Tool tool) {
  const char* name = tool_name(tool);
  switch (tool) {
    case Tool::kPub: print_lines(kUsagePub, name); break;
    case Tool::kSub: print_lines(kUsageSub, name); break;
    case Tool::kRr: print_lines(kUsageRr, name); break;
  }
}

void print_version(Tool tool) { print_version_line(tool_name(tool)); }

}  // namespace mq::client
