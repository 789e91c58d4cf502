#!/usr/bin/env bash
# Regenerates packaging/order/startup.ld, the order of the code `mq serve` runs from start-up to
# idle (meson option startup_order), from a trace of that code. Run it when start-up code has
# changed much (packaging/rss.sh shows the idle VmRSS growing); a stale order still links and
# runs, it only leaves more of the binary resident.
#   packaging/order/update.sh [BUILD_DIR]        (default: build)
#
# Steps (each can be run by hand):
#   1. BUILD_DIR is a static x86-64 GCC build with startup_order on (the default), so that its
#      link wrote BUILD_DIR/mq.map, the linker map: which input section (a function, with
#      -ffunction-sections) lies at which address. The current order does not matter.
#   2. Valgrind's Lackey tool (`apt-get install valgrind`) runs BUILD_DIR/mq serve and logs
#      the address of every block of code entered (--trace-superblocks=yes;
#      --vex-guest-chase=no, so a block never runs on into a called function unseen): once
#      with the default configuration (-p 0) and once with a typical one (a listener,
#      persistence, a password file, an ACL file). Each run goes on until the port file shows
#      the broker listening and then for one $SYS interval (sys_interval 2 here) and a bit, so
#      the idle loop and the $SYS timer are in; it is then killed with SIGKILL, which leaves
#      the shutdown code out.
#   3. mkorder.py maps every traced address to its input section through the map and writes
#      the sections in the order they first ran as a linker script fragment (startup.ld).
#   4. Rebuild (ninja -C BUILD_DIR mq relinks: startup.ld is a link dependency) and compare
#      packaging/rss.sh BUILD_DIR/mq before and after.
# Valgrind's virtual CPU has no AVX-512, so glibc's string functions run their AVX2 versions
# under it; mkorder.py adds the EVEX (AVX-512VL) versions of each, which such CPUs run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bin=$build/mq
map=$build/mq.map
for f in "$bin" "$map"; do
  [[ -f $f ]] || { echo "update.sh: no $f (a static x86-64 build with -Dstartup_order=true)" >&2; exit 1; }
done
command -v valgrind >/dev/null || { echo "update.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/mq

work=$(mktemp -d)
pid=""
cleanup() {
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# trace NAME ARGS...: one Lackey run of `mq serve ARGS --port-file ...`, log in $work/NAME.sb
trace() {
  local name=$1 i
  shift
  rm -f "$work/ports"
  valgrind --tool=lackey --trace-superblocks=yes --vex-guest-chase=no \
    --log-file="$work/$name.sb" "$bin" serve --port-file "$work/ports" "$@" \
    > "$work/$name.out" 2>&1 &
  pid=$!
  for ((i = 0; i < 600; i++)); do  # up to 60 s: start-up under Valgrind is slow
    [[ -s $work/ports ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.out" >&2; exit 1; }
    sleep 0.1
  done
  [[ -s $work/ports ]] || { echo "update.sh: $name: broker did not listen" >&2; exit 1; }
  sleep "$idle_secs"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  echo "traced $name: $(grep -c '^SB' "$work/$name.sb") blocks" >&2
}

# The default configuration has sys_interval 10; one interval passes in the second run, which
# sets it to 2 (the same code).
idle_secs=3
trace default -p 0

# A typical configuration. The password file is made outside the trace.
mkdir -p "$work/data"
printf 'alice:secret\n' > "$work/passwd"
"$bin" passwd -U "$work/passwd"
printf 'user alice\ntopic readwrite #\n' > "$work/acl"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/mq.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous false
password_file $work/passwd
acl_file $work/acl
persistence true
persistence_location $work/data/
autosave_interval 1800
sys_interval 2
log_dest stderr
$( (($(id -u) == 0)) && echo "user root")
EOF
trace typical -c "$work/mq.conf"

/usr/bin/python3 "$here/mkorder.py" "$map" "$work/default.sb" "$work/typical.sb" \
  > "$work/startup.ld"
mv "$work/startup.ld" "$here/startup.ld"
echo "wrote $here/startup.ld ($(grep -c '^    \*' "$here/startup.ld") sections); now: ninja -C $build mq && packaging/rss.sh $build/mq" >&2
