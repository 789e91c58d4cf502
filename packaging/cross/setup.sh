#!/usr/bin/env bash
# Installs what the static ARM builds need on Debian 12 (after ./setup.sh): Debian's cross
# compilers, qemu-user-static to run the results, and the arm64/armhf multiarch development
# packages of mq's libraries. mbedTLS comes from Debian 13 through the pin ./setup.sh wrote,
# at the same version as the amd64 package (it is Multi-Arch: same, so the versions must match).
#   packaging/cross/setup.sh [aarch64-linux-gnu] [arm-linux-gnueabihf]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/../.."
triplets=("$@")
((${#triplets[@]})) || triplets=(aarch64-linux-gnu arm-linux-gnueabihf)
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"

pkgs=(qemu-user-static)
for t in "${triplets[@]}"; do
  case "$t" in
    aarch64-linux-gnu) arch=arm64 ;;
    arm-linux-gnueabihf) arch=armhf ;;
    *) echo "unknown triplet $t (aarch64-linux-gnu, arm-linux-gnueabihf)" >&2; exit 2 ;;
  esac
  dpkg --print-foreign-architectures | grep -qx "$arch" || $sudo dpkg --add-architecture "$arch"
  pkgs+=("g++-$t" "libargon2-dev:$arch" "libgtest-dev:$arch" "libmbedtls-dev:$arch")
done
# One mirror's index for one architecture may be mid-sync; what it could fetch is enough.
$sudo apt-get update -qq || echo "warning: apt-get update reported errors; going on" >&2
mbedtls=$(dpkg-query -W -f='${Version}' libmbedtls-dev:amd64)
for i in "${!pkgs[@]}"; do
  [[ ${pkgs[$i]} == libmbedtls-dev:* ]] && pkgs[$i]="${pkgs[$i]}=$mbedtls"
done
install() { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null; }
if ! install; then  # a mirror caught mid-sync: fetch the indexes again, once
  echo "warning: apt-get install failed; updating the indexes and trying once more" >&2
  sleep 10
  $sudo apt-get update -qq || true
  install
fi
echo "Cross toolchains ready for: ${triplets[*]} (mbedTLS $mbedtls)"
