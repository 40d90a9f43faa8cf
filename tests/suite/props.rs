//! Property tests (proptest) of the engine's invariants over small generated clusters: a few
//! namespaces and pods with labels and container ports, and NetworkPolicies built from small
//! random choices (pod/namespace selectors with matchLabels and In/NotIn/Exists/DoesNotExist,
//! ipBlocks with excepts, numeric/named/ranged ports, policyTypes present or absent, and now and
//! then a construct the API server would reject).
//!
//! Each property runs `PROPTEST_CASES` cases (default [`DEFAULT_CASES`]); a failure prints the
//! shrunk cluster (a `ClusterM`). Failures are not persisted to files: a regression found here
//! becomes a plain test at the end of this file. Commands and last figures: FUZZING.md.

use std::collections::BTreeMap;

use netpol_debug::diagnosis::matrix;
use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::diagnosis::{Query, diagnose};
use netpol_debug::engine::{self, Endpoint, Selection};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::{Direction, Protocol};
use netpol_debug::report::{Diagnosis, RootCauseCode, SideReport, Verdict};
use netpol_debug::snapshot;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 96;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        // Failures are kept as named regression tests below, not as files beside the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The model: what a generated cluster is made of.

const NS_NAMES: [&str; 3] = ["alpha", "beta", "gamma"];
const NS_KEYS: [&str; 3] = ["team", "env", "kubernetes.io/metadata.name"];
const NS_VALUES: [&str; 6] = ["red", "blue", "prod", "alpha", "beta", "gamma"];
const POD_KEYS: [&str; 3] = ["app", "tier", "zone"];
const POD_VALUES: [&str; 4] = ["web", "db", "front", "back"];
/// Container ports a pod may declare: (name, number, protocol). `http` is 80 on some pods and
/// 8080 on others, so a named port resolves per destination.
const CONTAINER_PORTS: [(&str, u16, &str); 5] = [
    ("http", 80, "TCP"),
    ("http", 8080, "TCP"),
    ("dns", 53, "UDP"),
    ("metrics", 9090, "TCP"),
    ("sig", 9000, "SCTP"),
];
/// The (protocol, port) pairs every query property asks about.
const PROBES: [(Protocol, u16); 5] = [
    (Protocol::Tcp, 80),
    (Protocol::Tcp, 8080),
    (Protocol::Udp, 53),
    (Protocol::Sctp, 9000),
    (Protocol::Tcp, 9090),
];
/// Addresses outside the pods, used as the other end of a flow.
const EXTERNAL: [&str; 2] = ["192.168.7.7", "8.8.8.8"];

#[derive(Debug, Clone)]
struct Expr {
    key: &'static str,
    op: &'static str,
    values: Vec<&'static str>,
}

#[derive(Debug, Clone)]
struct Sel {
    labels: Vec<(&'static str, &'static str)>,
    exprs: Vec<Expr>,
}

impl Sel {
    fn json(&self) -> Value {
        let mut m = serde_json::Map::new();
        if !self.labels.is_empty() {
            let labels: serde_json::Map<String, Value> =
                self.labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            m.insert("matchLabels".into(), Value::Object(labels));
        }
        if !self.exprs.is_empty() {
            let exprs: Vec<Value> = self
                .exprs
                .iter()
                .map(|e| {
                    if e.values.is_empty() {
                        json!({"key": e.key, "operator": e.op})
                    } else {
                        json!({"key": e.key, "operator": e.op, "values": e.values})
                    }
                })
                .collect();
            m.insert("matchExpressions".into(), Value::Array(exprs));
        }
        Value::Object(m)
    }
}

#[derive(Debug, Clone)]
enum PeerM {
    Pods {
        ns: Option<Sel>,
        pods: Option<Sel>,
    },
    IpBlock {
        cidr: &'static str,
        except: Vec<&'static str>,
    },
    /// `{}`: rejected by the API server (matches nothing here).
    Empty,
}

impl PeerM {
    fn json(&self) -> Value {
        match self {
            PeerM::Pods { ns, pods } => {
                let mut m = serde_json::Map::new();
                if let Some(s) = ns {
                    m.insert("namespaceSelector".into(), s.json());
                }
                if let Some(s) = pods {
                    m.insert("podSelector".into(), s.json());
                }
                Value::Object(m)
            }
            PeerM::IpBlock { cidr, except } if except.is_empty() => json!({"ipBlock": {"cidr": cidr}}),
            PeerM::IpBlock { cidr, except } => json!({"ipBlock": {"cidr": cidr, "except": except}}),
            PeerM::Empty => json!({}),
        }
    }
}

#[derive(Debug, Clone)]
enum PortVal {
    Num(i32),
    Name(&'static str),
}

#[derive(Debug, Clone)]
struct PortM {
    protocol: Option<&'static str>,
    port: Option<PortVal>,
    end_port: Option<i32>,
}

impl PortM {
    fn json(&self) -> Value {
        let mut m = serde_json::Map::new();
        if let Some(p) = self.protocol {
            m.insert("protocol".into(), json!(p));
        }
        match &self.port {
            Some(PortVal::Num(n)) => {
                m.insert("port".into(), json!(n));
            }
            Some(PortVal::Name(s)) => {
                m.insert("port".into(), json!(s));
            }
            None => {}
        }
        if let Some(e) = self.end_port {
            m.insert("endPort".into(), json!(e));
        }
        Value::Object(m)
    }
}

#[derive(Debug, Clone)]
struct RuleM {
    /// `None`: the peers list is absent; `Some(vec![])`: present and empty (both mean all peers).
    peers: Option<Vec<PeerM>>,
    ports: Option<Vec<PortM>>,
}

#[derive(Debug, Clone)]
struct PolicyM {
    ns: usize,
    deny_name: bool,
    pod_selector: Option<Sel>,
    policy_types: Option<Vec<&'static str>>,
    ingress: Option<Vec<RuleM>>,
    egress: Option<Vec<RuleM>>,
}

impl PolicyM {
    fn name(&self, i: usize) -> String {
        if self.deny_name {
            format!("deny-{i}")
        } else {
            format!("pol-{i}")
        }
    }

    /// Whether the policy isolates `dir`, as the API server defaults policyTypes.
    fn isolates(&self, dir: Direction) -> bool {
        match self.policy_types.as_ref().filter(|t| !t.is_empty()) {
            Some(t) => t.contains(&match dir {
                Direction::Ingress => "Ingress",
                Direction::Egress => "Egress",
            }),
            None => dir == Direction::Ingress || self.egress.is_some(),
        }
    }

    fn rule_count(&self, dir: Direction) -> usize {
        let rules = match dir {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        };
        rules.as_ref().map_or(0, Vec::len)
    }

    fn json(&self, i: usize) -> Value {
        let mut spec = serde_json::Map::new();
        if let Some(s) = &self.pod_selector {
            spec.insert("podSelector".into(), s.json());
        }
        if let Some(t) = &self.policy_types {
            spec.insert("policyTypes".into(), json!(t));
        }
        for (key, peers_key, rules) in [("ingress", "from", &self.ingress), ("egress", "to", &self.egress)] {
            if let Some(rules) = rules {
                let rules: Vec<Value> = rules
                    .iter()
                    .map(|r| {
                        let mut m = serde_json::Map::new();
                        if let Some(p) = &r.peers {
                            m.insert(peers_key.into(), Value::Array(p.iter().map(PeerM::json).collect()));
                        }
                        if let Some(p) = &r.ports {
                            m.insert("ports".into(), Value::Array(p.iter().map(PortM::json).collect()));
                        }
                        Value::Object(m)
                    })
                    .collect();
                spec.insert(key.into(), Value::Array(rules));
            }
        }
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": self.name(i), "namespace": NS_NAMES[self.ns]},
            "spec": spec,
        })
    }
}

#[derive(Debug, Clone)]
struct PodM {
    ns: usize,
    labels: Vec<(&'static str, &'static str)>,
    ports: Vec<usize>,
}

#[derive(Debug, Clone)]
struct ClusterM {
    /// Labels of each namespace of `NS_NAMES`; `None`: the namespace is not in the snapshot.
    namespaces: Vec<Option<Vec<(&'static str, &'static str)>>>,
    pods: Vec<PodM>,
    policies: Vec<PolicyM>,
}

impl ClusterM {
    fn pod_name(&self, i: usize) -> String {
        format!("{}/p{i}", NS_NAMES[self.pods[i].ns])
    }

    /// The snapshot as one JSON array, the policies in the order `order` gives.
    fn json(&self, order: &[usize]) -> String {
        let mut items = Vec::new();
        for (i, labels) in self.namespaces.iter().enumerate() {
            if let Some(labels) = labels {
                let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
                items.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS_NAMES[i], "labels": labels}}));
            }
        }
        for (i, p) in self.pods.iter().enumerate() {
            let labels: BTreeMap<&str, &str> = p.labels.iter().copied().collect();
            let mut seen = Vec::new();
            let ports: Vec<Value> = p
                .ports
                .iter()
                .map(|&k| CONTAINER_PORTS[k])
                .filter(|(name, _, _)| {
                    let fresh = !seen.contains(name);
                    seen.push(*name);
                    fresh
                })
                .map(|(name, n, proto)| json!({"name": name, "containerPort": n, "protocol": proto}))
                .collect();
            items.push(json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": format!("p{i}"), "namespace": NS_NAMES[p.ns], "labels": labels},
                "spec": {"containers": [{"name": "c", "ports": ports}]},
                "status": {"phase": "Running", "podIP": format!("10.{}.0.{}", p.ns, i + 1)},
            }));
        }
        for &i in order {
            items.push(self.policies[i].json(i));
        }
        Value::Array(items).to_string()
    }

    fn index(&self, order: &[usize]) -> ClusterIndex {
        let snap = snapshot::load_str("props.json", &self.json(order)).expect("generated snapshot loads");
        ClusterIndex::build(&snap, Semantics::default())
    }

    fn in_order(&self) -> Vec<usize> {
        (0..self.policies.len()).collect()
    }

    /// Every query endpoint: the pods, then external addresses.
    fn endpoints(&self) -> Vec<String> {
        (0..self.pods.len())
            .map(|i| self.pod_name(i))
            .chain(EXTERNAL.iter().map(|s| s.to_string()))
            .collect()
    }

    /// Ordered pairs of distinct endpoints with at least one pod.
    fn pairs(&self) -> Vec<(String, String)> {
        let eps = self.endpoints();
        let mut out = Vec::new();
        for (i, a) in eps.iter().enumerate() {
            for (j, b) in eps.iter().enumerate() {
                if i != j && (i < self.pods.len() || j < self.pods.len()) {
                    out.push((a.clone(), b.clone()));
                }
            }
        }
        out
    }

    fn policy_model(&self, key: &str) -> Option<&PolicyM> {
        self.policies
            .iter()
            .enumerate()
            .find(|(i, p)| format!("{}/{}", NS_NAMES[p.ns], p.name(*i)) == key)
            .map(|(_, p)| p)
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies.

fn label_set(
    keys: &'static [&'static str],
    values: &'static [&'static str],
) -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    prop::collection::vec((select(keys), select(values)), 0..=2).prop_map(|mut v| {
        v.sort();
        v.dedup_by_key(|(k, _)| *k);
        v
    })
}

fn expr(keys: &'static [&'static str], values: &'static [&'static str]) -> impl Strategy<Value = Expr> {
    let vals = prop::collection::vec(select(values), 1..=2);
    prop_oneof![
        8 => (select(keys), vals.clone()).prop_map(|(key, values)| Expr { key, op: "In", values }),
        8 => (select(keys), vals).prop_map(|(key, values)| Expr { key, op: "NotIn", values }),
        6 => select(keys).prop_map(|key| Expr { key, op: "Exists", values: vec![] }),
        6 => select(keys).prop_map(|key| Expr { key, op: "DoesNotExist", values: vec![] }),
        // Rejected by the API server: the selector matches nothing and the verdict is uncertain.
        1 => select(keys).prop_map(|key| Expr { key, op: "In", values: vec![] }),
        1 => select(keys).prop_map(|key| Expr { key, op: "Matches", values: vec!["x"] }),
    ]
}

fn selector(keys: &'static [&'static str], values: &'static [&'static str]) -> impl Strategy<Value = Sel> {
    // Small selectors, so that they match some of the pods (and fail on others).
    (
        prop::collection::vec((select(keys), select(values)), 0..=1),
        prop::collection::vec(expr(keys, values), 0..=1),
    )
        .prop_map(|(labels, exprs)| Sel { labels, exprs })
}

fn pod_selector() -> impl Strategy<Value = Sel> {
    selector(&POD_KEYS, &POD_VALUES)
}

fn ns_selector() -> impl Strategy<Value = Sel> {
    selector(&NS_KEYS, &NS_VALUES)
}

/// CIDRs around the pod addresses (10.<ns>.0.<pod+1>) and the external ones, with excepts
/// strictly inside (and now and then one that is not, or a CIDR that does not parse).
fn ip_block() -> impl Strategy<Value = PeerM> {
    const BLOCKS: [(&str, &[&str]); 9] = [
        ("10.0.0.0/8", &["10.1.0.0/16", "10.2.0.0/16", "10.0.0.1/32"]),
        ("10.0.0.0/16", &["10.0.0.2/32", "10.0.0.0/30"]),
        ("10.1.0.0/16", &["10.1.0.3/32"]),
        ("10.2.0.0/24", &["10.2.0.4/31"]),
        ("10.0.0.2/32", &[]),
        ("0.0.0.0/0", &["10.0.0.0/8", "192.168.0.0/16"]),
        ("192.168.0.0/16", &["192.168.7.0/24"]),
        ("8.8.8.8/32", &[]),
        ("::/0", &["fd00::/8"]),
    ];
    prop_oneof![
        20 => (0..BLOCKS.len(), any::<u8>()).prop_map(|(i, mask)| {
            let (cidr, excepts) = BLOCKS[i];
            let except = excepts.iter().enumerate().filter(|(k, _)| mask & (1 << k) != 0).map(|(_, e)| *e).collect();
            PeerM::IpBlock { cidr, except }
        }),
        1 => Just(PeerM::IpBlock { cidr: "10.0.0.0/33", except: vec![] }),
        1 => Just(PeerM::IpBlock { cidr: "10.1.0.0/16", except: vec!["10.2.0.0/24"] }),
    ]
}

fn peer() -> impl Strategy<Value = PeerM> {
    prop_oneof![
        6 => pod_selector().prop_map(|s| PeerM::Pods { ns: None, pods: Some(s) }),
        4 => ns_selector().prop_map(|s| PeerM::Pods { ns: Some(s), pods: None }),
        4 => (ns_selector(), pod_selector()).prop_map(|(n, p)| PeerM::Pods { ns: Some(n), pods: Some(p) }),
        4 => ip_block(),
        1 => Just(PeerM::Empty),
    ]
}

fn port() -> impl Strategy<Value = PortM> {
    let protocol = prop_oneof![
        4 => Just(None),
        3 => Just(Some("TCP")),
        2 => Just(Some("UDP")),
        1 => Just(Some("SCTP")),
    ];
    let number = select(&[53, 80, 443, 8080, 9000, 9090][..]);
    let value = prop_oneof![
        2 => Just((None, None)),
        6 => number.clone().prop_map(|n| (Some(PortVal::Num(n)), None)),
        3 => select(&["http", "dns", "metrics", "sig", "grpc"][..]).prop_map(|s| (Some(PortVal::Name(s)), None)),
        2 => (number, select(&[80, 1024, 9000, 9100, 65535][..])).prop_map(|(n, e)| (Some(PortVal::Num(n)), Some(e))),
        // Rejected by the API server.
        1 => Just((Some(PortVal::Num(0)), None)),
        1 => Just((None, Some(90))),
    ];
    let bad_protocol = prop_oneof![20 => Just(false), 1 => Just(true)];
    (protocol, value, bad_protocol).prop_map(|(protocol, (port, end_port), bad)| PortM {
        protocol: if bad { Some("ICMP") } else { protocol },
        port,
        end_port,
    })
}

fn rule() -> impl Strategy<Value = RuleM> {
    let peers = prop_oneof![
        2 => Just(None),
        1 => Just(Some(Vec::new())),
        6 => prop::collection::vec(peer(), 1..=2).prop_map(Some),
    ];
    let ports = prop_oneof![
        3 => Just(None),
        1 => Just(Some(Vec::new())),
        5 => prop::collection::vec(port(), 1..=2).prop_map(Some),
    ];
    (peers, ports).prop_map(|(peers, ports)| RuleM { peers, ports })
}

fn rules() -> impl Strategy<Value = Option<Vec<RuleM>>> {
    prop_oneof![
        3 => Just(None),
        2 => Just(Some(Vec::new())),
        5 => prop::collection::vec(rule(), 1..=2).prop_map(Some),
    ]
}

fn policy(namespaces: usize) -> impl Strategy<Value = PolicyM> {
    let pod_sel = prop_oneof![
        1 => Just(None),
        2 => pod_selector().prop_map(Some),
    ];
    let types = prop_oneof![
        3 => Just(None),
        1 => Just(Some(vec![])),
        2 => Just(Some(vec!["Ingress"])),
        2 => Just(Some(vec!["Egress"])),
        2 => Just(Some(vec!["Ingress", "Egress"])),
    ];
    (0..namespaces, any::<bool>(), pod_sel, types, rules(), rules()).prop_map(
        |(ns, deny_name, pod_selector, policy_types, ingress, egress)| PolicyM {
            ns,
            deny_name,
            pod_selector,
            policy_types,
            ingress,
            egress,
        },
    )
}

fn namespaces() -> impl Strategy<Value = Vec<Option<Vec<(&'static str, &'static str)>>>> {
    (2..=3usize).prop_flat_map(|n| {
        prop::collection::vec(
            prop_oneof![
                6 => label_set(&NS_KEYS[..2], &NS_VALUES[..3]).prop_map(Some),
                1 => Just(None),
            ],
            n,
        )
    })
}

fn pods(namespaces: usize) -> impl Strategy<Value = Vec<PodM>> {
    prop::collection::vec(
        (
            0..namespaces,
            label_set(&POD_KEYS[..2], &POD_VALUES),
            prop::collection::vec(0..CONTAINER_PORTS.len(), 0..=2),
        )
            .prop_map(|(ns, labels, ports)| PodM { ns, labels, ports }),
        2..=4,
    )
}

fn cluster() -> impl Strategy<Value = ClusterM> {
    namespaces().prop_flat_map(|ns| {
        let n = ns.len();
        (Just(ns), pods(n), prop::collection::vec(policy(n), 0..=5)).prop_map(|(namespaces, pods, policies)| ClusterM {
            namespaces,
            pods,
            policies,
        })
    })
}

/// A cluster with one more policy that the properties add to it.
fn cluster_and_policy() -> impl Strategy<Value = (ClusterM, PolicyM)> {
    cluster().prop_flat_map(|c| {
        let n = c.namespaces.len();
        (Just(c), policy(n))
    })
}

/// A permutation of `0..n`.
fn permutation(n: usize) -> impl Strategy<Value = Vec<usize>> {
    Just((0..n).collect::<Vec<usize>>()).prop_shuffle()
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn query(from: &str, to: &str, protocol: Protocol, port: u16) -> Query {
    Query {
        from: from.to_string(),
        to: to.to_string(),
        protocol,
        port: Some(PortArg::Number(port)),
    }
}

fn diag(ix: &ClusterIndex, from: &str, to: &str, protocol: Protocol, port: u16) -> Diagnosis {
    diagnose(ix, &query(from, to, protocol, port)).unwrap_or_else(|e| panic!("{from} -> {to}: {e}"))
}

fn endpoint(ix: &ClusterIndex, s: &str) -> Endpoint {
    match s.split_once('/') {
        Some((ns, name)) => Endpoint::Pod(ix.pod_by_name(ns, name).expect("generated pod")),
        None => Endpoint::Ip(s.parse().expect("an address")),
    }
}

/// Whether a connlist connection string (`All Connections`, `No Connections`,
/// `SCTP 9000,TCP 80-90,8080,UDP 53`) admits a protocol and port.
fn conn_admits(conn: &str, protocol: Protocol, port: u16) -> bool {
    match conn {
        "All Connections" => return true,
        "No Connections" => return false,
        _ => {}
    }
    let mut current = None;
    for part in conn.split(',') {
        let range = match part.split_once(' ') {
            Some((p, r)) => {
                current = Protocol::parse(p);
                r
            }
            None => part,
        };
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        let (lo, hi): (u16, u16) = (lo.parse().expect("port"), hi.parse().expect("port"));
        if current == Some(protocol) && (lo..=hi).contains(&port) {
            return true;
        }
    }
    false
}

fn side_of(d: &Diagnosis, dir: Direction) -> &SideReport {
    match dir {
        Direction::Egress => &d.egress,
        Direction::Ingress => &d.ingress,
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("report types serialize")
}

// ---------------------------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(config())]

    /// Policies are additive: once a side is isolated, another policy can only add to what it
    /// allows (it may isolate a side that was open, which is the only way to lose a connection).
    #[test]
    fn adding_a_policy_never_removes_an_allowed_connection_of_an_isolated_side((c, extra) in cluster_and_policy()) {
        let before = c.index(&c.in_order());
        let mut bigger = c.clone();
        bigger.policies.push(extra);
        let after = bigger.index(&bigger.in_order());
        let (sel_before, sel_after) = (Selection::compute(&before), Selection::compute(&after));
        for (from, to) in c.pairs() {
            for dir in [Direction::Egress, Direction::Ingress] {
                let (subject, peer) = if dir == Direction::Egress { (&from, &to) } else { (&to, &from) };
                let Endpoint::Pod(id) = endpoint(&before, subject) else { continue };
                if before.isolating_policies(id, dir).is_empty() {
                    continue;
                }
                let conns = |ix: &ClusterIndex, sel: &Selection| {
                    let dst = endpoint(ix, &to);
                    let dst_pod = match dst {
                        Endpoint::Pod(d) => Some(ix.pod(d)),
                        Endpoint::Ip(_) => None,
                    };
                    engine::side_conns(ix, sel, endpoint(ix, subject), endpoint(ix, peer), dir, dst_pod)
                };
                let (was, is) = (conns(&before, &sel_before), conns(&after, &sel_after));
                let lost = was.subtract(&is);
                prop_assert!(lost.is_empty(), "{} of {subject} (peer {peer}) lost {lost} (had {was}, now {is})", dir.as_str());
                for (proto, port) in PROBES {
                    let (d0, d1) = (diag(&before, &from, &to, proto, port), diag(&after, &from, &to, proto, port));
                    let (s0, s1) = (side_of(&d0, dir), side_of(&d1, dir));
                    prop_assert!(
                        !s0.allowed || s1.allowed,
                        "{from} -> {to} {proto} {port}: {} was allowed by {:?} and is not any more",
                        dir.as_str(),
                        s0.allowed_by
                    );
                }
            }
        }
    }

    /// The order in which policies appear in the snapshot changes nothing: not a verdict, not a
    /// word of a diagnosis, not a line of the map.
    #[test]
    fn policy_order_never_changes_a_verdict((c, order) in cluster().prop_flat_map(|c| {
        let n = c.policies.len();
        (Just(c), permutation(n))
    })) {
        let (a, b) = (c.index(&c.in_order()), c.index(&order));
        for (from, to) in c.pairs() {
            for (proto, port) in PROBES {
                let (x, y) = (diag(&a, &from, &to, proto, port), diag(&b, &from, &to, proto, port));
                prop_assert_eq!(x.verdict, y.verdict, "{} -> {} {} {}", from, to, proto, port);
                prop_assert_eq!(to_json(&x), to_json(&y));
            }
        }
        prop_assert_eq!(
            matrix::render_text(&matrix::connectivity_map(&a, &[])),
            matrix::render_text(&matrix::connectivity_map(&b, &[]))
        );
    }

    /// `diagnose` and `matrix` give the same answer for every pair of pods and probe: the map
    /// admits the connection exactly when both sides allow it, an `allowed` verdict is in the map
    /// and a `blocked` one is not (`inconclusive` only when a side depends on an unreadable part).
    #[test]
    fn diagnose_and_matrix_agree(c in cluster()) {
        let ix = c.index(&c.in_order());
        let map = matrix::connectivity_map(&ix, &[]);
        let conn_of = |from: &str, to: &str| {
            let (s, d) = (format!("{from}[Pod]"), format!("{to}[Pod]"));
            map.connections
                .iter()
                .find(|x| x.src == s && x.dst == d)
                .map_or("No Connections", |x| x.conn.as_str())
                .to_string()
        };
        for i in 0..c.pods.len() {
            for j in 0..c.pods.len() {
                if i == j {
                    continue;
                }
                let (from, to) = (c.pod_name(i), c.pod_name(j));
                let conn = conn_of(&from, &to);
                for (proto, port) in PROBES {
                    let d = diag(&ix, &from, &to, proto, port);
                    let in_map = conn_admits(&conn, proto, port);
                    prop_assert_eq!(
                        d.egress.allowed && d.ingress.allowed,
                        in_map,
                        "{} -> {} {} {}: diagnose says {} (egress {}, ingress {}), the map says {}",
                        from, to, proto, port, d.verdict.as_str(), d.egress.allowed, d.ingress.allowed, conn
                    );
                    match d.verdict {
                        Verdict::Allowed => prop_assert!(in_map),
                        Verdict::Blocked => prop_assert!(!in_map),
                        Verdict::Inconclusive => prop_assert!(
                            !(d.egress.uncertain.is_empty() && d.ingress.uncertain.is_empty()),
                            "{} -> {} {} {}: inconclusive with no uncertain side: {:?}", from, to, proto, port, d.root_causes
                        ),
                        Verdict::NotEnforced => prop_assert!(false, "nothing in these clusters says the CNI does not enforce"),
                    }
                }
            }
        }
    }

    /// A `blocked` verdict names an isolating policy of every blocking side, lists every rule of
    /// those policies with the clause that failed, and allows nothing there.
    #[test]
    fn blocked_names_isolating_policies_and_failing_clauses(c in cluster()) {
        let ix = c.index(&c.in_order());
        for (from, to) in c.pairs() {
            for (proto, port) in PROBES {
                let d = diag(&ix, &from, &to, proto, port);
                if d.verdict != Verdict::Blocked {
                    continue;
                }
                let ctx = format!("{from} -> {to} {proto} {port}");
                prop_assert!(d.blocked_direction.is_some(), "{}: blocked without a direction", ctx);
                let mut named = Vec::new();
                for dir in [Direction::Egress, Direction::Ingress] {
                    let s = side_of(&d, dir);
                    if s.allowed {
                        continue;
                    }
                    prop_assert!(s.isolated && !s.isolating_policies.is_empty(), "{}: {} blocks but is not isolated", ctx, dir.as_str());
                    prop_assert!(s.allowed_by.is_empty(), "{}: {} blocks yet names allowing rules {:?}", ctx, dir.as_str(), s.allowed_by);
                    let models: Vec<&PolicyM> = s.isolating_policies.iter().map(|k| c.policy_model(k).expect("a generated policy")).collect();
                    prop_assert!(models.iter().all(|m| m.isolates(dir)), "{}: {:?} named as isolating {}", ctx, s.isolating_policies, dir.as_str());
                    let expected_rules: usize = models.iter().map(|m| m.rule_count(dir)).sum();
                    prop_assert_eq!(s.rules_total as usize, expected_rules, "{}: {} rules_total", ctx, dir.as_str());
                    prop_assert_eq!(s.rules.len(), expected_rules.min(20), "{}: {} rules listed", ctx, dir.as_str());
                    for r in &s.rules {
                        prop_assert!(s.isolating_policies.contains(&r.policy), "{}: rule of a non-isolating policy {}", ctx, r.policy);
                        prop_assert_eq!(r.outcome.as_str(), "no-match");
                        let clause = r.failed_clause.as_ref();
                        prop_assert!(clause.is_some(), "{}: {} rule {}[{}] failed without a clause", ctx, dir.as_str(), r.policy, r.rule);
                        let clause = clause.expect("checked");
                        let base = format!("spec.{}[{}].", dir.as_str(), r.rule);
                        let peers = if dir == Direction::Ingress { "from" } else { "to" };
                        prop_assert!(
                            clause.field == format!("{base}{peers}") || clause.field == format!("{base}ports"),
                            "{}: clause field {}", ctx, clause.field
                        );
                        prop_assert!(!clause.reasons.is_empty() && clause.reasons.iter().all(|x| !x.is_empty()), "{}: clause without reasons", ctx);
                    }
                    named.extend(s.isolating_policies.iter().cloned());
                }
                let first = d.root_causes.first();
                prop_assert!(first.is_some(), "{}: blocked without a root cause", ctx);
                let first = first.expect("checked");
                prop_assert!(
                    !first.policies.is_empty() && first.policies.iter().all(|p| named.contains(p)),
                    "{}: the first root cause {:?} names {:?}, the blocking sides' isolating policies are {:?}",
                    ctx, first.code, first.policies, named
                );
            }
        }
    }

    /// An `allowed` verdict names, for each side, the rule that allows it, or says that the side
    /// is not isolated; the first root cause says which of the two it is.
    #[test]
    fn allowed_names_the_allowing_rule_or_an_open_side(c in cluster()) {
        let ix = c.index(&c.in_order());
        for (from, to) in c.pairs() {
            for (proto, port) in PROBES {
                let d = diag(&ix, &from, &to, proto, port);
                if d.verdict != Verdict::Allowed {
                    continue;
                }
                let ctx = format!("{from} -> {to} {proto} {port}");
                prop_assert!(d.blocked_direction.is_none(), "{}", ctx);
                for dir in [Direction::Egress, Direction::Ingress] {
                    let s = side_of(&d, dir);
                    prop_assert!(s.allowed, "{}: allowed with {} not allowed", ctx, dir.as_str());
                    if s.isolated {
                        prop_assert!(!s.allowed_by.is_empty(), "{}: isolated {} allowed by no rule", ctx, dir.as_str());
                        for r in &s.allowed_by {
                            prop_assert!(s.isolating_policies.contains(&r.policy), "{}: {} allowed by non-isolating {}", ctx, dir.as_str(), r.policy);
                            let listed = s.rules.iter().find(|x| x.policy == r.policy && x.rule == r.rule);
                            if let Some(listed) = listed {
                                prop_assert_eq!(listed.outcome.as_str(), "allows");
                                prop_assert!(listed.failed_clause.is_none());
                            }
                        }
                    } else {
                        prop_assert!(s.allowed_by.is_empty() && s.isolating_policies.is_empty(), "{}", ctx);
                        let note = s.note.as_deref().unwrap_or_default();
                        prop_assert!(
                            note.contains("not isolated") || note.contains("outside the cluster"),
                            "{}: open {} without a note saying so: {:?}", ctx, dir.as_str(), note
                        );
                    }
                }
                // The reason (after a note on omitted policyTypes, when one applies).
                let expected = if d.egress.isolated || d.ingress.isolated {
                    RootCauseCode::AllowedByPolicy
                } else {
                    RootCauseCode::AllowedNoPolicy
                };
                let codes: Vec<RootCauseCode> = d.root_causes.iter().map(|r| r.code).collect();
                let reason = d.root_causes.iter().find(|r| r.code == expected);
                prop_assert!(reason.is_some(), "{}: allowed, expected {:?} among {:?}", ctx, expected, codes);
                prop_assert!(
                    codes.iter().all(|k| *k == expected || *k == RootCauseCode::PolicytypesOmittedEgressOpen || *k == RootCauseCode::SelectorAndOrConfusion),
                    "{}: allowed with codes {:?}", ctx, codes
                );
                if expected == RootCauseCode::AllowedByPolicy {
                    let mut allowing: Vec<String> = d.egress.allowed_by.iter().chain(&d.ingress.allowed_by).map(|r| r.policy.clone()).collect();
                    allowing.sort();
                    allowing.dedup();
                    prop_assert_eq!(&reason.expect("checked").policies, &allowing, "{}", ctx);
                }
            }
        }
    }

    /// The same snapshot gives the same bytes: a diagnosis, the map, and the index built again.
    #[test]
    fn output_is_deterministic(c in cluster()) {
        let text = c.json(&c.in_order());
        let build = || ClusterIndex::build(&snapshot::load_str("props.json", &text).expect("loads"), Semantics::default());
        let (a, b) = (build(), build());
        for (from, to) in c.pairs() {
            let (proto, port) = PROBES[(from.len() + to.len()) % PROBES.len()];
            let first = to_json(&diag(&a, &from, &to, proto, port));
            prop_assert_eq!(&first, &to_json(&diag(&a, &from, &to, proto, port)));
            prop_assert_eq!(&first, &to_json(&diag(&b, &from, &to, proto, port)));
        }
        let map = to_json(&matrix::connectivity_map(&a, &[]));
        prop_assert_eq!(&map, &to_json(&matrix::connectivity_map(&a, &[])));
        prop_assert_eq!(&map, &to_json(&matrix::connectivity_map(&b, &[])));
    }
}

#[test]
fn connlist_strings_are_read_as_the_map_writes_them() {
    let c = "SCTP 9000,TCP 80-90,8080,UDP 53";
    assert!(conn_admits(c, Protocol::Tcp, 85) && conn_admits(c, Protocol::Tcp, 8080));
    assert!(conn_admits(c, Protocol::Sctp, 9000) && conn_admits(c, Protocol::Udp, 53));
    assert!(!conn_admits(c, Protocol::Udp, 80) && !conn_admits(c, Protocol::Tcp, 53));
    assert!(conn_admits("All Connections", Protocol::Sctp, 1));
    assert!(!conn_admits("No Connections", Protocol::Tcp, 80));
}
