#!/usr/bin/env bash
# Builds the mq container image from a static mq binary built on this machine (no base image is
# pulled: the Containerfile's `prebuilt` stage takes the staged binary from the context).
#   packaging/container/build.sh [MQ_BINARY] [IMAGE_NAME]     (defaults: build/mq, mq:latest)
# To build from source in a Debian 12 stage instead (needs a registry with debian:12):
#   podman build --format docker --build-arg MQ_FROM=build -f packaging/container/Containerfile -t mq:latest .
# Prints the image size. Needs podman (or docker: set CONTAINER_ENGINE=docker).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/mq}
image=${2:-mq:latest}
engine=${CONTAINER_ENGINE:-podman}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
"$here/stage.sh" "$bin" "$ctx/stage"
format=()
[[ $engine == podman ]] && format=(--format docker)  # keeps HEALTHCHECK (OCI has none)
"$engine" build -q "${format[@]}" --build-arg MQ_FROM=prebuilt -t "$image" \
  -f "$here/Containerfile" "$ctx" >/dev/null
"$engine" image inspect --format '{{.Size}}' "$image" | awk -v i="$image" '{printf "%s: %d bytes\n", i, $1}'
