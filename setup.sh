#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and builds the static `build/mq`.
#   ./setup.sh           build dependencies + release build
#   ./setup.sh --test    also what the tests need (Mosquitto, paho-mqtt, pytest, clang, node)
set -euo pipefail
cd "$(dirname "$0")"

build_pkgs=(g++ meson ninja-build pkg-config libmbedtls-dev libargon2-dev libcxxopts-dev libgtest-dev)
test_pkgs=(mosquitto mosquitto-clients python3 python3-paho-mqtt python3-pytest openssl
           clang libclang-rt-14-dev procps strace podman runc lintian)

want=("${build_pkgs[@]}")
testing=0
[[ "${1:-}" == "--test" ]] && testing=1
((testing)) && want+=("${test_pkgs[@]}")
# Node.js and npm usually come with the machine (not from Debian); install Debian's only if absent.
((testing)) && ! command -v node >/dev/null && want+=(nodejs)
((testing)) && ! command -v npm >/dev/null && want+=(npm)

missing=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "Installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Chromium for the browser test: large, so a failed install only skips that test.
if ((testing)) && ! dpkg -s chromium >/dev/null 2>&1; then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null ||
    echo "warning: chromium could not be installed; the browser test will be skipped"
fi

# MQTT.js for the integration tests, from the npm registry (versions pinned by package-lock.json).
if ((testing)) && [[ ! -d tests/integration/js/node_modules/mqtt ]]; then
  (cd tests/integration/js && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
    echo "warning: npm could not install MQTT.js; its tests will be skipped"
fi

if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release >/dev/null
fi
ninja -C build mq
echo "Built build/mq ($(stat -c %s build/mq) bytes unstripped)."
