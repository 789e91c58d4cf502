// Option declarations for `mq help pub|sub|rr` (cxxopts builds the text). Parsing itself is
// options.cc, which follows Mosquitto's rules and messages exactly.
#include <cxxopts.hpp>

#include "client/options.h"

namespace mq::client {

void add_cxxopts(cxxopts::Options& o, Tool tool) {
  auto s = cxxopts::value<std::string>();
  o.add_options("connection")
      ("h,host", "broker host (default localhost)", s)
      ("p,port", "broker port (default 1883)", cxxopts::value<int>())
      ("unix", "connect through this Unix socket", s)
      ("A", "bind the outgoing socket to this address", s)
      ("L,url", "mqtt://[user[:pass]@]host[:port]/topic", s)
      ("V,protocol-version", "mqttv5, mqttv311 or mqttv31", s)
      ("i,id", "client id", s)
      ("I,id-prefix", "client id prefix (+ process id)", s)
      ("k,keepalive", "keep alive in seconds (default 60)", cxxopts::value<int>())
      ("c,disable-clean-session", "persistent session")
      ("x", "session expiry interval (implies MQTT 5)", s)
      ("M", "maximum QoS 1/2 messages in flight (default 20)", cxxopts::value<int>())
      ("nodelay", "disable Nagle's algorithm")
      ("o", "read options from this file instead of the default one", s)
      ("D,property", "MQTT 5 property: COMMAND NAME VALUE", s)
      ("d,debug", "print packets sent and received")
      ("quiet", "print no error messages")
      ("proxy", "socks5h://[user[:pass]@]host[:port]", s);
  o.add_options("auth")
      ("u,username", "user name", s)
      ("P,pw", "password", s)
      ("pw-env", "take the password from this environment variable", s)
      ("pw-file", "take the password from the first line of this file", s);
  o.add_options("will")
      ("will-topic", "will topic", s)
      ("will-payload", "will payload", s)
      ("will-qos", "will QoS", cxxopts::value<int>())
      ("will-retain", "retained will");
  o.add_options("tls")
      ("cafile", "trust the CA certificates in this PEM file", s)
      ("capath", "trust the CA certificates in this directory", s)
      ("cert", "client certificate (PEM)", s)("key", "client private key (PEM)", s)
      ("keyform", "pem (engine keys are not supported)", s)
      ("ciphers", "OpenSSL-style cipher list (TLS 1.2 suites)", s)
      ("tls-version", "lowest TLS version: tlsv1.3 or tlsv1.2 (default)", s)
      ("tls-alpn", "ALPN protocol to offer", s)("tls-engine", "not supported", s)
      ("tls-engine-kpass-sha1", "not supported", s)
      ("tls-use-os-certs", "trust Debian's CA bundle")("tls-keylog", "not supported", s)
      ("insecure", "do not check the server's host name")
      ("psk", "TLS-PSK key in hex", s)("psk-identity", "TLS-PSK identity", s)
      ("no-tls", "ignore all TLS options");
  o.add_options("websockets")
      ("ws", "MQTT over WebSockets (also ws:// and wss:// URLs with -L)")
      ("ws-path", "HTTP path of the WebSocket endpoint (default /mqtt)", s);
  if (tool != Tool::kSub) {
    o.add_options("message")
        ("t,topic", "topic to publish to", s)
        ("m,message", "payload", s)
        ("f,file", "payload from a file", s)
        ("s,stdin-file", "payload from all of stdin")
        ("n,null-message", "zero-length payload")
        ("q,qos", "QoS 0, 1 or 2", cxxopts::value<int>());
  }
  if (tool == Tool::kPub) {
    o.add_options("message")
        ("l,stdin-line", "one message per line of stdin")
        ("r,retain", "retained message")
        ("repeat", "publish N times", cxxopts::value<int>())
        ("repeat-delay", "seconds between repeats", s);
  }
  if (tool == Tool::kRr) o.add_options("request")("e", "response topic", s)("latency", "print the latency");
  if (tool == Tool::kSub) {
    o.add_options("subscription")
        ("t,topic", "topic filter (repeatable)", s)
        ("T,filter-out", "do not print topics matching this filter", s)
        ("U,unsubscribe", "unsubscribe from this filter", s)
        ("q,qos", "subscription QoS", cxxopts::value<int>())
        ("C", "exit after N messages", cxxopts::value<int>())
        ("E", "exit once subscribed")
        ("retained-only", "only retained messages; exit at the first other")
        ("remove-retained", "clear each retained message received")
        ("random-filter", "print only this percentage of messages", s)
        ("json", "JSON Lines output (topic, qos, retain, properties, payload)")
        ("w,watch", "one fixed screen line per topic, redrawn in place with ANSI cursor "
                    "movement (\"topic payload\", or the -F format)")
        ("message-rate", "instead of the messages, print once a second how many arrived in "
                         "that second: \"<count> messages/s\"");
  }
  if (tool != Tool::kPub) {
    o.add_options("output")
        ("F", "output format (%t %p %j ...; 2.1: %f %d, hex groups %.2x %.2:x)", s)
        ("v,verbose", "print the topic too")
        ("N", "no newline after each message")
        ("pretty", "indented JSON for %j / %J")
        ("R", "skip retained messages")
        ("retain-as-published", "MQTT 5 subscription option")
        ("retain-handling", "always, new or never", s)
        ("W", "exit with status 27 after this many seconds", cxxopts::value<int>());
  }
}

}  // namespace mq::client
