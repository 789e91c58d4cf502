#!/usr/bin/env bash
# Builds the static mq for ARM in build-<triplet>/ with Debian's cross compiler (meson cross
# file packaging/cross/<triplet>.ini) and prints its stripped size. With --test it also runs
# the unit tests under qemu-user-static (meson's exe_wrapper) and the smoke test
# tests/integration/test_cross.py (Debian's x86 clients against the ARM broker).
#   packaging/cross/build.sh [--test] [--mq-only] [aarch64-linux-gnu] [arm-linux-gnueabihf]
set -euo pipefail
cd "$(dirname "$0")/../.."
test=0
targets=()
triplets=()
for a in "$@"; do
  case "$a" in
    --test) test=1 ;;
    --mq-only) targets=(mq) ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) triplets+=("$a") ;;
  esac
done
((${#triplets[@]})) || triplets=(aarch64-linux-gnu arm-linux-gnueabihf)
for t in "${triplets[@]}"; do
  cross=packaging/cross/$t.ini
  [[ -f $cross ]] || { echo "no cross file $cross" >&2; exit 2; }
  dir=build-$t
  # mq's own mbedTLS build (packaging/mbedtls), cross-compiled; Debian's arm package when its
  # source cannot be fetched (exit status 3); any other failure stops here.
  mbedtls_args=()
  rc=0
  CC=$t-gcc AR=$t-ar packaging/mbedtls/build.sh "build-mbedtls-$t" || rc=$?
  case $rc in
    0) mbedtls_args=(-Dmbedtls_prefix="$PWD/build-mbedtls-$t") ;;
    3) ;;
    *) echo "mbedTLS cross build for $t failed" >&2; exit 1 ;;
  esac
  [[ -f $dir/build.ninja ]] || meson setup "$dir" --cross-file "$cross" --buildtype=release \
    "${mbedtls_args[@]}" \
    -Dtests=$([[ ${targets[*]:-} == mq ]] && echo false || echo true) >/dev/null
  ninja -C "$dir" "${targets[@]}"
  "$t-strip" -o "$dir/mq.stripped" "$dir/mq"
  echo "$t: $(file -b "$dir/mq" | cut -d, -f1-2); stripped $(stat -c %s "$dir/mq.stripped") bytes"
  if ((test)) && [[ ${targets[*]:-} != mq ]]; then
    meson test -C "$dir" --suite unit --print-errorlogs --num-processes 2 --timeout-multiplier 5
  fi
done
if ((test)); then
  MQ_CROSS_REQUIRED=$(IFS=,; echo "${triplets[*]}") \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_cross.py
fi
