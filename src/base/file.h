// Small file helpers shared by the layers that read configuration-like files.
// Stateless; safe on any thread.
#pragma once

#include <string>

namespace mq {

// Reads the whole file into *out. Returns false (and leaves *out unspecified) when it cannot be
// opened or read.
bool read_file(const std::string& path, std::string* out);

// The permission that keeps the running process from using `path` (reading it, or with
// `write` writing it or creating it in its directory), as one sentence naming the permission,
// the file or directory lacking it and the user, e.g. "user mosquitto (uid 102) has no read
// permission on /etc/mq/pw". "" when permissions allow it (or the file is simply missing).
// Explains a failed open after the broker switched user; access() answers for the real uid.
std::string access_problem(const std::string& path, bool write = false);

// The name of the real user from /etc/passwd (no NSS: safe in a static binary), or its number.
std::string current_user_name();

}  // namespace mq
