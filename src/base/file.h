// Small file helpers shared by the layers that read configuration-like files.
// Stateless; safe on any thread.
#pragma once

#include <string>

namespace mq {

// Reads the whole file into *out. Returns false (and leaves *out unspecified) when it cannot be
// opened or read.
bool read_file(const std::string& path, std::string* out);

}  // namespace mq
