// client_main: the part of mosquitto_pub/sub/rr's main() between the option parser and the
// session, shared by the three subcommands.
#include <unistd.h>

#include <cstdio>

#include "client/options.h"
#include "client/tools.h"

namespace mq::client {

int client_main(Tool tool, int argc, char** argv, std::string_view prog, bool as_mosquitto) {
  ClientConfig cfg;
  ParseResult r = load_config(cfg, tool, argc, argv, !as_mosquitto);
  const int info_exit = as_mosquitto ? 1 : 0;
  switch (r.status) {
    case ParseStatus::kHelp:
      print_usage(tool);
      return info_exit;
    case ParseStatus::kVersion:
      print_version(tool);
      return info_exit;
    case ParseStatus::kError:
      fputs(r.error.c_str(), stderr);
      if (r.usage_hint)
        fprintf(stderr, "\nUse '%.*s --help' to see usage.\n", int(prog.size()), prog.data());
      return 1;
    case ParseStatus::kOk: break;
  }
  if (tool == Tool::kPub && (cfg.topic.empty() || cfg.pub_mode == PubMode::kNone)) {
    fprintf(stderr, "Error: Both topic and message must be supplied.\n");
    print_usage(tool);
    return 1;
  }
  if (tool == Tool::kRr &&
      (cfg.topic.empty() || cfg.pub_mode == PubMode::kNone || cfg.response_topic.empty())) {
    fprintf(stderr, "Error: All of topic, message, and response topic must be supplied.\n");
    fprintf(stderr, "\nUse '%.*s --help' to see usage.\n", int(prog.size()), prog.data());
    return 1;
  }
  if (tool == Tool::kSub && cfg.no_retain && cfg.retained_only) {
    fprintf(stderr, "\nError: Combining '-R' and '--retained-only' makes no sense.\n");
    return 1;
  }
  if (!as_mosquitto && cfg.username && !cfg.password) prompt_password(cfg);
  switch (tool) {
    case Tool::kPub: return run_pub(cfg);
    case Tool::kSub: return run_sub(cfg);
    case Tool::kRr: return run_rr(cfg);
  }
  return 1;
}

}  // namespace mq::client
