#!/usr/bin/env bash
# Builds np-guard/netpol-analyzer's `netpolicy` from the Go module proxy at the release pinned in
# go.mod and caches it under ${NETPOL_DEBUG_CACHE:-~/.cache/netpol-debug}/netpol-analyzer-VERSION/.
# Prints the binary's path on stdout (everything else goes to stderr). A cached binary is reused.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(awk '$1 == "require" && $2 == "github.com/np-guard/netpol-analyzer" {print $3; exit} $1 == "github.com/np-guard/netpol-analyzer" && $2 ~ /^v/ {print $2; exit}' "$here/go.mod")"
[ -n "$version" ] || { echo "build.sh: no github.com/np-guard/netpol-analyzer version in $here/go.mod" >&2; exit 1; }
cache="${NETPOL_DEBUG_CACHE:-$HOME/.cache/netpol-debug}/netpol-analyzer-$version"
bin="$cache/netpolicy"
if [ -x "$bin" ] && [ "$(cat "$cache/go.sum.sha256" 2>/dev/null)" = "$(sha256sum < "$here/go.sum")" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
mkdir -p "$cache"
echo "build.sh: building netpol-analyzer $version (first time: a few minutes) into $cache" >&2
start=$(date +%s)
(
  cd "$here"
  export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"
  go build -trimpath -ldflags "-s -w" -o "$bin.tmp" github.com/np-guard/netpol-analyzer/cmd/netpolicy
)
mv "$bin.tmp" "$bin"
sha256sum < "$here/go.sum" > "$cache/go.sum.sha256"
echo "build.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
