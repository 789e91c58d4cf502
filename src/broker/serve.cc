// The broker process: configuration, logging, daemon mode, pid file, privilege drop, signals,
// then the event loop until SIGINT/SIGTERM.
#include "broker/serve.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <cstdio>
#include <cstring>

#include "base/allocator.h"
#include "base/file.h"
#include "base/log.h"
#include "base/sd_notify.h"
#include "base/version.h"
#include "broker/broker.h"
#include "broker/config/config.h"
#include "broker/listener.h"
#include "broker/shards.h"

namespace mq::broker {

namespace {

// Reads /etc/passwd and /etc/group directly: getpwnam() in a static binary loads NSS modules
// and can crash (TOOLCHAIN.md).
bool find_user(const std::string& name, uid_t* uid, gid_t* gid) {
  FILE* f = fopen("/etc/passwd", "re");
  if (!f) return false;
  bool found = false;
  while (passwd* pw = fgetpwent(f)) {
    if (name == pw->pw_name) {
      *uid = pw->pw_uid;
      *gid = pw->pw_gid;
      found = true;
      break;
    }
  }
  fclose(f);
  return found;
}

std::vector<gid_t> supplementary_groups(const std::string& user, gid_t primary) {
  std::vector<gid_t> groups{primary};
  FILE* f = fopen("/etc/group", "re");
  if (!f) return groups;
  while (group* g = fgetgrent(f)) {
    for (char** m = g->gr_mem; m && *m; m++)
      if (user == *m && g->gr_gid != primary) groups.push_back(g->gr_gid);
  }
  fclose(f);
  return groups;
}

// Mosquitto's rule: only when started as root; the configured user, or "nobody" when the
// default "mosquitto" user does not exist.
Status drop_privileges(const std::string& configured) {
  if (geteuid() != 0 || configured.empty()) return {};
  std::string user = configured;
  uid_t uid;
  gid_t gid;
  if (!find_user(user, &uid, &gid)) {
    if (user != "mosquitto" || !find_user("nobody", &uid, &gid))
      return make_error(ErrorKind::kConfig, "Error: Unable to drop privileges to '" + user +
                                                "' because this user does not exist.");
    user = "nobody";
  }
  std::vector<gid_t> groups = supplementary_groups(user, gid);
  if (setgroups(groups.size(), groups.data()) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
    return make_error(ErrorKind::kIo, std::string("Error: Unable to drop privileges to '") +
                                          user + "': " + strerror(errno));
  return {};
}

void configure_logging(const Config& c, const ServeOptions& o) {
  uint32_t mask = c.log_type;
  if (o.verbose) mask = kLogAll;
  if (o.quiet) mask = kLogNone;
  logger().set_mask(mask);
  logger().set_timestamp(c.log_timestamp, c.log_timestamp_format);
  std::vector<LogDest> dests = c.log_dest;
  if (o.daemon) std::erase(dests, LogDest::kStderr), std::erase(dests, LogDest::kStdout);
  if (!logger().set_destinations(dests, c.log_file)) {
    std::string why = access_problem(c.log_file, true);
    fprintf(stderr, "Error: Unable to open log file %s for writing.%s%s\n", c.log_file.c_str(),
            why.empty() ? "" : "\nError: ", why.empty() ? "" : (why + ".").c_str());
  }
}

bool write_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "we");
  if (!f) return false;
  bool ok = fputs(text.c_str(), f) >= 0;
  ok = (fclose(f) == 0) && ok;
  return ok && rename(tmp.c_str(), path.c_str()) == 0;
}

bool daemonise() {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid > 0) _exit(0);
  setsid();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
  return true;
}

// A persistence directory the broker's user cannot write loses every snapshot; Mosquitto only
// says so at the first save. Say it at start, naming the directory and the user.
void warn_persistence_dir(const Config& c) {
  if (!c.persistence) return;
  std::string why = access_problem(c.persistence_filepath + ".new", true);
  if (why.empty()) return;
  MQ_LOG(kLogWarning, "Warning: persistence snapshots to %s will fail: %s.",
         c.persistence_filepath.c_str(), why.c_str());
}

// --test-config: what start-up reads, read as start-up reads it (after the user switch), with
// start-up's messages and exit status; nothing is bound or written.
int test_config(const Config& config) {
  if (!config.pid_file.empty()) {
    std::string why = access_problem(config.pid_file, true);
    if (!why.empty()) {
      fprintf(stderr, "Error: Unable to write pid file.\nError: %s.\n", why.c_str());
      return 1;
    }
  }
  if (std::find(config.log_dest.begin(), config.log_dest.end(), LogDest::kFile) !=
      config.log_dest.end()) {
    std::string why = access_problem(config.log_file, true);
    if (!why.empty()) {  // start-up goes on without the file
      fprintf(stderr, "Error: Unable to open log file %s for writing.\nError: %s.\n",
              config.log_file.c_str(), why.c_str());
    }
  }
  warn_persistence_dir(config);
  auto loop = net::EventLoop::create(SystemClock::instance());
  if (!loop.ok()) {
    fprintf(stderr, "Error: %s\n", loop.error().context.c_str());
    return 1;
  }
  Broker broker(config, **loop);
  if (Status st = broker.check_startup(); !st.ok()) {
    fprintf(stderr, "%s\n", st.error().context.c_str());
    return broker.start_failure_status();
  }
  // Nothing is bound, but a port this user may not bind is known now (start-up binds after
  // loading the files above, so this comes last as there).
  for (const ListenerConfig& lc : config.listeners) {
    if (!lc.unix_socket_path.empty() || may_bind_port(lc.port)) continue;
    fprintf(stderr, "%s\nError: Unable to listen on port %u: Permission denied\n",
            privileged_port_hint().c_str(), unsigned(lc.port));
    return 1;
  }
  fprintf(stderr, "Configuration file is OK.\n");
  return 0;
}

}  // namespace

int serve(const ServeOptions& o) {
  tune_allocator_for_broker();
  Config config;
  if (!o.config_file.empty()) {
    auto loaded = load_config(o.config_file);
    if (!loaded.ok()) {
      fprintf(stderr, "%s\n", loaded.error().context.c_str());
      return 3;
    }
    config = std::move(*loaded);
  }
  apply_local_only_defaults(config, o.ports);
  SupportedFeatures supported;
  supported.unix_socket = true;
  supported.password_file = true;
  supported.acl_file = true;
  supported.tls = true;
  supported.psk = true;
  supported.websockets = true;
  supported.persistence = true;
  supported.bridge = true;
  Status st = check_supported(config, supported);
  if (!st.ok()) {
    fprintf(stderr, "%s\n", st.error().context.c_str());
    return 3;
  }
  // As Mosquitto 2.0 (verified with 2.0.11): the user switch comes straight after the
  // configuration is read, so the log and pid files, the persistence file, password and ACL
  // files, certificates and listening sockets are all opened as that user, at start as on
  // SIGHUP. A file start-up can read, a reload can read too.
  // --port-file (mq's own) is opened before the switch, like a file the caller hands over:
  // its ports are known only once bound, as the user.
  int port_fd = -1;
  if (!o.port_file.empty() && !o.test_config) {
    port_fd = open(o.port_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (port_fd < 0) {
      fprintf(stderr, "Error: Unable to write port file %s: %s.\n", o.port_file.c_str(),
              strerror(errno));
      return 1;
    }
  }
  Status dropped = drop_privileges(config.user);
  if (!dropped.ok()) {
    MQ_LOG(kLogError, "%s", dropped.error().context.c_str());
    return 1;
  }
  if (o.test_config) return test_config(config);

  configure_logging(config, o);
  if (o.daemon && !daemonise()) {
    fprintf(stderr, "Error: Unable to fork: %s\n", strerror(errno));
    return 1;
  }
  MQ_LOG(kLogNotice, "mq version %s (mosquitto 2.0 compatible) starting", kVersion);
  if (!config.config_file.empty())
    MQ_LOG(kLogNotice, "Config loaded from %s.", config.config_file.c_str());
  else
    MQ_LOG(kLogNotice, "Using default config.");
  for (const ConfigNote& n : config.notes) logger().log(n.type, n.text);
  if (config.local_only) {
    MQ_LOG(kLogWarning, "Starting in local only mode. Connections will only be possible from "
                        "clients running on this machine.");
    MQ_LOG(kLogWarning, "Create a configuration file which defines a listener to allow remote "
                        "access.");
    MQ_LOG(kLogWarning, "For more details see https://mosquitto.org/documentation/"
                        "authentication-methods/");
  }
  if (!config.pid_file.empty() && !write_file(config.pid_file, std::to_string(getpid()) + "\n")) {
    std::string why = access_problem(config.pid_file, true);
    MQ_LOG(kLogError, "Error: Unable to write pid file.%s%s", why.empty() ? "" : "\nError: ",
           why.empty() ? "" : (why + ".").c_str());
    return 1;
  }
  warn_persistence_dir(config);

  auto loop = net::EventLoop::create(SystemClock::instance());
  if (!loop.ok()) {
    MQ_LOG(kLogError, "Error: %s", loop.error().context.c_str());
    return 1;
  }
  net::EventLoop& ev = **loop;
  std::string config_file = config.config_file;
  Broker broker(std::move(config), ev);
  // thread_count > 1: the other shards, each with its loop (threads start after the signals
  // are blocked). Declared after `broker`: destroyed (threads joined) before it.
  std::unique_ptr<Shards> shards;
  if (broker.config().thread_count > 1) {
    auto made = Shards::create(broker);
    if (!made.ok()) {
      MQ_LOG(kLogError, "Error: %s", made.error().context.c_str());
      return 1;
    }
    shards = std::move(*made);
  }
  // systemd (Type=notify): readiness, reloads, stopping and the watchdog, when it asked.
  const SdNotifier notifier = SdNotifier::from_environment();
  // Watched before any socket is bound: a client or a supervisor may signal as soon as the
  // port answers (the signals wait in the signalfd until the loop runs).
  Status sig = ev.watch_signals({SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}, [&](int signo) {
    switch (signo) {
      case SIGINT:
      case SIGTERM:
        notifier.notify("STOPPING=1");
        ev.stop();
        break;
      case SIGHUP: {
        MQ_LOG(kLogNotice, "Reloading config.");
        if (config_file.empty()) break;
        notifier.notify_reloading();
        auto fresh = load_config(config_file);
        if (!fresh.ok()) {
          // Read at start before the user switch, now as that user.
          std::string why = access_problem(config_file);
          MQ_LOG(kLogError, "%s%s%s", fresh.error().context.c_str(),
                 why.empty() ? "" : "\nError: ", why.empty() ? "" : (why + ".").c_str());
          notifier.notify("READY=1");
          break;
        }
        if (broker.reload(*fresh) && shards) shards->reload(*fresh);
        configure_logging(broker.config(), o);
        logger().reopen();
        notifier.notify("READY=1");
        break;
      }
      case SIGUSR1:
        broker.save_now();
        break;
      case SIGUSR2:
        broker.dump_state();
        if (shards) shards->dump_state();
        break;
      default:
        break;
    }
  });
  if (!sig.ok()) {
    MQ_LOG(kLogError, "Error: %s", sig.error().context.c_str());
    return 1;
  }
  auto ports = broker.start();
  if (!ports.ok()) {
    MQ_LOG(kLogError, "%s", ports.error().context.c_str());
    return broker.start_failure_status();
  }
  if (shards) shards->start();
  if (port_fd >= 0) {
    std::string text;
    for (uint16_t p : *ports) text += std::to_string(p) + "\n";
    // One write into the empty file: a reader sees nothing or every line.
    bool ok = write(port_fd, text.data(), text.size()) == ssize_t(text.size());
    ok = close(port_fd) == 0 && ok;
    if (!ok) {
      MQ_LOG(kLogError, "Error: Unable to write port file %s.", o.port_file.c_str());
      return 1;
    }
  }

  MQ_LOG(kLogNotice, "mq version %s running", kVersion);
  notifier.notify("READY=1");  // listeners bound, privileges dropped, signals handled
  std::function<void()> watchdog;
  if (uint64_t usec = notifier.watchdog_usec()) {
    int64_t period_ms = std::max<int64_t>(1, int64_t(usec / 2000));  // twice per interval
    watchdog = [&, period_ms] {
      notifier.notify("WATCHDOG=1");
      ev.add_timer_in(period_ms, watchdog);
    };
    ev.add_timer_in(period_ms, watchdog);
  }
  ev.run();
  broker.shutdown();
  if (shards) shards->stop();
  MQ_LOG(kLogNotice, "mq version %s terminating", kVersion);
  if (!broker.config().pid_file.empty()) unlink(broker.config().pid_file.c_str());
  return 0;
}

}  // namespace mq::broker
