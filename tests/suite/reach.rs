//! `reach` / `check_reachability`: one table row per grouping rule (each names the rule it
//! checks), and for every example whose flow is blocked, the group `reach` puts the source in
//! carries the first root-cause code `diagnose` gives (or, where a check around the rules leads
//! in `diagnose`, the first rule-level code after it).

use std::path::Path;

use netpol_debug::diagnosis::query::QueryError;
use netpol_debug::diagnosis::reach::{ReachQuery, reach};
use netpol_debug::diagnosis::{self, Query};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::report::{Place, ReachGroup, ReachList, Reachability, RootCauseCode, Verdict, reachability_text};
use netpol_debug::snapshot;

use super::common::build_on_base;

/// `web` (app) admits `app: client` of its own namespace on TCP 8080.
const ALLOW_CLIENT: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-allow-client, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{protocol: TCP, port: 8080}]
"#;

/// `other/db` may open nothing.
const DB_EGRESS_DENY: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-deny-egress, namespace: other}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Egress]
"#;

/// `web` also admits 203.0.113.0/24.
const ALLOW_RANGE: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-allow-office, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{ipBlock: {cidr: 203.0.113.0/24}}]
"#;

/// An allow policy for `web` whose ports cannot be read.
const UNREADABLE: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-allow-broken, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{protocol: TCP, port: [8080, 8443]}]
"#;

/// An Antrea policy (not evaluated) on `web`'s ingress.
const ANTREA: &str = "apiVersion: crd.antrea.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: legacy, namespace: app}\nspec:\n  appliedTo: [{podSelector: {matchLabels: {app: web}}}]\n  ingress: [{action: Drop}]\n";

/// `app/client` may open only `web` on 8080.
const CLIENT_EGRESS: &str = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-egress, namespace: app}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{protocol: TCP, port: 8080}]
"#;

/// Five more pods in `other`, each its own workload.
fn more_pods(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: extra-{i}, namespace: other, labels: {{app: extra}}}}\nspec: {{nodeName: n2, containers: [{{name: c}}]}}\nstatus: {{phase: Running, podIP: 10.0.2.{}}}\n",
                10 + i
            )
        })
        .collect()
}

/// The arguments of one question: `to` or `from`, port, protocol, limit.
#[derive(Clone, Copy)]
struct Ask {
    to: Option<&'static str>,
    from: Option<&'static str>,
    port: Option<&'static str>,
    limit: usize,
}

const TO_WEB: Ask = Ask {
    to: Some("app/web"),
    from: None,
    port: Some("8080"),
    limit: 10,
};

fn ask(ix: &ClusterIndex, a: Ask, protocol: Option<&str>) -> Result<Reachability, QueryError> {
    let q = ReachQuery::parse(a.to, a.from, a.port, protocol, a.limit)?;
    reach(ix, &q)
}

fn list(r: &Reachability, v: Verdict) -> Option<&ReachList> {
    r.verdicts.iter().find(|l| l.verdict == v)
}

fn groups(r: &Reachability, v: Verdict) -> Vec<&ReachGroup> {
    list(r, v).map(|l| l.groups.iter().collect()).unwrap_or_default()
}

/// The group of `v` that lists `peer` (a workload name, an external range, or its namespace).
fn group_of<'a>(r: &'a Reachability, v: Verdict, peer: &str) -> Option<&'a ReachGroup> {
    let ns = peer.split('/').next().unwrap_or_default();
    groups(r, v).into_iter().find(|g| {
        g.peers
            .iter()
            .any(|p| p == peer || p.starts_with(&format!("{ns}/* (all ")))
    })
}

type Check = fn(&Reachability) -> Result<(), String>;

struct Row {
    rule: &'static str,
    docs: Vec<String>,
    ask: Ask,
    check: Check,
}

fn ok(cond: bool, what: &str, r: &Reachability) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(format!(
            "{what}\n{}",
            serde_json::to_string_pretty(r).unwrap_or_default()
        ))
    }
}

fn docs(d: &[&str]) -> Vec<String> {
    d.iter().map(|s| s.to_string()).collect()
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            rule: "same-namespace groups come before other namespaces, then external ranges",
            docs: docs(&[ALLOW_CLIENT]),
            ask: TO_WEB,
            check: |r| {
                let places: Vec<Place> = groups(r, Verdict::Blocked).iter().map(|g| g.place).collect();
                let mut sorted = places.clone();
                sorted.sort();
                ok(
                    places == sorted && places.first() == Some(&Place::SameNamespace),
                    "blocked groups ordered by place",
                    r,
                )?;
                let a = group_of(r, Verdict::Allowed, "app/client[Pod]");
                ok(
                    a.is_some_and(|g| g.place == Place::SameNamespace),
                    "app/client allowed, same namespace",
                    r,
                )
            },
        },
        Row {
            rule: "blocked peers are grouped by the cause that stops them, each with its policy",
            docs: docs(&[ALLOW_CLIENT, DB_EGRESS_DENY]),
            ask: TO_WEB,
            check: |r| {
                let db = group_of(r, Verdict::Blocked, "other/db[Pod]").ok_or("db blocked")?;
                let client = group_of(r, Verdict::Blocked, "other/client[Pod]").ok_or("client blocked")?;
                ok(
                    db.code == Some(RootCauseCode::DefaultDenyEgress)
                        && db.policies == ["other/db-deny-egress"]
                        && client.code == Some(RootCauseCode::IngressNoMatchingRule)
                        && client.policies == ["app/web-allow-client"]
                        && db.peers_total == 1
                        && client.peers_total == 1,
                    "two causes, two groups: egress default deny at db, no ingress rule at web",
                    r,
                )
            },
        },
        Row {
            rule: "allowed groups quote the allowing rule with its path",
            docs: docs(&[ALLOW_CLIENT]),
            ask: TO_WEB,
            check: |r| {
                let g = group_of(r, Verdict::Allowed, "app/client[Pod]").ok_or("client allowed")?;
                ok(
                    g.rules
                        == [
                            "app/web-allow-client spec.ingress[0]: {from: [{podSelector: {matchLabels: {app: client}}}], ports: [{protocol: TCP, port: 8080}]}",
                        ],
                    "the rule, quoted",
                    r,
                )
            },
        },
        Row {
            rule: "external ranges are cut where ipBlocks cut, allowed and blocked apart",
            docs: docs(&[ALLOW_CLIENT, ALLOW_RANGE]),
            ask: TO_WEB,
            check: |r| {
                let office = group_of(r, Verdict::Allowed, "203.0.113.0-203.0.113.255[External]")
                    .ok_or("the office range allowed")?;
                let rest =
                    group_of(r, Verdict::Blocked, "0.0.0.0-203.0.112.255[External]").ok_or("the rest blocked")?;
                ok(
                    office.place == Place::External
                        && office.rules[0].starts_with(
                            "app/web-allow-office spec.ingress[0]: {from: [{ipBlock: {cidr: 203.0.113.0/24}}]}",
                        )
                        && rest.place == Place::External
                        && rest.peers_total == 2
                        && rest.code == Some(RootCauseCode::IngressNoMatchingRule),
                    "office range allowed by its rule; the two others one blocked group",
                    r,
                )
            },
        },
        Row {
            rule: "pairs whose verdict is inconclusive form their own group with the reason",
            docs: docs(&[UNREADABLE]),
            ask: TO_WEB,
            check: |r| {
                let g = group_of(r, Verdict::Inconclusive, "app/client[Pod]").ok_or("client inconclusive")?;
                ok(
                    g.code == Some(RootCauseCode::PolicyUnreadable)
                        && g.example.as_deref().is_some_and(|e| e.contains("could not be read"))
                        && list(r, Verdict::Allowed).is_none(),
                    "POLICY_UNREADABLE, with why; never allowed",
                    r,
                )
            },
        },
        Row {
            rule: "a CNI-specific policy the engine does not evaluate makes the pairs it may change inconclusive",
            docs: docs(&[ALLOW_CLIENT, ANTREA]),
            ask: TO_WEB,
            check: |r| {
                let g = group_of(r, Verdict::Inconclusive, "app/client[Pod]").ok_or("client inconclusive")?;
                ok(
                    g.code == Some(RootCauseCode::ExtendedPolicyPresent)
                        && g.policies == ["app/legacy"]
                        && list(r, Verdict::Allowed).is_none()
                        && list(r, Verdict::Blocked).is_none(),
                    "EXTENDED_POLICY_PRESENT; nothing allowed or blocked for certain at web's ingress",
                    r,
                )
            },
        },
        Row {
            rule: "a namespace whose every workload is in one group is listed once, with its count",
            docs: [docs(&[ALLOW_CLIENT]), more_pods(5)].concat(),
            ask: TO_WEB,
            check: |r| {
                let g = group_of(r, Verdict::Blocked, "other/db[Pod]").ok_or("other blocked")?;
                ok(
                    g.peers == ["other/* (all 7 workloads)"] && g.peers_total == 7 && g.peers_omitted == 0,
                    "other/* (all 7 workloads)",
                    r,
                )
            },
        },
        Row {
            rule: "limit cuts peers and groups, and the counts say how many were left out",
            docs: [docs(&[ALLOW_CLIENT, DB_EGRESS_DENY, ALLOW_RANGE]), more_pods(5)].concat(),
            ask: Ask { limit: 2, ..TO_WEB },
            check: |r| {
                let blocked = list(r, Verdict::Blocked).ok_or("some blocked")?;
                let client = group_of(r, Verdict::Blocked, "other/client[Pod]").ok_or("client blocked")?;
                ok(
                    blocked.groups.len() == 2
                        && blocked.groups_total == 4
                        && client.peers.len() == 2
                        && client.peers_total == 6
                        && client.peers_omitted == 4,
                    "2 of 4 groups, 2 of 6 peers, 4 omitted",
                    r,
                )?;
                ok(
                    reachability_text(r).contains("… 2 more group(s)"),
                    "the text counts the groups left out",
                    r,
                )
            },
        },
        Row {
            rule: "from: what the endpoint can reach (egress view), same namespace first",
            docs: docs(&[CLIENT_EGRESS]),
            ask: Ask {
                to: None,
                from: Some("app/client"),
                port: Some("8080"),
                limit: 10,
            },
            check: |r| {
                let web = group_of(r, Verdict::Allowed, "app/web[Pod]").ok_or("web reachable")?;
                let db = group_of(r, Verdict::Blocked, "other/db[Pod]").ok_or("db not reachable")?;
                let out =
                    group_of(r, Verdict::Blocked, "0.0.0.0-255.255.255.255[External]").ok_or("outside blocked")?;
                ok(
                    r.asked == "what it can reach on TCP 8080"
                        && web.rules[0].starts_with("app/client-egress spec.egress[0]")
                        && db.code == Some(RootCauseCode::CrossNamespaceEgressBlocked)
                        && out.code == Some(RootCauseCode::EgressNoMatchingRule)
                        && groups(r, Verdict::Blocked)[0].place == Place::SameNamespace,
                    "web allowed by client-egress; other namespaces and outside blocked at the source",
                    r,
                )
            },
        },
        Row {
            rule: "without a port, allowed groups carry their connection set",
            docs: docs(&[ALLOW_CLIENT]),
            ask: Ask { port: None, ..TO_WEB },
            check: |r| {
                let g = group_of(r, Verdict::Allowed, "app/client[Pod]").ok_or("client allowed")?;
                ok(
                    g.connections.as_deref() == Some("TCP 8080") && r.asked == "who can reach it on any TCP port",
                    "TCP 8080",
                    r,
                )
            },
        },
        Row {
            rule: "the endpoint's own workload is a peer through another of its pods",
            docs: docs(&[
                "apiVersion: v1\nkind: Pod\nmetadata: {name: api-1, namespace: app, labels: {app: api}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-7f, uid: u, controller: true}]}\nspec: {nodeName: n1, containers: [{name: c}]}\nstatus: {phase: Running, podIP: 10.0.1.21}",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: api-2, namespace: app, labels: {app: api}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-7f, uid: u, controller: true}]}\nspec: {nodeName: n2, containers: [{name: c}]}\nstatus: {phase: Running, podIP: 10.0.1.22}",
            ]),
            ask: Ask {
                to: Some("app/api-1"),
                ..TO_WEB
            },
            check: |r| {
                let g = group_of(r, Verdict::Allowed, "app/api-7f[ReplicaSet]").ok_or("its replica set listed")?;
                ok(g.place == Place::SameNamespace, "the other replica", r)
            },
        },
    ]
}

#[test]
fn grouping_rules_table() {
    let mut failures = Vec::new();
    for row in rows() {
        let ix = build_on_base("reach", &row.docs, Semantics::default());
        match ask(&ix, row.ask, None) {
            Ok(r) => {
                if let Err(e) = (row.check)(&r).and_then(|()| agrees_pair_by_pair(&ix, row.ask, &r)) {
                    failures.push(format!("{}: {e}", row.rule));
                }
            }
            Err(e) => failures.push(format!("{}: the question fails: {e}", row.rule)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every bare pod a row lists (`ns/name[Pod]`) gets from `diagnose` the verdict of its list and,
/// blocked or inconclusive, the group's code first (or first after a check's, see `CHECK_CODES`).
fn agrees_pair_by_pair(ix: &ClusterIndex, a: Ask, r: &Reachability) -> Result<(), String> {
    for list in &r.verdicts {
        for g in &list.groups {
            for peer in g.peers.iter().filter_map(|p| p.strip_suffix("[Pod]")) {
                let (from, to) = match (a.to, a.from) {
                    (Some(to), _) => (peer, to),
                    (None, Some(from)) => (from, peer),
                    (None, None) => return Err("no endpoint".into()),
                };
                let d = diagnosis::diagnose(ix, &Query::parse(from, to, a.port, None).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
                let codes: Vec<RootCauseCode> = d.root_causes.iter().map(|rc| rc.code).collect();
                let rule_level = codes.iter().find(|c| !CHECK_CODES.contains(c));
                let code_ok = g.code.is_none() || g.code.as_ref() == rule_level;
                if d.verdict != list.verdict && !CHECK_CODES.contains(&codes[0]) || !code_ok {
                    return Err(format!(
                        "{from} -> {to}: reach {:?} {:?}, diagnose {:?} {codes:?}",
                        list.verdict, g.code, d.verdict
                    ));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn bad_arguments_give_clear_errors() {
    let ix = build_on_base("reach-bad", &docs(&[ALLOW_CLIENT]), Semantics::default());
    let cases: [(Ask, Option<&str>, &str, &str, bool); 6] = [
        (
            Ask {
                to: Some("app/web"),
                from: Some("app/client"),
                ..TO_WEB
            },
            None,
            "to",
            "not both",
            false,
        ),
        (Ask { to: None, ..TO_WEB }, None, "to", "missing", false),
        (
            Ask {
                to: Some("10.0.1.1"),
                ..TO_WEB
            },
            None,
            "to",
            "is an address",
            false,
        ),
        (
            Ask {
                to: None,
                from: Some("app/web"),
                port: Some("http"),
                limit: 10,
            },
            None,
            "port",
            "give a number",
            false,
        ),
        (TO_WEB, Some("ICMP"), "protocol", "accepted TCP, UDP, SCTP", false),
        (
            Ask {
                to: Some("app/webb"),
                ..TO_WEB
            },
            None,
            "to",
            "not found",
            true,
        ),
    ];
    for (a, protocol, argument, words, not_found) in cases {
        let e = ask(&ix, a, protocol).expect_err(words);
        assert!(
            e.arguments().contains(argument) && e.message.contains(words) && e.not_found == not_found,
            "{argument}: {words}: {e:?}"
        );
    }
    let e = ask(
        &ix,
        Ask {
            to: Some("app/webb"),
            ..TO_WEB
        },
        None,
    )
    .unwrap_err();
    assert!(e.suggestions.iter().any(|s| s.contains("web")), "did you mean: {e:?}");
}

/// Where `diagnose` ranks a check around the rules first, `reach` (which runs only the rules and
/// the CNI-specific policies per peer) gives the first rule-level code of the same diagnosis.
const CHECK_CODES: [RootCauseCode; 7] = [
    RootCauseCode::DnsEgressBlocked,
    RootCauseCode::ApiserverEgressBlocked,
    RootCauseCode::ServicePortVsTargetPort,
    RootCauseCode::NodeportSnat,
    RootCauseCode::HostnetworkExempt,
    RootCauseCode::CniNoNetpolSupport,
    RootCauseCode::SecondaryInterface,
];

/// Codes of checks that may also change `diagnose`'s verdict for a peer while `reach` keeps the
/// rules' (the note says these checks are not run per peer): a service mesh.
const VERDICT_CHECK_CODES: [RootCauseCode; 1] = [RootCauseCode::ServiceMeshPresent];

/// Every example's name, its indexed snapshot and the flow its case asks about.
fn example_flows() -> Vec<(String, ClusterIndex, crate::examples::CaseQuery)> {
    crate::examples::examples()
        .into_iter()
        .map(|ex| {
            let case = crate::examples::load_case(&ex).unwrap();
            let snap = snapshot::load_paths(&[ex.dir.join("cluster.yaml")]).unwrap();
            (ex.name, ClusterIndex::build(&snap, Semantics::default()), case.query)
        })
        .collect()
}

/// For every example, every workload and external range `reach` lists toward the case's
/// destination gets from `diagnose` (its representative pod, or the range's first address) the
/// verdict of its list and the group's code, but where a check around the rules leads.
#[test]
fn every_listed_peer_of_every_example_agrees_with_diagnose() {
    let (mut pairs, mut failures) = (0, Vec::new());
    for (name, ix, q) in example_flows() {
        let (to, port, protocol) = (q.to.clone(), q.port_text(), q.protocol().map(String::from));
        let Ok(r) =
            ReachQuery::parse(Some(&to), None, port.as_deref(), protocol.as_deref(), 500).and_then(|q| reach(&ix, &q))
        else {
            continue; // an address or a Service without pods: no endpoint to reach
        };
        let reps = netpol_debug::diagnosis::matrix::representatives(&ix, None);
        for list in &r.verdicts {
            for g in &list.groups {
                for peer in &g.peers {
                    let from = match reps.get(peer) {
                        Some(&id) => ix.pod(id).key(),
                        None if peer.ends_with("[External]") => peer.split('-').next().unwrap().to_string(),
                        None => continue, // a whole namespace, `ns/*`
                    };
                    if from == r.pod {
                        continue;
                    }
                    pairs += 1;
                    let query = Query::parse(&from, &to, port.as_deref(), protocol.as_deref()).unwrap();
                    let dg = diagnosis::diagnose(&ix, &query).unwrap();
                    let codes: Vec<RootCauseCode> = dg.root_causes.iter().map(|rc| rc.code).collect();
                    let check_leads = CHECK_CODES.contains(&codes[0]) || VERDICT_CHECK_CODES.contains(&codes[0]);
                    let verdict_ok = dg.verdict == list.verdict
                        || check_leads
                        || (dg.verdict == Verdict::NotEnforced && list.verdict == Verdict::Allowed);
                    let rule_level = codes
                        .iter()
                        .find(|c| !CHECK_CODES.contains(c) && !VERDICT_CHECK_CODES.contains(c));
                    let code_ok = g.code.is_none() || g.code.as_ref() == rule_level;
                    if !verdict_ok || !code_ok {
                        failures.push(format!(
                            "{name}: {from} -> {to}: reach {:?} {:?}, diagnose {:?} {codes:?}",
                            list.verdict, g.code, dg.verdict
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(pairs >= 60, "only {pairs} pairs compared");
}

/// For every example whose flow `diagnose` blocks, `reach` (to the destination, or from the
/// source when the destination is an address) puts the source (or the address) in a blocked
/// group whose code is `diagnose`'s first root cause, or its first rule-level one after a check.
#[test]
fn reach_and_diagnose_agree_on_every_blocked_example() {
    let (mut checked, mut failures) = (0, Vec::new());
    for (name, ix, q) in example_flows() {
        let (from, to, port, protocol) = (
            q.from.clone(),
            q.to.clone(),
            q.port_text(),
            q.protocol().map(String::from),
        );
        let query = Query::parse(&from, &to, port.as_deref(), protocol.as_deref()).unwrap();
        let diagnosis = diagnosis::diagnose(&ix, &query).unwrap();
        if diagnosis.verdict != Verdict::Blocked {
            continue;
        }
        match agree(&ix, &diagnosis, (&from, &to), port.as_deref(), protocol.as_deref()) {
            Ok(()) => checked += 1,
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 20, "only {checked} blocked examples checked");
}

fn agree(
    ix: &ClusterIndex,
    d: &netpol_debug::report::Diagnosis,
    (from, to): (&str, &str),
    port: Option<&str>,
    protocol: Option<&str>,
) -> Result<(), String> {
    if d.root_causes[0].code == RootCauseCode::NodeportSnat {
        // diagnose answers for the node address the client is SNATed to; reach's external groups
        // are for traffic to the pods' addresses, and its notes say so.
        let q = ReachQuery::parse(Some(to), None, port, protocol, 500).map_err(|e| e.to_string())?;
        let r = reach(ix, &q).map_err(|e| e.to_string())?;
        return match r.notes.iter().any(|n| n.contains("NODEPORT_SNAT")) {
            true => Ok(()),
            false => Err(format!("no note about the node port's SNAT: {:?}", r.notes)),
        };
    }
    // A destination that is no pod (the API server's Service, whose endpoints are node
    // addresses): what the source can reach, toward that address on the port it receives on.
    let no_pod = d.query.destination.kind == "external";
    let resolved = d.query.resolved_port.map(|p| p.to_string());
    let (to, port) = match no_pod {
        true => (d.query.destination.ips[0].as_str(), resolved.as_deref()),
        false => (to, port),
    };
    let to_address = to.parse::<std::net::IpAddr>().ok();
    let from_address = from.parse::<std::net::IpAddr>().ok();
    let (q, peer) = match to_address {
        // An address as destination: what the source can reach (its port must be a number).
        Some(ip) => (
            ReachQuery::parse(None, Some(from), port, protocol, 500).map_err(|e| e.to_string())?,
            Peer::Address(ip),
        ),
        None => (
            ReachQuery::parse(Some(to), None, port, protocol, 500).map_err(|e| e.to_string())?,
            match from_address {
                Some(ip) => Peer::Address(ip),
                None => Peer::Workload(workload_of(ix, &d.query.source.name)?),
            },
        ),
    };
    let r = reach(ix, &q).map_err(|e| e.to_string())?;
    let group = groups(&r, Verdict::Blocked)
        .into_iter()
        .find(|g| g.peers.iter().any(|p| peer.is(p)))
        .ok_or_else(|| format!("{peer:?} in no blocked group: {}", serde_json::to_string(&r).unwrap()))?;
    let codes: Vec<RootCauseCode> = d.root_causes.iter().map(|rc| rc.code).collect();
    let expected = codes
        .iter()
        .find(|c| !CHECK_CODES.contains(c))
        .ok_or_else(|| format!("no rule-level code in {codes:?}"))?;
    if !CHECK_CODES.contains(&codes[0]) && codes[0] != *expected {
        return Err(format!("{codes:?}"));
    }
    if group.code != Some(*expected) {
        return Err(format!(
            "reach says {:?}, diagnose {codes:?} (expected {expected:?})",
            group.code
        ));
    }
    Ok(())
}

#[derive(Debug)]
enum Peer {
    Workload(String),
    Address(std::net::IpAddr),
}

impl Peer {
    /// Whether a listed peer (`ns/name[Kind]`, `ns/* (all N workloads)`, `A-B[External]`) is this one.
    fn is(&self, listed: &str) -> bool {
        match self {
            Peer::Workload(w) => {
                listed == w || listed.starts_with(&format!("{}/* (all ", w.split('/').next().unwrap_or_default()))
            }
            Peer::Address(ip) => {
                let Some((a, b)) = listed.trim_end_matches("[External]").split_once('-') else {
                    return false;
                };
                match (a.parse::<std::net::IpAddr>(), b.parse::<std::net::IpAddr>()) {
                    (Ok(a), Ok(b)) => a <= *ip && *ip <= b,
                    _ => false,
                }
            }
        }
    }
}

/// The workload name (`ns/name[Kind]`) of the pod `ns/pod`.
fn workload_of(ix: &ClusterIndex, pod: &str) -> Result<String, String> {
    ix.pods
        .iter()
        .find(|p| p.key() == pod)
        .map(|p| p.workload_name())
        .ok_or_else(|| format!("pod {pod} not in the index"))
}

/// While nothing enforces NetworkPolicy (flannel alone), what the policies would stop is
/// `not-enforced`, never `blocked`, as `diagnose` says.
#[test]
fn nothing_enforces_so_nothing_is_blocked() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/17-cni-flannel-not-enforced");
    let snap = snapshot::load_paths(&[dir.join("cluster.yaml")]).unwrap();
    let ix = ClusterIndex::build(&snap, Semantics::default());
    let case: serde_json::Value =
        yaml_serde::from_str(&std::fs::read_to_string(dir.join("case.yaml")).unwrap()).unwrap();
    let to = case["query"]["to"].as_str().unwrap();
    let r = reach(&ix, &ReachQuery::parse(Some(to), None, None, None, 10).unwrap()).unwrap();
    assert!(list(&r, Verdict::Blocked).is_none(), "{r:?}");
    let g = &list(&r, Verdict::NotEnforced).expect("not-enforced groups").groups[0];
    assert!(
        g.code.is_some() && r.notes.iter().any(|n| n.contains("CNI_NO_NETPOL_SUPPORT")),
        "{r:?}"
    );
}
