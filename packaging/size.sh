#!/usr/bin/env bash
# Prints the size of the stripped static mq binary and how its code and data divide between
# components, from the unstripped binary's symbol table (nm -S): mq's own code, the C and C++
# libraries, mbedTLS, cxxopts (header-only: its instantiations), Argon2. Bytes not covered by a
# sized symbol (section padding, tables without symbols, headers) are shown as "other".
#   packaging/size.sh [MQ_BINARY]        (default build/mq, unstripped)
set -euo pipefail
bin=${1:-$(dirname "$0")/../build/mq}
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$bin"
total=$(stat -c %s "$stripped")
# Sizes in decimal (mawk has no strtonum).
nm -S --size-sort -C -t d "$bin" | awk -v total="$total" '
  NF >= 4 {
    size = $2 + 0; type = $3
    if (type ~ /[bBvV]/) next        # .bss takes no room in the file
    name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
    if (name ~ /cxxopts/) c = "cxxopts"
    else if (name ~ /^(mbedtls_|psa_|mbedtls|MBEDTLS|ecp_|mpi_)/ || name ~ /mbedtls/) c = "mbedTLS"
    else if (name ~ /argon2|blake2|fill_segment|fill_memory|initial_hash|finalize/) c = "Argon2"
    else if (name ~ /^mq::|^main$|^\(anonymous namespace\)/) c = "mq code"
    else c = "libc/libstdc++"
    sum[c] += size; all += size
  }
  END {
    printf "stripped binary: %d bytes\n", total
    n = split("mq code,libc/libstdc++,mbedTLS,cxxopts,Argon2", order, ",")
    for (i = 1; i <= n; i++) printf "  %-16s %9d bytes  %5.1f%%\n", order[i], sum[order[i]], 100 * sum[order[i]] / total
    printf "  %-16s %9d bytes  %5.1f%%\n", "other", total - all, 100 * (total - all) / total
  }'
