#!/usr/bin/env bash
# netpol-debug and np-guard/netpol-analyzer side by side on the generated clusters, whole process,
# in the same run: `netpol-debug matrix --snapshot DIR` against `netpolicy list --dirpath DIR`.
# Usage: bench/side-by-side.sh [SIZE...]   (default: S M L)
# Prints one Markdown row per size and tool: median wall seconds of 3 runs, peak RSS (MiB) of the
# median run, output lines, and the ratio. Needs /usr/bin/time (Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(S M L)
runs="${RUNS:-3}"
out="${NETPOL_BENCH_OUT_DIR:-${TMPDIR:-/tmp}/netpol-debug-side-by-side}"
analyzer="$(bash tests/netpol-analyzer/build.sh)"
cargo build --release --locked -q
ours=target/release/netpol-debug
mkdir -p "$out"

# One timed run: prints "seconds maxrss_kib lines".
timed() {
  local result="$1"; shift
  /usr/bin/time -f "%e %M" -o "$result.time" "$@" > "$result" 2> "$result.err" || {
    echo "failed: $* (see $result.err)" >&2; return 1; }
  echo "$(cat "$result.time") $(wc -l < "$result")"
}

# Median of the runs by seconds: prints "seconds maxrss_kib lines".
median() { sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }

echo "| size | tool | command | median s | peak RSS MiB | lines |"
echo "|---|---|---|---:|---:|---:|"
for size in "${sizes[@]}"; do
  "$ours" bench --size "$size" --queries 1 --skip-full-matrix --out-dir "$out" > /dev/null
  dir="$out/$size"; mkdir -p "$dir"
  # Both tools read the same file. It drops the per-pod `statefulset.kubernetes.io/pod-name`
  # label the StatefulSet controller sets: netpolicy v1.4.4 panics (nil pointer in
  # selectorContainsGapLabel, pkg/netpol/eval/internal/k8s/netpol.go:621) on pods of one owner
  # whose labels differ when a peer has a namespaceSelector and no podSelector. No selector of
  # the generated policies reads that label, so the map is the same.
  sed -E 's/, statefulset\.kubernetes\.io\/pod-name: [a-z0-9-]+//' "$out/netpol-debug-bench-$size-1.yaml" > "$dir/cluster.yaml"
  declare -A med=()
  for tool in netpol-debug netpolicy; do
    for _ in $(seq "$runs"); do
      if [ "$tool" = netpol-debug ]; then
        timed "$dir/ours.txt" "$ours" matrix --snapshot "$dir" --ipblock-matches-pods=false
      else
        timed "$dir/theirs.txt" "$analyzer" list --dirpath "$dir" -q
      fi
    done | median > "$dir/$tool.median"
    read -r secs kib lines < "$dir/$tool.median"
    med[$tool]="$secs"
    case "$tool" in
      netpol-debug) cmd="netpol-debug matrix --snapshot DIR --ipblock-matches-pods=false" ;;
      *) cmd="netpolicy list --dirpath DIR -q" ;;
    esac
    echo "| $size | $tool | \`$cmd\` | $secs | $(( kib / 1024 )) | $lines |"
  done
  # The same map? (v1.4.4 prints External ranges without the `[External]` tag.)
  if diff -q <(sed 's/\[External\]//g' "$dir/ours.txt" | sort) <(sort "$dir/theirs.txt") > /dev/null; then
    same="same lines"
  else
    same="DIFFERENT lines (diff $dir/ours.txt $dir/theirs.txt)"
  fi
  awk -v a="${med[netpolicy]}" -v b="${med[netpol-debug]}" -v s="$size" -v same="$same" \
    'BEGIN { printf "| %s | ratio | netpolicy / netpol-debug | %s | | %s |\n", s, (b > 0 ? sprintf("%.0fx", a / b) : "n/a"), same }'
done
