// Entry point of the broker: what `mq serve` / `mosquitto` runs after parsing its command line.
// Loads the configuration, applies command-line overrides, starts listeners and runs the event
// loop until SIGINT/SIGTERM. Returns the process exit status (3 for configuration errors, as
// Mosquitto). Called once, on the main thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mq::broker {

struct ServeOptions {
  std::string config_file;         // -c; empty = no file (local-only unless -p)
  bool daemon = false;             // -d
  bool verbose = false;            // -v: log_type all
  bool quiet = false;              // -q: log_type none
  bool test_config = false;        // --test-config: start-up checks short of binding, then exit
  std::vector<uint16_t> ports;     // -p (loopback only, as Mosquitto 2.0); 0 = ephemeral (mq)
  std::string port_file;           // --port-file (mq): the bound ports, one per line
};

int serve(const ServeOptions& options);

}  // namespace mq::broker
