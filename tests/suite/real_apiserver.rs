//! Live mode against a real kube-apiserver (built from the Go module proxy by
//! tests/apiserver/build.sh, started with etcd by tests/apiserver/control-plane.sh; the harness
//! is `control_plane`). The live fixture (tests/fixtures/live-cluster.yaml) is created through the
//! API, pods' IPs and phases through the `status` subresource, the custom kinds through our own
//! CRDs (tests/apiserver/crds/), plus tests/apiserver/extra-objects.yaml. We read it as the
//! ServiceAccount netpol-debug/netpol-debug bound to exactly examples/rbac.yaml.
//!
//! - live = offline: every query of `live::queries()` gives the same JSON as the exported snapshot;
//! - the audit log (Metadata level for our identities) shows only get/list/watch, never Secrets
//!   or ConfigMaps;
//! - RBAC: with one resource of the ClusterRole missing at a time, each documented 403 behaviour;
//!   namespaced kinds granted only per namespace (RoleBindings) still read;
//! - pagination with a page size of 2, and a `continue` token that expires mid-list (etcd
//!   compacted between two pages: the real 410);
//! - CRDs that appear after the first read are found once the cache expires; CRDs with several
//!   served versions, and kinds outside their group's preferred version;
//! - `serve --live` through the Python MCP SDK.
//!
//! Skipped loudly without the binaries (see `control_plane`); under CI their absence fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netpol_debug::live::{ConnectOptions, LiveSource, ReadOnlyClient};
use netpol_debug::serve::source::Scope;
use serde_json::{Value, json};

use crate::control_plane::{self, ControlPlane};
use crate::live::{
    FRONTEND, answer, assert_same, bin, diagnose_json, export, offline_index, queries, rt, scope_of, source, stderr,
};

fn dir(cp: &ControlPlane, tag: &str) -> PathBuf {
    let d = cp.dir.join(tag);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn real_apiserver_live_equals_offline_on_every_query() {
    let _serial = control_plane::serial();
    let Some(cp) = control_plane::shared("real apiserver: live = offline") else {
        return;
    };
    let d = dir(cp, "agree");
    let started = Instant::now();
    let exported = export(&cp.ours, &d);
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(
        !text.contains("# forbidden"),
        "examples/rbac.yaml grants every read:\n{}",
        &text[..text.len().min(2000)]
    );
    assert!(!text.contains("s3cr3t-value"), "env values are redacted");
    assert!(!text.contains("aHVudGVyMg") && !text.contains("\"Secret\"") && !text.contains("\"ConfigMap\""));
    let objects = crate::fake_kube::load_objects(&exported);
    let has = |api_version: &str, kind: &str, name: &str| {
        objects
            .iter()
            .any(|o| o["apiVersion"] == api_version && o["kind"] == kind && o["metadata"]["name"] == name)
    };
    // Each custom kind, read through the version discovery prefers for it, although some are
    // not served by their group's preferred version and some were created through another.
    for (api_version, kind, name) in [
        ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", "protect-db"),
        (
            "policy.networking.k8s.io/v1alpha1",
            "BaselineAdminNetworkPolicy",
            "default",
        ),
        ("cilium.io/v2", "CiliumNetworkPolicy", "prometheus-scrape"),
        ("cilium.io/v2", "CiliumClusterwideNetworkPolicy", "batch-from-cluster"),
        ("k8s.cni.cncf.io/v1beta2", "MultiNetworkPolicy", "secondary-deny"),
        ("security.istio.io/v1", "PeerAuthentication", "default"),
        ("security.istio.io/v1", "AuthorizationPolicy", "allow-nothing"),
        ("networking.istio.io/v1", "Sidecar", "default"),
    ] {
        assert!(
            has(api_version, kind, name),
            "the export has {api_version} {kind} {name}"
        );
    }
    // Status written through the subresource is what we read.
    let db = objects
        .iter()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["name"] == "db-0")
        .unwrap();
    assert_eq!(db["status"]["podIPs"][1]["ip"], "fd00::41", "{db}");
    let mut offline = offline_index(&exported);
    let rt = rt();
    let live = rt.block_on(source(&cp.ours, Duration::from_secs(600)));
    let mut verdicts = BTreeMap::<String, usize>::new();
    let qs = queries();
    for q in &qs {
        let ctx = rt.block_on(live.context(&scope_of(q))).expect("live read");
        // A live answer says a policy's age from the read ("2 h ago"): the same clock offline.
        offline.times.read_at = ctx.index.times.read_at;
        let (l, o) = (answer(&ctx.index, q), answer(&offline, q));
        assert_same("real apiserver live vs its export", q, &l, &o);
        *verdicts
            .entry(l["verdict"].as_str().unwrap_or("not found").to_string())
            .or_default() += 1;
    }
    println!(
        "real apiserver: live = offline on {} queries in {:.1}s, {} requests: {verdicts:?}",
        qs.len(),
        started.elapsed().as_secs_f64(),
        live.client().request_count()
    );
    assert!(verdicts.len() >= 4, "several verdicts: {verdicts:?}");
    // What went through the API diagnoses as the files it came from (the server's own objects
    // differ only in details such as the `kubernetes` endpoint's port): same verdicts, same
    // root causes.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = netpol_debug::snapshot::load_paths(&[
        root.join("tests/fixtures/live-cluster.yaml"),
        root.join("tests/apiserver/extra-objects.yaml"),
    ])
    .unwrap();
    let files = netpol_debug::index::ClusterIndex::build(&files, Default::default());
    let codes = |v: &Value| -> Vec<Value> {
        v["root_causes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["code"].clone())
            .collect()
    };
    for q in &qs {
        let (a, b) = (answer(&offline, q), answer(&files, q));
        assert_eq!(
            (&a["verdict"], codes(&a)),
            (&b["verdict"], codes(&b)),
            "{} -> {} {:?}: the real server's export vs the fixture files",
            q.from,
            q.to,
            q.port
        );
    }
    // One diagnose without the cache: what it costs on a real server (8 discovery requests for
    // the 5 groups of our CRDs, 2 of them for kinds outside their group's preferred version).
    let fresh = rt.block_on(source(&cp.ours, Duration::ZERO));
    let q = qs
        .iter()
        .find(|q| q.from == FRONTEND && q.to == "shop/svc/api")
        .unwrap();
    rt.block_on(fresh.context(&scope_of(q))).unwrap();
    println!(
        "real apiserver: one diagnose {} -> {}: {} requests",
        q.from,
        q.to,
        fresh.client().request_count()
    );
    cp.assert_only_reads();
}

#[test]
fn real_apiserver_audit_log_shows_only_reads() {
    let _serial = control_plane::serial();
    let Some(cp) = control_plane::shared("real apiserver: audit") else {
        return;
    };
    let d = dir(cp, "audit");
    let before = cp.audit_events().len();
    let kc = cp.ours.to_str().unwrap();
    export(&cp.ours, &d);
    for args in [
        vec!["matrix"],
        vec!["tool", "list_policies"],
        vec!["tool", "check_cni"],
        vec!["diagnose", "--from", "10.0.0.31", "--to", "10.96.10.20", "--port", "80"],
        vec!["diagnose", "--from", "fd00::41", "--to", "shop/db-0", "--port", "5432"],
        vec![
            "diagnose",
            "--from",
            FRONTEND,
            "--to",
            "shop/deploy/web",
            "--port",
            "http",
        ],
    ] {
        let o = bin(&[args.as_slice(), &["--kubeconfig", kc]].concat());
        assert!(
            matches!(o.status.code(), Some(0 | 1 | 3)),
            "{args:?}: {:?} {}",
            o.status,
            stderr(&o)
        );
    }
    let total = cp.assert_only_reads();
    let events = cp.audit_events();
    let mine = &events[before..];
    let mut by_verb = BTreeMap::<String, usize>::new();
    for e in mine {
        *by_verb
            .entry(e["verb"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    println!(
        "real apiserver audit: {} events of ours in these commands ({total} in all): {by_verb:?}",
        mine.len()
    );
    assert!(by_verb.get("list").is_some_and(|n| *n > 20), "{by_verb:?}");
    // The IP lookup used the field selector the real server supports on pods.
    assert!(
        mine.iter().any(|e| e["requestURI"]
            .as_str()
            .is_some_and(|u| u.contains("fieldSelector=status.podIP"))
            && e["responseStatus"]["code"] == 200),
        "a status.podIP lookup was answered"
    );
    // Every request answered 200: no 403 with examples/rbac.yaml, and no 400 for a field
    // selector the server does not support on that resource (`status.podIP` on pods,
    // `metadata.name` on Services and Endpoints).
    let refused: Vec<String> = mine
        .iter()
        .filter(|e| e["responseStatus"]["code"] != 200)
        .map(|e| format!("{} {}", e["responseStatus"]["code"], e["requestURI"]))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert!(
        mine.iter().any(|e| e["requestURI"]
            .as_str()
            .is_some_and(|u| u.contains("fieldSelector=metadata.name%3Dkubernetes"))),
        "the default/kubernetes lookups were made"
    );
}

/// `(group, resource)` of every resource rule of examples/rbac.yaml's ClusterRole, and the role.
fn rbac_rules() -> (Value, Vec<(usize, String, String)>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rbac.yaml");
    let role = crate::fake_kube::load_objects(&path)
        .into_iter()
        .find(|d| d["kind"] == "ClusterRole")
        .unwrap();
    let mut out = Vec::new();
    for (i, rule) in role["rules"].as_array().unwrap().iter().enumerate() {
        for g in rule["apiGroups"].as_array().into_iter().flatten() {
            for r in rule["resources"].as_array().into_iter().flatten() {
                out.push((i, g.as_str().unwrap().to_string(), r.as_str().unwrap().to_string()));
            }
        }
    }
    (role, out)
}

/// The ClusterRole of examples/rbac.yaml without `resource` in `group` (without the
/// nonResourceURLs rule when `group` is `"-"`).
fn role_without(role: &Value, name: &str, group: &str, resource: &str) -> Value {
    let mut rules = Vec::new();
    for rule in role["rules"].as_array().unwrap() {
        if rule.get("nonResourceURLs").is_some() {
            if group != "-" {
                rules.push(rule.clone());
            }
            continue;
        }
        let groups: Vec<&str> = rule["apiGroups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let resources: Vec<&str> = rule["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for g in &groups {
            let kept: Vec<&str> = resources
                .iter()
                .copied()
                .filter(|r| !(*g == group && *r == resource))
                .collect();
            if !kept.is_empty() {
                rules.push(json!({"apiGroups": [g], "resources": kept, "verbs": rule["verbs"]}));
            }
        }
    }
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules})
}

fn bind(cp: &ControlPlane, role: &str, sa: &str, namespace: Option<&str>) {
    let (kind, ns_meta) = match namespace {
        Some(ns) => ("RoleBinding", json!({"name": format!("{sa}-{role}"), "namespace": ns})),
        None => ("ClusterRoleBinding", json!({"name": format!("{sa}-{role}")})),
    };
    cp.create(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": ns_meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": "netpol-debug"}],
    }));
}

#[test]
fn real_apiserver_rbac_each_missing_permission_behaves_as_documented() {
    let _serial = control_plane::serial();
    let Some(cp) = control_plane::shared("real apiserver: RBAC") else {
        return;
    };
    let d = dir(cp, "rbac");
    let (role, rules) = rbac_rules();
    let to = "shop/svc/api";
    let (base_code, base, base_err) = diagnose_json(&cp.ours, FRONTEND, to, "80");
    assert_eq!(base_code, Some(0), "{base_err}");
    assert_eq!(base["verdict"], "allowed");
    assert!(!base_err.contains("needs list"), "{base_err}");
    // Kinds the cluster serves (our CRDs; not Calico's, Antrea's or Linkerd's).
    let served = |group: &str| {
        [
            "",
            "apps",
            "batch",
            "discovery.k8s.io",
            "networking.k8s.io",
            "policy.networking.k8s.io",
            "cilium.io",
            "k8s.cni.cncf.io",
            "security.istio.io",
            "networking.istio.io",
        ]
        .contains(&group)
    };
    let policy = |group: &str, resource: &str| {
        netpol_debug::live::CUSTOM_KINDS
            .iter()
            .any(|(g, _, p, role)| *g == group && *p == resource && *role == netpol_debug::live::Role::Policy)
            || resource == "networkpolicies"
    };
    let mut cases: Vec<(String, String)> = rules.iter().map(|(_, g, r)| (g.clone(), r.clone())).collect();
    cases.push(("-".into(), "nonResourceURLs".into()));
    let mut table = Vec::new();
    for (i, (group, resource)) in cases.iter().enumerate() {
        let name = format!("minus-{i}");
        cp.create(&role_without(&role, &format!("netpol-debug-{name}"), group, resource));
        bind(cp, &format!("netpol-debug-{name}"), &name, None);
        let kc = cp.identity(&name, &d);
        let token = cp.token_of(&kc);
        let probe = if resource == "namespaces" {
            "/api/v1/nodes"
        } else {
            "/api/v1/namespaces"
        };
        cp.wait_until_allowed(&token, probe);
        let (code, dj, err) = diagnose_json(&kc, FRONTEND, to, "80");
        let rbac_name = if group.is_empty() || group == "-" {
            resource.clone()
        } else {
            format!("{resource}.{group}")
        };
        let permission = format!("needs list on {rbac_name}");
        let what = format!("without {group}/{resource}: exit {code:?}, verdict {}", dj["verdict"]);
        table.push(what.clone());
        match (group.as_str(), resource.as_str()) {
            ("", "namespaces") | ("", "pods") | ("", "services") => {
                assert_eq!(code, Some(2), "{what}: an error: {err}");
                assert!(
                    err.contains(&permission) && err.contains("examples/rbac.yaml") || err.contains(&permission),
                    "{what}: {err}"
                );
            }
            ("-", _) => {
                // The default system:discovery ClusterRoleBinding grants discovery to everyone.
                assert_eq!((code, &dj["verdict"]), (Some(0), &base["verdict"]), "{what}: {err}");
                assert!(!err.contains("needs list"), "{what}: {err}");
            }
            (g, _) if !served(g) => {
                assert_eq!((code, &dj["verdict"]), (Some(0), &base["verdict"]), "{what}: {err}");
                assert!(!err.contains(&permission), "{what}: a kind the cluster lacks: {err}");
            }
            (g, r) if policy(g, r) => {
                assert!(err.contains(&permission), "{what}: stderr names {permission}: {err}");
                // Verdicts an unreadable policy kind could change are inconclusive; these four
                // can change this one (a BaselineAdminNetworkPolicy cannot override the
                // NetworkPolicy that allows it, a MultiNetworkPolicy is about other networks).
                let decisive = [
                    "networkpolicies",
                    "adminnetworkpolicies",
                    "ciliumnetworkpolicies",
                    "ciliumclusterwidenetworkpolicies",
                ];
                if decisive.contains(&r) || dj["verdict"] != base["verdict"] {
                    assert_eq!(code, Some(3), "{what}: inconclusive: {err}");
                    assert_eq!(dj["verdict"], "inconclusive", "{what}");
                    assert!(
                        dj.to_string().contains(&permission),
                        "{what}: the diagnosis names {permission}: {dj}"
                    );
                }
            }
            _ => {
                assert!(
                    err.contains(&permission) && err.contains("(403 Forbidden)"),
                    "{what}: warns: {err}"
                );
                assert_eq!((code, &dj["verdict"]), (Some(0), &base["verdict"]), "{what}: {err}");
            }
        }
    }
    println!(
        "real apiserver RBAC, one permission missing at a time:\n  {}",
        table.join("\n  ")
    );

    // Namespaced kinds granted only in some namespaces (RoleBindings to the same ClusterRole),
    // cluster-scoped reads by a ClusterRole: cluster-wide lists of namespaced custom kinds are
    // refused and read again per namespace; the verdict is the same.
    let cluster_only = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "netpol-debug-cluster-scoped"},
        "rules": [
            {"apiGroups": [""], "resources": ["namespaces", "nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["policy.networking.k8s.io"], "resources": ["adminnetworkpolicies", "baselineadminnetworkpolicies", "clusternetworkpolicies"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["cilium.io"], "resources": ["ciliumclusterwidenetworkpolicies"], "verbs": ["get", "list", "watch"]},
        ],
    });
    cp.create(&cluster_only);
    bind(cp, "netpol-debug-cluster-scoped", "per-namespace", None);
    for ns in ["shop", "kube-system", "default", "monitoring", "istio-system"] {
        bind(cp, "netpol-debug-read", "per-namespace", Some(ns));
    }
    let kc = cp.identity("per-namespace", &d);
    cp.wait_until_allowed(&cp.token_of(&kc), "/api/v1/namespaces/istio-system/pods");
    let (code, dj, err) = diagnose_json(&kc, FRONTEND, to, "80");
    assert_eq!(
        (code, &dj["verdict"]),
        (Some(0), &base["verdict"]),
        "per-namespace RoleBindings: {err}"
    );
    assert!(!err.contains("needs list"), "{err}");
    // An IP needs pods and Services cluster-wide: a clear error naming the permission.
    let (code, _, err) = diagnose_json(&kc, FRONTEND, "10.96.10.20", "80");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot tell what 10.96.10.20 is") && err.contains("services"),
        "{err}"
    );
    cp.assert_only_reads();
}

#[test]
fn real_apiserver_pagination_and_an_expired_continue_token() {
    let _serial = control_plane::serial();
    let Some(cp) = control_plane::shared("real apiserver: pagination") else {
        return;
    };
    let d = dir(cp, "pages");
    let token = cp.token_of(&cp.ours);
    // The proxy compacts etcd just before it forwards the first continued page of the
    // cluster-wide pod list: that page is answered 410 Gone by the real server.
    let armed = Arc::new(AtomicBool::new(true));
    let hook = {
        let armed = armed.clone();
        move |pq: &str| {
            if pq.starts_with("/api/v1/pods?") && pq.contains("continue=") && armed.swap(false, Ordering::SeqCst) {
                cp.expire_continue_tokens();
            }
        }
    };
    let proxy = cp.proxy(hook);
    let kc = cp.kubeconfig_at(&d, "through-proxy", &token, &proxy.url());
    let rt = rt();
    let (paged, whole) = rt.block_on(async {
        let client = ReadOnlyClient::connect(&ConnectOptions {
            kubeconfig: Some(kc.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .with_page_size(2);
        let paged = LiveSource::new(client, Default::default(), Duration::ZERO);
        let paged = paged.context(&Scope::everything()).await.expect("a paginated read");
        let whole = source(&cp.ours, Duration::ZERO).await;
        (paged, whole.context(&Scope::everything()).await.unwrap())
    });
    let log = proxy.recorded();
    let gone: Vec<_> = log.iter().filter(|r| r.status == 410).collect();
    let continued = log.iter().filter(|r| r.path_and_query.contains("continue=")).count();
    println!(
        "real apiserver pagination: {} requests at 2 a page, {continued} continued, 410s: {:?}",
        log.len(),
        gone.iter().map(|r| &r.path_and_query).collect::<Vec<_>>()
    );
    assert!(!armed.load(Ordering::SeqCst), "the pod list was paginated");
    // Compaction expires every list in flight at that revision, not only the pods'.
    assert!(
        gone.iter().any(|r| r.path_and_query.starts_with("/api/v1/pods?")),
        "the pod list's token got the real 410: {log:?}"
    );
    for g in &gone {
        let path = g.path_and_query.split('?').next().unwrap();
        let at = log.iter().position(|r| std::ptr::eq(r, *g)).unwrap();
        assert!(
            log[at..].iter().any(|r| r.path_and_query == format!("{path}?limit=2")),
            "{path}: the list started again from its first page"
        );
    }
    assert!(continued > 10, "pages were followed: {continued}");
    assert_eq!(paged.index.pods.len(), whole.index.pods.len());
    assert_eq!(paged.index.policies.len(), whole.index.policies.len());
    for q in queries().iter().step_by(5) {
        assert_same("paged vs whole", q, &answer(&paged.index, q), &answer(&whole.index, q));
    }
    drop(proxy);
    cp.assert_only_reads();
}

#[test]
fn real_apiserver_crds_created_after_the_first_read_are_found_when_the_cache_expires() {
    let _serial = control_plane::serial();
    let Some(cp) = control_plane::shared("real apiserver: CRDs after start") else {
        return;
    };
    let ttl = Duration::from_secs(3);
    let mut scope = Scope::base();
    scope.add_endpoint_text(FRONTEND);
    scope.add_endpoint_text("shop/svc/api");
    let q = crate::live::queries()
        .into_iter()
        .find(|q| q.from == FRONTEND && q.to == "shop/svc/api")
        .unwrap();
    let gnp = json!({
        "apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": "deny-frontend-egress"},
        // order 10: before the Kubernetes policies (order 1000 in the default tier) that allow
        // this egress; without an order it would come after them and change nothing.
        "spec": {"order": 10, "selector": "app == 'frontend'", "types": ["Egress"], "egress": [{"action": "Deny"}]},
    });
    let rt = rt();
    let live = rt.block_on(source(&cp.ours, ttl));
    let first = answer(&rt.block_on(live.context(&scope)).unwrap().index, &q);
    let t0 = Instant::now();
    cp.create_crds("tests/apiserver/crds/calico.yaml");
    cp.create(&gnp);
    let created = t0.elapsed();
    let cached = answer(&rt.block_on(live.context(&scope)).unwrap().index, &q);
    if created < ttl {
        assert_eq!(cached, first, "within the cache TTL the first read is reused");
    }
    std::thread::sleep(ttl.saturating_sub(t0.elapsed()) + Duration::from_millis(200));
    let later = answer(&rt.block_on(live.context(&scope)).unwrap().index, &q);
    println!(
        "real apiserver CRDs after start: verdict {} before, {} once the cache ({ttl:?}) expired",
        first["verdict"], later["verdict"]
    );
    assert_ne!(later["verdict"], first["verdict"], "{later}");
    assert!(later.to_string().contains("deny-frontend-egress"), "{later}");
    // The same objects through two served versions of one CRD: RBAC is by group and resource,
    // the object is one.
    let token = cp.token_of(&cp.ours);
    for v in ["v1", "v1beta1"] {
        let a = cp.get_as(
            &token,
            &format!("/apis/security.istio.io/{v}/namespaces/shop/authorizationpolicies/allow-nothing"),
        );
        assert_eq!(a.code, 200, "{v}: {}", a.body);
        assert_eq!(a.body["apiVersion"], format!("security.istio.io/{v}"));
    }
    // Leave the cluster as the other tests expect it: no Calico.
    cp.delete(&gnp);
    for crd in crate::fake_kube::load_objects(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/apiserver/crds/calico.yaml"
    ))) {
        cp.delete(&crd);
        let path = format!(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{}",
            crd["metadata"]["name"].as_str().unwrap()
        );
        let started = Instant::now();
        while cp.admin("GET", &path, None, "application/json").code != 404 {
            assert!(started.elapsed() < Duration::from_secs(60), "{path} not deleted");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    cp.assert_only_reads();
}

#[test]
fn real_apiserver_serve_live_through_the_python_sdk() {
    let _serial = control_plane::serial();
    let Some(cp) = control_plane::shared("real apiserver: serve --live through the Python SDK") else {
        return;
    };
    let Some(python) = crate::common::mcp_python("real apiserver: serve --live through the Python SDK") else {
        return;
    };
    let d = dir(cp, "sdk");
    let exported = export(&cp.ours, &d);
    let run = crate::common::run_mcp_script(
        &python,
        "tests/mcp_client/live_real.py",
        &[cp.ours.display().to_string(), exported.display().to_string()],
        Duration::from_secs(240),
    );
    match run.status {
        Some(s) if s.success() => println!(
            "real apiserver, python MCP SDK on serve --live: {} ({:.1}s)",
            run.stdout.lines().last().unwrap_or("").trim(),
            run.elapsed.as_secs_f64()
        ),
        s => panic!(
            "live_real.py failed ({s:?}):\n---- stdout ----\n{}\n---- stderr ----\n{}",
            run.stdout, run.stderr
        ),
    }
    cp.assert_only_reads();
}
