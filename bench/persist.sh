#!/usr/bin/env bash
# Persistence benchmark (issue 8): QoS 1 throughput and broker CPU per message with persistence
# off / on (journal) / on + persistence_fsync for mq, and Debian's mosquitto without and with
# persistence; then start-up time with 100,000 retained messages and 10,000 persistent sessions.
# Prints figures only (medians of --reps runs), never fails on speed.
#
#   bench/persist.sh [--build DIR] [--reps N] [--secs T] [--retained N] [--sessions N]
#                    [--case fanin1p,fanout1p] [--skip-startup] [MQ_BINARY [LOADGEN]]
#
# Cases: fanin1p = 8 publishers -> 1 subscriber, fanout1p = 1 publisher -> 50 subscribers; QoS 1,
# 64-byte payloads, subscribers with clean session 0 (so every message is queued for, and
# journaled to, a persistent session). Same broker options as bench/run.sh otherwise.
set -euo pipefail

MQ=${MQ_BIN:-}
LG=""
MOSQ=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
BUILD=""
REPS=3
SECS=4
RETAINED=100000
SESSIONS=10000
CASES="fanin1p,fanout1p"
STARTUP=1
positional=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --retained) RETAINED=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    --case|--cases) CASES=$2; shift 2 ;;
    --skip-startup) STARTUP=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "persist.sh: unknown option $1" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
[[ ${#positional[@]} -ge 1 ]] && MQ=${positional[0]}
[[ ${#positional[@]} -ge 2 ]] && LG=${positional[1]}
if [[ -n $BUILD ]]; then
  ninja -C "$BUILD" mq bench/mq_loadgen >&2
  [[ -n $MQ ]] || MQ=$BUILD/mq
  [[ -n $LG ]] || LG=$BUILD/bench/mq_loadgen
fi
[[ -n $MQ ]] || MQ=build/mq
[[ -n $LG ]] || LG=$(dirname "$MQ")/bench/mq_loadgen
HERE=$(cd "$(dirname "$0")" && pwd)
for f in "$MQ" "$LG" "$MOSQ"; do [[ -x $f ]] || { echo "persist.sh: not found: $f" >&2; exit 2; }; done

WORK=$(mktemp -d /tmp/mq-persist-bench.XXXXXX)
BROKER_PID=""
cleanup() {
  if [[ -n $BROKER_PID ]]; then kill -KILL "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { local s; s=$(<"/proc/$1/stat") || return 1; s=${s##*) }; awk '{ print $12 + $13 }' <<<"$s"; }
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2" | head -n1; }
now() { date +%s.%N; }

VARIANTS=(mq-off mq-journal mq-fsync mosquitto-off mosquitto-on)

write_conf() {  # variant dir -> conf path; sets PORT
  local v=$1 d=$2
  PORT=$("$LG" freeport)
  mkdir -p "$d"
  {
    echo "listener $PORT 127.0.0.1"
    echo "allow_anonymous true"
    echo "max_queued_messages 1000000"
    echo "max_inflight_messages 20"
    echo "log_dest file $d/broker.log"
    if [[ $(id -u) == 0 ]]; then echo "user root"; fi
    case $v in
      *-off) echo "persistence false" ;;
      *) echo "persistence true"; echo "persistence_location $d/" ;;
    esac
    if [[ $v == mq-fsync ]]; then echo "persistence_fsync true"; fi
  } >"$d/broker.conf"
}

launch() {  # variant dir
  if [[ $1 == mosquitto* ]]; then "$MOSQ" -c "$2/broker.conf" >>"$2/stdout" 2>&1 &
  else "$MQ" serve -c "$2/broker.conf" >>"$2/stdout" 2>&1 & fi
  BROKER_PID=$!
}

wait_ready() {  # polls until CONNECT is answered; prints seconds since $1
  local t0=$1 i
  for i in $(seq 6000); do
    kill -0 "$BROKER_PID" 2>/dev/null || { echo "persist.sh: broker exited" >&2; return 1; }
    if "$LG" probe --port "$PORT" --timeout 0.2 2>/dev/null; then
      awk -v a="$t0" -v z="$(now)" 'BEGIN { printf "%.3f", z - a }'; return 0
    fi
    sleep 0.01
  done
  return 1
}

stop_broker() {  # SIGTERM (clean shutdown, final snapshot), SIGKILL after 60 s
  [[ -n $BROKER_PID ]] || return 0
  kill "$BROKER_PID" 2>/dev/null || true
  local i; for i in $(seq 600); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=""
}

kill9_broker() {
  kill -KILL "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=""
}

RAW=$WORK/raw.tsv
: >"$RAW"
run_flow() {  # variant case rep
  local v=$1 c=$2 rep=$3 d=$WORK/$1-$2-$3 scen out c0 c1 line
  scen=${c%1p}
  write_conf "$v" "$d"
  launch "$v" "$d"
  wait_ready "$(now)" >/dev/null || { echo -e "$v\t$c\t$rep\tFAIL" >>"$RAW"; stop_broker; return; }
  c0=$(cpu_ticks "$BROKER_PID")
  out=$(timeout $((SECS * 3 + 60)) "$LG" "$scen" --port "$PORT" --qos 1 --secs "$SECS" \
        --persistent-subs 1 2>>"$WORK/loadgen.log") || true
  c1=$(cpu_ticks "$BROKER_PID" || echo "$c0")
  stop_broker
  line=$(grep '^result ' <<<"$out" || true)
  [[ -n $line ]] || { echo -e "$v\t$c\t$rep\tFAIL" >>"$RAW"; return; }
  local delivered rate cpu
  delivered=$(field delivered "$line"); rate=$(field rate "$line")
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$delivered" \
    'BEGIN { if (n > 0) printf "%.3f", t / hz * 1e6 / n; else print "-" }')
  echo -e "$v\t$c\t$rep\tok\t$rate\t$cpu" >>"$RAW"
  echo "  $v $c rep $rep: rate=$rate cpu_us_per_msg=$cpu" >&2
}

echo "mq: $MQ; mosquitto: $MOSQ; loadgen: $LG; reps=$REPS secs=$SECS; $(nproc) cores" >&2
IFS=, read -r -a CASE_LIST <<<"$CASES"
for rep in $(seq "$REPS"); do
  for c in "${CASE_LIST[@]}"; do
    for v in "${VARIANTS[@]}"; do run_flow "$v" "$c" "$rep"; done
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "## QoS 1 with persistent subscribers (loopback, $(nproc) cores, medians of $REPS runs of ${SECS} s)"
echo
echo "| case | broker | messages delivered/s | broker CPU per message (us) |"
echo "|---|---|---:|---:|"
for c in "${CASE_LIST[@]}"; do
  for v in "${VARIANTS[@]}"; do
    r=$(awk -F'\t' -v v="$v" -v c="$c" '$1 == v && $2 == c && $4 == "ok" { print $5 }' "$RAW" | median)
    u=$(awk -F'\t' -v v="$v" -v c="$c" '$1 == v && $2 == c && $4 == "ok" && $6 != "-" { print $6 }' "$RAW" | median)
    printf '| %s | %s | %.0f | %.2f |\n' "$c" "$v" "$r" "$u"
  done
done
if grep -q FAIL "$RAW"; then echo; echo "failed runs: $(grep FAIL "$RAW" | cut -f1-3 | tr '\t\n' ' ;')"; fi

[[ $STARTUP == 1 ]] || exit 0
echo
echo "## Start-up with $RETAINED retained messages and $SESSIONS persistent sessions"
echo
echo "| broker | how it stopped | time until CONNECT answered (s) | files |"
echo "|---|---|---:|---|"
for v in mq-journal mosquitto-on; do
  d=$WORK/startup-$v
  write_conf "$v" "$d"
  launch "$v" "$d"
  wait_ready "$(now)" >/dev/null
  python3 "$HERE/persist_populate.py" "$PORT" "$RETAINED" "$SESSIONS" >&2
  if [[ $v == mq-journal ]]; then
    sleep 0.5
    kill9_broker  # everything is in the journal: replay + start-up snapshot
    sz=$(du -sh "$d"/mosquitto.db* | awk '{ printf "%s %s; ", $2, $1 }' | sed "s|$d/||g")
    launch "$v" "$d"; t=$(wait_ready "$(now)")
    echo "| mq | kill -9 (journal replay) | $t | $sz |"
  fi
  stop_broker
  sz=$(du -sh "$d"/mosquitto.db* | awk '{ printf "%s %s; ", $2, $1 }' | sed "s|$d/||g")
  launch "$v" "$d"; t=$(wait_ready "$(now)")
  echo "| ${v%-on} | clean shutdown (snapshot) | $t | $sz |" | sed 's/mq-journal/mq/'
  stop_broker
done
