#!/usr/bin/env bash
# Runs `mq serve` and Debian's mosquitto side by side on 127.0.0.1 with
# mq_loadgen and prints medians, ratios and the raw per-run figures.
# See bench/README.md. Never fails on speed: it only prints figures.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/run.sh [options] [MQ_BINARY [LOADGEN]]

  MQ_BINARY          mq binary (default: $MQ_BIN, else build/mq or build/subcommands/mq); if its basename is
                     "mosquitto" it is started as `BIN -c CONF`, else `BIN serve -c CONF`
  LOADGEN            mq_loadgen (default: bench/mq_loadgen next to MQ_BINARY)
  --build DIR        build mq and bench/mq_loadgen in DIR with ninja first and use them
  --mosquitto BIN    reference broker (default: $MOSQUITTO_BIN or /usr/sbin/mosquitto)
  --reps N           repetitions per broker and case (default 3)
  --case LIST        comma-separated subset of: fanin0,fanin1,fanout0,fanout1,big1,idle,subs,retained
  --only WHICH       run one broker only: mq or mosquitto
  --secs T           publishing time per throughput run (default 4)
  --conns N          connections for idle and subs (default 10000)
  --retained N       retained messages for retained (default 100000)
  --quick            smoke run: 1 rep, 1 s per run, 1000 idle connections
  --keep DIR         keep configs, broker logs and raw results in DIR
  --threads N        give mq `thread_count N` (event loops; mosquitto has one)
EOF
}

MQ=${MQ_BIN:-}
LG=""
MOSQ=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
BUILD=""
REPS=3
CASES="fanin0,fanin1,fanout0,fanout1,big1,idle,subs,retained"
RETAINED=100000
ONLY=""
SECS=4
CONNS=10000
KEEP=""
QUICK=0
THREADS=""
positional=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --build) BUILD=$2; shift 2 ;;
    --mosquitto) MOSQ=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --case|--cases) CASES=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --retained) RETAINED=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --threads) THREADS=$2; shift 2 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
if [[ $QUICK == 1 ]]; then REPS=1; SECS=1; CONNS=1000; RETAINED=10000; fi
[[ ${#positional[@]} -ge 1 ]] && MQ=${positional[0]}
[[ ${#positional[@]} -ge 2 ]] && LG=${positional[1]}
mq_in() {  # the mq executable inside a build directory (top level or subcommands/)
  if [[ -x $1/mq || ! -e $1/subcommands/mq ]]; then echo "$1/mq"; else echo "$1/subcommands/mq"; fi
}
if [[ -n $BUILD ]]; then
  mq_target=mq
  ninja -C "$BUILD" -t query mq >/dev/null 2>&1 || mq_target=subcommands/mq
  ninja -C "$BUILD" "$mq_target" bench/mq_loadgen >&2
  [[ -n $MQ ]] || MQ=$(mq_in "$BUILD")
  [[ -n $LG ]] || LG=$BUILD/bench/mq_loadgen
fi
[[ -n $MQ ]] || MQ=$(mq_in build)
if [[ -z $LG ]]; then
  LG=$(dirname "$MQ")/bench/mq_loadgen
  [[ -x $LG ]] || LG=build/bench/mq_loadgen
fi

case "$ONLY" in
  "") BROKERS=(mq mosquitto) ;;
  mq|mosquitto) BROKERS=("$ONLY") ;;
  *) echo "run.sh: --only takes mq or mosquitto" >&2; exit 2 ;;
esac
[[ -x $LG ]] || { echo "run.sh: loadgen not found: $LG (build: ninja -C BUILD bench/mq_loadgen)" >&2; exit 2; }
for b in "${BROKERS[@]}"; do
  bin=$MQ; [[ $b == mosquitto ]] && bin=$MOSQ
  [[ -x $bin ]] || { echo "run.sh: $b binary not found: $bin" >&2; exit 2; }
done
IFS=, read -r -a CASE_LIST <<<"$CASES"
for c in "${CASE_LIST[@]}"; do
  case "$c" in fanin0|fanin1|fanout0|fanout1|big1|idle|subs|retained) ;;
    *) echo "run.sh: unknown case $c" >&2; exit 2 ;; esac
done

# Brokers and the load generator both need one descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < CONNS + 100 )); then
  echo "run.sh: RLIMIT_NOFILE $(ulimit -n) is too low for $CONNS idle connections" >&2
  exit 2
fi

WORK=${KEEP:-$(mktemp -d /tmp/mq-bench.XXXXXX)}
mkdir -p "$WORK"
BROKER_PID=""
LG_PID=""
cleanup() {
  [[ -n $LG_PID ]] && kill "$LG_PID" 2>/dev/null || true
  if [[ -n $BROKER_PID ]]; then
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  fi
  [[ -n $KEEP ]] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CLK_TCK=$(getconf CLK_TCK)
RAW=$WORK/raw.tsv
printf 'broker\tcase\trep\tstatus\trate\tcpu_us_per_msg\tbroker_cpu\tlost\tlg_cpu\trss_per_unit\trss_kib\tconnect_secs\tp50_us\tp99_us\tmb_per_s\n' >"$RAW"

cpu_ticks() {  # utime + stime of a process, all threads, in clock ticks
  local s
  s=$(<"/proc/$1/stat") || return 1
  s=${s##*) }  # drop "pid (comm) ": the rest starts at field 3 (state)
  awk '{ print $12 + $13 }' <<<"$s"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2" | head -n1; }
now() { date +%s.%N; }

start_broker() {  # name -> sets BROKER_PID, PORT
  local name=$1 conf=$WORK/$1.conf
  PORT=$("$LG" freeport)
  cat >"$conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 20
log_dest none
EOF
  if [[ $name == mq && -n $THREADS ]]; then echo "thread_count $THREADS" >>"$conf"; fi
  if [[ $name == mosquitto ]]; then
    "$MOSQ" -c "$conf" >>"$WORK/$name.log" 2>&1 &
  elif [[ $(basename "$MQ") == mosquitto ]]; then
    "$MQ" -c "$conf" >>"$WORK/$name.log" 2>&1 &
  else
    "$MQ" serve -c "$conf" >>"$WORK/$name.log" 2>&1 &
  fi
  BROKER_PID=$!
  local i up=0
  for i in $(seq 20); do  # up to ~10 s, giving up early if the broker exits
    kill -0 "$BROKER_PID" 2>/dev/null || break
    if "$LG" probe --port "$PORT" --timeout 0.5 2>/dev/null; then up=1; break; fi
  done
  if [[ $up == 0 ]]; then
    echo "run.sh: $name did not answer on port $PORT (log: $WORK/$name.log)" >&2
    stop_broker
    return 1
  fi
}

stop_broker() {
  [[ -n $BROKER_PID ]] || return 0
  kill "$BROKER_PID" 2>/dev/null || true
  local i
  for i in $(seq 50); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=""
}

fail() { record "$1" "$2" "$3" FAIL - - - - - - - - - - -; }
record() {  # broker case rep status rate cpu_us broker_cpu lost lg_cpu rss_per_unit rss connect p50 p99 mb/s
  local IFS=$'\t'
  echo "$*" >>"$RAW"
}

run_flow() {  # broker case rep
  local b=$1 c=$2 rep=$3 scen qos out rc=0 t0 t1 c0 c1 extra=()
  scen=${c%?}; qos=${c: -1}
  # big1: 256 KiB payloads, QoS 1, one publisher to 4 subscribers; windows sized in messages.
  if [[ $c == big1 ]]; then
    scen=fanout; extra=(--subs 4 --size 262144 --window 32 --inflight 16 --batch 8)
  fi
  start_broker "$b" || { fail "$b" "$c" "$rep"; return; }
  t0=$(now); c0=$(cpu_ticks "$BROKER_PID" || echo 0)
  out=$(timeout "$(awk -v s="$SECS" 'BEGIN { print int(s * 3 + 60) }')" "$LG" "$scen" --port "$PORT" --qos "$qos" --secs "$SECS" \
        "${extra[@]}" 2>>"$WORK/loadgen.log") || rc=$?
  c1=$(cpu_ticks "$BROKER_PID" || echo "$c0"); t1=$(now)
  stop_broker
  local line; line=$(grep '^result ' <<<"$out" || true)
  if [[ -z $line ]]; then fail "$b" "$c" "$rep"; return; fi
  local delivered rate lost lg mbps
  delivered=$(field delivered "$line"); rate=$(field rate "$line")
  lost=$(field lost "$line"); lg=$(field lg_cpu "$line")
  local st=ok; [[ $rc == 0 ]] || st=rc$rc
  local cpu_us util
  cpu_us=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$delivered" \
    'BEGIN { if (n > 0) printf "%.3f", t / hz * 1e6 / n; else print "-" }')
  util=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v a="$t0" -v z="$t1" \
    'BEGIN { printf "%.2f", t / hz / (z - a) }')
  mbps=$(awk -v r="$rate" -v s="$(field size "$line")" 'BEGIN { printf "%.1f", r * s / 1e6 }')
  record "$b" "$c" "$rep" "$st" "$rate" "$cpu_us" "$util" "$lost" "$lg" - - - \
    "$(field p50_us "$line")" "$(field p99_us "$line")" "$mbps"
  echo "  $b $c rep $rep: $line broker_cpu=$util cpu_us_per_msg=$cpu_us" >&2
}

run_idle() {  # broker case rep; case idle (connections), subs (each with a subscription) or
              # retained (retained messages from one connection)
  local b=$1 c=$2 rep=$3 out=$WORK/idle.out rss0 rss1 line ready="" i args
  case "$c" in
    idle) args=(idle --conns "$CONNS") ;;
    subs) args=(idle --conns "$CONNS" --subscribe 1) ;;
    retained) args=(retain --conns "$RETAINED" --size 64) ;;
  esac
  start_broker "$b" || { fail "$b" "$c" "$rep"; return; }
  sleep 0.2
  rss0=$(rss_kib "$BROKER_PID")
  : >"$out"
  "$LG" "${args[@]}" --port "$PORT" --hold 2 >"$out" 2>>"$WORK/loadgen.log" &
  LG_PID=$!
  for i in $(seq 1200); do  # up to 60 s for all connections
    ready=$(grep '^ready ' "$out" || true)
    [[ -n $ready ]] && break
    kill -0 "$LG_PID" 2>/dev/null || break
    sleep 0.05
  done
  sleep 0.5  # let the broker finish per-connection work after the last CONNACK
  rss1=$(rss_kib "$BROKER_PID" || echo 0)
  local rc=0
  wait "$LG_PID" || rc=$?
  LG_PID=""
  stop_broker
  line=$(grep '^result ' "$out" || true)
  if [[ -z $ready || -z $line ]]; then fail "$b" "$c" "$rep"; return; fi
  local connected per st=ok
  connected=$(field connected "$line")
  [[ $c == retained ]] && connected=$(field retained "$line")
  [[ $rc == 0 ]] || st=rc$rc
  per=$(awk -v a="$rss0" -v z="$rss1" -v n="$connected" \
    'BEGIN { if (n > 0) printf "%.0f", (z - a) * 1024 / n; else print "-" }')
  record "$b" "$c" "$rep" "$st" "$(field conn_rate "$line")" - - - "$(field lg_cpu "$line")" \
    "$per" "$rss1" "$(field connect_secs "$line")" - - -
  echo "  $b $c rep $rep: $line rss_before_kib=$rss0 rss_after_kib=$rss1 rss_per_unit=$per" >&2
}

echo "mq: $MQ" >&2
echo "mosquitto: $MOSQ ($("$MOSQ" -h 2>/dev/null | head -n1 || true))" >&2
echo "loadgen: $LG; reps=$REPS secs=$SECS conns=$CONNS cases=$CASES; $(nproc) cores${THREADS:+; mq thread_count $THREADS}" >&2
T_START=$(now)
for rep in $(seq "$REPS"); do
  for c in "${CASE_LIST[@]}"; do
    order=("${BROKERS[@]}")
    # Alternate which broker goes first so slow drifts in machine load even out.
    if (( rep % 2 == 0 && ${#order[@]} == 2 )); then order=("${order[1]}" "${order[0]}"); fi
    for b in "${order[@]}"; do
      case "$c" in
        idle|subs|retained) run_idle "$b" "$c" "$rep" ;;
        *) run_flow "$b" "$c" "$rep" ;;
      esac
    done
  done
done
T_END=$(now)

# ---- summary -------------------------------------------------------------
summary() {
  awk -F'\t' -v cases="$CASES" -v conns="$CONNS" -v secs="$SECS" -v retained="$RETAINED" '
    function median(key,   n, i, j, t, v) {
      n = cnt[key]; if (n == 0) return ""
      for (i = 1; i <= n; i++) v[i] = val[key, i]
      for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
      return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function add(b, c, m, x) { if (x != "-" && x != "") { k = b SUBSEP c SUBSEP m; val[k, ++cnt[k]] = x + 0 } }
    function fmt(x, d) {
      if (x == "") return "n/a"
      if (d == 0) { s = sprintf("%.0f", x); out = ""; while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }; return s out }
      return sprintf("%." d "f", x)
    }
    function row(c, label, m, d, better,   a, z, r) {
      a = median("mq" SUBSEP c SUBSEP m); z = median("mosquitto" SUBSEP c SUBSEP m)
      r = (a != "" && z != "" && z > 0) ? sprintf("%.2f", a / z) : "n/a"
      printf "| %s | %s | %s | %s | %s | %s |\n", title[c], label, fmt(a, d), fmt(z, d), r, better
    }
    NR == 1 { next }
    {
      if ($4 != "ok") { bad = bad sprintf("%s %s rep %s (%s); ", $1, $2, $3, $4); next }
      add($1, $2, "rate", $5); add($1, $2, "cpu", $6); add($1, $2, "util", $7); add($1, $2, "lost", $8)
      add($1, $2, "lg", $9); add($1, $2, "rsspc", $10); add($1, $2, "rss", $11); add($1, $2, "conn", $12)
      add($1, $2, "p50", $13); add($1, $2, "p99", $14); add($1, $2, "mbps", $15)
    }
    END {
      title["fanin0"] = "fan-in 8->1 QoS 0"; title["fanin1"] = "fan-in 8->1 QoS 1"
      title["fanout0"] = "fan-out 1->50 QoS 0"; title["fanout1"] = "fan-out 1->50 QoS 1"
      title["idle"] = sprintf("idle %d conns", conns)
      title["big1"] = "256 KiB 1->4 QoS 1"
      title["subs"] = sprintf("%d conns, 1 sub each", conns)
      title["retained"] = sprintf("%d retained, 64 B", retained)
      print "| case | figure (median) | mq | mosquitto | mq/mosquitto | better |"
      print "|---|---|---:|---:|---:|---|"
      n = split(cases, cl, ",")
      for (i = 1; i <= n; i++) {
        c = cl[i]
        if (c == "idle") {
          row(c, "broker RSS increase per connection (bytes)", "rsspc", 0, "lower")
          row(c, "broker RSS with all connected (KiB)", "rss", 0, "lower")
          row(c, "time to connect all (s)", "conn", 2, "lower")
        } else if (c == "subs") {
          row(c, "broker RSS increase per connection (bytes)", "rsspc", 0, "lower")
          row(c, "broker RSS with all subscribed (KiB)", "rss", 0, "lower")
        } else if (c == "retained") {
          row(c, "broker RSS increase per retained message (bytes)", "rsspc", 0, "lower")
          row(c, "broker RSS with all retained (KiB)", "rss", 0, "lower")
        } else {
          if (c == "big1") row(c, "payload MB/s delivered", "mbps", 1, "higher")
          row(c, "messages delivered per second", "rate", 0, "higher")
          row(c, "broker CPU per delivered message (us)", "cpu", 2, "lower")
          row(c, "broker CPU use (cores)", "util", 2, "info")
          row(c, "loadgen CPU use (cores)", "lg", 2, "info")
          row(c, "delivery latency p50 (us)", "p50", 0, "lower")
          row(c, "delivery latency p99 (us)", "p99", 0, "lower")
          if (c ~ /0$/) row(c, "QoS 0 messages lost per run", "lost", 0, "lower")
        }
      }
      if (bad != "") printf "\nLeft out of the medians (failed, or connections lost): %s\n", bad
    }' "$RAW"
}

echo
echo "## mq vs mosquitto ($(nproc) cores, loopback, medians of $REPS runs; ratio = mq/mosquitto)"
echo
summary
echo
echo "### raw runs"
echo
echo '```'
column -t -s $'\t' "$RAW"
echo '```'
echo
printf 'total time %.0f s\n' "$(awk -v a="$T_START" -v z="$T_END" 'BEGIN { print z - a }')"
