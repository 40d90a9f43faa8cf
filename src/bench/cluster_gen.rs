//! A deterministic cluster generator for the benchmark: a `kubectl get -o yaml`-like snapshot
//! (multi-document YAML, flow style) of a given size, the same text for the same seed.
//!
//! Invariant: pure (no I/O, no clock, no hash-map order); every object it writes loads without a
//! warning, and the counts of namespaces, pods and NetworkPolicies are exactly the size's.
//!
//! What is in it: Nodes (InternalIP, a Calico annotation); namespaces labelled `team`, `env`
//! and `kubernetes.io/metadata.name`; `kube-system` with the CoreDNS pods (`k8s-app=kube-dns`,
//! ports `dns`/`dns-tcp`) and the `kube-dns` Service; `default/kubernetes` with its Endpoints
//! (6443); `monitoring` (Prometheus) and `ingress-nginx`; in the other namespaces, apps of
//! several roles (web, api, grpc, worker, postgres, redis, rabbitmq) whose pods belong to
//! ReplicaSets (`api-5c6b8d9f7-x2kqp`) or StatefulSets (`orders-db-0`), with named container
//! ports, unique IPs and a node each, a Service per app (workers excepted), and NetworkPolicies
//! mixing default-deny (ingress, egress, both, policyTypes omitted), DNS egress allowances,
//! podSelector/namespaceSelector peers in one element (AND) and in two (OR), matchExpressions
//! (In, NotIn, Exists), ipBlock with except, named ports, endPort ranges, and omitted policyTypes.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Bumped whenever the generated text changes for a given size and seed (cached files carry it).
pub const GENERATOR_VERSION: u32 = 1;

/// Benchmark cluster sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Size {
    /// 10 namespaces, 100 pods, 50 NetworkPolicies.
    #[value(name = "S", alias = "s")]
    S,
    /// 50 namespaces, 1,000 pods, 500 NetworkPolicies.
    #[value(name = "M", alias = "m")]
    M,
    /// 200 namespaces, 10,000 pods, 3,000 NetworkPolicies.
    #[value(name = "L", alias = "l")]
    L,
    /// 500 namespaces, 50,000 pods, 10,000 NetworkPolicies.
    #[value(name = "XL", alias = "xl")]
    XL,
}

impl Size {
    pub const ALL: [Size; 4] = [Size::S, Size::M, Size::L, Size::XL];

    pub fn as_str(self) -> &'static str {
        match self {
            Size::S => "S",
            Size::M => "M",
            Size::L => "L",
            Size::XL => "XL",
        }
    }

    /// The object counts of this size.
    pub fn spec(self) -> SizeSpec {
        let (namespaces, pods, policies) = match self {
            Size::S => (10, 100, 50),
            Size::M => (50, 1_000, 500),
            Size::L => (200, 10_000, 3_000),
            Size::XL => (500, 50_000, 10_000),
        };
        SizeSpec {
            namespaces,
            pods,
            policies,
            nodes: (pods / 100).max(3),
        }
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Exact counts of a generated cluster. Namespaces include `kube-system`, `default`,
/// `monitoring` and `ingress-nginx`; pods include the CoreDNS, Prometheus and ingress
/// controller pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeSpec {
    pub namespaces: usize,
    pub pods: usize,
    pub policies: usize,
    pub nodes: usize,
}

/// SplitMix64: a small, fast, seedable PRNG (deterministic on every platform).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// True with probability `pct`%.
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An index into `weights`, drawn in proportion to them.
    pub fn weighted(&mut self, weights: &[usize]) -> usize {
        let mut r = self.below(weights.iter().sum());
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

/// The snapshot text of a cluster of `size`, the same for the same seed.
pub fn generate(size: Size, seed: u64) -> String {
    let model = Model::build(size, seed);
    model.render(size, seed)
}

// ---------------------------------------------------------------------------------------------
// The model

const TEAMS: &[&str] = &[
    "payments",
    "checkout",
    "catalog",
    "identity",
    "search",
    "logistics",
    "data",
    "growth",
    "media",
    "support",
    "risk",
    "mobile",
];
const ENVS: &[&str] = &["prod", "staging", "dev"];
const DOMAINS: &[&str] = &[
    "billing",
    "orders",
    "catalog",
    "cart",
    "search",
    "users",
    "auth",
    "inventory",
    "shipping",
    "notify",
    "report",
    "ledger",
    "media",
    "review",
    "pricing",
    "fraud",
];
/// kube-style random suffix alphabet (no vowels, no 0/1/3).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const CORPORATE: &[(&str, &[&str])] = &[
    ("172.16.0.0/12", &["172.16.5.0/24", "172.20.0.0/16"]),
    ("192.168.0.0/16", &["192.168.100.0/24"]),
    ("100.64.0.0/10", &[]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Web,
    Api,
    Grpc,
    Worker,
    Db,
    Cache,
    Queue,
}

const ROLES: [Role; 7] = [
    Role::Web,
    Role::Api,
    Role::Grpc,
    Role::Worker,
    Role::Db,
    Role::Cache,
    Role::Queue,
];

impl Role {
    fn suffix(self) -> &'static str {
        match self {
            Role::Web => "web",
            Role::Api => "api",
            Role::Grpc => "grpc",
            Role::Worker => "worker",
            Role::Db => "db",
            Role::Cache => "cache",
            Role::Queue => "queue",
        }
    }

    fn tier(self) -> &'static str {
        match self {
            Role::Web => "frontend",
            Role::Api | Role::Grpc | Role::Worker => "backend",
            Role::Db => "data",
            Role::Cache => "cache",
            Role::Queue => "messaging",
        }
    }

    /// Container ports: (name, number, protocol).
    fn ports(self) -> &'static [(&'static str, u16, &'static str)] {
        match self {
            Role::Web => &[("http", 8080, "TCP"), ("metrics", 9090, "TCP")],
            Role::Api => &[("http", 8080, "TCP"), ("grpc", 9000, "TCP"), ("metrics", 9090, "TCP")],
            Role::Grpc => &[("grpc", 9000, "TCP"), ("metrics", 9090, "TCP")],
            Role::Worker => &[("metrics", 9090, "TCP")],
            Role::Db => &[("postgres", 5432, "TCP"), ("metrics", 9187, "TCP")],
            Role::Cache => &[("redis", 6379, "TCP"), ("metrics", 9121, "TCP")],
            Role::Queue => &[("amqp", 5672, "TCP"), ("metrics", 15692, "TCP")],
        }
    }

    /// Service ports: (name, port, targetPort as written).
    fn service_ports(self) -> &'static [(&'static str, u16, &'static str)] {
        match self {
            Role::Web => &[("http", 80, "http")],
            Role::Api => &[("http", 80, "http"), ("grpc", 9000, "grpc")],
            Role::Grpc => &[("grpc", 9000, "9000")],
            Role::Worker => &[],
            Role::Db => &[("postgres", 5432, "5432")],
            Role::Cache => &[("redis", 6379, "redis")],
            Role::Queue => &[("amqp", 5672, "amqp")],
        }
    }

    fn stateful(self) -> bool {
        matches!(self, Role::Db | Role::Queue)
    }

    /// The named port other apps reach it on.
    fn main_port(self) -> Option<(&'static str, u16)> {
        match self {
            Role::Web | Role::Api => Some(("http", 8080)),
            Role::Grpc => Some(("grpc", 9000)),
            Role::Worker => None,
            Role::Db => Some(("postgres", 5432)),
            Role::Cache => Some(("redis", 6379)),
            Role::Queue => Some(("amqp", 5672)),
        }
    }
}

#[derive(Debug, Clone)]
struct Pod {
    name: String,
    /// Extra labels beyond the app's.
    labels: Vec<(String, String)>,
    node: usize,
    ip: [u8; 4],
}

#[derive(Debug, Clone)]
struct App {
    name: String,
    role: Role,
    version: &'static str,
    /// Declares the `metrics` port (Prometheus policies name it; without it they resolve nothing).
    metrics: bool,
    /// The pod-template-hash (ReplicaSet) or controller-revision-hash (StatefulSet).
    hash: String,
    owner_uid: String,
    pods: Vec<Pod>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsKind {
    System,
    Default,
    Monitoring,
    Ingress,
    App,
}

#[derive(Debug, Clone)]
struct Namespace {
    name: String,
    kind: NsKind,
    team: &'static str,
    env: &'static str,
    uid: String,
    /// For System/Monitoring/Ingress: the infrastructure pods as one "app".
    apps: Vec<App>,
    policies: Vec<String>,
}

struct Node {
    name: String,
    ip: [u8; 4],
    control_plane: bool,
    /// Pods placed so far (their IPs are the node's /23 from 10.64.0.0).
    placed: u32,
}

struct Model {
    nodes: Vec<Node>,
    namespaces: Vec<Namespace>,
    next_service_ip: u32,
}

/// Every (domain, role) pair an application may be named after.
fn app_names() -> Vec<(usize, Role)> {
    (0..DOMAINS.len())
        .flat_map(|d| ROLES.iter().map(move |&r| (d, r)))
        .collect()
}

fn rand_str(rng: &mut SplitMix64, n: usize) -> String {
    (0..n).map(|_| *rng.pick(ALPHABET) as char).collect()
}

fn uid(rng: &mut SplitMix64) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

impl Model {
    fn build(size: Size, seed: u64) -> Model {
        let spec = size.spec();
        let mut rng = SplitMix64::new(seed ^ 0x6e65_7470_6f6c_6462);
        let nodes = (0..spec.nodes)
            .map(|i| Node {
                name: format!("node-{i:03}"),
                ip: [10, 0, (10 + i / 250) as u8, (1 + i % 250) as u8],
                control_plane: i < if spec.nodes >= 10 { 3 } else { 1 },
                placed: 0,
            })
            .collect();
        let mut m = Model {
            nodes,
            namespaces: Vec::new(),
            next_service_ip: 100,
        };

        // Infrastructure namespaces.
        let mut kube_system = m.namespace("kube-system", NsKind::System, "platform", "prod", &mut rng);
        let coredns = m.app(&mut rng, "coredns", Role::Grpc, 2, false);
        kube_system.apps.push(coredns);
        let default = m.namespace("default", NsKind::Default, "platform", "prod", &mut rng);
        let mut monitoring = m.namespace("monitoring", NsKind::Monitoring, "platform", "prod", &mut rng);
        let prometheus = m.app(&mut rng, "prometheus-k8s", Role::Web, 2, true);
        monitoring.apps.push(prometheus);
        let mut ingress = m.namespace("ingress-nginx", NsKind::Ingress, "platform", "prod", &mut rng);
        let controller = m.app(&mut rng, "ingress-nginx-controller", Role::Web, 2, false);
        ingress.apps.push(controller);
        let infra_pods = 6;
        m.namespaces.extend([kube_system, default, monitoring, ingress]);

        // Application namespaces: pods and policies spread evenly.
        let app_ns = spec.namespaces - m.namespaces.len();
        let app_pods = spec.pods - infra_pods;
        for i in 0..app_ns {
            let team = *rng.pick(TEAMS);
            let env = ENVS[rng.weighted(&[5, 3, 2])];
            let name = format!("{team}-{i}");
            let mut ns = m.namespace(&name, NsKind::App, team, env, &mut rng);
            let mut left = app_pods / app_ns + usize::from(i < app_pods % app_ns);
            let mut combos = app_names();
            let mut round = 1;
            while left > 0 {
                if combos.is_empty() {
                    // More apps than names: another round of names, suffixed.
                    round += 1;
                    combos = app_names();
                }
                let replicas = [1, 2, 2, 3, 3, 4][rng.below(6)].min(left);
                let (d, role) = combos.swap_remove(rng.below(combos.len()));
                let app_name = match round {
                    1 => format!("{}-{}", DOMAINS[d], role.suffix()),
                    r => format!("{}-{}-{r}", DOMAINS[d], role.suffix()),
                };
                let app = m.app(&mut rng, &app_name, role, replicas, role.stateful());
                ns.apps.push(app);
                left -= replicas;
            }
            m.namespaces.push(ns);
        }

        // Policies.
        let first_app = 4;
        for i in 0..app_ns {
            let quota = spec.policies / app_ns + usize::from(i < spec.policies % app_ns);
            let policies = policies_for(&m.namespaces, first_app + i, quota, &mut rng);
            m.namespaces[first_app + i].policies = policies;
        }
        m
    }

    fn namespace(
        &self,
        name: &str,
        kind: NsKind,
        team: &'static str,
        env: &'static str,
        rng: &mut SplitMix64,
    ) -> Namespace {
        Namespace {
            name: name.to_string(),
            kind,
            team,
            env,
            uid: uid(rng),
            apps: Vec::new(),
            policies: Vec::new(),
        }
    }

    fn app(&mut self, rng: &mut SplitMix64, name: &str, role: Role, replicas: usize, stateful: bool) -> App {
        let hash = if stateful {
            rand_str(rng, 10)
        } else {
            let n = 9 + rng.below(2);
            rand_str(rng, n)
        };
        let mut seen = BTreeSet::new();
        let pods = (0..replicas)
            .map(|k| {
                let pod_name = if stateful {
                    format!("{name}-{k}")
                } else {
                    loop {
                        let n = format!("{name}-{hash}-{}", rand_str(rng, 5));
                        if seen.insert(n.clone()) {
                            break n;
                        }
                    }
                };
                let labels = if stateful {
                    vec![("statefulset.kubernetes.io/pod-name".to_string(), pod_name.clone())]
                } else {
                    Vec::new()
                };
                let (node, ip) = self.place(rng);
                Pod {
                    name: pod_name,
                    labels,
                    node,
                    ip,
                }
            })
            .collect();
        App {
            name: name.to_string(),
            role,
            version: ["v1", "v2", "v2", "v3"][rng.below(4)],
            metrics: rng.chance(60),
            hash,
            owner_uid: uid(rng),
            pods,
        }
    }

    /// A node with room, and the next IP of its /23 (10.64.0.0 + node * 512).
    fn place(&mut self, rng: &mut SplitMix64) -> (usize, [u8; 4]) {
        let n = self.nodes.len();
        let mut node = rng.below(n);
        while self.nodes[node].placed >= 500 {
            node = (node + 1) % n;
        }
        let slot = self.nodes[node].placed + 2;
        self.nodes[node].placed += 1;
        let addr = u32::from_be_bytes([10, 64, 0, 0]) + node as u32 * 512 + slot;
        (node, addr.to_be_bytes())
    }

    fn service_ip(&mut self) -> String {
        let addr = u32::from_be_bytes([10, 96, 0, 0]) + self.next_service_ip;
        self.next_service_ip += 1;
        ip(addr.to_be_bytes())
    }
}

fn ip(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

// ---------------------------------------------------------------------------------------------
// Policies

/// `{matchLabels: {k: v, ...}}`
fn match_labels(pairs: &[(&str, &str)]) -> String {
    format!("{{matchLabels: {}}}", map(pairs))
}

/// `{matchExpressions: [...]}`; an empty `values` writes none (Exists, DoesNotExist).
fn match_expressions(exprs: &[(&str, &str, &[&str])]) -> String {
    let items: Vec<String> = exprs
        .iter()
        .map(|(key, op, values)| {
            if values.is_empty() {
                format!("{{key: {}, operator: {op}}}", q(key))
            } else {
                let vs: Vec<String> = values.iter().map(|v| q(v).into_owned()).collect();
                format!("{{key: {}, operator: {op}, values: [{}]}}", q(key), vs.join(", "))
            }
        })
        .collect();
    format!("{{matchExpressions: [{}]}}", items.join(", "))
}

fn port_num(protocol: &str, port: u16) -> String {
    format!("{{protocol: {protocol}, port: {port}}}")
}

fn port_named(name: &str) -> String {
    format!("{{protocol: TCP, port: {name}}}")
}

fn port_range(port: u16, end: u16) -> String {
    format!("{{protocol: TCP, port: {port}, endPort: {end}}}")
}

const DNS_PEER: &str = "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}";

fn dns_rule(rng: &mut SplitMix64) -> String {
    match rng.weighted(&[7, 2, 1]) {
        0 => format!(
            "{{to: [{DNS_PEER}], ports: [{}, {}]}}",
            port_num("UDP", 53),
            port_num("TCP", 53)
        ),
        // Named ports toward the DNS pods (declared by CoreDNS as dns/dns-tcp).
        1 => format!("{{to: [{DNS_PEER}], ports: [{{protocol: UDP, port: dns}}, {{protocol: TCP, port: dns-tcp}}]}}"),
        // The classic mistake: UDP only.
        _ => format!("{{to: [{DNS_PEER}], ports: [{}]}}", port_num("UDP", 53)),
    }
}

/// One NetworkPolicy object (the YAML document without `---`).
fn policy_doc(ns: &str, name: &str, labels: &[(&str, &str)], spec: &str) -> String {
    let mut meta = format!("{{name: {}, namespace: {}", q(name), q(ns));
    if !labels.is_empty() {
        let _ = write!(meta, ", labels: {}", map(labels));
    }
    meta.push('}');
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {meta}\nspec: {spec}\n")
}

/// The namespace-wide postures a namespace may take: (name, spec).
const POSTURES: [(&str, &str); 4] = [
    ("default-deny-all", "{podSelector: {}, policyTypes: [Ingress, Egress]}"),
    ("default-deny-ingress", "{podSelector: {}, policyTypes: [Ingress]}"),
    ("default-deny-egress", "{podSelector: {}, policyTypes: [Egress]}"),
    // policyTypes omitted: isolates ingress only, egress stays open.
    ("deny-all", "{podSelector: {}}"),
];

/// `base`, or `base-2`, `base-3`... when taken; the name returned is then taken.
fn unique_name(names: &mut BTreeSet<String>, base: String) -> String {
    let mut n = base.clone();
    let mut k = 2;
    while !names.insert(n.clone()) {
        n = format!("{base}-{k}");
        k += 1;
    }
    n
}

/// `quota` policies for namespace `idx`, by name, as YAML documents.
fn policies_for(all: &[Namespace], idx: usize, quota: usize, rng: &mut SplitMix64) -> Vec<String> {
    let ns = &all[idx];
    let mut names = BTreeSet::new();
    let mut out = posture_policies(&ns.name, quota, &mut names, rng);
    let labels: &[(&str, &str)] = &[("app.kubernetes.io/managed-by", "helm")];
    let apps: Vec<&App> = ns.apps.iter().collect();
    let other_ns: Vec<&Namespace> = all
        .iter()
        .filter(|n| n.kind == NsKind::App && n.name != ns.name)
        .collect();
    let mut tries = 0;
    while out.len() < quota {
        let (base, spec) = app_policy(ns, &apps, &other_ns, rng);
        // Prefer a policy not written yet; after a few draws, take a numbered twin.
        tries += 1;
        if names.contains(&base) && tries < 6 {
            continue;
        }
        tries = 0;
        let name = unique_name(&mut names, base);
        let l = if rng.chance(40) { labels } else { &[] };
        out.push(policy_doc(&ns.name, &name, l, &spec));
    }
    out
}

/// The namespace's posture (a default deny, or none) and, when it denies egress, DNS allowed.
fn posture_policies(ns: &str, quota: usize, names: &mut BTreeSet<String>, rng: &mut SplitMix64) -> Vec<String> {
    let mut out = Vec::new();
    let posture = rng.weighted(&[30, 25, 10, 10, 25]);
    let egress_isolated = matches!(posture, 0 | 2);
    if out.len() < quota
        && let Some((name, spec)) = POSTURES.get(posture)
    {
        out.push(policy_doc(ns, &unique_name(names, (*name).into()), &[], spec));
    }
    if egress_isolated && out.len() < quota {
        let spec = format!(
            "{{podSelector: {{}}, policyTypes: [Egress], egress: [{}]}}",
            dns_rule(rng)
        );
        out.push(policy_doc(ns, &unique_name(names, "allow-dns".into()), &[], &spec));
    }
    out
}

/// One random draw of a policy: the app it protects and the peers it may name.
struct Draw<'a> {
    ns: &'a Namespace,
    app: &'a App,
    /// `{matchLabels: {app: <app>}}`
    target: String,
    peer_app: &'a App,
    team: &'static str,
    /// Whether [`Draw::app_port`] names the port (else its number).
    by_name: bool,
}

impl Draw<'_> {
    /// The port the rule allows on the app: named or by number (`metrics` for a worker).
    fn app_port(&self) -> String {
        match self.app.role.main_port() {
            Some((name, _)) if self.by_name => port_named(name),
            Some((_, number)) => port_num("TCP", number),
            None => port_named("metrics"),
        }
    }
}

/// A policy for a random app of `ns`, of a random kind: (name before deduplication, spec).
fn app_policy(ns: &Namespace, apps: &[&App], other_ns: &[&Namespace], rng: &mut SplitMix64) -> (String, String) {
    let app = *rng.pick(apps);
    let target = match_labels(&[("app", &app.name)]);
    let peer_app = *rng.pick(apps);
    let team = *rng.pick(TEAMS);
    let by_name = rng.chance(60);
    let d = Draw {
        ns,
        app,
        target,
        peer_app,
        team,
        by_name,
    };
    match rng.weighted(&[12, 10, 8, 8, 10, 4, 6, 6, 5, 6, 5, 4, 4, 4, 4]) {
        kind @ 0..=5 => ingress_policy(kind, &d, rng),
        kind @ (6..=9 | 13) => egress_policy(kind, &d, other_ns, rng),
        kind => wide_policy(kind, &d),
    }
}

/// `{podSelector: <selector>, policyTypes: [Ingress], ingress: [{from: [<from>], ports: [<ports>]}]}`
fn ingress_spec(selector: &str, from: &str, ports: &str) -> String {
    format!("{{podSelector: {selector}, policyTypes: [Ingress], ingress: [{{from: [{from}], ports: [{ports}]}}]}}")
}

/// `{podSelector: <selector>, policyTypes: [Egress], egress: [{to: [<to>], ports: [<ports>]}]}`
fn egress_spec(selector: &str, to: &str, ports: &str) -> String {
    format!("{{podSelector: {selector}, policyTypes: [Egress], egress: [{{to: [{to}], ports: [{ports}]}}]}}")
}

/// One peer with both selectors (AND): `{namespaceSelector: <ns>, podSelector: <pods>}`.
fn ns_and_pods(namespaces: &str, pods: &str) -> String {
    format!("{{namespaceSelector: {namespaces}, podSelector: {pods}}}")
}

/// Kinds 0-5: ingress to the app from pods of the namespace, of a team, by expression, from
/// Prometheus, from the ingress controller.
fn ingress_policy(kind: usize, d: &Draw<'_>, rng: &mut SplitMix64) -> (String, String) {
    let (app, target, team) = (d.app, &d.target, d.team);
    match kind {
        // Same namespace, by app label, named or numbered port.
        0 => {
            let from = format!("{{podSelector: {}}}", match_labels(&[("app", &d.peer_app.name)]));
            let port = match app.role.main_port() {
                Some((name, _)) if rng.chance(50) => port_named(name),
                Some((_, number)) => port_num("TCP", number),
                None => port_named("metrics"),
            };
            (
                format!("allow-{}-to-{}", d.peer_app.name, app.name),
                ingress_spec(target, &from, &port),
            )
        }
        // Another team's frontends: namespaceSelector AND podSelector (one element).
        1 => (
            format!("allow-{team}-frontends-to-{}", app.name),
            ingress_spec(
                target,
                &ns_and_pods(&match_labels(&[("team", team)]), &match_labels(&[("tier", "frontend")])),
                &d.app_port(),
            ),
        ),
        // The same written as two elements (OR): the whole team, or any pod of the app here.
        2 => (
            format!("allow-{team}-or-{}-to-{}", d.peer_app.name, app.name),
            format!(
                "{{podSelector: {target}, ingress: [{{from: [{{namespaceSelector: {}}}, {{podSelector: {}}}]}}]}}",
                match_labels(&[("team", team)]),
                match_labels(&[("app", &d.peer_app.name)])
            ),
        ),
        // matchExpressions: In, NotIn, Exists.
        3 => (
            format!("allow-backends-to-{}", app.name),
            ingress_spec(
                target,
                &ns_and_pods(
                    &match_expressions(&[("env", "In", &["prod", "staging"]), ("team", "Exists", &[])]),
                    &match_expressions(&[("tier", "In", &["frontend", "backend"]), ("version", "NotIn", &["v1"])]),
                ),
                &d.app_port(),
            ),
        ),
        // Prometheus scrapes the metrics port.
        4 => (
            format!("allow-prometheus-scrape-{}", app.name),
            ingress_spec(
                target,
                &ns_and_pods(
                    &match_labels(&[("kubernetes.io/metadata.name", "monitoring")]),
                    &match_labels(&[("app.kubernetes.io/name", "prometheus")]),
                ),
                &port_named("metrics"),
            ),
        ),
        // The ingress controller reaches the frontends.
        _ => (
            "allow-ingress-nginx".to_string(),
            ingress_spec(
                &match_labels(&[("tier", "frontend")]),
                &format!(
                    "{{namespaceSelector: {}}}",
                    match_labels(&[("kubernetes.io/metadata.name", "ingress-nginx")])
                ),
                &port_named("http"),
            ),
        ),
    }
}

/// Kinds 6-9 and 13: egress to the data tier, the internet, a corporate range, another
/// namespace's APIs (both directions), the API server.
fn egress_policy(kind: usize, d: &Draw<'_>, other_ns: &[&Namespace], rng: &mut SplitMix64) -> (String, String) {
    let (app, target) = (d.app, &d.target);
    match kind {
        // Egress to the data tier of the namespace, a port range (endPort).
        6 => (
            format!("allow-{}-to-data", app.name),
            format!(
                "{{podSelector: {target}, policyTypes: [Egress], egress: [{{to: [{{podSelector: {}}}], ports: [{}, {}]}}, {}]}}",
                match_labels(&[("tier", "data")]),
                port_range(5432, 5440),
                port_named("redis"),
                dns_rule(rng)
            ),
        ),
        // Egress to the internet on 443, private ranges excepted.
        7 => (
            format!("allow-{}-egress-https", app.name),
            egress_spec(
                target,
                "{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}}",
                &port_num("TCP", 443),
            ),
        ),
        // Egress to a corporate range with holes, on a port range.
        8 => {
            let (cidr, except) = *rng.pick(CORPORATE);
            let except = if except.is_empty() {
                String::new()
            } else {
                format!(", except: [{}]", except.join(", "))
            };
            (
                format!("allow-{}-to-corporate", app.name),
                egress_spec(
                    target,
                    &format!("{{ipBlock: {{cidr: {cidr}{except}}}}}"),
                    &port_range(8443, 8449),
                ),
            )
        }
        // Both directions in one policy; egress to another namespace's APIs by named port.
        9 => {
            let other = if other_ns.is_empty() { d.ns } else { *rng.pick(other_ns) };
            (
                format!("{}-both-ways", app.name),
                format!(
                    "{{podSelector: {target}, policyTypes: [Ingress, Egress], ingress: [{{from: [{{podSelector: {}}}]}}], egress: [{{to: [{}], ports: [{}, {}]}}, {}]}}",
                    match_labels(&[("app", &d.peer_app.name)]),
                    ns_and_pods(
                        &match_labels(&[("kubernetes.io/metadata.name", &other.name)]),
                        &match_labels(&[("tier", "backend")])
                    ),
                    port_named("http"),
                    port_named("grpc"),
                    dns_rule(rng)
                ),
            )
        }
        // Egress to the API server's endpoints (6443 after DNAT).
        _ => (
            format!("allow-{}-apiserver", app.name),
            egress_spec(target, "{ipBlock: {cidr: 10.0.10.0/24}}", &port_num("TCP", 6443)),
        ),
    }
}

/// Kinds 10-12 and 14: policies that select widely: policyTypes omitted, a port range from
/// anywhere, a tier by expression, all ingress.
fn wide_policy(kind: usize, d: &Draw<'_>) -> (String, String) {
    let (app, target) = (d.app, &d.target);
    match kind {
        // policyTypes omitted with an egress section: both directions isolated.
        10 => (
            format!("{}-policy", app.name),
            format!(
                "{{podSelector: {target}, ingress: [{{from: [{{podSelector: {{}}}}], ports: [{}]}}], egress: [{{to: [{{podSelector: {{}}}}]}}]}}",
                d.app_port()
            ),
        ),
        // A range of ports from anywhere in the cluster.
        11 => (
            format!("allow-{}-port-range", app.name),
            ingress_spec(target, "{namespaceSelector: {}}", &port_range(8000, 9100)),
        ),
        // A tier selected by expression, from the team's other environments.
        12 => (
            format!("allow-{}-tier-from-team", app.role.tier()),
            format!(
                "{{podSelector: {}, policyTypes: [Ingress], ingress: [{{from: [{{namespaceSelector: {}}}]}}]}}",
                match_expressions(&[("tier", "In", &[app.role.tier()])]),
                match_expressions(&[("team", "In", &[d.ns.team]), ("env", "NotIn", &["dev"])])
            ),
        ),
        // Allow all ingress to the app (a rule with no from and no ports).
        _ => (
            format!("allow-all-to-{}", app.name),
            format!("{{podSelector: {target}, policyTypes: [Ingress], ingress: [{{}}]}}"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// A YAML scalar, quoted when a plain one would not read back as this string.
fn q(s: &str) -> std::borrow::Cow<'_, str> {
    let plain = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._/".contains(&b))
        && !s.starts_with(['-', '.'])
        && s.parse::<f64>().is_err()
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && !s.starts_with("0x")
        && !s.starts_with("0o");
    if plain {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(format!("'{}'", s.replace('\'', "''")))
    }
}

/// `{k: v, ...}`
fn map(pairs: &[(&str, &str)]) -> String {
    let items: Vec<String> = pairs.iter().map(|(k, v)| format!("{}: {}", q(k), q(v))).collect();
    format!("{{{}}}", items.join(", "))
}

/// The first line of a generated snapshot: what made it (a cached file is reused when it matches).
pub fn header_line(size: Size, seed: u64) -> String {
    format!("# netpol-debug bench cluster: size={size} seed={seed} generator={GENERATOR_VERSION}")
}

/// The containers and controller of a pod, and its labels before the pod's own.
struct PodTemplate<'a> {
    labels: Vec<(&'a str, &'a str)>,
    /// The `containers` list, flow style.
    containers: String,
    /// The ownerReference, flow style.
    owner: String,
}

/// An ownerReference to a pod's controller; the infrastructure's carry a uid and
/// blockOwnerDeletion.
fn owner_ref(kind: &str, name: &str, uid: Option<&str>) -> String {
    match uid {
        Some(uid) => format!(
            "{{apiVersion: apps/v1, kind: {kind}, name: {name}, uid: {uid}, controller: true, blockOwnerDeletion: true}}"
        ),
        None => format!("{{apiVersion: apps/v1, kind: {kind}, name: {name}, controller: true}}"),
    }
}

/// The pod template of `app` in a namespace of `kind`.
fn pod_template(kind: NsKind, app: &App) -> PodTemplate<'_> {
    let replica_set = || {
        owner_ref(
            "ReplicaSet",
            &format!("{}-{}", app.name, app.hash),
            Some(&app.owner_uid),
        )
    };
    match kind {
        NsKind::System => PodTemplate {
            labels: vec![("k8s-app", "kube-dns"), ("pod-template-hash", &app.hash)],
            containers: "[{name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.1, args: [-conf, /etc/coredns/Corefile], ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53, protocol: TCP}, {name: metrics, containerPort: 9153, protocol: TCP}]}]".into(),
            owner: replica_set(),
        },
        NsKind::Monitoring => PodTemplate {
            labels: vec![
                ("app", "prometheus"),
                ("app.kubernetes.io/name", "prometheus"),
                ("controller-revision-hash", &app.hash),
            ],
            containers: "[{name: prometheus, image: quay.io/prometheus/prometheus:v2.53.0, ports: [{name: web, containerPort: 9090, protocol: TCP}]}, {name: config-reloader, image: quay.io/prometheus-operator/prometheus-config-reloader:v0.75.0, ports: [{name: reloader-web, containerPort: 8080, protocol: TCP}]}]".into(),
            owner: owner_ref("StatefulSet", &app.name, Some(&app.owner_uid)),
        },
        NsKind::Ingress => PodTemplate {
            labels: vec![
                ("app.kubernetes.io/name", "ingress-nginx"),
                ("app.kubernetes.io/component", "controller"),
                ("pod-template-hash", &app.hash),
            ],
            containers: "[{name: controller, image: registry.k8s.io/ingress-nginx/controller:v1.11.1, ports: [{name: http, containerPort: 80, protocol: TCP}, {name: https, containerPort: 443, protocol: TCP}, {name: metrics, containerPort: 10254, protocol: TCP}]}]".into(),
            owner: replica_set(),
        },
        NsKind::App | NsKind::Default => app_pod_template(app),
    }
}

/// The pod template of an application: its role's ports (`metrics` if it declares it), owned
/// by a ReplicaSet or a StatefulSet.
fn app_pod_template(app: &App) -> PodTemplate<'_> {
    let ports: Vec<String> = app
        .role
        .ports()
        .iter()
        .filter(|(name, _, _)| app.metrics || *name != "metrics")
        .map(|(name, port, proto)| match *proto {
            "TCP" => format!("{{name: {name}, containerPort: {port}}}"),
            _ => format!("{{name: {name}, containerPort: {port}, protocol: {proto}}}"),
        })
        .collect();
    let (hash_key, owner) = if app.role.stateful() {
        ("controller-revision-hash", owner_ref("StatefulSet", &app.name, None))
    } else {
        let replica_set = format!("{}-{}", app.name, app.hash);
        ("pod-template-hash", owner_ref("ReplicaSet", &replica_set, None))
    };
    PodTemplate {
        labels: vec![
            ("app", &app.name),
            ("tier", app.role.tier()),
            ("version", app.version),
            (hash_key, &app.hash),
        ],
        containers: format!("[{{name: {}, ports: [{}]}}]", app.role.suffix(), ports.join(", ")),
        owner,
    }
}

impl Model {
    /// The snapshot text: a header, then Nodes, Namespaces, Pods, Services and NetworkPolicies.
    fn render(mut self, size: Size, seed: u64) -> String {
        let spec = size.spec();
        let mut out = String::with_capacity(spec.pods * 520 + spec.policies * 420 + 4096);
        let _ = writeln!(out, "{}", header_line(size, seed));
        let _ = writeln!(
            out,
            "# {} namespaces, {} pods, {} NetworkPolicies, {} nodes",
            spec.namespaces, spec.pods, spec.policies, spec.nodes
        );
        self.render_nodes(&mut out);
        self.render_namespaces(&mut out);
        for ns in &self.namespaces {
            for app in &ns.apps {
                for pod in &app.pods {
                    self.render_pod(&mut out, ns, app, pod);
                }
            }
        }
        self.render_cluster_services(&mut out);
        let namespaces = std::mem::take(&mut self.namespaces);
        self.render_app_services(&mut out, &namespaces);
        for ns in &namespaces {
            for p in &ns.policies {
                out.push_str("---\n");
                out.push_str(p);
            }
        }
        out
    }

    /// The Node documents: hostname, OS and zone labels, the control plane's role.
    fn render_nodes(&self, out: &mut String) {
        for n in &self.nodes {
            let mut labels = vec![
                ("kubernetes.io/hostname", n.name.as_str()),
                ("kubernetes.io/os", "linux"),
                (
                    "topology.kubernetes.io/zone",
                    ["zone-a", "zone-b", "zone-c"][n.ip[3] as usize % 3],
                ),
            ];
            if n.control_plane {
                labels.push(("node-role.kubernetes.io/control-plane", ""));
            }
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Node\nmetadata: {{name: {}, labels: {}, annotations: {{projectcalico.org/IPv4Address: {}/16}}}}\nstatus: {{addresses: [{{type: InternalIP, address: {}}}, {{type: Hostname, address: {}}}]}}\n",
                n.name,
                map(&labels),
                ip(n.ip),
                ip(n.ip),
                n.name
            );
        }
    }

    /// The Namespace documents, labelled with their name, team and environment.
    fn render_namespaces(&self, out: &mut String) {
        for ns in &self.namespaces {
            let _ = write!(
                out,
                "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {}, uid: {}, labels: {}}}\nstatus: {{phase: Active}}\n",
                q(&ns.name),
                ns.uid,
                map(&[
                    ("kubernetes.io/metadata.name", &ns.name),
                    ("team", ns.team),
                    ("env", ns.env)
                ])
            );
        }
    }

    /// The infrastructure's Services: `default/kubernetes` (with its Endpoints), `kube-dns`,
    /// Prometheus and the ingress controller's LoadBalancer.
    fn render_cluster_services(&mut self, out: &mut String) {
        let api_ips: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.control_plane)
            .map(|n| ip(n.ip))
            .collect();
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: kubernetes, namespace: default, labels: {{component: apiserver, provider: kubernetes}}}}\nspec: {{type: ClusterIP, clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1], ports: [{{name: https, port: 443, protocol: TCP, targetPort: 6443}}]}}\n"
        );
        let addrs: Vec<String> = api_ips.iter().map(|a| format!("{{ip: {a}}}")).collect();
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Endpoints\nmetadata: {{name: kubernetes, namespace: default, labels: {{endpointslice.kubernetes.io/skip-mirror: 'true'}}}}\nsubsets: [{{addresses: [{}], ports: [{{name: https, port: 6443, protocol: TCP}}]}}]\n",
            addrs.join(", ")
        );
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: kube-dns, namespace: kube-system, labels: {{k8s-app: kube-dns, kubernetes.io/name: CoreDNS}}}}\nspec: {{type: ClusterIP, clusterIP: 10.96.0.10, clusterIPs: [10.96.0.10], selector: {{k8s-app: kube-dns}}, ports: [{{name: dns, port: 53, protocol: UDP, targetPort: 53}}, {{name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}}, {{name: metrics, port: 9153, protocol: TCP, targetPort: 9153}}]}}\n"
        );
        let prom = self.service_ip();
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: prometheus-k8s, namespace: monitoring, labels: {{app.kubernetes.io/name: prometheus}}}}\nspec: {{type: ClusterIP, clusterIP: {prom}, clusterIPs: [{prom}], selector: {{app.kubernetes.io/name: prometheus}}, ports: [{{name: web, port: 9090, protocol: TCP, targetPort: web}}]}}\n"
        );
        let lb = self.service_ip();
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: ingress-nginx-controller, namespace: ingress-nginx, labels: {{app.kubernetes.io/name: ingress-nginx}}}}\nspec: {{type: LoadBalancer, clusterIP: {lb}, clusterIPs: [{lb}], externalTrafficPolicy: Local, selector: {{app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}}, ports: [{{name: http, port: 80, protocol: TCP, targetPort: http, nodePort: 30080}}, {{name: https, port: 443, protocol: TCP, targetPort: https, nodePort: 30443}}]}}\nstatus: {{loadBalancer: {{ingress: [{{ip: 203.0.113.10}}]}}}}\n"
        );
    }

    /// A Service per application (workers excepted) in the application namespaces.
    fn render_app_services(&mut self, out: &mut String, namespaces: &[Namespace]) {
        for ns in namespaces.iter().filter(|n| n.kind == NsKind::App) {
            for app in &ns.apps {
                let ports = app.role.service_ports();
                if ports.is_empty() {
                    continue;
                }
                let cip = self.service_ip();
                let ps: Vec<String> = ports
                    .iter()
                    .map(|(name, port, target)| format!("{{name: {name}, port: {port}, targetPort: {target}}}"))
                    .collect();
                let _ = write!(
                    out,
                    "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {}, namespace: {}}}\nspec: {{clusterIP: {cip}, selector: {{app: {}}}, ports: [{}]}}\n",
                    app.name,
                    ns.name,
                    app.name,
                    ps.join(", ")
                );
            }
        }
    }

    /// One Pod document, on its node with its IP.
    fn render_pod(&self, out: &mut String, ns: &Namespace, app: &App, pod: &Pod) {
        let node = &self.nodes[pod.node];
        let PodTemplate {
            mut labels,
            containers,
            owner,
        } = pod_template(ns.kind, app);
        labels.extend(pod.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let pip = ip(pod.ip);
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {}, namespace: {}, labels: {}, ownerReferences: [{owner}]}}\nspec: {{nodeName: {}, containers: {containers}}}\nstatus: {{phase: Running, podIP: {pip}}}\n",
            pod.name,
            ns.name,
            map(&labels),
            node.name,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{ClusterIndex, Semantics};

    fn check(size: Size) {
        let text = generate(size, 7);
        let snap = crate::snapshot::load_str("gen.yaml", &text).expect("the generated YAML parses");
        assert!(
            snap.warnings.is_empty(),
            "{:?}",
            &snap.warnings[..snap.warnings.len().min(5)]
        );
        assert!(snap.unreadable_policies.is_empty());
        let spec = size.spec();
        assert_eq!(snap.namespaces.len(), spec.namespaces);
        assert_eq!(snap.pods.len(), spec.pods);
        assert_eq!(snap.network_policies.len(), spec.policies);
        assert_eq!(snap.nodes.len(), spec.nodes);
        let ix = ClusterIndex::build(&snap, Semantics::default());
        assert!(ix.warnings.is_empty(), "{:?}", &ix.warnings[..ix.warnings.len().min(5)]);
        assert_eq!(ix.pods.len(), spec.pods, "no pod stands for a workload");
        assert_eq!(ix.namespaces.len(), spec.namespaces, "no namespace is inferred");
        let mut ips: Vec<_> = ix.pods.iter().flat_map(|p| p.ips.iter().copied()).collect();
        assert_eq!(ips.len(), spec.pods);
        ips.sort();
        ips.dedup();
        assert_eq!(ips.len(), spec.pods, "pod IPs are unique");
        assert_eq!(text, generate(size, 7), "same seed, same text");
        assert_ne!(text, generate(size, 8), "another seed, another cluster");
    }

    #[test]
    fn gen_small_loads_without_warnings_with_the_counts_of_its_size() {
        check(Size::S);
    }

    #[test]
    fn gen_medium_loads_without_warnings_with_the_counts_of_its_size() {
        check(Size::M);
    }

    #[test]
    fn gen_covers_the_policy_constructs() {
        let text = generate(Size::M, 1);
        for construct in [
            "policyTypes: [Ingress, Egress]}",
            "policyTypes: [Ingress]}",
            "policyTypes: [Egress]}",
            "spec: {podSelector: {}}\n",
            "operator: In,",
            "operator: NotIn,",
            "operator: Exists}",
            "except: [",
            "endPort: ",
            "port: metrics}",
            "{namespaceSelector: {matchLabels: {team: ",
            "}}, {podSelector: {matchLabels: {app: ",
            "port: 53}, {protocol: TCP, port: 53}",
            "k8s-app: kube-dns",
            "kind: StatefulSet",
            "kind: ReplicaSet",
        ] {
            assert!(text.contains(construct), "{construct}");
        }
    }

    #[test]
    fn gen_scalars_that_would_not_read_back_are_quoted() {
        assert_eq!(q("api"), "api");
        assert_eq!(q("10.0.0.1"), "10.0.0.1");
        assert_eq!(q("2456789"), "'2456789'");
        assert_eq!(q(""), "''");
        assert_eq!(q("true"), "'true'");
        assert_eq!(q("1e5"), "'1e5'");
    }
}
