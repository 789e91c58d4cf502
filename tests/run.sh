#!/usr/bin/env bash
# Runs the tests and ends with one line "N passed, N failed".
#   tests/run.sh          unit tests (GoogleTest) + integration tests (pytest, real peers)
#   tests/run.sh --full   also the ASan+UBSan unit tests and a bounded libFuzzer run (what CI does)
set -uo pipefail
cd "$(dirname "$0")/.."
full=0
[[ "${1:-}" == "--full" ]] && full=1
py=/usr/bin/python3   # Debian's python, where python3-paho-mqtt and pytest live
reports=()
extra_pass=0
extra_fail=0

step() { echo; echo "=== $* ($(date +%T))"; }
# A meson build directory's test results: the JUnit log (one case per gtest test) and meson's
# own per-program results (a timeout or crash is only there; tests/count.py reads both).
meson_logs() { echo "$1/meson-logs/testlog.junit.xml" "$1/meson-logs/testlog.json"; }
clear_meson_reports() { rm -f $(meson_logs "$1"); }
add_meson_reports() {
  local f
  for f in $(meson_logs "$1"); do [[ -f $f ]] && reports+=("$f"); done
  return 0
}

# The --full builds run in one background chain (below). A step logs to build/<name>-build.log
# and ends by leaving its exit status in build/<name>.rc; a stage waits for that file alone.
chain_step() {  # NAME COMMAND...
  local name=$1 rc
  shift
  "$@" > "build/$name-build.log" 2>&1
  rc=$?
  echo "$rc" > "build/$name.rc.part" && mv "build/$name.rc.part" "build/$name.rc"
}
await_step() {  # NAME: prints the step's exit status (1 if the chain ended without one)
  while [[ ! -f build/$1.rc ]] && kill -0 "$build_chain" 2>/dev/null; do sleep 1; done
  cat "build/$1.rc" 2>/dev/null || echo 1
}
# The static build for TRIPLET in build-TRIPLET, with mq's mbedTLS cross-built for it
# (Debian's multiarch package when its source cannot be fetched: build.sh exit status 3).
cross_build() {  # TRIPLET
  local t=$1 mbedtls=() rc=0
  CC=$t-gcc AR=$t-ar packaging/mbedtls/build.sh "build-mbedtls-$t" || rc=$?
  case $rc in
    0) mbedtls=(-Dmbedtls_prefix="$PWD/build-mbedtls-$t") ;;
    3) ;;  # no source to build: Debian's multiarch package serves
    *) echo "mbedTLS cross build for $t failed"; return 1 ;;
  esac
  if [[ ! -f build-$t/build.ninja ]]; then
    # -O1 and no link-time optimisation: the two ARM builds are the end of the CI build chain,
    # and -O1 takes 3m54s against about 5m30s for armhf here (all 11 unit programs pass either
    # way under qemu). The shipped ARM builds are packaging/cross/build.sh's, fully optimised.
    # Unity build (a few sources per compiler run): the same code in fewer, larger compilations.
    meson setup "build-$t" --cross-file "packaging/cross/$t.ini" --buildtype=release \
      -Doptimization=1 -Dlto_mq=false -Dunity=on "${mbedtls[@]}" ||
      { echo "cross setup failed (packaging/cross/setup.sh $t?)"; return 1; }
  fi
  # What the stage runs: mq (test_cross.py) and the unit test programs (not bench/).
  ninja -C "build-$t" mq $(unit_targets "build-$t")
}
unit_targets() {  # BUILD_DIR: the unit test programs a build directory defines
  ninja -C "$1" -t targets all 2>/dev/null | grep -oE '^tests/unit/[a-z_]+/[a-z_]+_test:' | tr -d : |
    sort -u
}

# mq's own mbedTLS build (packaging/mbedtls, made by setup.sh) when it is there, for every build.
mbedtls_args=()
[[ -f build-mbedtls/lib/libmbedcrypto.a ]] && mbedtls_args=(-Dmbedtls_prefix="$PWD/build-mbedtls")

step "release build (static)"
[[ -f build/build.ninja ]] || meson setup build --buildtype=release "${mbedtls_args[@]}" >/dev/null
# With --full only mq here (setup.sh has built it): the unit test programs are the first step of
# the background chain below, and the integration tests, which need mq alone, start at once.
if ! ninja -C build mq $( ((full)) || unit_targets build); then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi
file build/mq

if ((full)); then
  # The unit test programs and the sanitizer, fuzz and ARM builds are the slow part of CI: they
  # start now at the lowest CPU priority and use what the integration tests leave idle (those
  # mostly wait on sockets), so the tests themselves still get the CPU first.
  # -O0 -g1: compiles about 40% faster than -O1 (measured on persist_broker_test.cc, 14 s vs
  # 24 s), and the unit tests are quick either way.
  # The sanitizer, fuzz and ARM builds are unity builds (-Dunity=on: meson compiles a few
  # sources of a target as one file), which saves the repeated headers and inline code.
  [[ -f build-asan/build.ninja ]] || meson setup build-asan --buildtype=plain -Doptimization=0 \
    -Dcpp_args=-g1 -Dstatic_exe=false -Db_sanitize=address,undefined -Db_lundef=false \
    -Dunity=on "${mbedtls_args[@]}" >/dev/null
  [[ -f build-fuzz/build.ninja ]] || CXX=clang++ meson setup build-fuzz --buildtype=debugoptimized \
    -Dfuzz=true -Dtests=false -Dstatic_exe=false -Db_sanitize=address,undefined -Db_lundef=false \
    -Dunity=on "${mbedtls_args[@]}" >/dev/null
  # Only the unit-test executables (not mq, bench) and the fuzz targets.
  release_targets=$(unit_targets build)
  asan_targets=$(unit_targets build-asan)
  fuzz_targets=$(ninja -C build-fuzz -t targets all 2>/dev/null | grep -oE '^tests/fuzz/[a-z_]+_fuzz:' | tr -d : | sort -u)
  # ThreadSanitizer: the threaded parts (auth/sync workers, EventLoop::post, the shared
  # password database) in one small test executable, and mq itself for the broker on two
  # event loops (thread_count 2, driven by tests/integration/test_threads.py).
  [[ -f build-tsan/build.ninja ]] || meson setup build-tsan --buildtype=plain -Doptimization=1 \
    -Dcpp_args=-g1 -Dstatic_exe=false -Db_sanitize=thread -Db_lundef=false -Dunity=on \
    "${mbedtls_args[@]}" >/dev/null
  tsan_targets="tests/unit/broker/auth_worker_test"
  # The static ARM builds (Debian's cross compilers; setup.sh --test installs them on x86-64):
  # their unit tests run under qemu-user-static and tests/integration/test_cross.py serves x86
  # clients from each. At -O1 and without link-time optimisation here, to keep CI short (the
  # shipped builds are packaging/cross/build.sh's).
  cross_triplets=()
  [[ $(uname -m) == x86_64 ]] && cross_triplets=(aarch64-linux-gnu arm-linux-gnueabihf)
  # One chain of builds, all of it at the lowest CPU priority, in the order the stages below
  # want them: each step leaves build/<step>.rc and a stage waits for its own step only, so the
  # ARM builds (the longest) never hold the ASan stage back.
  rm -f build/release.rc build/asan.rc build/tsan.rc build/fuzz.rc build/cross-*.rc
  ( renice -n 19 -p "$BASHPID" >/dev/null
    chain_step release ninja -C build $release_targets
    chain_step asan ninja -C build-asan $asan_targets
    chain_step tsan ninja -C build-tsan $tsan_targets mq
    chain_step fuzz ninja -C build-fuzz $fuzz_targets
    for t in "${cross_triplets[@]}"; do chain_step "cross-$t" cross_build "$t"; done ) &
  build_chain=$!
fi

unit_tests() {
  step "unit tests"
  if ((full)) && [[ $(await_step release) != 0 ]]; then
    tail -40 build/release-build.log
    echo "unit test build failed"; extra_fail=$((extra_fail + 1))
    return
  fi
  clear_meson_reports build
  meson test -C build --no-rebuild --suite unit --print-errorlogs --num-processes 2 || true
  add_meson_reports build
}
# With --full the unit tests wait for their build in the chain: the integration tests go first.
((full)) || unit_tests

if [[ -d tests/integration ]] && ls tests/integration/test_*.py >/dev/null 2>&1; then
  step "integration tests"
  # With --full the ARM builds are still being made in the background: their smoke tests run
  # after them, below.
  ignore=()
  ((full)) && ignore=(--ignore tests/integration/test_cross.py)
  MQ_BIN="$PWD/build/mq" timeout 900 "$py" -m pytest -q -p no:cacheprovider tests/integration \
    "${ignore[@]}" --junitxml=build/integration.junit.xml || true
  [[ -f build/integration.junit.xml ]] && reports+=(build/integration.junit.xml)
fi

if ((full)); then
  unit_tests

  step "ASan + UBSan unit tests"
  asan_rc=$(await_step asan)
  if [[ -n "$asan_targets" && "$asan_rc" == 0 ]]; then
    clear_meson_reports build-asan
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C build-asan --no-rebuild --suite unit --print-errorlogs --num-processes 2 \
        --timeout-multiplier 3 || true
    add_meson_reports build-asan
  else
    tail -40 build/asan-build.log
    echo "ASan build failed"; extra_fail=$((extra_fail + 1))
  fi

  step "ThreadSanitizer (worker threads, the broker on two event loops)"
  tsan_rc=$(await_step tsan)
  if [[ "$tsan_rc" == 0 ]]; then
    rm -f build-tsan/tsan.junit.xml
    # Repeated: a race shows up only on some interleavings. TSan exits non-zero on a report.
    if TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/$tsan_targets \
        --gtest_repeat=20 --gtest_output=xml:build-tsan/tsan.junit.xml >build-tsan/tsan.log 2>&1 \
        && [[ -s build-tsan/tsan.junit.xml ]]; then
      tail -1 build-tsan/tsan.log
      reports+=(build-tsan/tsan.junit.xml)
    else
      tail -60 build-tsan/tsan.log; echo "TSan run FAILED"; extra_fail=$((extra_fail + 1))
    fi
    # The broker on two loops, driven by real clients; a report ends it and lands in a file.
    rm -f build-tsan/tsan-mq.*
    if MQ_BIN="$PWD/build-tsan/mq" TSAN_OPTIONS="halt_on_error=1:log_path=$PWD/build-tsan/tsan-mq" \
        timeout 600 "$py" -m pytest -q -p no:cacheprovider tests/integration/test_threads.py \
        --junitxml=build-tsan/tsan-threads.junit.xml >build-tsan/tsan-threads.log 2>&1 \
        && ! compgen -G "build-tsan/tsan-mq.*" >/dev/null; then
      tail -1 build-tsan/tsan-threads.log
      reports+=(build-tsan/tsan-threads.junit.xml)
    else
      tail -30 build-tsan/tsan-threads.log; head -80 build-tsan/tsan-mq.* 2>/dev/null
      echo "TSan run of thread_count 2 FAILED"; extra_fail=$((extra_fail + 1))
    fi
  else
    tail -40 build/tsan-build.log
    echo "TSan build failed"; extra_fail=$((extra_fail + 1))
  fi

  step "fuzzing (libFuzzer, bounded)"
  fuzz_rc=$(await_step fuzz)
  if [[ -n "$fuzz_targets" && "$fuzz_rc" == 0 ]]; then
    for target in build-fuzz/tests/fuzz/*_fuzz; do
      [[ -x "$target" ]] || continue
      name=$(basename "$target" _fuzz)
      corpus=$(mktemp -d)
      cp -r "tests/fuzz/corpus/$name/." "$corpus/" 2>/dev/null || true
      if UBSAN_OPTIONS=halt_on_error=1 "$target" -max_total_time="${FUZZ_SECONDS:-30}" -timeout=10 \
          -rss_limit_mb=2048 -print_final_stats=1 "$corpus" 2>build-fuzz/"$name".log; then
        grep -E "stat::number_of_executed_units|exec/s" build-fuzz/"$name".log | tail -2
        echo "fuzz $name: ok"; extra_pass=$((extra_pass + 1))
      else
        tail -40 build-fuzz/"$name".log
        echo "fuzz $name: FAILED"; extra_fail=$((extra_fail + 1))
      fi
      rm -rf "$corpus"
    done
  else
    tail -40 build/fuzz-build.log
    echo "fuzz build failed"; extra_fail=$((extra_fail + 1))
  fi

  for t in "${cross_triplets[@]}"; do
    step "$t: unit tests under qemu-user-static, x86 clients against the ARM broker"
    if [[ $(await_step "cross-$t") == 0 ]]; then
      file "build-$t/mq"
      clear_meson_reports "build-$t"
      # Emulated TLS handshakes are slow: the net tests take about 40 s under qemu.
      meson test -C "build-$t" --no-rebuild --suite unit --print-errorlogs --num-processes 2 \
        --timeout-multiplier 5 || true
      add_meson_reports "build-$t"
      rm -f "build/cross-$t.junit.xml"
      MQ_CROSS_REQUIRED=$t timeout 300 "$py" -m pytest -q -p no:cacheprovider \
        tests/integration/test_cross.py -k "$t" --junitxml="build/cross-$t.junit.xml" || true
      [[ -f build/cross-$t.junit.xml ]] && reports+=("build/cross-$t.junit.xml")
    else
      tail -40 "build/cross-$t-build.log"
      echo "$t build failed"; extra_fail=$((extra_fail + 1))
    fi
  done
  wait "$build_chain"
fi

step "summary"
"$py" tests/count.py --extra-pass "$extra_pass" --extra-fail "$extra_fail" "${reports[@]}"
