#!/usr/bin/env bash
# A real Kubernetes control plane for the live-mode tests: etcd and kube-apiserver on 127.0.0.1
# only (free ports), data and generated certificates in DIR, no kubelet and no controllers.
#
#   tests/apiserver/control-plane.sh [--remove-on-exit] DIR
#
# It writes, in DIR:
#   admin.kubeconfig        a static-token identity in system:masters, for setting up the cluster
#   netpol-debug.kubeconfig a ServiceAccount token (system:serviceaccount:netpol-debug:netpol-debug,
#                           from the TokenRequest API) that has no permission until RBAC grants it
#   env                     SERVER=, ETCD=, AUDIT_LOG=, ... (shell syntax)
#   audit.log               the audit log: Metadata level for system:serviceaccounts:netpol-debug
#   ready                   created last, once all of the above is usable
# then runs until its standard input closes (the test process that started it ended, however it
# ended) or it gets SIGINT/SIGTERM, and stops etcd and the apiserver; then it removes DIR with
# --remove-on-exit (about 60 MB: etcd's data, logs), else leaves it for inspection. On a terminal
# it runs until Ctrl-C.
#
# kube-apiserver: $NETPOL_DEBUG_KUBE_APISERVER, else built (once, then cached) by build.sh beside
# this script. etcd: $NETPOL_DEBUG_ETCD, else `etcd` on PATH (Debian's etcd-server).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
remove=false
if [ "${1:-}" = "--remove-on-exit" ]; then remove=true; shift; fi
dir="${1:?usage: control-plane.sh [--remove-on-exit] DIR}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
log() { echo "control-plane: $*" >&2; }

apiserver="${NETPOL_DEBUG_KUBE_APISERVER:-}"
[ -n "$apiserver" ] || apiserver="$("$here/build.sh")"
etcd_bin="${NETPOL_DEBUG_ETCD:-$(command -v etcd || true)}"
[ -x "$apiserver" ] || { log "no kube-apiserver binary at '$apiserver'"; exit 1; }
[ -n "$etcd_bin" ] && [ -x "$etcd_bin" ] || { log "no etcd (apt-get install etcd-server, or set NETPOL_DEBUG_ETCD)"; exit 1; }

pids=()
cleanup() {
  trap - EXIT INT TERM
  # The apiserver first, then etcd (the other way round, it logs a storm of redials).
  for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do
    pid="${pids[$i]}"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "$dir/ready"
  if $remove; then rm -rf "$dir"; log "stopped, $dir removed"; else log "stopped"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
etcd_port="$(free_port)"; peer_port="$(free_port)"; secure_port="$(free_port)"

# Certificates: a CA, the serving certificate (127.0.0.1, localhost and the in-cluster names),
# and the key that signs ServiceAccount tokens.
pki="$dir/pki"
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=netpol-debug-test-ca" \
  -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
  -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' > "$pki/apiserver.ext"
openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -days 2 -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt" 2>/dev/null
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

admin_token="admin-$(openssl rand -hex 16)"
echo "$admin_token,admin,admin-uid,system:masters" > "$pki/tokens.csv"

cat > "$dir/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
# Every request of our identities (the ServiceAccounts of namespace netpol-debug).
- level: Metadata
  userGroups: ["system:serviceaccounts:netpol-debug"]
- level: None
EOF

log "etcd $("$etcd_bin" --version | head -1 | awk '{print $3}') on 127.0.0.1:$etcd_port"
"$etcd_bin" --name default --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "default=http://127.0.0.1:$peer_port" --logger zap --log-level warn \
  > "$dir/etcd.log" 2>&1 < /dev/null &
pids+=($!)

for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$etcd_port/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { log "etcd exited:"; tail -20 "$dir/etcd.log" >&2; exit 1; }
  sleep 0.2
done

log "$("$apiserver" --version) on https://127.0.0.1:$secure_port"
# --advertise-address: the address the `kubernetes` Endpoints carry (Endpoints refuse loopback);
# nothing connects to it. The compaction interval is the default (5m): the tests compact etcd
# themselves when they need a continue token to expire.
"$apiserver" \
  --bind-address=127.0.0.1 --secure-port="$secure_port" --advertise-address=172.18.0.2 \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --token-auth-file="$pki/tokens.csv" \
  --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.96.0.0/12 \
  --audit-policy-file="$dir/audit-policy.yaml" --audit-log-path="$dir/audit.log" \
  --audit-log-format=json --audit-log-mode=blocking --audit-log-maxbackup=0 \
  --profiling=false --v=1 \
  > "$dir/apiserver.log" 2>&1 < /dev/null &
pids+=($!)

server="https://127.0.0.1:$secure_port"
api() { # METHOD PATH [JSON]
  curl -sS --cacert "$pki/ca.crt" -H "Authorization: Bearer $admin_token" \
    -H 'Content-Type: application/json' -X "$1" "$server$2" ${3:+-d "$3"}
}
started=$(date +%s)
until [ "$(api GET /readyz 2>/dev/null)" = "ok" ]; do
  kill -0 "${pids[1]}" 2>/dev/null || { log "kube-apiserver exited:"; tail -30 "$dir/apiserver.log" >&2; exit 1; }
  if [ $(( $(date +%s) - started )) -gt 300 ]; then
    log "kube-apiserver not ready after 300s:"; tail -30 "$dir/apiserver.log" >&2; exit 1
  fi
  sleep 0.5
done
log "ready in $(( $(date +%s) - started ))s"

kubeconfig() { # FILE USER TOKEN
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: real
  cluster:
    server: "$server"
    certificate-authority-data: "$(base64 -w0 < "$pki/ca.crt")"
users:
- name: $2
  user: {token: "$3"}
contexts:
- name: real
  context: {cluster: real, user: $2}
current-context: real
EOF
}
kubeconfig "$dir/admin.kubeconfig" admin "$admin_token"

# Our identity: a ServiceAccount and a token from the TokenRequest API, as a pod would have.
api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"netpol-debug"}}' >/dev/null
api POST /api/v1/namespaces/netpol-debug/serviceaccounts \
  '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"netpol-debug"}}' >/dev/null
token=""
for _ in $(seq 50); do
  token="$(api POST /api/v1/namespaces/netpol-debug/serviceaccounts/netpol-debug/token \
    '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":86400}}' \
    | jq -r '.status.token // empty')"
  [ -n "$token" ] && break
  sleep 0.2
done
[ -n "$token" ] || { log "no ServiceAccount token"; exit 1; }
kubeconfig "$dir/netpol-debug.kubeconfig" netpol-debug "$token"

cat > "$dir/env" <<EOF
SERVER=$server
ETCD=http://127.0.0.1:$etcd_port
AUDIT_LOG=$dir/audit.log
CA=$pki/ca.crt
ADMIN_TOKEN=$admin_token
VERSION=$("$apiserver" --version | awk '{print $2}')
ETCD_VERSION=$("$etcd_bin" --version | head -1 | awk '{print $3}')
STARTUP_SECONDS=$(( $(date +%s) - started ))
EOF
touch "$dir/ready"

if [ -t 0 ]; then
  log "running; Ctrl-C stops it. KUBECONFIG=$dir/netpol-debug.kubeconfig (no RBAC yet: kubectl apply -f examples/rbac.yaml with $dir/admin.kubeconfig)"
  wait
else
  # Until the caller closes our standard input (it exited, or is done).
  cat > /dev/null || true
fi
