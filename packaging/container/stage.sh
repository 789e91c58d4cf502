#!/usr/bin/env bash
# Lays out what the mq image holds, under DIR: the stripped static mq, its Mosquitto-name links
# and the default configuration. Used by build.sh (from a binary built here) and by the
# Containerfile's Debian 12 build stage.
#   packaging/container/stage.sh MQ_BINARY DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1
dir=$2
mkdir -p "$dir/usr/bin" "$dir/usr/sbin" "$dir/mosquitto/config" "$dir/mosquitto/data" \
  "$dir/mosquitto/log"
strip -o "$dir/usr/bin/mq" "$bin"
# The image has no loader or libraries: the binary must be static (ELF without an interpreter).
if readelf -l "$dir/usr/bin/mq" | grep -q "Requesting program interpreter"; then
  echo "stage.sh: $bin is not statically linked" >&2
  exit 1
fi
# The Mosquitto names, as links to the one binary (as `mq --install -s` makes them).
ln -sf ../bin/mq "$dir/usr/sbin/mosquitto"
for name in mosquitto_pub mosquitto_sub mosquitto_rr mosquitto_passwd; do
  ln -sf mq "$dir/usr/bin/$name"
done
cp "$here/mosquitto.conf" "$dir/mosquitto/config/mosquitto.conf"
