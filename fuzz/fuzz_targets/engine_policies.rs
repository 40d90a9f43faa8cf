//! A structured small cluster (namespaces, nodes, pods with owners and ports, Services) with
//! arbitrary NetworkPolicies, AdminNetworkPolicies and CNI-specific policies: names, labels,
//! selectors, CIDRs, ports and protocols are drawn from small alphabets (so that things match)
//! or are arbitrary strings and values (so that nothing is assumed well-formed). The cluster is
//! loaded like a file, indexed, mapped, and diagnosed for arbitrary queries.
//!
//! Checks: no panic, no hang, and the engine's one-semantics invariant: for every pair of pods
//! and probe, `engine::evaluate` allows exactly what `engine::allowed_conns` contains.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use netpol_debug::diagnosis::{Query, check_side, diagnose};
use netpol_debug::engine::{self, Endpoint, Flow, Selection};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::{Direction, Protocol};
use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::diagnosis::{matrix, steps};
use netpol_debug::report::render;
use netpol_debug::snapshot;
use serde_json::{Map, Value, json};

const NAMES: [&str; 6] = ["a", "b", "web", "db", "default", "kube-system"];
const KEYS: [&str; 5] = [
    "app",
    "team",
    "tier",
    "kubernetes.io/metadata.name",
    "pod-template-hash",
];
const VALUES: [&str; 6] = ["a", "b", "web", "db", "default", "x-1"];
const PORT_NAMES: [&str; 4] = ["http", "dns", "grpc", "metrics"];
const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];
const CIDRS: [&str; 8] = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.3/32",
    "0.0.0.0/0",
    "192.168.0.0/16",
    "::/0",
    "fd00::/8",
    "10.0.0.0/33",
];
const CALICO_TOKENS: [&str; 22] = [
    "app",
    "==",
    "!=",
    "'web'",
    "\"db\"",
    "&&",
    "||",
    "!",
    "(",
    ")",
    "has(",
    "in",
    "not in",
    "{",
    "}",
    ",",
    "all()",
    "global()",
    "contains",
    "starts with",
    "ends with",
    "projectcalico.org/namespace",
];
const MAX: usize = 6;

/// A string: mostly from an alphabet (one in eight is anything).
#[derive(Debug)]
enum S {
    Known(u8),
    Raw(String),
}

impl<'a> Arbitrary<'a> for S {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let k = u8::arbitrary(u)?;
        if k >= 224 {
            Ok(S::Raw(String::arbitrary(u)?))
        } else {
            Ok(S::Known(k))
        }
    }
}

/// A field of the wrong shape, now and then (one in sixteen): the value [`junk`] makes.
#[derive(Debug, Clone, Copy)]
struct Rare(Option<u8>);

impl<'a> Arbitrary<'a> for Rare {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let k = u8::arbitrary(u)?;
        Ok(Rare((k >= 240).then_some(k)))
    }
}

impl S {
    fn get(&self, alphabet: &[&str]) -> String {
        match self {
            S::Known(i) => alphabet[*i as usize % alphabet.len()].to_string(),
            S::Raw(s) => s.clone(),
        }
    }
}

/// A JSON value of the wrong shape, for any field.
fn junk(k: u8) -> Value {
    match k % 8 {
        0 => Value::Null,
        1 => json!(true),
        2 => json!([]),
        3 => json!({}),
        4 => json!(-1),
        5 => json!(1.5),
        6 => json!(["x", 1]),
        _ => json!(i64::MAX),
    }
}

#[derive(Debug)]
enum Int {
    Small(u8),
    Any(i64),
    Text(S),
    Junk(u8),
}

impl<'a> Arbitrary<'a> for Int {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..160 => Int::Small(u8::arbitrary(u)?),
            160..208 => Int::Any(i64::arbitrary(u)?),
            208..240 => Int::Text(S::arbitrary(u)?),
            k => Int::Junk(k),
        })
    }
}

impl Int {
    fn json(&self, names: &[&str]) -> Value {
        match self {
            Int::Small(n) => json!([53u16, 80, 443, 8080, 9090, 1, 65535, 0][*n as usize % 8]),
            Int::Any(n) => json!(n),
            Int::Text(s) => json!(s.get(names)),
            Int::Junk(k) => junk(*k),
        }
    }
}

#[derive(Debug)]
enum Cidr {
    Known(u8),
    V4([u8; 4], u8),
    V6([u16; 8], u8),
    Raw(String),
}

impl<'a> Arbitrary<'a> for Cidr {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..128 => Cidr::Known(u8::arbitrary(u)?),
            128..192 => Cidr::V4(<[u8; 4]>::arbitrary(u)?, u8::arbitrary(u)?),
            192..240 => Cidr::V6(<[u16; 8]>::arbitrary(u)?, u8::arbitrary(u)?),
            _ => Cidr::Raw(String::arbitrary(u)?),
        })
    }
}

impl Cidr {
    fn get(&self) -> String {
        match self {
            Cidr::Known(i) => CIDRS[*i as usize % CIDRS.len()].to_string(),
            Cidr::V4(a, p) => format!("{}.{}.{}.{}/{}", a[0], a[1], a[2], a[3], p % 40),
            Cidr::V6(a, p) => format!("{}/{}", std::net::Ipv6Addr::from(*a), p % 140),
            Cidr::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Ip {
    Net10(u8, u8),
    V4([u8; 4]),
    V6([u16; 8]),
    Raw(String),
}

impl Ip {
    fn get(&self) -> String {
        match self {
            Ip::Net10(a, b) => format!("10.1.{}.{}", a % 4, b),
            Ip::V4(a) => std::net::Ipv4Addr::from(*a).to_string(),
            Ip::V6(a) => std::net::Ipv6Addr::from(*a).to_string(),
            Ip::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Raw(S),
}

#[derive(Arbitrary, Debug)]
struct Sel {
    labels: Vec<(S, S)>,
    exprs: Vec<(S, Op, Option<Vec<S>>)>,
    junk: Rare,
}

impl Sel {
    fn json(&self) -> Value {
        if let Rare(Some(k)) = self.junk {
            return junk(k);
        }
        let labels: Map<String, Value> = self
            .labels
            .iter()
            .take(3)
            .map(|(k, v)| (k.get(&KEYS), json!(v.get(&VALUES))))
            .collect();
        let exprs: Vec<Value> = self
            .exprs
            .iter()
            .take(3)
            .map(|(k, op, values)| {
                let op = match op {
                    Op::In => "In".to_string(),
                    Op::NotIn => "NotIn".to_string(),
                    Op::Exists => "Exists".to_string(),
                    Op::DoesNotExist => "DoesNotExist".to_string(),
                    Op::Raw(s) => s.get(&["In", "in", ""]),
                };
                let mut m = Map::new();
                m.insert("key".into(), json!(k.get(&KEYS)));
                m.insert("operator".into(), json!(op));
                if let Some(v) = values {
                    m.insert(
                        "values".into(),
                        json!(v.iter().take(3).map(|s| s.get(&VALUES)).collect::<Vec<_>>()),
                    );
                }
                Value::Object(m)
            })
            .collect();
        json!({"matchLabels": labels, "matchExpressions": exprs})
    }
}

fn labels(l: &[(S, S)]) -> Value {
    Value::Object(
        l.iter()
            .take(3)
            .map(|(k, v)| (k.get(&KEYS), json!(v.get(&VALUES))))
            .collect(),
    )
}

#[derive(Debug)]
enum Peer {
    Pods(Option<Sel>, Option<Sel>),
    IpBlock(Cidr, Vec<Cidr>),
    Both(Sel, Cidr),
    Junk(u8),
}

impl<'a> Arbitrary<'a> for Peer {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u8::arbitrary(u)? {
            0..144 => Peer::Pods(Option::arbitrary(u)?, Option::arbitrary(u)?),
            144..232 => Peer::IpBlock(Cidr::arbitrary(u)?, Vec::arbitrary(u)?),
            232..244 => Peer::Both(Sel::arbitrary(u)?, Cidr::arbitrary(u)?),
            k => Peer::Junk(k),
        })
    }
}

impl Peer {
    fn json(&self) -> Value {
        match self {
            Peer::Pods(ns, pods) => {
                let mut m = Map::new();
                if let Some(s) = ns {
                    m.insert("namespaceSelector".into(), s.json());
                }
                if let Some(s) = pods {
                    m.insert("podSelector".into(), s.json());
                }
                Value::Object(m)
            }
            Peer::IpBlock(c, except) => json!({"ipBlock": {
                "cidr": c.get(),
                "except": except.iter().take(3).map(Cidr::get).collect::<Vec<_>>(),
            }}),
            Peer::Both(s, c) => json!({"podSelector": s.json(), "ipBlock": {"cidr": c.get()}}),
            Peer::Junk(k) => junk(*k),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Port {
    protocol: Option<S>,
    port: Option<Int>,
    end_port: Option<Int>,
}

impl Port {
    fn json(&self) -> Value {
        let mut m = Map::new();
        if let Some(p) = &self.protocol {
            m.insert("protocol".into(), json!(p.get(&PROTOCOLS)));
        }
        if let Some(p) = &self.port {
            m.insert("port".into(), p.json(&PORT_NAMES));
        }
        if let Some(p) = &self.end_port {
            m.insert("endPort".into(), p.json(&["80"]));
        }
        Value::Object(m)
    }
}

#[derive(Arbitrary, Debug)]
struct Rule {
    peers: Option<Vec<Peer>>,
    ports: Option<Vec<Port>>,
}

impl Rule {
    fn json(&self, peers_key: &str) -> Value {
        let mut m = Map::new();
        if let Some(p) = &self.peers {
            m.insert(
                peers_key.into(),
                Value::Array(p.iter().take(3).map(Peer::json).collect()),
            );
        }
        if let Some(p) = &self.ports {
            m.insert("ports".into(), Value::Array(p.iter().take(3).map(Port::json).collect()));
        }
        Value::Object(m)
    }
}

#[derive(Arbitrary, Debug)]
struct NetPol {
    name: S,
    namespace: Option<S>,
    pod_selector: Option<Sel>,
    policy_types: Option<Vec<S>>,
    ingress: Option<Vec<Rule>>,
    egress: Option<Vec<Rule>>,
    junk_spec: Rare,
}

impl NetPol {
    fn json(&self) -> Value {
        let mut spec = Map::new();
        if let Some(s) = &self.pod_selector {
            spec.insert("podSelector".into(), s.json());
        }
        if let Some(t) = &self.policy_types {
            let types: Vec<String> = t.iter().take(3).map(|s| s.get(&["Ingress", "Egress"])).collect();
            spec.insert("policyTypes".into(), json!(types));
        }
        for (key, peers, rules) in [("ingress", "from", &self.ingress), ("egress", "to", &self.egress)] {
            if let Some(r) = rules {
                spec.insert(
                    key.into(),
                    Value::Array(r.iter().take(3).map(|r| r.json(peers)).collect()),
                );
            }
        }
        let mut meta = Map::new();
        meta.insert("name".into(), json!(self.name.get(&NAMES)));
        if let Some(ns) = &self.namespace {
            meta.insert("namespace".into(), json!(ns.get(&NAMES)));
        }
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta,
            "spec": self.junk_spec.0.map_or(Value::Object(spec), junk),
        })
    }
}

#[derive(Arbitrary, Debug)]
enum AdminPeer {
    Namespaces(Sel),
    Pods(Sel, Sel),
    Nodes(Sel),
    Networks(Vec<Cidr>),
    DomainNames(Vec<S>),
    Junk(u8),
}

#[derive(Arbitrary, Debug)]
enum AdminPort {
    Number(Option<S>, Int),
    Named(S),
    Range(Option<S>, Int, Int),
    Junk(u8),
}

#[derive(Arbitrary, Debug)]
struct AdminRule {
    name: S,
    action: S,
    peers: Option<Vec<AdminPeer>>,
    ports: Option<Vec<AdminPort>>,
}

#[derive(Arbitrary, Debug)]
struct Admin {
    baseline: bool,
    name: S,
    priority: Option<Int>,
    subject_pods: bool,
    subject: (Sel, Sel),
    ingress: Option<Vec<AdminRule>>,
    egress: Option<Vec<AdminRule>>,
}

impl Admin {
    fn json(&self) -> Value {
        let subject = if self.subject_pods {
            json!({"pods": {"namespaceSelector": self.subject.0.json(), "podSelector": self.subject.1.json()}})
        } else {
            json!({"namespaces": self.subject.0.json()})
        };
        let mut spec = Map::new();
        spec.insert("subject".into(), subject);
        if let Some(p) = &self.priority {
            spec.insert("priority".into(), p.json(&["5"]));
        }
        for (key, peers_key, rules) in [("ingress", "from", &self.ingress), ("egress", "to", &self.egress)] {
            let Some(rules) = rules else { continue };
            let rules: Vec<Value> = rules
                .iter()
                .take(3)
                .map(|r| {
                    let mut m = Map::new();
                    m.insert("name".into(), json!(r.name.get(&NAMES)));
                    m.insert("action".into(), json!(r.action.get(&["Allow", "Deny", "Pass"])));
                    if let Some(peers) = &r.peers {
                        let peers: Vec<Value> = peers
                            .iter()
                            .take(3)
                            .map(|p| match p {
                                AdminPeer::Namespaces(s) => json!({"namespaces": s.json()}),
                                AdminPeer::Pods(n, p) => {
                                    json!({"pods": {"namespaceSelector": n.json(), "podSelector": p.json()}})
                                }
                                AdminPeer::Nodes(s) => json!({"nodes": s.json()}),
                                AdminPeer::Networks(c) => {
                                    json!({"networks": c.iter().take(3).map(Cidr::get).collect::<Vec<_>>()})
                                }
                                AdminPeer::DomainNames(d) => {
                                    json!({"domainNames": d.iter().take(3).map(|s| s.get(&["*.example.com", "a.b"])).collect::<Vec<_>>()})
                                }
                                AdminPeer::Junk(k) => junk(*k),
                            })
                            .collect();
                        m.insert(peers_key.into(), Value::Array(peers));
                    }
                    if let Some(ports) = &r.ports {
                        let ports: Vec<Value> = ports
                            .iter()
                            .take(3)
                            .map(|p| match p {
                                AdminPort::Number(proto, n) => json!({"portNumber": {
                                    "protocol": proto.as_ref().map(|s| s.get(&PROTOCOLS)),
                                    "port": n.json(&["80"]),
                                }}),
                                AdminPort::Named(s) => json!({"namedPort": s.get(&PORT_NAMES)}),
                                AdminPort::Range(proto, a, b) => json!({"portRange": {
                                    "protocol": proto.as_ref().map(|s| s.get(&PROTOCOLS)),
                                    "start": a.json(&["80"]),
                                    "end": b.json(&["90"]),
                                }}),
                                AdminPort::Junk(k) => junk(*k),
                            })
                            .collect();
                        m.insert("ports".into(), Value::Array(ports));
                    }
                    Value::Object(m)
                })
                .collect();
            spec.insert(key.into(), Value::Array(rules));
        }
        let (kind, name) = if self.baseline {
            ("BaselineAdminNetworkPolicy", self.name.get(&["default"]))
        } else {
            ("AdminNetworkPolicy", self.name.get(&NAMES))
        };
        json!({
            "apiVersion": "policy.networking.k8s.io/v1alpha1",
            "kind": kind,
            "metadata": {"name": name},
            "spec": spec,
        })
    }
}

/// A CNI-specific policy: Calico (a selector expression from tokens), Cilium, or MultiNetworkPolicy.
#[derive(Arbitrary, Debug)]
enum Extended {
    Calico {
        global: bool,
        namespace: S,
        selector: Vec<S>,
        namespace_selector: Option<Vec<S>>,
    },
    Cilium {
        clusterwide: bool,
        namespace: S,
        selector: Sel,
        deny: bool,
    },
    Multi {
        namespace: S,
        networks: S,
        selector: Sel,
    },
}

impl Extended {
    fn json(&self) -> Value {
        let expr = |toks: &[S]| {
            toks.iter()
                .take(12)
                .map(|t| t.get(&CALICO_TOKENS))
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self {
            Extended::Calico {
                global,
                namespace,
                selector,
                namespace_selector,
            } => {
                let mut spec = Map::new();
                spec.insert("selector".into(), json!(expr(selector)));
                if let Some(ns) = namespace_selector {
                    spec.insert("namespaceSelector".into(), json!(expr(ns)));
                }
                spec.insert("types".into(), json!(["Ingress", "Egress"]));
                spec.insert("ingress".into(), json!([{"action": "Deny"}]));
                if *global {
                    json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy", "metadata": {"name": "g"}, "spec": spec})
                } else {
                    json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
                        "metadata": {"name": "c", "namespace": namespace.get(&NAMES)}, "spec": spec})
                }
            }
            Extended::Cilium {
                clusterwide,
                namespace,
                selector,
                deny,
            } => {
                let rules = if *deny { "ingressDeny" } else { "ingress" };
                let kind = if *clusterwide {
                    "CiliumClusterwideNetworkPolicy"
                } else {
                    "CiliumNetworkPolicy"
                };
                json!({"apiVersion": "cilium.io/v2", "kind": kind,
                    "metadata": {"name": "cil", "namespace": namespace.get(&NAMES)},
                    "spec": {"endpointSelector": selector.json(), rules: [{"fromEndpoints": [{}]}]}})
            }
            Extended::Multi {
                namespace,
                networks,
                selector,
            } => json!({"apiVersion": "k8s.cni.cncf.io/v1beta1", "kind": "MultiNetworkPolicy",
                "metadata": {"name": "m", "namespace": namespace.get(&NAMES),
                    "annotations": {"k8s.v1.cni.cncf.io/policy-for": networks.get(&["default/net1", "net1"])}},
                "spec": {"podSelector": selector.json(), "policyTypes": ["Ingress"]}}),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct ContainerPort {
    name: Option<S>,
    number: Int,
    protocol: Option<S>,
}

#[derive(Arbitrary, Debug)]
struct Pod {
    name: S,
    namespace: S,
    labels: Vec<(S, S)>,
    ports: Vec<ContainerPort>,
    ips: Vec<Ip>,
    node: Option<S>,
    host_network: bool,
    owner: Option<(S, S)>,
    phase: Option<S>,
}

impl Pod {
    fn json(&self) -> Value {
        let ports: Vec<Value> = self
            .ports
            .iter()
            .take(3)
            .map(|p| {
                let mut m = Map::new();
                if let Some(n) = &p.name {
                    m.insert("name".into(), json!(n.get(&PORT_NAMES)));
                }
                m.insert("containerPort".into(), p.number.json(&["80"]));
                if let Some(pr) = &p.protocol {
                    m.insert("protocol".into(), json!(pr.get(&PROTOCOLS)));
                }
                Value::Object(m)
            })
            .collect();
        let ips: Vec<String> = self.ips.iter().take(2).map(Ip::get).collect();
        let mut meta = Map::new();
        meta.insert("name".into(), json!(self.name.get(&NAMES)));
        meta.insert("namespace".into(), json!(self.namespace.get(&NAMES)));
        meta.insert("labels".into(), labels(&self.labels));
        if let Some((kind, name)) = &self.owner {
            meta.insert(
                "ownerReferences".into(),
                json!([{"apiVersion": "apps/v1", "kind": kind.get(&["ReplicaSet", "StatefulSet", "DaemonSet", "Job"]),
                    "name": name.get(&["web-x-1", "web", "db-"]), "uid": "u", "controller": true}]),
            );
        }
        let mut status = Map::new();
        if let Some(ip) = ips.first() {
            status.insert("podIP".into(), json!(ip));
        }
        status.insert(
            "podIPs".into(),
            json!(ips.iter().map(|i| json!({"ip": i})).collect::<Vec<_>>()),
        );
        if let Some(p) = &self.phase {
            status.insert("phase".into(), json!(p.get(&["Running", "Pending"])));
        }
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": {
                "nodeName": self.node.as_ref().map(|n| n.get(&["n1", "n2"])),
                "hostNetwork": self.host_network,
                "containers": [{"name": "c", "image": "nginx", "ports": ports}],
            },
            "status": status,
        })
    }
}

#[derive(Arbitrary, Debug)]
struct Workload {
    kind: S,
    name: S,
    namespace: S,
    labels: Vec<(S, S)>,
}

#[derive(Arbitrary, Debug)]
struct Service {
    name: S,
    namespace: S,
    selector: Option<Vec<(S, S)>>,
    service_type: S,
    ports: Vec<ServicePort>,
    cluster_ip: Option<Ip>,
}

#[derive(Arbitrary, Debug)]
struct ServicePort {
    name: Option<S>,
    port: Int,
    target_port: Option<Int>,
    node_port: Option<Int>,
}

impl Service {
    fn json(&self) -> Value {
        let ports: Vec<Value> = self
            .ports
            .iter()
            .take(3)
            .map(|p| {
                let mut m = Map::new();
                if let Some(n) = &p.name {
                    m.insert("name".into(), json!(n.get(&PORT_NAMES)));
                }
                m.insert("port".into(), p.port.json(&["80"]));
                if let Some(t) = &p.target_port {
                    m.insert("targetPort".into(), t.json(&PORT_NAMES));
                }
                if let Some(n) = &p.node_port {
                    m.insert("nodePort".into(), n.json(&["30080"]));
                }
                Value::Object(m)
            })
            .collect();
        let mut spec = Map::new();
        spec.insert("ports".into(), Value::Array(ports));
        spec.insert(
            "type".into(),
            json!(self.service_type.get(&["ClusterIP", "NodePort", "LoadBalancer"])),
        );
        if let Some(s) = &self.selector {
            spec.insert("selector".into(), labels(s));
        }
        if let Some(ip) = &self.cluster_ip {
            spec.insert("clusterIP".into(), json!(ip.get()));
        }
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": self.name.get(&NAMES), "namespace": self.namespace.get(&NAMES)}, "spec": spec})
    }
}

#[derive(Arbitrary, Debug)]
enum End {
    Pod(u8),
    Ip(Ip),
    Service(u8),
    Workload(S, S),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Q {
    from: End,
    to: End,
    protocol: u8,
    port: Option<Result<u16, S>>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    ipblock_matches_pods: bool,
    namespaces: Vec<(S, Vec<(S, S)>)>,
    nodes: Vec<(S, Ip)>,
    pods: Vec<Pod>,
    workloads: Vec<Workload>,
    services: Vec<Service>,
    policies: Vec<NetPol>,
    admin: Vec<Admin>,
    extended: Vec<Extended>,
    queries: Vec<Q>,
    probes: Vec<(u8, u16)>,
}

fn protocol(k: u8) -> Protocol {
    Protocol::ALL[k as usize % 3]
}

fn snapshot_json(input: &Input) -> String {
    let mut items = Vec::new();
    for (name, l) in input.namespaces.iter().take(4) {
        items.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name.get(&NAMES), "labels": labels(l)}}));
    }
    for (name, ip) in input.nodes.iter().take(2) {
        items.push(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name.get(&["n1", "n2"])},
            "status": {"addresses": [{"type": "InternalIP", "address": ip.get()}]}}),
        );
    }
    items.extend(input.pods.iter().take(MAX).map(Pod::json));
    for w in input.workloads.iter().take(2) {
        let kind = w
            .kind
            .get(&["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"]);
        let template = json!({"metadata": {"labels": labels(&w.labels)}, "spec": {"containers": [{"name": "c"}]}});
        let spec = if kind == "CronJob" {
            json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}})
        } else {
            json!({"selector": {"matchLabels": labels(&w.labels)}, "template": template})
        };
        let api = if kind == "CronJob" || kind == "Job" {
            "batch/v1"
        } else {
            "apps/v1"
        };
        items.push(json!({"apiVersion": api, "kind": kind,
            "metadata": {"name": w.name.get(&NAMES), "namespace": w.namespace.get(&NAMES)}, "spec": spec}));
    }
    items.extend(input.services.iter().take(2).map(Service::json));
    items.extend(input.policies.iter().take(MAX).map(NetPol::json));
    items.extend(input.admin.iter().take(3).map(Admin::json));
    items.extend(input.extended.iter().take(2).map(Extended::json));
    Value::Array(items).to_string()
}

fn endpoint_text(ix: &ClusterIndex, e: &End) -> String {
    match e {
        End::Pod(i) if !ix.pods.is_empty() => ix.pod(*i as usize % ix.pods.len()).key(),
        End::Pod(_) => "default/none".into(),
        End::Ip(ip) => ip.get(),
        End::Service(i) => format!("{}/svc/{}", NAMES[*i as usize % 6], NAMES[(*i as usize / 6) % 6]),
        End::Workload(ns, name) => format!("{}/deploy/{}", ns.get(&NAMES), name.get(&NAMES)),
        End::Raw(s) => s.clone(),
    }
}

fuzz_target!(|input: Input| {
    let text = snapshot_json(&input);
    let snap = snapshot::load_str("fuzz.json", &text).expect("a JSON array always loads");
    let ix = ClusterIndex::build(
        &snap,
        Semantics {
            ipblock_matches_pods: input.ipblock_matches_pods,
        },
    );

    // One semantics: evaluate (diagnose's engine) and allowed_conns (the map's) agree.
    let sel = Selection::compute(&ix);
    let n = ix.pods.len().min(MAX + 4);
    let mut probes: Vec<(Protocol, Option<u16>)> = input
        .probes
        .iter()
        .take(3)
        .map(|&(p, port)| (protocol(p), Some(port)))
        .collect();
    probes.push((Protocol::Tcp, Some(80)));
    for s in 0..n {
        for d in 0..n {
            let (src, dst) = (Endpoint::Pod(s), Endpoint::Pod(d));
            let conns = engine::allowed_conns(&ix, &sel, src, dst);
            for &(protocol, port) in &probes {
                let trace = engine::evaluate(
                    &ix,
                    Flow {
                        src,
                        dst,
                        protocol,
                        port,
                    },
                );
                if let Some(p) = port.filter(|&p| p != 0) {
                    assert_eq!(
                        trace.allowed(),
                        conns.contains(protocol, p),
                        "{} -> {} {protocol} {p}: evaluate and allowed_conns ({conns}) disagree",
                        ix.pod(s).key(),
                        ix.pod(d).key()
                    );
                }
            }
        }
    }

    let map = matrix::connectivity_map(&ix, &[]);
    let _ = matrix::render_text(&map);
    if let Some(ns) = ix.pods.first().map(|p| p.namespace.clone()) {
        let _ = matrix::connectivity_map(&ix, &[ns]);
    }
    for q in input.queries.iter().take(4) {
        let query = Query {
            from: endpoint_text(&ix, &q.from),
            to: endpoint_text(&ix, &q.to),
            protocol: protocol(q.protocol),
            port: q.port.as_ref().map(|p| match p {
                Ok(n) => PortArg::Number(*n),
                Err(s) => PortArg::Name(s.get(&PORT_NAMES)),
            }),
        };
        if let Ok(d) = diagnose(&ix, &query) {
            let _ = render::diagnosis_text(&d);
        }
        let _ = check_side(&ix, &query, Direction::Egress);
        let _ = steps::check_cross_namespace(&ix, &query, 10);
    }
    for id in 0..ix.pods.len().min(2) {
        let _ = steps::match_selectors(&ix, &ix.pod(id).key(), 10);
    }
});
