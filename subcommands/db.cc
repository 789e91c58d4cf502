// `mq db`: offline work on persistence files.
//   mq db to-mosquitto [--force] SRC DEST   mq's snapshot SRC (and SRC.journal) -> a
//                                           mosquitto.db that Mosquitto 2.0 loads
//   mq db info FILE                          what a snapshot or a Mosquitto file holds
// The other way needs no command: `mq serve` converts a Mosquitto file it finds at start-up.
// Run it while no broker uses the files. No Mosquitto name: Mosquitto has no such tool.
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <cxxopts.hpp>
#include <optional>
#include <string>
#include <vector>

#include "broker/persist/mosquitto_db.h"
#include "broker/persist/persist_journal.h"
#include "broker/persist/persist_snapshot.h"
#include "cli/flag_table.h"
#include "cli/subcommand.h"

namespace mq::subcommands {

namespace {

namespace P = broker::persist;

void usage(FILE* out) {
  fprintf(out,
          "Usage: mq db to-mosquitto [--force] SRC DEST\n"
          "       mq db info FILE\n"
          " to-mosquitto : write mq's persistence (snapshot SRC, e.g. mosquitto.db, and its\n"
          "                journal SRC.journal) as DEST, a file Mosquitto 2.0 loads.\n"
          "                Stop the broker first. DEST may be SRC (with --force).\n"
          " info         : print what an mq snapshot or a Mosquitto file holds.\n"
          " --force      : replace an existing DEST.\n"
          "`mq serve` converts a Mosquitto file it finds at its persistence path by itself.\n");
}

// The options, once: add_options() declares them to cxxopts (`mq help`, man page, completion)
// and run() looks each argument up in the same table.
enum class Opt { kForce, kHelp };
constexpr cli::Flag<Opt> kFlags[] = {
    {Opt::kForce, {0, "force", cli::FlagValue::kNone, nullptr,
                   "let to-mosquitto replace an existing DEST"}},
    {Opt::kHelp, {'h', "help", cli::FlagValue::kNone, nullptr, "show this help"}},
};

void add_options(cxxopts::Options& o) {
  o.positional_help("to-mosquitto SRC DEST | info FILE");
  cli::add_flags(o, kFlags);
}

// mq's snapshot plus its journal, as the broker would load them (without installing them).
Result<P::State> load_mq(const std::string& path, std::string* note) {
  auto data = P::read_file(path);
  if (!data.ok()) return data.error();
  if (P::is_mosquitto_db(*data))
    return make_error(ErrorKind::kUnsupported, path + " is already a Mosquitto file");
  uint64_t gen = 0;
  auto st = P::parse_snapshot(*data, &gen);
  if (!st.ok()) return make_error(st.error().kind, path + " is " + st.error().context);
  auto j = P::read_file(path + ".journal");
  if (j.ok()) {
    P::ReplayResult r = P::replay_journal(*j, gen, *st);
    if (r.dropped_bytes)
      *note = "journal: torn or corrupt tail of " + std::to_string(r.dropped_bytes) +
              " bytes ignored (" + r.problem + ")";
  } else if (j.error().kind != ErrorKind::kNotFound) {
    return j.error();
  }
  return st;
}

// load_mq, its error printed.
std::optional<P::State> load_mq_or_say(const std::string& path, std::string* note) {
  auto st = load_mq(path, note);
  if (!st.ok()) {
    fprintf(stderr, "Error: %s.\n", st.error().context.c_str());
    return std::nullopt;
  }
  return std::move(*st);
}

int to_mosquitto(const std::string& src, const std::string& dest, bool force) {
  if (!force && access(dest.c_str(), F_OK) == 0) {
    fprintf(stderr, "Error: %s exists (use --force to replace it).\n", dest.c_str());
    return 1;
  }
  std::string note;
  std::optional<P::State> st = load_mq_or_say(src, &note);
  if (!st) return 1;
  if (!note.empty()) fprintf(stderr, "Warning: %s.\n", note.c_str());
  P::MosquittoExport ex = P::write_mosquitto_db(*st, int64_t(time(nullptr)));
  if (Status s = P::write_file_durably(dest, ex.data); !s.ok()) {
    fprintf(stderr, "Error: %s.\n", s.error().context.c_str());
    return 1;
  }
  printf("Wrote %s (Mosquitto format version %u): %s.\n", dest.c_str(), P::kMosquittoDbVersion,
         P::describe(ex.counts).c_str());
  return 0;
}

int info(const std::string& path) {
  auto data = P::read_file(path);
  if (!data.ok()) {
    fprintf(stderr, "Error: %s.\n", data.error().context.c_str());
    return 1;
  }
  if (P::is_mosquitto_db(*data)) {
    auto im = P::parse_mosquitto_db(*data, int64_t(time(nullptr)));
    if (!im.ok()) {
      fprintf(stderr, "Error: %s is %s.\n", path.c_str(), im.error().context.c_str());
      return 1;
    }
    printf("%s: Mosquitto persistence file, format version %u: %s.\n", path.c_str(), im->version,
           P::describe(im->counts).c_str());
    return 0;
  }
  std::string note;
  std::optional<P::State> st = load_mq_or_say(path, &note);
  if (!st) return 1;
  size_t subs = 0, out = 0, in = 0;
  for (const auto& [cid, s] : st->sessions) {
    subs += s.subscriptions.size();
    out += s.outgoing.size();
    in += s.incoming_qos2.size();
  }
  printf(
      "%s: mq persistence (snapshot and journal): %zu retained messages, %zu persistent "
      "sessions with %zu subscriptions, %zu outgoing messages, %zu incoming QoS 2 packet "
      "identifiers.\n",
      path.c_str(), st->retained.size(), st->sessions.size(), subs, out, in);
  if (!note.empty()) printf("Warning: %s.\n", note.c_str());
  return 0;
}

int run(int argc, char** argv, const cli::Invocation&) {
  std::vector<std::string> args;
  bool force = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (const cli::Flag<Opt>* f = cli::find_flag(kFlags, a, false)) {
      if (f->id == Opt::kHelp) {
        usage(stdout);
        return 0;
      }
      force = true;
    } else if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "Error: Unknown option '%s'.\n", a.c_str());
      usage(stderr);
      return 1;
    } else {
      args.push_back(a);
    }
  }
  if (args.size() == 3 && args[0] == "to-mosquitto") return to_mosquitto(args[1], args[2], force);
  if (args.size() == 2 && args[0] == "info") return info(args[1]);
  usage(stderr);
  return 1;
}

}  // namespace

extern const cli::Subcommand kDb = {
    "db", "", "persistence files: convert mq's to Mosquitto's, show what one holds", add_options,
    run, cli::flag_specs<kFlags>};

}  // namespace mq::subcommands
