#!/usr/bin/env bash
# Whole-process load time: one `netpol-debug diagnose` per snapshot file, RUNS times (default 3);
# prints per file the median wall seconds and the median peak RSS (MiB) from /usr/bin/time.
# Usage: bench/load.sh BINARY FROM TO FILE...   e.g.
#   bench/load.sh target/release/netpol-debug media-0/users-api-bq9hcj4ljn-flml9 \
#     risk-1/ledger-api-x-y /tmp/netpol-debug-bench-XL-1.yaml xl64.yaml xl64.json
set -euo pipefail
bin="$1" from="$2" to="$3"; shift 3
runs="${RUNS:-3}"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
for f in "$@"; do
  secs=() rss=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$tmp" "$bin" diagnose --snapshot "$f" --from "$from" --to "$to" > /dev/null 2>&1 || true
    out="$(tail -1 "$tmp")"
    secs+=("${out% *}") rss+=("${out#* }")
  done
  med() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
  printf '%s\t%s bytes\twall %s s (runs: %s)\tpeak RSS %s MiB\n' "$f" "$(stat -c %s "$f")" \
    "$(med "${secs[@]}")" "${secs[*]}" "$(( $(med "${rss[@]}") / 1024 ))"
done
