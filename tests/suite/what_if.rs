//! What-if and the diff of two states (issue 16, points 2 and 3): one table row per rule of the
//! contract, on one small cluster. Each row names its rule, the edits, and the pairs that must
//! gain or lose connections (exactly those), with the change named as responsible.
//!
//! The cluster: namespaces `shop` (label `team: a`) and `other`; pods `shop/web` (app web, port
//! 80), `shop/api` (app api, port 8080), `other/client`; in shop a default deny of ingress,
//! `api-from-web` (web -> api TCP 8080) and `web-from-team` (namespaces labelled `team: a` ->
//! web TCP 80).

use netpol_debug::diagnosis::Query;
use netpol_debug::diagnosis::diff::{self, State};
use netpol_debug::diagnosis::whatif::{Edits, LabelEdit, Manifest, what_if};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::report::{DiffReport, RootCauseCode, Verdict};
use netpol_debug::snapshot::{self, ClusterSnapshot};

use crate::common::run_bin;

const CLUSTER: &str = "
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {kubernetes.io/metadata.name: other}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.2, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {app: client}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.1.1, phase: Running}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-team, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}}}], ports: [{port: 80}]}]
";

const WEB: &str = "shop/web[Pod]";
const API: &str = "shop/api[Pod]";
const CLIENT: &str = "other/client[Pod]";
const WORLD: &str = "0.0.0.0-255.255.255.255[External]";

/// A NetworkPolicy manifest in shop.
fn policy(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: shop}}\nspec: {spec}\n"
    )
}

fn load(yaml: &str) -> (ClusterSnapshot, ClusterIndex) {
    let snap = snapshot::load_str("cluster.yaml", yaml).expect("test snapshot parses");
    let ix = ClusterIndex::build(&snap, Semantics::default());
    (snap, ix)
}

fn add(name: &str, text: String) -> Edits {
    Edits {
        add: vec![Manifest {
            name: name.into(),
            text,
        }],
        ..Edits::default()
    }
}

/// `(src, dst, conns)` of every pair that gained (or lost) connections for certain, sorted,
/// and the changes named for each.
fn pairs(d: &DiffReport, gained: bool) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = d
        .groups
        .iter()
        .flat_map(|g| &g.pairs)
        .filter_map(|p| {
            let c = if gained { &p.gained } else { &p.lost };
            c.as_ref().map(|c| (p.src.clone(), p.dst.clone(), c.clone()))
        })
        .collect();
    v.sort();
    v
}

fn pair(src: &str, dst: &str, conn: &str) -> (String, String, String) {
    (src.into(), dst.into(), conn.into())
}

/// Every change named as responsible for the pair `src => dst`.
fn because(d: &DiffReport, src: &str, dst: &str) -> Vec<String> {
    d.groups
        .iter()
        .filter(|g| g.pairs.iter().any(|p| p.src == src && p.dst == dst))
        .flat_map(|g| g.because.clone())
        .collect()
}

struct Row {
    rule: &'static str,
    edits: Edits,
    /// Words of the edit list.
    edit_word: &'static str,
    gained: Vec<(String, String, String)>,
    lost: Vec<(String, String, String)>,
    /// A changed pair and a words its explanation must hold.
    explained: Option<(&'static str, &'static str, &'static str)>,
}

#[test]
fn what_if_table() {
    let (snap, ix) = load(CLUSTER);
    let rows = vec![
        Row {
            rule: "an added policy opens exactly the pairs it allows",
            edits: add(
                "allow-client.yaml",
                policy(
                    "allow-client",
                    "{podSelector: {matchLabels: {app: api}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}], ports: [{port: 8080}]}]}",
                ),
            ),
            edit_word: "added NetworkPolicy shop/allow-client (from allow-client.yaml)",
            gained: vec![pair(CLIENT, API, "TCP 8080")],
            lost: vec![],
            explained: Some((CLIENT, API, "NetworkPolicy shop/allow-client added")),
        },
        Row {
            rule: "an added egress deny closes exactly the pairs of its pod's egress",
            edits: add(
                "deny-web-egress.yaml",
                policy(
                    "deny-web-egress",
                    "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress]}",
                ),
            ),
            edit_word: "added NetworkPolicy shop/deny-web-egress",
            gained: vec![],
            lost: vec![
                pair(WEB, WORLD, "All Connections"),
                pair(WEB, CLIENT, "All Connections"),
                pair(WEB, API, "TCP 8080"),
            ],
            explained: Some((WEB, API, "NetworkPolicy shop/deny-web-egress added")),
        },
        Row {
            rule: "a policy with an existing namespace/name replaces it, edited in the diff",
            edits: add(
                "api-from-web.yaml",
                policy(
                    "api-from-web",
                    "{podSelector: {matchLabels: {app: api}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 9090}]}]}",
                ),
            ),
            edit_word: "replaced NetworkPolicy shop/api-from-web",
            gained: vec![pair(WEB, API, "TCP 9090")],
            lost: vec![pair(WEB, API, "TCP 8080")],
            explained: Some((WEB, API, "NetworkPolicy shop/api-from-web edited (spec.ingress)")),
        },
        Row {
            rule: "deleting the policy that allows a flow loses exactly that flow",
            edits: Edits {
                delete: vec!["shop/api-from-web".into()],
                ..Edits::default()
            },
            edit_word: "deleted NetworkPolicy shop/api-from-web",
            gained: vec![],
            lost: vec![pair(WEB, API, "TCP 8080")],
            explained: Some((WEB, API, "NetworkPolicy shop/api-from-web removed")),
        },
        Row {
            rule: "deleting a default deny whose pods other policies still isolate changes nothing",
            edits: Edits {
                delete: vec!["shop/NetworkPolicy/deny-ingress".into()],
                ..Edits::default()
            },
            edit_word: "deleted NetworkPolicy shop/deny-ingress",
            gained: vec![],
            lost: vec![],
            explained: None,
        },
        Row {
            rule: "a pod label change is explained as that label change on that pod",
            edits: Edits {
                label: vec![LabelEdit {
                    target: "shop/web".into(),
                    labels: "app=webx".into(),
                }],
                ..Edits::default()
            },
            edit_word: "labeled Pod shop/web: app=webx",
            gained: vec![],
            lost: vec![pair(API, WEB, "TCP 80"), pair(WEB, API, "TCP 8080")],
            explained: Some((WEB, API, "Pod shop/web labels app: web -> webx")),
        },
        Row {
            rule: "a namespace label change is explained as that label change on that namespace",
            edits: Edits {
                namespace_label: vec![LabelEdit {
                    target: "other".into(),
                    labels: "team=a".into(),
                }],
                ..Edits::default()
            },
            edit_word: "labeled Namespace other: team=a",
            gained: vec![pair(CLIENT, WEB, "TCP 80")],
            lost: vec![],
            explained: Some((CLIENT, WEB, "Namespace other labels team: (none) -> a")),
        },
    ];
    for row in rows {
        let r = what_if(&snap, &ix, &row.edits, None, 50).unwrap_or_else(|e| panic!("{}: {e}", row.rule));
        assert!(
            r.edits.iter().any(|e| e.starts_with(row.edit_word)),
            "{}: {:?}",
            row.rule,
            r.edits
        );
        assert_eq!(pairs(&r.diff, true), row.gained, "{}: gained {:#?}", row.rule, r.diff);
        assert_eq!(pairs(&r.diff, false), row.lost, "{}: lost {:#?}", row.rule, r.diff);
        assert!(
            r.diff.inconclusive.is_empty(),
            "{}: {:?}",
            row.rule,
            r.diff.inconclusive
        );
        if let Some((src, dst, words)) = row.explained {
            let b = because(&r.diff, src, dst);
            assert!(b.iter().any(|x| x == words), "{}: {b:?}", row.rule);
        }
        assert!(r.scope.contains("nothing was applied to any cluster"), "{}", row.rule);
    }
}

#[test]
fn what_if_flow_before_and_after_names_the_deciding_rule() {
    let (snap, ix) = load(CLUSTER);
    let edits = add(
        "allow-client.yaml",
        policy(
            "allow-client",
            "{podSelector: {matchLabels: {app: api}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}], ports: [{port: 8080}]}]}",
        ),
    );
    let q = Query::parse("other/client", "shop/api", Some("8080"), None).unwrap();
    let r = what_if(&snap, &ix, &edits, Some(&q), 50).unwrap();
    let f = r.flow.expect("the flow is evaluated");
    assert_eq!(f.before.verdict, Verdict::Blocked, "{f:?}");
    assert!(f.before.policies.contains(&"shop/api-from-web".to_string()), "{f:?}");
    assert_eq!(f.after.verdict, Verdict::Allowed, "{f:?}");
    assert_eq!(f.after.code, Some(RootCauseCode::AllowedByPolicy), "{f:?}");
    assert!(f.after.summary.contains("shop/allow-client spec.ingress[0]"), "{f:?}");
}

#[test]
fn a_pair_inconclusive_before_or_after_is_never_gained_or_lost() {
    // An unreadable egress policy may select other/client: the new allow toward api is not
    // certain, so the pair is listed as inconclusive, not as gained.
    let broken = "
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: other}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: {bad: 1}}]}]}
";
    let (snap, ix) = load(&format!("{CLUSTER}{broken}"));
    let edits = add(
        "allow-client.yaml",
        policy(
            "allow-client",
            "{podSelector: {matchLabels: {app: api}}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 8080}]}]}",
        ),
    );
    let r = what_if(&snap, &ix, &edits, None, 50).unwrap();
    assert!(!pairs(&r.diff, true).iter().any(|p| p.0 == CLIENT), "{:#?}", r.diff);
    let inc = r.diff.inconclusive.iter().find(|p| p.src == CLIENT && p.dst == API);
    let inc = inc.unwrap_or_else(|| panic!("{:#?}", r.diff));
    assert!(
        inc.doubt.as_deref().unwrap_or_default().contains("other/broken"),
        "{inc:?}"
    );
    assert_eq!(r.diff.gained_pairs, 0, "{:#?}", r.diff);

    // Adding a policy that cannot be read changes no readable connection: the diff says its
    // pods' verdicts are inconclusive instead of reporting nothing.
    let (snap, ix) = load(CLUSTER);
    let r = what_if(&snap, &ix, &add("broken.yaml", broken.to_string()), None, 50).unwrap();
    assert_eq!(r.diff.gained_pairs + r.diff.lost_pairs, 0, "{:#?}", r.diff);
    assert!(
        r.diff
            .warnings
            .iter()
            .any(|w| w.starts_with("NetworkPolicy other/broken added (could not be read): it cannot be read")),
        "{:?}",
        r.diff.warnings
    );
}

#[test]
fn diff_explains_a_pod_gone_and_a_policy_added() {
    let (before, bix) = load(CLUSTER);
    let without_client = CLUSTER.replace(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: other, labels: {app: client}}\nspec: {containers: [{name: c}]}\nstatus: {podIP: 10.0.1.1, phase: Running}\n---\n",
        "",
    );
    assert_ne!(without_client, CLUSTER);
    let (after, aix) = load(&without_client);
    let state = |snapshot, index, name| State { snapshot, index, name };
    let d = diff::diff(state(&before, &bix, "a"), state(&after, &aix, "b"), &[], 50);
    assert_eq!(d.changes.len(), 1, "{:?}", d.changes);
    assert_eq!(d.changes[0].describe(), "Pod other/client removed");
    assert_eq!(
        pairs(&d, false),
        vec![
            pair(WORLD, CLIENT, "All Connections"),
            pair(CLIENT, WORLD, "All Connections"),
            pair(API, CLIENT, "All Connections"),
            pair(WEB, CLIENT, "All Connections"),
        ],
        "{d:#?}"
    );
    assert!(pairs(&d, true).is_empty());
    assert_eq!(because(&d, WEB, CLIENT), vec!["Pod other/client removed".to_string()]);
}

#[test]
fn bad_edits_are_clear_errors() {
    let (snap, ix) = load(CLUSTER);
    let err = |edits: Edits| what_if(&snap, &ix, &edits, None, 50).expect_err("a bad edit is an error");
    let e = err(add("fix.yaml", "kind: [\n".into()));
    assert!(e.message.starts_with("fix.yaml:") && e.message.contains("YAML"), "{e}");
    assert_eq!(e.argument, "add");
    let e = err(Edits {
        delete: vec!["shop/api-from-wbe".into()],
        ..Edits::default()
    });
    assert!(
        e.not_found && e.message.contains("did you mean shop/api-from-web"),
        "{e}"
    );
    let e = err(Edits {
        delete: vec!["shop".into()],
        ..Edits::default()
    });
    assert!(!e.not_found && e.message.contains("expected NS/NAME"), "{e}");
    for bad in ["app", "app=a b", "=x"] {
        let e = err(Edits {
            label: vec![LabelEdit {
                target: "shop/web".into(),
                labels: bad.into(),
            }],
            ..Edits::default()
        });
        assert!(e.argument == "label" && !e.not_found, "{bad}: {e}");
    }
    let e = err(Edits {
        label: vec![LabelEdit {
            target: "shop/wbe".into(),
            labels: "a=b".into(),
        }],
        ..Edits::default()
    });
    assert!(e.not_found && e.message.contains("did you mean shop/web"), "{e}");
    let e = err(add(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: shop}\n".into(),
    ));
    assert!(e.message.contains("add takes policies"), "{e}");
}

#[test]
fn cli_what_if_and_diff() {
    let dir = std::env::temp_dir().join(format!("netpol-debug-what-if-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cluster = dir.join("cluster.yaml");
    std::fs::write(&cluster, CLUSTER).unwrap();
    let fix = dir.join("fix.yaml");
    let text = policy(
        "allow-client",
        "{podSelector: {matchLabels: {app: api}}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 8080}]}]}",
    );
    std::fs::write(&fix, &text).unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let args = [
        "what-if",
        "-s",
        &s(&cluster),
        "--add",
        &s(&fix),
        "--from",
        "other/client",
        "--to",
        "shop/api",
        "--port",
        "8080",
    ];
    let out = run_bin(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("nothing was applied to any cluster"), "{stdout}");
    assert!(
        stdout.contains("before: blocked") && stdout.contains("after:  allowed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("other/client[Pod] => shop/api[Pod]: +TCP 8080"),
        "{stdout}"
    );

    let out = run_bin(&["what-if", "-s", &s(&cluster), "--add", &s(&dir.join("missing.yaml"))]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--add") && stderr.contains("missing.yaml"), "{stderr}");
    let out = run_bin(&["what-if", "-s", &s(&cluster), "--label", "shop/web", "app"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--label"));

    let after = dir.join("after.yaml");
    std::fs::write(&after, format!("{CLUSTER}---\n{text}")).unwrap();
    let out = run_bin(&["diff", "--before", &s(&cluster), "--after", &s(&after), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["gained_pairs"], 1, "{v:#}");
    assert_eq!(
        v["groups"][0]["because"][0], "NetworkPolicy shop/allow-client added",
        "{v:#}"
    );
    let out = run_bin(&["diff", "--before", &s(&cluster)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--after"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_snapshots_tool_reads_paths_under_the_working_directory_only() {
    use netpol_debug::serve::source::Context;
    use netpol_debug::serve::tools::{ToolName, call_json};
    use serde_json::json;
    let example = |n: &str| format!("examples/{n}/cluster.yaml");
    let snap = snapshot::load_paths(&[example("10-allowed-by-policy").into()]).unwrap();
    let ctx = Context::owning(snap, Semantics::default(), "snapshot example 10".into());
    let call = |args| call_json(&ctx, ToolName::DiffSnapshots, args);
    let r = call(json!({"before": example("01-default-deny-ingress")}));
    assert!(!r.is_error, "{}", r.text);
    let v = r.structured.unwrap();
    assert_eq!(
        v["after"], "snapshot example 10",
        "the omitted side is the server's state: {v:#}"
    );
    assert!(!v["changes"].as_array().unwrap().is_empty(), "{v:#}");
    for (args, argument) in [
        (json!({"before": "/etc"}), "before"),
        (json!({"before": "../../etc/hostname"}), "before"),
        (json!({"before": "no/such/file.yaml"}), "before"),
        (
            json!({"before": example("01-default-deny-ingress"), "after": "live"}),
            "after",
        ),
        (json!({}), "before, after"),
    ] {
        let r = call(args.clone());
        assert!(r.is_error && r.text.contains(argument), "{args}: {}", r.text);
    }
}

#[test]
fn cli_diff_of_a_snapshot_and_the_live_cluster() {
    use crate::fake_kube::{FakeKube, TOKEN};
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/live-cluster.yaml");
    let fake = FakeKube::from_file(&fixture, |_| {});
    let dir = std::env::temp_dir().join(format!("netpol-debug-what-if-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = fake.kubeconfig(&dir, TOKEN);
    let (f, kc) = (fixture.to_str().unwrap(), kubeconfig.to_str().unwrap());
    for args in [
        vec![
            "diff",
            "--before",
            f,
            "--after",
            "live",
            "--kubeconfig",
            kc,
            "-o",
            "json",
        ],
        vec!["diff", "--before", f, "--kubeconfig", kc, "-o", "json"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netpol-debug"))
            .args(&args)
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // Live equals offline: the same objects allow the same connections.
        assert_eq!(
            (v["gained_pairs"].as_i64(), v["lost_pairs"].as_i64()),
            (Some(0), Some(0)),
            "{v:#}"
        );
        assert!(v["after"].as_str().unwrap().starts_with("live"), "{v:#}");
        assert_eq!(v["changes"], serde_json::json!([]), "{v:#}");
    }
    assert!(fake.recorded().iter().all(|r| r.method == "GET"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_policy_of_another_dialect_is_explained_by_kind_namespace_and_name() {
    let (snap, ix) = load(CLUSTER);
    let cnp = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: deny-web, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: web}}\n  egressDeny: [{toEndpoints: [{matchLabels: {app: api}}]}]\n";
    let r = what_if(&snap, &ix, &add("cnp.yaml", cnp.into()), None, 50).unwrap();
    assert_eq!(
        r.edits,
        vec!["added CiliumNetworkPolicy shop/deny-web (from cnp.yaml)".to_string()]
    );
    let lost = pairs(&r.diff, false);
    assert!(lost.contains(&pair(WEB, API, "TCP 8080")), "{:#?}", r.diff);
    assert!(lost.iter().all(|p| p.0 == WEB), "only web's egress changes: {lost:?}");
    assert!(pairs(&r.diff, true).is_empty());
    for g in &r.diff.groups {
        assert_eq!(g.because, vec!["CiliumNetworkPolicy shop/deny-web added".to_string()]);
    }
}

/// A diff whose changes are all namespaced (policies, pods, namespace labels) compares only the
/// pairs with an end in their namespaces, and finds exactly what the whole map finds; a Node
/// change compares every pair.
#[test]
fn a_namespaced_diff_compares_the_pairs_it_can_touch_and_finds_what_the_whole_map_finds() {
    let (before, bix) = load(CLUSTER);
    let changed = CLUSTER
        .replace(
            "kubernetes.io/metadata.name: shop, team: a}",
            "kubernetes.io/metadata.name: shop}",
        )
        .replace("labels: {app: client}}", "labels: {app: client, tier: x}}");
    let (after, aix) = load(&changed);
    let state = |snapshot, index, name| State { snapshot, index, name };
    let scoped = diff::diff(state(&before, &bix, "a"), state(&after, &aix, "b"), &[], 50);
    let everywhere: Vec<String> = ["other", "shop"].iter().map(|s| s.to_string()).collect();
    let whole = diff::diff(state(&before, &bix, "a"), state(&after, &aix, "b"), &everywhere, 50);
    assert_eq!(scoped.namespaces, everywhere, "{scoped:#?}");
    assert_eq!(pairs(&scoped, false), pairs(&whole, false));
    assert_eq!(pairs(&scoped, true), pairs(&whole, true));
    assert!(
        !pairs(&scoped, false).is_empty(),
        "the namespace label change closes pairs: {scoped:#?}"
    );
    // Only shop changes: its pairs alone are compared.
    let shop_only = CLUSTER.replace(
        "kubernetes.io/metadata.name: shop, team: a}",
        "kubernetes.io/metadata.name: shop}",
    );
    let (after, aix) = load(&shop_only);
    let d = diff::diff(state(&before, &bix, "a"), state(&after, &aix, "b"), &[], 50);
    assert_eq!(d.namespaces, vec!["shop".to_string()], "{d:#?}");
    // A Node change: every pair.
    let with_node = format!("{CLUSTER}---\napiVersion: v1\nkind: Node\nmetadata: {{name: n1}}\n");
    let (after, aix) = load(&with_node);
    let d = diff::diff(state(&before, &bix, "a"), state(&after, &aix, "b"), &[], 50);
    assert!(d.namespaces.is_empty(), "{d:#?}");
}
