#!/usr/bin/env bash
# Builds the mq container image from a static mq binary.
#   packaging/container/build.sh [MQ_BINARY] [IMAGE_NAME]     (defaults: build/mq, mq:latest)
# Prints the image size. Needs podman (or docker: set CONTAINER_ENGINE=docker).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/mq}
image=${2:-mq:latest}
engine=${CONTAINER_ENGINE:-podman}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/usr/bin" "$ctx/usr/sbin" "$ctx/mosquitto/config" "$ctx/mosquitto/data" \
  "$ctx/mosquitto/log"
strip -o "$ctx/usr/bin/mq" "$bin"
file "$ctx/usr/bin/mq" | grep -q "statically linked" || { echo "build.sh: $bin is not static" >&2; exit 1; }
# The Mosquitto names, as links to the one binary (as `mq --install -s` makes them).
ln -s ../bin/mq "$ctx/usr/sbin/mosquitto"
for name in mosquitto_pub mosquitto_sub mosquitto_rr mosquitto_passwd; do
  ln -s mq "$ctx/usr/bin/$name"
done
cp "$here/mosquitto.conf" "$ctx/mosquitto/config/mosquitto.conf"
format=()
[[ $engine == podman ]] && format=(--format docker)  # keeps HEALTHCHECK (OCI has none)
"$engine" build -q "${format[@]}" -t "$image" -f "$here/Containerfile" "$ctx" >/dev/null
"$engine" image inspect --format '{{.Size}}' "$image" | awk -v i="$image" '{printf "%s: %d bytes\n", i, $1}'
