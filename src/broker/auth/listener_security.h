// Loading what each listener enforces from the files the configuration names: the password
// file and ACL (SecurityState) and the TLS context (certificates, keys, CRL, PSK file). Read at
// start-up, by --test-config and on SIGHUP; the broker installs the result on its listeners.
// Errors carry Mosquitto's texts ("Error opening password file ...", what a user switch made
// unreadable). Pure loading: no broker state, callable from any thread.
#pragma once

#include <memory>
#include <vector>

#include "base/result.h"
#include "broker/config/config.h"
#include "broker/listener.h"
#include "net/tls_context.h"

namespace mq::broker {

// Password/ACL state and TLS context of each entry of Config::listeners, in that order.
struct LoadedSecurity {
  std::vector<std::shared_ptr<const SecurityState>> security;  // shared by all unless
                                                               // per_listener_settings
  std::vector<std::shared_ptr<const net::TlsContext>> tls;     // null: no TLS
};

// `failure_status` is set to Mosquitto's exit status for a password or ACL file that does not
// parse (3) or cannot be read (13); left alone for other errors.
[[nodiscard]] Result<LoadedSecurity> load_listener_security(const Config& config,
                                                            int* failure_status);

}  // namespace mq::broker
