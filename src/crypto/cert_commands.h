// The actions behind `mq certgen`: each takes the parsed options, reads and writes the files
// under the usual names (ca.crt/ca.key, server.crt/server.key, NAME.crt/NAME.key) and returns
// the text to print, or an Error for the subcommand to print. The subcommand only parses argv.
// Single-threaded; time comes from the Clock passed in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "crypto/cert_backend.h"

namespace mq::crypto {

struct CertgenOptions {
  std::string dir = ".";           // where new files go
  std::string ca_dir;              // where ca.crt / ca.key are; empty: `dir`
  std::string ca_cert;             // explicit CA files override ca_dir
  std::string ca_key;
  std::optional<KeyType> key_type; // unset: EC P-256 (renew --new-key: the old key's type)
  int days = 0;                    // 0: the default for the kind
  std::string cn;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  bool no_local = false;
  bool force = false;
  bool new_key = false;            // renew: a fresh key instead of the existing one
  std::vector<std::string> names;  // client NAMEs; `all`: the client names (default "client")
  std::string csr;                 // sign
  std::string sign_as;             // sign: "server" or "client"
  std::string out;                 // sign: certificate path (default from the kind / CN)
  std::vector<std::string> files;  // show, renew
  int port = 8883;                 // all: the port in the printed configuration
};

// What an action produced: lines for stdout and warnings for stderr.
struct CertgenOutput {
  std::string text;
  std::vector<std::string> warnings;
  bool problem = false;            // show: something failed a check (exit status 1)
};

[[nodiscard]] Result<CertgenOutput> certgen_ca(const CertgenOptions& o, const Clock& clock);
[[nodiscard]] Result<CertgenOutput> certgen_server(const CertgenOptions& o, const Clock& clock);
[[nodiscard]] Result<CertgenOutput> certgen_client(const CertgenOptions& o, const Clock& clock);
[[nodiscard]] Result<CertgenOutput> certgen_all(const CertgenOptions& o, const Clock& clock);
[[nodiscard]] Result<CertgenOutput> certgen_sign(const CertgenOptions& o, const Clock& clock);
[[nodiscard]] Result<CertgenOutput> certgen_renew(const CertgenOptions& o, const Clock& clock);
// Never fails as a whole: unreadable files are reported in the text and set `problem`.
[[nodiscard]] Result<CertgenOutput> certgen_show(const CertgenOptions& o, const Clock& clock);

}  // namespace mq::crypto
