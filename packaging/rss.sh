#!/usr/bin/env bash
# Prints the resident memory of an idle `mq serve`: VmRSS and its file-backed (pages of the
# binary) and anonymous parts, from /proc/PID/status. The page cache is dropped first, as the
# figures in the README are taken (root only; otherwise the figures are for a warm cache and a
# note says so). The broker is started with a free port (or with CONF), waited for until its
# port file shows it listening (no connection is made: that would run more code), left idle
# for SECS seconds and stopped by its pid.
#   packaging/rss.sh BIN [-c CONF] [--secs SECS] [--warm]
#     BIN       the mq binary (stripped or not: symbols are not loaded)
#     -c CONF   a mosquitto.conf to start with (its listeners; -p 0 is added otherwise)
#     --secs S  idle time before reading (default 1)
#     --warm    do not drop the page cache
set -euo pipefail

usage() { sed -n '2,12s/^# \{0,1\}//p' "$0"; exit "${1:-2}"; }
bin=""
conf=""
secs=1
warm=0
while (($#)); do
  case "$1" in
    -c) conf=${2:?-c needs a file}; shift 2 ;;
    --secs) secs=${2:?--secs needs a number}; shift 2 ;;
    --warm) warm=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "rss.sh: unknown option $1" >&2; usage ;;
    *) [[ -z $bin ]] || usage; bin=$1; shift ;;
  esac
done
[[ -n $bin ]] || usage
[[ -x $bin ]] || { echo "rss.sh: $bin is not executable" >&2; exit 2; }

work=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

args=(serve --port-file "$work/ports")
if [[ -n $conf ]]; then
  args+=(-c "$conf")
else
  args+=(-p 0)
fi

cache="cold page cache (dropped)"
if ((warm)); then
  cache="warm page cache (--warm)"
elif sync && { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
  :
else
  cache="warm page cache (/proc/sys/vm/drop_caches not writable: run as root for cold figures)"
fi

"$bin" "${args[@]}" > "$work/log" 2>&1 &
pid=$!
# Listening once the port file has its lines (written after every listener is bound).
for ((i = 0; i < 500; i++)); do
  [[ -s $work/ports ]] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "rss.sh: the broker exited:" >&2
    cat "$work/log" >&2
    exit 1
  fi
  sleep 0.01
done
[[ -s $work/ports ]] || { echo "rss.sh: the broker did not listen within 5 s" >&2; exit 1; }
sleep "$secs"
status=$(cat "/proc/$pid/status")
field() { awk -v k="$1:" '$1 == k { print $2 }' <<< "$status"; }
echo "$bin, idle ${secs} s, $cache"
printf 'VmRSS:   %6d kB\nRssFile: %6d kB\nRssAnon: %6d kB\n' \
  "$(field VmRSS)" "$(field RssFile)" "$(field RssAnon)"
