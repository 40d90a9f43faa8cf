#!/usr/bin/env bash
# Builds kube-apiserver from the Go module proxy at the release pinned in go.mod and caches it
# under ${NETPOL_DEBUG_CACHE:-~/.cache/netpol-debug}/kube-apiserver-VERSION/. Prints the binary's
# path on stdout (everything else goes to stderr). A cached binary is reused: a later run is instant.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit} $1 == "require" && $2 == "k8s.io/kubernetes" {print $3; exit}' "$here/go.mod")"
[ -n "$version" ] || { echo "build.sh: no k8s.io/kubernetes version in $here/go.mod" >&2; exit 1; }
cache="${NETPOL_DEBUG_CACHE:-$HOME/.cache/netpol-debug}/kube-apiserver-$version"
bin="$cache/kube-apiserver"
if [ -x "$bin" ] && [ "$(cat "$cache/go.sum.sha256" 2>/dev/null)" = "$(sha256sum < "$here/go.sum")" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
mkdir -p "$cache"
major="${version#v}"; minor="${major#*.}"; major="${major%%.*}"; minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
echo "build.sh: building kube-apiserver $version (first time: several minutes) into $cache" >&2
start=$(date +%s)
(
  cd "$here"
  export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"
  go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" .
)
mv "$bin.tmp" "$bin"
sha256sum < "$here/go.sum" > "$cache/go.sum.sha256"
echo "build.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
