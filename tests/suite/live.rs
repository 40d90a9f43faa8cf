//! The live-cluster source against a fake Kubernetes API server over real HTTP on 127.0.0.1
//! (`fake_kube`), with a kubeconfig pointing at it: live and offline diagnoses agree on the same
//! objects, only GET requests are made (never Secrets or ConfigMaps), a diagnose stays within its
//! request bound, 403s on optional kinds give `inconclusive` rather than a failure, 401s,
//! unreachable servers and timeouts are clear errors (exit 2), and an exported snapshot
//! diagnoses offline exactly as the live run did.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use netpol_debug::diagnosis::query::{self, PortArg};
use netpol_debug::diagnosis::{self, Query};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::live::{ConnectOptions, LiveSource, ReadOnlyClient};
use netpol_debug::serve::source::Scope;
use netpol_debug::snapshot;
use serde_json::Value;

use crate::fake_kube::{FakeKube, TOKEN};

pub(crate) fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/live-cluster.yaml")
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netpol-debug-live-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub(crate) fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netpol-debug"))
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("binary runs")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Endpoints of the fixture: pods, a workload, a Service, a pod IP, a Service IP, a node IP, an
/// external IP.
pub(crate) const ENDPOINTS: &[&str] = &[
    "shop/frontend-7d9f8b6c5d-x2x2x",
    "shop/api-5c6b9d7f4-aaaaa",
    "shop/db-0",
    "shop/deploy/api",
    "shop/deploy/web",
    "shop/svc/api",
    "billing/worker-66b8d9c7f-zzzzz",
    "monitoring/prometheus-0",
    "monitoring/node-exporter-n1",
    "batch/report-29181234-abcde",
    "batch/cronjob/report",
    "default/debug",
    "kube-system/coredns-6f6b679f8f-aaaaa",
    "10.0.0.31",
    "10.96.10.20",
    "fd00::41",
    "172.18.0.3",
    "8.8.8.8",
];

/// `(protocol, port)` tried in turn.
const PORTS: &[(&str, Option<&str>)] = &[
    ("TCP", Some("8080")),
    ("TCP", Some("5432")),
    ("TCP", Some("80")),
    ("UDP", Some("53")),
    ("TCP", None),
    ("TCP", Some("http")),
];

pub(crate) fn queries() -> Vec<Query> {
    let mut out = Vec::new();
    let mut i = 0;
    for from in ENDPOINTS {
        for to in ENDPOINTS {
            let (proto, port) = PORTS[i % PORTS.len()];
            i += 1;
            out.push(Query {
                from: from.to_string(),
                to: to.to_string(),
                protocol: query::parse_protocol(proto).unwrap(),
                port: port.map(|p| PortArg::parse(p).unwrap()),
            });
        }
    }
    out
}

pub(crate) fn answer(ix: &ClusterIndex, q: &Query) -> Value {
    match diagnosis::diagnose(ix, q) {
        Ok(d) => serde_json::to_value(d).unwrap(),
        Err(e) => serde_json::json!({"error": e.message, "argument": e.argument, "suggestions": e.suggestions}),
    }
}

pub(crate) fn offline_index(path: &Path) -> ClusterIndex {
    let snap = snapshot::load_paths(&[path.to_path_buf()]).expect("snapshot loads");
    ClusterIndex::build(&snap, Semantics::default())
}

pub(crate) fn scope_of(q: &Query) -> Scope {
    let mut s = Scope::base();
    s.add_endpoint_text(&q.from);
    s.add_endpoint_text(&q.to);
    s
}

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) async fn source(kubeconfig: &Path, ttl: Duration) -> LiveSource {
    let client = ReadOnlyClient::connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        ..Default::default()
    })
    .await
    .expect("client builds");
    LiveSource::new(client, Semantics::default(), ttl)
}

pub(crate) fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (va, vb) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                if let Some(d) = first_difference(va, vb, &format!("{path}.{k}")) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

pub(crate) fn assert_same(label: &str, q: &Query, live: &Value, offline: &Value) {
    if live != offline {
        panic!(
            "{label}: {} -> {} {:?}: live and offline differ at {}",
            q.from,
            q.to,
            q.port,
            first_difference(live, offline, "").unwrap_or_default()
        );
    }
}

/// The documented number of requests of one diagnose whose endpoints span `question`
/// namespaces, `ips` of them given as IPs, on the fixture (no pagination):
/// 3 cluster-wide lists (namespaces, nodes, DaemonSets) + `/apis` + 4 group-version discoveries
/// (cilium.io, policy.networking.k8s.io v1alpha1 and v1alpha2, security.istio.io); for IP endpoints, one Service list
/// plus one `status.podIP` lookup each; 5 kinds (pods, Services, Endpoints, EndpointSlices,
/// NetworkPolicies) for each question namespace and kube-system; 6 workload kinds for each
/// question namespace; the pods of each other namespace that runs a DaemonSet (1: monitoring);
/// 3 for `default/kubernetes`; 4 custom kinds (CiliumNetworkPolicy, AdminNetworkPolicy,
/// ClusterNetworkPolicy, AuthorizationPolicy). Pagination aside, nothing here grows with the
/// cluster's size.
fn request_bound(question: usize, ips: usize) -> usize {
    let ip_lookups = if ips > 0 { 1 + ips } else { 0 };
    3 + 1 + 4 + ip_lookups + 5 * (question + 1) + 6 * question + 1 + 3 + 4
}

#[test]
fn live_and_offline_diagnoses_agree_on_the_same_objects_and_only_get_is_sent() {
    let fake = FakeKube::from_file(&fixture(), |_| {});
    let kubeconfig = fake.kubeconfig(&temp_dir("agree"), TOKEN);
    let offline = offline_index(&fixture());
    let qs = queries();
    let rt = rt();
    let live = rt.block_on(source(&kubeconfig, Duration::from_secs(600)));
    let mut verdicts = std::collections::BTreeMap::<String, usize>::new();
    for q in &qs {
        let ctx = rt.block_on(live.context(&scope_of(q))).expect("live read");
        let (l, o) = (answer(&ctx.index, q), answer(&offline, q));
        assert_same("live vs fixture", q, &l, &o);
        *verdicts
            .entry(l["verdict"].as_str().unwrap_or("not found").to_string())
            .or_default() += 1;
    }
    println!("live = offline on {} queries: {verdicts:?}", qs.len());
    assert!(
        verdicts.len() >= 4,
        "the fixture exercises several verdicts: {verdicts:?}"
    );
    let recorded = fake.recorded();
    assert!(recorded.iter().all(|r| r.method == "GET"), "only GET: {recorded:?}");
    assert!(
        !recorded
            .iter()
            .any(|r| r.path.contains("/secrets") || r.path.contains("/configmaps")),
        "never Secrets or ConfigMaps"
    );
}

#[test]
fn a_diagnose_stays_within_its_request_bound() {
    let fake = FakeKube::from_file(&fixture(), |_| {});
    let kubeconfig = fake.kubeconfig(&temp_dir("bound"), TOKEN);
    for (from, to, question, ips) in [
        ("shop/frontend-7d9f8b6c5d-x2x2x", "shop/svc/api", 1, 0),
        ("billing/worker-66b8d9c7f-zzzzz", "shop/api-5c6b9d7f4-aaaaa", 2, 0),
        ("10.0.1.71", "10.96.10.20", 2, 2),
    ] {
        let before = fake.count();
        let (code, _, err) = diagnose_json(&kubeconfig, from, to, "80");
        assert!(code.is_some_and(|c| c <= 1), "{err}");
        let (n, bound) = (fake.count() - before, request_bound(question, ips));
        println!("diagnose {from} -> {to}: {n} requests (bound {bound})");
        assert!(n <= bound, "{from} -> {to}: {n} requests, bound {bound}");
    }
}

#[test]
fn pagination_follows_continue_tokens() {
    let fake = FakeKube::from_file(&fixture(), |c| c.page_cap = Some(2));
    let kubeconfig = fake.kubeconfig(&temp_dir("pages"), TOKEN);
    let offline = offline_index(&fixture());
    let rt = rt();
    let live = rt.block_on(source(&kubeconfig, Duration::ZERO));
    let ctx = rt.block_on(live.context(&Scope::everything())).unwrap();
    assert_eq!(ctx.index.pods.len(), offline.pods.len());
    assert_eq!(ctx.index.policies.len(), offline.policies.len());
    let continued = fake.recorded().iter().filter(|r| r.query.contains("continue=")).count();
    assert!(continued > 5, "pages were followed: {continued}");
    for q in queries().iter().step_by(7) {
        assert_same("paginated", q, &answer(&ctx.index, q), &answer(&offline, q));
    }
}

#[test]
fn an_exported_snapshot_diagnoses_offline_as_the_live_run_did() {
    let fake = FakeKube::from_file(&fixture(), |_| {});
    let dir = temp_dir("export");
    let kubeconfig = fake.kubeconfig(&dir, TOKEN);
    let kc = kubeconfig.to_str().unwrap();
    let out_all = dir.join("all.yaml");
    let before = fake.count();
    let o = bin(&["snapshot", "--kubeconfig", kc, "-o", out_all.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    println!("snapshot export (whole cluster): {} requests", fake.count() - before);
    let text = std::fs::read_to_string(&out_all).unwrap();
    assert!(!text.contains("s3cr3t-value"), "env values are redacted");
    assert!(!text.contains("hunter2") && !text.contains("aHVudGVyMg"), "no Secret");
    assert!(!text.contains("kind: Secret") && !text.contains("kind: ConfigMap"));
    let exported = offline_index(&out_all);
    let rt = rt();
    let live = rt.block_on(source(&kubeconfig, Duration::from_secs(600)));
    for q in &queries() {
        let ctx = rt.block_on(live.context(&scope_of(q))).unwrap();
        assert_same("live vs export", q, &answer(&ctx.index, q), &answer(&exported, q));
    }
    // One namespace: its questions diagnose the same from the smaller file.
    let out_shop = dir.join("shop.yaml");
    let before = fake.count();
    let o = bin(&[
        "snapshot",
        "--kubeconfig",
        kc,
        "-n",
        "shop",
        "-o",
        out_shop.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    println!("snapshot export (-n shop): {} requests", fake.count() - before);
    let shop = offline_index(&out_shop);
    assert!(shop.pods.len() < exported.pods.len());
    for q in queries()
        .iter()
        .filter(|q| q.from.starts_with("shop/") && q.to.starts_with("shop/"))
    {
        let ctx = rt.block_on(live.context(&scope_of(q))).unwrap();
        assert_same("live vs -n shop export", q, &answer(&ctx.index, q), &answer(&shop, q));
    }
    let o = bin(&["snapshot", "--kubeconfig", kc, "-n", "shpo"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--namespace shpo: no such namespace"),
        "{}",
        stderr(&o)
    );
    assert!(fake.recorded().iter().all(|r| r.method == "GET"));
}

pub(crate) fn diagnose_json(kubeconfig: &Path, from: &str, to: &str, port: &str) -> (Option<i32>, Value, String) {
    let out = bin(&[
        "diagnose",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--from",
        from,
        "--to",
        to,
        "--port",
        port,
        "-o",
        "json",
    ]);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v, stderr(&out))
}

pub(crate) const FRONTEND: &str = "shop/frontend-7d9f8b6c5d-x2x2x";

#[test]
fn forbidden_policy_kinds_make_the_verdict_inconclusive_naming_the_permission() {
    for (plural, permission) in [
        ("ciliumnetworkpolicies", "needs list on ciliumnetworkpolicies.cilium.io"),
        (
            "adminnetworkpolicies",
            "needs list on adminnetworkpolicies.policy.networking.k8s.io",
        ),
        (
            "networkpolicies",
            "needs list on networkpolicies.networking.k8s.io in namespace shop",
        ),
    ] {
        let fake = FakeKube::from_file(&fixture(), |c| c.forbidden.push((plural.into(), None)));
        let kubeconfig = fake.kubeconfig(&temp_dir(plural), TOKEN);
        let (code, d, err) = diagnose_json(&kubeconfig, FRONTEND, "shop/svc/api", "80");
        assert_eq!(code, Some(3), "{plural}: exit 3 (inconclusive): {err}");
        assert_eq!(d["verdict"], "inconclusive", "{plural}");
        assert!(
            d.to_string().contains(permission),
            "{plural}: the diagnosis names {permission:?}: {d}"
        );
        assert!(err.contains(permission), "{plural}: stderr warns: {err}");
    }
}

#[test]
fn forbidden_context_kinds_leave_the_verdict_and_warn() {
    let baseline = {
        let fake = FakeKube::from_file(&fixture(), |_| {});
        let kubeconfig = fake.kubeconfig(&temp_dir("ctx-base"), TOKEN);
        diagnose_json(&kubeconfig, FRONTEND, "shop/svc/api", "80")
    };
    assert_eq!(baseline.1["verdict"], "allowed");
    let fake = FakeKube::from_file(&fixture(), |c| c.forbidden.push(("nodes".into(), None)));
    let kubeconfig = fake.kubeconfig(&temp_dir("ctx-nodes"), TOKEN);
    let (code, d, err) = diagnose_json(&kubeconfig, FRONTEND, "shop/svc/api", "80");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(d["verdict"], "allowed");
    assert!(err.contains("needs list on nodes (403 Forbidden)"), "{err}");
}

#[test]
fn forbidden_pods_is_an_error_naming_the_permission() {
    let fake = FakeKube::from_file(&fixture(), |c| c.forbidden.push(("pods".into(), Some("shop".into()))));
    let kubeconfig = fake.kubeconfig(&temp_dir("pods"), TOKEN);
    let (code, _, err) = diagnose_json(&kubeconfig, FRONTEND, "shop/svc/api", "80");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs list on pods in namespace shop"), "{err}");
    assert!(
        err.contains("context fake") && err.contains("examples/rbac.yaml"),
        "{err}"
    );
}

#[test]
fn refused_credentials_unreachable_servers_and_timeouts_are_clear_errors() {
    let fake = FakeKube::from_file(&fixture(), |_| {});
    let dir = temp_dir("errors");
    // 401.
    let bad = fake.kubeconfig(&dir.join("bad"), "wrong-token");
    let (code, _, err) = diagnose_json(&bad, FRONTEND, "shop/svc/api", "80");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("401") && err.contains("context fake") && err.contains(&fake.url()),
        "{err}"
    );
    // Unreachable: the context `other` points at a closed port.
    let good = fake.kubeconfig(&dir.join("good"), TOKEN);
    let started = std::time::Instant::now();
    let out = bin(&[
        "diagnose",
        "--kubeconfig",
        good.to_str().unwrap(),
        "--context",
        "other",
        "--from",
        FRONTEND,
        "--to",
        "shop/svc/api",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("context other") && err.contains("127.0.0.1:9"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // An unknown context names the known ones.
    let out = bin(&[
        "diagnose",
        "--kubeconfig",
        good.to_str().unwrap(),
        "--context",
        "prod",
        "--from",
        FRONTEND,
        "--to",
        "shop/db-0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--context prod: no such context") && stderr(&out).contains("fake, other"));
    // A missing kubeconfig file.
    let out = bin(&[
        "diagnose",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
        "--from",
        FRONTEND,
        "--to",
        "shop/db-0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/kubeconfig"), "{}", stderr(&out));
    // A server that does not answer in time.
    let slow = FakeKube::from_file(&fixture(), |c| {
        c.slow = Some(("/api/v1/namespaces".into(), Duration::from_secs(5)))
    });
    let kc = slow.kubeconfig(&dir.join("slow"), TOKEN);
    let started = std::time::Instant::now();
    let out = bin(&[
        "diagnose",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--request-timeout",
        "1",
        "--from",
        FRONTEND,
        "--to",
        "shop/db-0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no answer within 1s"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn the_mcp_server_on_a_live_cluster_caches_a_burst_and_is_an_open_world() {
    use netpol_debug::serve::mcp::NetpolServer;
    use rmcp::model::CallToolRequestParams;
    use rmcp::{ServiceExt, serve_server};
    let fake = FakeKube::from_file(&fixture(), |_| {});
    let kubeconfig = fake.kubeconfig(&temp_dir("mcp"), TOKEN);
    let rt = rt();
    rt.block_on(async {
        let live = Arc::new(source(&kubeconfig, Duration::from_secs(60)).await);
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            if let Ok(running) = serve_server(NetpolServer::new(live), server_io).await {
                let _ = running.waiting().await;
            }
        });
        let client = ().serve(client_io).await.unwrap();
        let tools = client.list_all_tools().await.unwrap();
        assert!(
            tools
                .iter()
                .all(|t| t.annotations.as_ref().and_then(|a| a.open_world_hint) == Some(true))
        );
        let args = serde_json::json!({"from": FRONTEND, "to": "shop/svc/api", "port": 80});
        let call =
            |name: &'static str| CallToolRequestParams::new(name).with_arguments(args.as_object().cloned().unwrap());
        let first = client.call_tool(call("diagnose")).await.unwrap();
        assert_eq!(first.structured_content.as_ref().unwrap()["verdict"], "allowed");
        let after_first = fake.count();
        for name in [
            "diagnose",
            "check_ingress",
            "check_egress",
            "check_cross_namespace",
            "diagnose",
        ] {
            let r = client.call_tool(call(name)).await.unwrap();
            assert_ne!(r.is_error, Some(true), "{name}");
        }
        assert_eq!(
            fake.count(),
            after_first,
            "a burst on the same scope is served from the cache"
        );
        let _ = client.cancel().await;
    });
}

#[test]
fn rbac_example_grants_exactly_the_reads_we_make() {
    use netpol_debug::live::{CUSTOM_KINDS, builtin_resources};
    use std::collections::BTreeSet;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rbac.yaml");
    let docs = crate::fake_kube::load_objects(&path);
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"]
    );
    let role = docs.iter().find(|d| d["kind"] == "ClusterRole").unwrap();
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        let verbs: BTreeSet<&str> = rule["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if rule.get("nonResourceURLs").is_some() {
            assert_eq!(verbs, BTreeSet::from(["get"]), "discovery is read-only");
            continue;
        }
        assert_eq!(
            verbs,
            BTreeSet::from(["get", "list", "watch"]),
            "read verbs only: {rule}"
        );
        for g in rule["apiGroups"].as_array().unwrap() {
            for r in rule["resources"].as_array().unwrap() {
                let (g, r) = (g.as_str().unwrap().to_string(), r.as_str().unwrap().to_string());
                assert!(r != "*" && g != "*" && r != "secrets" && r != "configmaps", "{g}/{r}");
                granted.insert((g, r));
            }
        }
    }
    let mut used: BTreeSet<(String, String)> = builtin_resources().into_iter().map(|r| (r.group, r.plural)).collect();
    used.extend(CUSTOM_KINDS.iter().map(|(g, _, p, _)| (g.to_string(), p.to_string())));
    assert_eq!(
        granted, used,
        "the ClusterRole grants exactly what the live source reads"
    );
    let binding = docs.iter().find(|d| d["kind"] == "ClusterRoleBinding").unwrap();
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["name"], "netpol-debug");
}

#[test]
fn matrix_and_tool_read_the_live_cluster_like_the_file() {
    let fake = FakeKube::from_file(&fixture(), |_| {});
    let kubeconfig = fake.kubeconfig(&temp_dir("matrix"), TOKEN);
    let kc = kubeconfig.to_str().unwrap();
    let f = fixture();
    let file = f.to_str().unwrap();
    for args in [
        vec!["matrix", "--focus", "shop"],
        vec!["tool", "list_policies", "--args", r#"{"namespace":"shop"}"#],
        vec!["tool", "check_cni"],
        vec!["tool", "match_selectors", "--args", r#"{"pod":"shop/db-0"}"#],
    ] {
        let live = bin(&[args.as_slice(), &["--kubeconfig", kc]].concat());
        let offline = bin(&[args.as_slice(), &["--snapshot", file]].concat());
        assert_eq!(live.status.code(), Some(0), "{args:?}: {}", stderr(&live));
        assert_eq!(
            String::from_utf8_lossy(&live.stdout),
            String::from_utf8_lossy(&offline.stdout),
            "{args:?}"
        );
    }
}

#[test]
fn forbidden_policies_in_whole_cluster_reads_are_inconclusive_everywhere() {
    let fake = FakeKube::from_file(&fixture(), |c| c.forbidden.push(("networkpolicies".into(), None)));
    let dir = temp_dir("whole-403");
    let kubeconfig = fake.kubeconfig(&dir, TOKEN);
    let kc = kubeconfig.to_str().unwrap();
    let batch = dir.join("q.jsonl");
    std::fs::write(
        &batch,
        format!(
            "{{\"from\":\"{FRONTEND}\",\"to\":\"shop/svc/api\",\"port\":80}}\n{{\"from\":\"billing/worker-66b8d9c7f-zzzzz\",\"to\":\"shop/db-0\",\"port\":5432}}\n"
        ),
    )
    .unwrap();
    let out = bin(&["diagnose", "--kubeconfig", kc, "--batch", batch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for d in &lines {
        assert_eq!(d["verdict"], "inconclusive", "{d}");
        assert!(
            d.to_string()
                .contains("needs list on networkpolicies.networking.k8s.io"),
            "{d}"
        );
    }
    // The export carries a placeholder in every namespace, so offline is as unsure.
    let file = dir.join("all.yaml");
    let out = bin(&["snapshot", "--kubeconfig", kc, "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# forbidden: needs list on networkpolicies.networking.k8s.io in all namespaces"));
    let ix = offline_index(&file);
    for ns in ["shop", "billing", "batch", "monitoring", "kube-system"] {
        assert!(ix.unreadable_policies.contains_key(ns), "placeholder in {ns}");
    }
}

#[test]
fn a_service_ip_needs_services_and_a_failing_optional_kind_is_not_fatal() {
    // Services forbidden: an IP that is no pod's cannot be told from an external address.
    let fake = FakeKube::from_file(&fixture(), |c| c.forbidden.push(("services".into(), None)));
    let kubeconfig = fake.kubeconfig(&temp_dir("svc-403"), TOKEN);
    let (code, _, err) = diagnose_json(&kubeconfig, FRONTEND, "10.96.10.20", "80");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot tell what 10.96.10.20 is") && err.contains("services"),
        "{err}"
    );
    let (code, _, err) = diagnose_json(&kubeconfig, FRONTEND, "shop/svc/api", "80");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs list on services in namespace shop"), "{err}");
    // A 503 from an aggregated API (a policy kind): the verdict it could change is inconclusive.
    let fake = FakeKube::from_file(&fixture(), |c| c.failing.push(("ciliumnetworkpolicies".into(), 503)));
    let kubeconfig = fake.kubeconfig(&temp_dir("cnp-503"), TOKEN);
    let (code, d, err) = diagnose_json(&kubeconfig, FRONTEND, "shop/svc/api", "80");
    assert_eq!(code, Some(3), "{err}");
    assert!(
        d.to_string().contains("could not list ciliumnetworkpolicies.cilium.io"),
        "{d}"
    );
}

#[test]
fn kubeconfig_resolution_follows_kubectl() {
    let fake = FakeKube::from_file(&fixture(), |_| {});
    let dir = temp_dir("kubeconfig-env");
    let kubeconfig = fake.kubeconfig(&dir, TOKEN);
    let run = |kubeconfig_env: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_netpol-debug"))
            .args([
                "diagnose",
                "--live",
                "--from",
                FRONTEND,
                "--to",
                "shop/svc/api",
                "--port",
                "80",
            ])
            .args(extra)
            .env("KUBECONFIG", kubeconfig_env)
            .env("HOME", &dir)
            .output()
            .unwrap()
    };
    // A missing file in the KUBECONFIG list is skipped, as kubectl does.
    let list = format!("{}:{}", dir.join("missing").display(), kubeconfig.display());
    let out = run(&list, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Nothing at all: a clear error naming the files.
    let out = run(dir.join("missing").to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("none of the KUBECONFIG files exist"),
        "{}",
        stderr(&out)
    );
    // A file that does not parse is an error, never a silent in-cluster fallback.
    let broken = dir.join("broken");
    std::fs::write(&broken, "clusters: [unclosed").unwrap();
    let out = run(broken.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read kubeconfig") && stderr(&out).contains("broken"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_expired_continue_token_starts_the_list_again() {
    // As a real server answers after etcd compacted the list's revision: 410 Gone.
    let fake = FakeKube::from_file(&fixture(), |c| {
        c.page_cap = Some(2);
        c.expire_continue = vec!["pods".into(), "networkpolicies".into()];
    });
    let kubeconfig = fake.kubeconfig(&temp_dir("expired"), TOKEN);
    let offline = offline_index(&fixture());
    let rt = rt();
    let live = rt.block_on(source(&kubeconfig, Duration::ZERO));
    let ctx = rt
        .block_on(live.context(&Scope::everything()))
        .expect("the read survives a 410");
    assert_eq!(ctx.index.pods.len(), offline.pods.len(), "no page twice, none missing");
    assert_eq!(ctx.index.policies.len(), offline.policies.len());
    let pods: Vec<_> = fake
        .recorded()
        .into_iter()
        .filter(|r| r.path == "/api/v1/pods")
        .collect();
    let first_continued = pods.iter().position(|r| r.query.contains("continue=")).unwrap();
    assert!(
        pods[first_continued + 1..]
            .iter()
            .any(|r| !r.query.contains("continue=")),
        "the pod list started again: {pods:?}"
    );
}

#[test]
fn kinds_outside_their_groups_preferred_version_are_discovered() {
    // ClusterNetworkPolicy (v1alpha2) makes v1alpha2 the preferred version of
    // policy.networking.k8s.io while ANP/BANP are v1alpha1; Multus' v1 is preferred over the
    // v1beta1 of MultiNetworkPolicy. A real server serves them so (tests/suite/real_apiserver.rs).
    let fake = FakeKube::from_file(&fixture(), |c| {
        c.objects.extend([
            serde_json::json!({"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy", "metadata": {"name": "cnp"}, "spec": {"tier": "Admin", "priority": 50, "subject": {"namespaces": {"matchLabels": {"no": "such-namespace"}}}, "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}]}}),
            serde_json::json!({"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition", "metadata": {"name": "macvlan", "namespace": "billing"}, "spec": {}}),
            serde_json::json!({"apiVersion": "k8s.cni.cncf.io/v1beta1", "kind": "MultiNetworkPolicy", "metadata": {"name": "secondary", "namespace": "billing", "annotations": {"k8s.v1.cni.cncf.io/policy-for": "billing/macvlan"}}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        ])
    });
    let dir = temp_dir("versions");
    let kubeconfig = fake.kubeconfig(&dir, TOKEN);
    let text = std::fs::read_to_string(export(&kubeconfig, &dir)).unwrap();
    assert!(
        text.contains("\"AdminNetworkPolicy\"") && text.contains("\"protect-db\""),
        "ANP read"
    );
    assert!(text.contains("\"MultiNetworkPolicy\""), "MultiNetworkPolicy read");
    assert!(
        text.contains("\"ClusterNetworkPolicy\""),
        "ClusterNetworkPolicy read (v1alpha2)"
    );
    // The ANP still decides: monitoring may not reach the database.
    let (code, d, err) = diagnose_json(&kubeconfig, "monitoring/prometheus-0", "shop/db-0", "5432");
    assert_eq!(code, Some(1), "{err}");
    assert!(d.to_string().contains("protect-db"), "{d}");
}

/// `netpol-debug snapshot` of the whole cluster with `kubeconfig`, into `dir/export.yaml`.
pub(crate) fn export(kubeconfig: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("export.yaml");
    let o = bin(&[
        "snapshot",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "snapshot: {}", stderr(&o));
    out
}

#[test]
fn mcp_resources_and_policy_ages_on_a_live_cluster() {
    use netpol_debug::serve::mcp::NetpolServer;
    use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams};
    use rmcp::{ServiceExt, serve_server};
    let dir = temp_dir("resources");
    let stamped = "metadata: {name: api-ingress, namespace: shop, creationTimestamp: \"2020-01-01T00:00:00Z\", generation: 2, managedFields: [{manager: kubectl}], annotations: {kubectl.kubernetes.io/last-applied-configuration: \"{}\"}}";
    let text = std::fs::read_to_string(fixture())
        .unwrap()
        .replace("metadata: {name: api-ingress, namespace: shop}", stamped);
    assert!(text.contains(stamped));
    let path = dir.join("cluster.yaml");
    std::fs::write(&path, text).unwrap();
    let fake = FakeKube::from_file(&path, |_| {});
    let kubeconfig = fake.kubeconfig(&dir, TOKEN);
    rt().block_on(async {
        let live = Arc::new(source(&kubeconfig, Duration::from_secs(60)).await);
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            if let Ok(running) = serve_server(NetpolServer::new(live), server_io).await {
                let _ = running.waiting().await;
            }
        });
        let client = ().serve(client_io).await.unwrap();
        let uri = "netpol://shop/NetworkPolicy/api-ingress";
        let read = client.read_resource(ReadResourceRequestParams::new(uri)).await.unwrap();
        let body = serde_json::to_string(&read.contents).unwrap();
        assert!(
            body.contains("api-ingress") && body.contains("creationTimestamp"),
            "{body}"
        );
        assert!(
            !body.contains("managedFields") && !body.contains("last-applied"),
            "cleaned: {body}"
        );
        let missing = client
            .read_resource(ReadResourceRequestParams::new("netpol://shop/NetworkPolicy/nope"))
            .await
            .unwrap_err();
        assert!(
            missing.to_string().contains("netpol://shop/NetworkPolicy/nope"),
            "{missing}"
        );

        let args = serde_json::json!({"from": FRONTEND, "to": "shop/svc/api", "port": 80});
        let call = CallToolRequestParams::new("diagnose").with_arguments(args.as_object().cloned().unwrap());
        let r = client.call_tool(call).await.unwrap();
        let d = r.structured_content.clone().unwrap();
        let ages = d["policy_ages"].as_array().cloned().unwrap_or_default();
        let age = ages
            .iter()
            .find(|a| a["policy"] == "shop/api-ingress")
            .expect("policy_ages names it");
        assert!(
            age["age"].as_str().unwrap().ends_with(" days ago"),
            "live ages are from the read: {age}"
        );
        assert_eq!(age["generation"], 2);
        let links: Vec<String> = r
            .content
            .iter()
            .filter_map(|c| c.as_resource_link().map(|l| l.uri.clone()))
            .collect();
        assert!(links.contains(&uri.to_string()), "{links:?}");
        let _ = client.cancel().await;
    });
}
