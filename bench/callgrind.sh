#!/bin/bash
# Broker instructions per delivered message, counted by callgrind: an A/B figure that does not
# depend on what else the machine is doing (wall-clock runs on shared machines are noisy).
#   bench/callgrind.sh BROKER CASE MSGS [LOADGEN]
#     BROKER   an mq binary (started as `BROKER serve -c`), or one named mosquitto (`-c`)
#     CASE     fanin0 | fanin1 | fanout0 | fanout1 | big1 (bench/run.sh's flow cases)
#     MSGS     messages to publish (100000 or more amortises start-up and shutdown)
#     LOADGEN  default build/bench/mq_loadgen
# Prints: CASE msgs=N delivered=D Ir=TOTAL Ir/msg=TOTAL/D. KEEP=FILE keeps the callgrind output.
# Needs valgrind. The config says `user root`: as root the broker would otherwise drop to an
# unprivileged user and callgrind could no longer write its output file.
set -euo pipefail
[[ $# -ge 3 ]] || { sed -n '2,11p' "$0" >&2; exit 2; }
MQ=$1 C=$2 N=$3 LG=${4:-build/bench/mq_loadgen}
W=$(mktemp -d /tmp/mq-callgrind.XXXXXX)
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
PORT=$("$LG" freeport)
cat >"$W/c.conf" <<EOC
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 20
log_dest none
user root
EOC
scen=${C%?} qos=${C: -1} extra=()
if [[ $C == big1 ]]; then scen=fanout; extra=(--subs 4 --size 262144 --window 32 --inflight 16 --batch 8); fi
case $scen in fanin|fanout) ;; *) echo "callgrind.sh: unknown case $C" >&2; exit 2 ;; esac
if [[ $(basename "$MQ") == mosquitto ]]; then args=(-c "$W/c.conf"); else args=(serve -c "$W/c.conf"); fi
valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$MQ" "${args[@]}" >"$W/log" 2>&1 &
P=$!
up=0
for _ in $(seq 60); do
  if "$LG" probe --port "$PORT" --timeout 0.5 2>/dev/null; then up=1; break; fi
  kill -0 "$P" 2>/dev/null || break
done
if [[ $up == 0 ]]; then echo "callgrind.sh: the broker did not start ($(tail -3 "$W/log"))" >&2; kill "$P" 2>/dev/null; exit 1; fi
out=$("$LG" "$scen" --port "$PORT" --qos "$qos" --msgs "$N" --secs 600 --timeout 600 "${extra[@]}" 2>>"$W/lg.log" || true)
kill -TERM "$P"
wait "$P" || true
line=$(grep '^result ' <<<"$out" || true)
d=$(sed -n 's/.* delivered=\([0-9]*\).*/\1/p' <<<"$line")
ir=$(callgrind_annotate "$W/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
[[ -n ${KEEP:-} ]] && cp "$W/cg.out" "$KEEP"
echo "$C msgs=$N delivered=${d:-0} Ir=${ir:-?} Ir/msg=$(awk -v a="${ir:-0}" -v b="${d:-0}" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "-" }')"
