#!/usr/bin/env bash
# Regenerates packaging/order/startup.ld, the order of the code `mq serve` runs from start-up to
# idle (meson option startup_order), from a trace of that code. Run it when start-up code has
# changed much (packaging/rss.sh shows the idle VmRSS growing); a stale order still links and
# runs, it only leaves more of the binary resident.
#   packaging/order/update.sh [BUILD_DIR]        (default: build)
# How far the order has drifted from the code, without tracing anything:
#   packaging/order/mkorder.py --stale packaging/order/startup.ld build/mq.map
#
# Steps (each can be run by hand):
#   1. BUILD_DIR is a static x86-64 GCC build with startup_order on (the default), so that its
#      link wrote BUILD_DIR/mq.map, the linker map: which input section (a function, with
#      -ffunction-sections) lies at which address. The current order does not matter.
#   2. Valgrind's Lackey tool (`apt-get install valgrind`) runs BUILD_DIR/mq serve and logs
#      the address of every block of code entered (--trace-superblocks=yes;
#      --vex-guest-chase=no, so a block never runs on into a called function unseen): once
#      with the default configuration (-p 0) and once with a typical one (a listener,
#      persistence, a password file, an ACL file, sys_interval 2). Each run lasts until the
#      port file shows the broker listening and then 3 s, so the idle loop and the $SYS timer
#      are in; SIGKILL ends it, which leaves the shutdown code out.
#   3. mkorder.py maps every traced address to its input section through the map and writes
#      the sections in the order they first ran as a linker script fragment (startup.ld).
#   4. What Valgrind cannot show: its virtual CPU has no AVX-512 and no vDSO, so natively glibc
#      runs other string functions (mkorder.py adds the AVX-512VL "evex" versions of the AVX2
#      ones itself, but a CPU may pick others) and sets up the vDSO (dl-object.o, dl-lookup.o).
#      So mq is relinked with the new order and run natively, both configurations, under
#      `perf record -e page-faults -d` (`apt-get install linux-perf`): a code page fault
#      outside the ordered code names a function that ran natively, and mkorder.py --add
#      puts it first. A fault maps a whole 64-KiB window, hiding other functions in it, so this
#      repeats (relink, run) until no such fault is left, at most 5 times.
#   5. Compare packaging/rss.sh BUILD_DIR/mq with the binary before (the relinked one is in
#      BUILD_DIR; startup.ld is a link dependency, so ninja relinks after an edit too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bin=$build/mq
map=$build/mq.map
for f in "$bin" "$map"; do
  [[ -f $f ]] || { echo "update.sh: no $f (a static x86-64 build with -Dstartup_order=true)" >&2; exit 1; }
done
command -v valgrind >/dev/null || { echo "update.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
command -v perf >/dev/null || { echo "update.sh: perf is needed (apt-get install linux-perf)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/mq

work=$(mktemp -d)
pid=""
cleanup() {
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# run KIND NAME ARGS...: one run of `mq serve ARGS --port-file ...` under Valgrind (KIND
# lackey: $work/NAME.sb) or perf (KIND perf: $work/NAME.pf, "ip address" of each page fault),
# from start until $idle_secs after the broker listens; then SIGKILL.
run() {
  local kind=$1 name=$2 i mq_pid
  shift 2
  rm -f "$work/ports"
  if [[ $kind == lackey ]]; then
    valgrind --tool=lackey --trace-superblocks=yes --vex-guest-chase=no \
      --log-file="$work/$name.sb" "$bin" serve --port-file "$work/ports" "$@" \
      > "$work/$name.out" 2>&1 &
  else
    # A cold page cache makes more of the hidden functions fault (fault-around maps only
    # cached pages).
    { sync; echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null || true
    perf record -q -e page-faults -c 1 -d -o "$work/$name.data" \
      "$bin" serve --port-file "$work/ports" "$@" > "$work/$name.out" 2>&1 &
  fi
  pid=$!
  for ((i = 0; i < 600; i++)); do  # up to 60 s: start-up under Valgrind is slow
    [[ -s $work/ports ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.out" >&2; exit 1; }
    sleep 0.1
  done
  [[ -s $work/ports ]] || { echo "update.sh: $name: broker did not listen" >&2; exit 1; }
  sleep "$idle_secs"
  if [[ $kind == lackey ]]; then
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    echo "traced $name: $(grep -c '^SB' "$work/$name.sb") blocks" >&2
  else
    # perf's child is the broker: killed first, so perf writes its data and exits.
    mq_pid=$(pgrep -P "$pid" || true)
    [[ -n $mq_pid ]] && kill -KILL "$mq_pid"
    wait "$pid" 2>/dev/null || true
    perf script -i "$work/$name.data" -F ip,addr 2>/dev/null | awk '{ print $1, $2 }' \
      > "$work/$name.pf"
  fi
  pid=""
}

# The default configuration has sys_interval 10; one interval passes in the second run, which
# sets it to 2 (the same code).
idle_secs=3
run lackey default -p 0

# A typical configuration, written afresh for each run (a free port, empty persistence). The
# password file is made outside the traces.
printf 'alice:secret\n' > "$work/passwd"
"$bin" passwd -U "$work/passwd"
printf 'user alice\ntopic readwrite #\n' > "$work/acl"
typical_conf() {
  local port
  rm -rf "$work/data"
  mkdir -p "$work/data"
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  {
    echo "listener $port 127.0.0.1"
    echo "allow_anonymous false"
    echo "password_file $work/passwd"
    echo "acl_file $work/acl"
    echo "persistence true"
    echo "persistence_location $work/data/"
    echo "sys_interval 2"
    echo "log_dest stderr"
    # As root the broker would switch to user mosquitto, who cannot read $work.
    if (($(id -u) == 0)); then echo "user root"; fi
  } > "$work/mq.conf"
}
typical_conf
run lackey typical -c "$work/mq.conf"

/usr/bin/python3 "$here/mkorder.py" "$map" "$work/startup.ld" "$work/default.sb" "$work/typical.sb"
cp "$work/startup.ld" "$here/startup.ld"

for round in 1 2 3 4 5; do
  ninja -C "$build" mq > "$work/ninja.log" 2>&1 || { cat "$work/ninja.log" >&2; exit 1; }
  run perf default -p 0
  typical_conf
  run perf typical -c "$work/mq.conf"
  rc=0
  /usr/bin/python3 "$here/mkorder.py" --add "$here/startup.ld" "$map" \
    "$work/default.pf" "$work/typical.pf" || rc=$?
  ((rc == 3)) && break
  ((rc == 0)) || exit "$rc"
  echo "native round $round: added what ran outside the order" >&2
done
ninja -C "$build" mq > "$work/ninja.log" 2>&1 || { cat "$work/ninja.log" >&2; exit 1; }
echo "wrote $here/startup.ld ($(grep -c '^    \*' "$here/startup.ld") sections) and relinked $build/mq; compare packaging/rss.sh $build/mq" >&2
