#!/usr/bin/env bash
# Builds the static mbedTLS libraries mq links, from the same upstream release that Debian 13
# ships (the .orig tarball of Debian's source package, checked against a pinned SHA-256), with
# mq's own configuration (mq_config.h beside this script), and installs headers and libraries
# under PREFIX in the layout `meson setup -Dmbedtls_prefix=PREFIX` reads:
#   PREFIX/include/{mbedtls,psa,everest}/   PREFIX/lib/lib{mbedtls,mbedx509,mbedcrypto}.a
#
#   packaging/mbedtls/build.sh PREFIX
#
# Exit status 3: the source could not be had (no mirror, wrong tarball), and a caller may fall back
# to Debian's libmbedtls-dev; any other failure (a patch that does not apply, a compile error) is
# a defect to fix, not to fall back from.
# Runs again only when the version, the configuration, the compiler or this script changed:
# PREFIX/.mq-build records what was built. $CC and $AR choose another compiler (a cross one:
# CC=aarch64-linux-gnu-gcc AR=aarch64-linux-gnu-ar). Needs make, patch, a C compiler and python3
# (for the download); the tarball comes from Debian's mirror ($MQ_DEBIAN_MIRROR) unless
# $MQ_MBEDTLS_TARBALL names a local copy. mq's patches (*.patch here) are applied to the source.
set -euo pipefail

version=3.6.6
debian_version=3.6.6-0.1~deb13u1   # the trixie package whose source this is
tarball=mbedtls_${version}.orig.tar.bz2
tarball_sha256=8fb65fae8dcae5840f793c0a334860a411f884cc537ea290ce1c52bb64ca007a
mirror=${MQ_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cflags="-O2 -ffunction-sections -fdata-sections"
# The public-key arithmetic of a full handshake (X25519 in Everest's HACL* code, the P-256
# signature in bignum/ecp) at -O3: a TLS 1.2 full handshake then costs the server about 70 µs
# less CPU (X25519 alone 1.5x faster: the field multiplication is inlined into the ladder), for
# 32 KB more code in mq (text). The rest of the library stays at -O2.
hot_opt="-O3"
hot_objects="bignum.o bignum_core.o ecp.o ecp_curves.o ../3rdparty/everest/library/Hacl_Curve25519_joined.o"
# 32-bit ARM glibc: 64-bit time_t and off_t, as mq itself is built there
# (packaging/cross/arm-linux-gnueabihf.ini). mbedtls_time_t is time_t and crosses the API (the
# TLS session's start time, mbedtls_x509_time_gmtime), so both sides must agree on its size.
case "$(${CC:-cc} -dumpmachine 2>/dev/null || true)" in
  arm*-linux-gnueabi*) cflags+=" -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64" ;;
esac

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: $0 PREFIX" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
config="$here/mq_config.h"
# mq's patches to the release (*.patch beside this script, applied in name order with patch -p1).
patches=("$here"/*.patch)
[[ -e "${patches[0]}" ]] || patches=()

# What a build depends on: a change to any of these rebuilds.
stamp_text="mbedtls $version ($debian_version) sha256 $tarball_sha256
cflags $cflags
hot $hot_opt $hot_objects
config $(sha256sum "$config" | cut -d' ' -f1)
patches $(for p in "${patches[@]}"; do printf '%s:%s ' "$(basename "$p")" "$(sha256sum "$p" | cut -d' ' -f1)"; done)
script $(sha256sum "$0" | cut -d' ' -f1)
cc $(${CC:-cc} -dumpfullversion 2>/dev/null || echo unknown) $(${CC:-cc} -dumpmachine 2>/dev/null || true)"
stamp="$prefix/.mq-build"
have_all() {
  local f
  for f in include/mbedtls/mbedtls_config.h include/everest/everest.h lib/libmbedtls.a \
           lib/libmbedx509.a lib/libmbedcrypto.a; do
    [[ -f "$prefix/$f" ]] || return 1
  done
}
if [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$stamp_text" ]] && have_all; then
  echo "mbedTLS $version with mq_config.h already in $prefix"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mq-mbedtls.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The tarball: kept in PREFIX/.download so a rebuild for a new configuration does not fetch it
# again; always checked against the pinned hash (which is also the one in Debian's .dsc).
mkdir -p "$prefix/.download"
src_tar="${MQ_MBEDTLS_TARBALL:-$prefix/.download/$tarball}"
sha_ok() { [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$tarball_sha256" ]]; }
if ! sha_ok "$src_tar"; then
  [[ -n "${MQ_MBEDTLS_TARBALL:-}" ]] && { echo "$src_tar: not the expected $tarball" >&2; exit 1; }
  url="$mirror/pool/main/m/mbedtls/$tarball"
  echo "fetching $url"
  python3 - "$url" "$src_tar.part" <<'EOF' || { echo "cannot fetch $url" >&2; exit 3; }
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r, open(sys.argv[2], "wb") as f:
    while chunk := r.read(1 << 16):
        f.write(chunk)
EOF
  mv "$src_tar.part" "$src_tar"
  sha_ok "$src_tar" || { echo "$src_tar: SHA-256 mismatch, refusing it" >&2; rm -f "$src_tar"; exit 3; }
fi

# Python's tarfile rather than tar -j: bzip2 is not on every minimal Debian. The "data" filter
# (no links or paths out of the tree) where this Python has it.
python3 - "$src_tar" "$work" <<'EOF'
import sys, tarfile
safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
with tarfile.open(sys.argv[1]) as t:
    t.extractall(sys.argv[2], **safe)
EOF
src="$work/mbedtls-$version"
for p in "${patches[@]}"; do
  patch -p1 -s -d "$src" <"$p" || { echo "$p: does not apply" >&2; exit 1; }
done
# The configuration replaces the default one in the tree, so the installed header is ours too.
cp "$config" "$src/include/mbedtls/mbedtls_config.h"

# The Makefile build puts the 3rdparty code (Everest's X25519) into libmbedcrypto.a, so the
# three usual libraries are all there is to link. Warnings are not fatal: newer compilers.
# The hot objects first with $hot_opt (the later -O2 make finds them up to date: the Makefile's
# objects depend on their source file only). An object upstream renames stops the build here
# (no rule to make it) rather than silently building it at -O2.
jobs=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2086 # $hot_objects is a list of words
{ make -C "$src/library" -j"$jobs" CC="${CC:-cc}" AR="${AR:-ar}" CFLAGS="$cflags $hot_opt" \
    WARNING_CFLAGS="-Wall -Wextra" $hot_objects &&
  make -C "$src/library" -j"$jobs" CC="${CC:-cc}" AR="${AR:-ar}" CFLAGS="$cflags" \
    WARNING_CFLAGS="-Wall -Wextra" libmbedtls.a libmbedx509.a libmbedcrypto.a
} >"$work/make.log" 2>&1 ||
  { tail -n 40 "$work/make.log" >&2; echo "mbedTLS build failed" >&2; exit 1; }

# Install: replace what an older build left, then write the stamp last.
rm -rf "$prefix/include/mbedtls" "$prefix/include/psa" "$prefix/include/everest" "$stamp"
mkdir -p "$prefix/include" "$prefix/lib"
cp -r "$src/include/mbedtls" "$src/include/psa" "$prefix/include/"
cp -r "$src/3rdparty/everest/include/everest" "$prefix/include/"
cp "$src/library/libmbedtls.a" "$src/library/libmbedx509.a" "$src/library/libmbedcrypto.a" \
  "$prefix/lib/"
cp "$config" "$prefix/mq_config.h"
printf '%s\n' "$stamp_text" >"$stamp"
echo "mbedTLS $version with mq_config.h installed in $prefix"
