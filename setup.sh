#!/usr/bin/env bash
# Sets up a fresh Debian 12 (or 13) machine and builds the static `build/mq`. On Debian 12 it
# adds Debian 13 as an apt source pinned to the mbedTLS packages and installs mbedTLS 3.6 LTS.
#   ./setup.sh           build dependencies + release build
#   ./setup.sh --test    also what the tests need (Mosquitto, paho-mqtt, pytest, clang, node)
set -euo pipefail
cd "$(dirname "$0")"

build_pkgs=(g++ meson ninja-build pkg-config make patch python3 libmbedtls-dev libargon2-dev libcxxopts-dev
            libgtest-dev)
# nats-server: the 3-node clustered MQTT broker the edge-to-cluster bridge tests start.
test_pkgs=(mosquitto mosquitto-clients python3 python3-paho-mqtt python3-pytest openssl
           clang libclang-rt-14-dev procps strace podman runc lintian nats-server)

want=("${build_pkgs[@]}")
testing=0
[[ "${1:-}" == "--test" ]] && testing=1
((testing)) && want+=("${test_pkgs[@]}")
# Node.js and npm usually come with the machine (not from Debian); install Debian's only if absent.
((testing)) && ! command -v node >/dev/null && want+=(nodejs)
((testing)) && ! command -v npm >/dev/null && want+=(npm)

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
apt_updated=0

# A mirror in mid-sync or one unreachable index (a foreign architecture's, say) makes apt-get
# update fail although the indexes we need are fine: retry, then go on with a warning; a package
# that really cannot be found then fails the install below with apt's own message.
apt_update() {
  local try
  for try in 1 2 3; do
    $sudo apt-get update -qq && { apt_updated=1; return 0; }
    echo "warning: apt-get update failed (try $try of 3)" >&2
    ((try < 3)) && sleep $((try * 10))
  done
  echo "warning: apt-get update kept failing; going on with the indexes it could fetch" >&2
  apt_updated=1
}
apt_install() {  # PACKAGES...: one retry after a fresh index update (a mirror caught mid-sync)
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null && return 0
  echo "warning: apt-get install failed; updating the indexes and trying once more" >&2
  apt_update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# mq needs mbedTLS 3.6 LTS (TLS 1.3; 2.28 is end of life). Debian 13 ships it as libmbedtls-dev;
# on Debian 12 it comes from Debian 13 through an apt source that a pin limits to the mbedTLS
# packages, so nothing else on the machine moves to Debian 13. Written every run (idempotent).
trixie_source=/etc/apt/sources.list.d/mq-trixie-mbedtls.sources
trixie_pin=/etc/apt/preferences.d/mq-trixie-mbedtls
write_if_changed() {  # PATH CONTENT: rewrites PATH only when CONTENT differs; 0 if rewritten
  if [[ -f "$1" ]] && [[ "$(cat "$1")" == "$2" ]]; then return 1; fi
  printf '%s\n' "$2" | $sudo tee "$1" >/dev/null
}
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [[ "$codename" == "bookworm" ]]; then
  changed=0
  write_if_changed "$trixie_source" "# Debian 13 (trixie), used only for mbedTLS 3.6 LTS (see $trixie_pin).
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" && changed=1
  write_if_changed "$trixie_pin" "# Nothing comes from Debian 13 (trixie) except the mbedTLS 3.6 packages.
Package: *
Pin: release n=trixie
Pin-Priority: 1

Package: libmbedtls* libmbedcrypto* libmbedx509*
Pin: release n=trixie
Pin-Priority: 990" && changed=1
  policy=$(apt-cache policy libmbedtls-dev 2>/dev/null || true)  # no pipe: grep -q + pipefail
  if ((changed)) || [[ "$policy" != *trixie* ]]; then
    apt_update
  fi
fi

# Installed for this machine's architecture (or arch-independent). `dpkg -s NAME` fails as
# ambiguous once a foreign architecture's copy is installed too (the cross builds' arm64 ones).
native=$(dpkg --print-architecture)
installed() {  # NAME [ARCH]: without ARCH, this machine's or arch-independent
  dpkg-query -W -f='${Architecture} ${db:Status-Status}\n' "$1${2:+:$2}" 2>/dev/null |
    grep -Eq "^(${2:-$native|all}) installed$"
}
missing=()
for p in "${want[@]}"; do
  installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing: ${missing[*]}"
  ((apt_updated)) || apt_update
  apt_install "${missing[@]}"
fi

# An older libmbedtls-dev (Debian 12's 2.28) is replaced by 3.6 (through the pin on Debian 12).
mbedtls_version=$(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null || true)
if ! dpkg --compare-versions "${mbedtls_version:-0}" ge 3.6; then
  echo "Installing libmbedtls-dev 3.6 (found ${mbedtls_version:-none})"
  ((apt_updated)) || apt_update
  apt_install libmbedtls-dev
  mbedtls_version=$(dpkg-query -W -f='${Version}' libmbedtls-dev)
  if ! dpkg --compare-versions "$mbedtls_version" ge 3.6; then
    echo "error: libmbedtls-dev $mbedtls_version installed; mq needs 3.6 or newer" >&2
    exit 1
  fi
fi

# The static aarch64 and armhf builds that `tests/run.sh --full` runs under qemu-user-static (on
# x86-64). Only a toolchain with something missing is installed: a second run installs nothing.
if ((testing)) && [[ $native == amd64 ]]; then
  cross_missing=()
  for t in aarch64-linux-gnu:arm64:aarch64 arm-linux-gnueabihf:armhf:arm; do
    IFS=: read -r triplet arch qemu <<<"$t"
    command -v "$triplet-g++" >/dev/null && command -v "qemu-$qemu-static" >/dev/null &&
      installed libmbedtls-dev "$arch" && installed libgtest-dev "$arch" &&
      installed libargon2-dev "$arch" || cross_missing+=("$triplet")
  done
  if ((${#cross_missing[@]})); then
    packaging/cross/setup.sh "${cross_missing[@]}"
  fi
fi

# Chromium for the browser test: large, so a failed install only skips that test.
if ((testing)) && ! installed chromium; then
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

# mq links its own build of the same mbedTLS 3.6 release (Debian 13's source, a trimmed
# configuration: packaging/mbedtls/). Should that fail (no mirror), Debian's package serves.
mbedtls_args=()
mbedtls_rc=0
packaging/mbedtls/build.sh build-mbedtls || mbedtls_rc=$?
case $mbedtls_rc in
  0) mbedtls_args=(-Dmbedtls_prefix="$PWD/build-mbedtls") ;;
  3) echo "warning: no mbedTLS source to build; building against Debian's libmbedtls-dev" >&2 ;;
  *) echo "mq's mbedTLS build failed (packaging/mbedtls)" >&2; exit 1 ;;
esac
if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release "${mbedtls_args[@]}" >/dev/null
elif ((${#mbedtls_args[@]})); then
  meson configure build "${mbedtls_args[@]}" >/dev/null
fi
ninja -C build mq
echo "Built build/mq ($(stat -c %s build/mq) bytes unstripped)."
