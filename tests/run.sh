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

# mq's own mbedTLS build (packaging/mbedtls, made by setup.sh) when it is there, for every build.
mbedtls_args=()
[[ -f build-mbedtls/lib/libmbedcrypto.a ]] && mbedtls_args=(-Dmbedtls_prefix="$PWD/build-mbedtls")

step "release build (static)"
[[ -f build/build.ninja ]] || meson setup build --buildtype=release "${mbedtls_args[@]}" >/dev/null
if ! ninja -C build; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi
file build/mq

if ((full)); then
  # The sanitizer and fuzz builds are the slow part of CI: they start now at the lowest CPU
  # priority and use what the unit and integration tests leave idle (those mostly wait on
  # sockets), so the tests themselves still get the CPU first.
  # -O0 -g1: compiles about 40% faster than -O1 (measured on persist_broker_test.cc, 14 s vs
  # 24 s), and the unit tests are quick either way.
  [[ -f build-asan/build.ninja ]] || meson setup build-asan --buildtype=plain -Doptimization=0 \
    -Dcpp_args=-g1 -Dstatic_exe=false -Db_sanitize=address,undefined -Db_lundef=false \
    "${mbedtls_args[@]}" >/dev/null
  [[ -f build-fuzz/build.ninja ]] || CXX=clang++ meson setup build-fuzz --buildtype=debugoptimized \
    -Dfuzz=true -Dtests=false -Dstatic_exe=false -Db_sanitize=address,undefined -Db_lundef=false \
    "${mbedtls_args[@]}" >/dev/null
  # Only the unit-test executables (not mq, bench) and the fuzz targets.
  asan_targets=$(ninja -C build-asan -t targets all 2>/dev/null | grep -oE '^tests/unit/[a-z_]+/[a-z_]+_test:' | tr -d : | sort -u)
  fuzz_targets=$(ninja -C build-fuzz -t targets all 2>/dev/null | grep -oE '^tests/fuzz/[a-z_]+_fuzz:' | tr -d : | sort -u)
  # ThreadSanitizer: only the threaded parts (auth/sync workers, EventLoop::post, the shared
  # password database), in one small test executable; the rest of mq is single-threaded.
  [[ -f build-tsan/build.ninja ]] || meson setup build-tsan --buildtype=plain -Doptimization=1 \
    -Dcpp_args=-g1 -Dstatic_exe=false -Db_sanitize=thread -Db_lundef=false "${mbedtls_args[@]}" \
    >/dev/null
  tsan_targets="tests/unit/broker/auth_worker_test"
  # and mq itself, for the broker on two event loops (thread_count 2: test_threads.py)
  # The static aarch64 build (Debian's cross compiler; setup.sh --test installs it on x86-64):
  # its unit tests run under qemu-user-static and tests/integration/test_cross.py serves x86
  # clients from it. Without link-time optimisation here, to keep CI short (the shipped build
  # is packaging/cross/build.sh's).
  cross=""
  if [[ $(uname -m) == x86_64 ]]; then
    cross=aarch64-linux-gnu
    cross_mbedtls=()
    if CC=$cross-gcc AR=$cross-ar packaging/mbedtls/build.sh build-mbedtls-$cross \
        > build/cross-mbedtls.log 2>&1; then
      cross_mbedtls=(-Dmbedtls_prefix="$PWD/build-mbedtls-$cross")
    fi
    [[ -f build-$cross/build.ninja ]] || meson setup build-$cross \
      --cross-file packaging/cross/$cross.ini --buildtype=release -Dlto_mq=false \
      "${cross_mbedtls[@]}" \
      > build/cross-setup.log 2>&1 || echo "cross setup failed (packaging/cross/setup.sh $cross?)"
  fi
  rm -f build/sanitizer-builds.rc
  ( nice -n 19 ninja -C build-asan $asan_targets > build/asan-build.log 2>&1; a=$?
    nice -n 19 ninja -C build-fuzz $fuzz_targets > build/fuzz-build.log 2>&1; f=$?
    nice -n 19 ninja -C build-tsan $tsan_targets mq > build/tsan-build.log 2>&1; t=$?
    c=0
    if [[ -n $cross ]]; then
      if [[ -f build-$cross/build.ninja ]]; then
        nice -n 19 ninja -C build-$cross > build/cross-build.log 2>&1; c=$?
      else
        c=1
      fi
    fi
    echo "$a $f $t $c" > build/sanitizer-builds.rc ) &
  sanitizer_builds=$!
fi

step "unit tests"
clear_meson_reports build
meson test -C build --suite unit --print-errorlogs --num-processes 2 || true
add_meson_reports build

if [[ -d tests/integration ]] && ls tests/integration/test_*.py >/dev/null 2>&1; then
  step "integration tests"
  # With --full the cross build is still being made in the background: its smoke test runs
  # after it, below.
  ignore=()
  ((full)) && ignore=(--ignore tests/integration/test_cross.py)
  MQ_BIN="$PWD/build/mq" timeout 900 "$py" -m pytest -q -p no:cacheprovider tests/integration \
    "${ignore[@]}" --junitxml=build/integration.junit.xml || true
  [[ -f build/integration.junit.xml ]] && reports+=(build/integration.junit.xml)
fi

if ((full)); then
  step "ASan + UBSan unit tests"
  wait "$sanitizer_builds"
  read -r asan_rc fuzz_rc tsan_rc cross_rc < build/sanitizer-builds.rc ||
    { asan_rc=1; fuzz_rc=1; tsan_rc=1; cross_rc=1; }
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

  if [[ -n $cross ]]; then
    step "$cross: unit tests under qemu-user-static, x86 clients against the ARM broker"
    if [[ "$cross_rc" == 0 ]]; then
      file "build-$cross/mq"
      clear_meson_reports "build-$cross"
      # Emulated TLS handshakes are slow: the net tests take about 40 s under qemu.
      meson test -C "build-$cross" --no-rebuild --suite unit --print-errorlogs --num-processes 2 \
        --timeout-multiplier 5 || true
      add_meson_reports "build-$cross"
      MQ_CROSS_REQUIRED=$cross timeout 300 "$py" -m pytest -q -p no:cacheprovider \
        tests/integration/test_cross.py -k "$cross" --junitxml=build/cross.junit.xml || true
      [[ -f build/cross.junit.xml ]] && reports+=(build/cross.junit.xml)
    else
      tail -40 build/cross-build.log 2>/dev/null || cat build/cross-setup.log
      echo "$cross build failed"; extra_fail=$((extra_fail + 1))
    fi
  fi

  step "fuzzing (libFuzzer, bounded)"
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
fi

step "summary"
"$py" tests/count.py --extra-pass "$extra_pass" --extra-fail "$extra_fail" "${reports[@]}"
