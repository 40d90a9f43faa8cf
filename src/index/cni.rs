//! Which CNI (or policy engine) a cluster runs, and whether it enforces NetworkPolicy, from
//! what a snapshot shows: pods and DaemonSets (names, labels, images, arguments), node
//! annotations and kubelet versions.
//!
//! Invariant: pure; never guesses. Nothing recognised is `unknown`, and an enforcement that
//! depends on configuration the snapshot does not show is `conditional`, naming what to check.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Node, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::snapshot::{ClusterSnapshot, WorkloadKind};

/// Whether a CNI enforces NetworkPolicy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Support {
    /// Enforces NetworkPolicy.
    Supported,
    /// Enforces NetworkPolicy only when configured so (the evidence says what to check).
    Conditional,
    /// Does not enforce NetworkPolicy.
    NotSupported,
    /// Not recognised.
    Unknown,
}

impl Support {
    /// `supported`, `conditional`, `not-supported` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Support::Supported => "supported",
            Support::Conditional => "conditional",
            Support::NotSupported => "not-supported",
            Support::Unknown => "unknown",
        }
    }
}

/// Whether anything in the cluster enforces NetworkPolicy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    Enforced,
    NotEnforced,
    /// Only when a CNI is configured so.
    Conditional,
    Unknown,
}

impl Enforcement {
    /// `enforced`, `not-enforced`, `conditional` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Enforced => "enforced",
            Enforcement::NotEnforced => "not-enforced",
            Enforcement::Conditional => "conditional",
            Enforcement::Unknown => "unknown",
        }
    }
}

/// A CNI (or policy engine) found in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniFound {
    /// e.g. `calico`, `cilium`, `flannel`, `k3s-kube-router`.
    pub name: String,
    pub support: Support,
    /// The objects that show it, e.g. `DaemonSet kube-system/calico-node (image calico/node:v3.28.0)`.
    pub evidence: Vec<String>,
    /// What it means for NetworkPolicy, one sentence.
    pub note: String,
}

/// Which CNIs run and whether NetworkPolicy is enforced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniDetection {
    pub enforcement: Enforcement,
    pub cnis: Vec<CniFound>,
    /// One or two sentences for the reader.
    pub summary: String,
    /// What the snapshot lacks to tell for sure, when anything.
    pub missing: Vec<String>,
}

/// Whether the Cilium agent is 1.17 or later, from the image tag its evidence shows
/// (`…cilium/cilium:v1.17.2`); `None` when no tag tells, or agents of both sides run.
pub fn cilium_since_1_17(d: &CniDetection) -> Option<bool> {
    let mut seen: Option<bool> = None;
    for line in d.cnis.iter().filter(|c| c.name == "cilium").flat_map(|c| &c.evidence) {
        let Some(tag) = line.split("cilium/cilium:").nth(1) else {
            continue;
        };
        let mut parts = tag.trim_start_matches('v').split(['.', '-', '@', ')']);
        let (Some(Ok(major)), Some(Ok(minor))) =
            (parts.next().map(str::parse::<u32>), parts.next().map(str::parse::<u32>))
        else {
            continue;
        };
        let this = (major, minor) >= (1, 17);
        if seen.is_some_and(|s| s != this) {
            return None;
        }
        seen = Some(this);
    }
    seen
}

/// A known CNI or policy engine and how to recognise its agents.
struct Known {
    name: &'static str,
    support: Support,
    note: &'static str,
    /// Object (pod/DaemonSet) name prefixes, container names, image path fragments.
    names: &'static [&'static str],
    images: &'static [&'static str],
}

const KNOWN: &[Known] = &[
    Known {
        name: "calico",
        support: Support::Supported,
        note: "Calico enforces NetworkPolicy (and its own projectcalico.org policies, which can also deny).",
        names: &["calico-node", "calico-kube-controllers", "calico-typha"],
        images: &["calico/node", "calico/cni", "calico/typha"],
    },
    Known {
        name: "canal",
        support: Support::Supported,
        note: "Canal (flannel networking with Calico policy) enforces NetworkPolicy.",
        names: &["canal", "rke2-canal"],
        images: &[],
    },
    Known {
        name: "cilium",
        support: Support::Supported,
        note: "Cilium enforces NetworkPolicy (and CiliumNetworkPolicy, which can also deny).",
        names: &["cilium", "cilium-agent", "cilium-operator"],
        images: &["cilium/cilium", "cilium/operator"],
    },
    Known {
        name: "gke-dataplane-v2",
        support: Support::Supported,
        note: "GKE Dataplane V2 (anetd, Cilium-based) enforces NetworkPolicy.",
        names: &["anetd"],
        images: &["anetd"],
    },
    Known {
        name: "weave-net",
        support: Support::Supported,
        note: "Weave Net's weave-npc enforces NetworkPolicy.",
        names: &["weave-net", "weave-npc"],
        images: &["weaveworks/weave-npc", "weaveworks/weave-kube", "weave-npc"],
    },
    Known {
        name: "antrea",
        support: Support::Supported,
        note: "Antrea enforces NetworkPolicy (and its own ClusterNetworkPolicy).",
        names: &["antrea-agent", "antrea-controller"],
        images: &["antrea/antrea", "antrea-agent"],
    },
    Known {
        name: "kube-router",
        support: Support::Supported,
        note: "kube-router enforces NetworkPolicy: --run-firewall (default true) is not set to false among its arguments.",
        names: &["kube-router"],
        images: &["kube-router"],
    },
    Known {
        name: "azure-npm",
        support: Support::Supported,
        note: "Azure Network Policy Manager enforces NetworkPolicy.",
        names: &["azure-npm"],
        images: &["azure-npm"],
    },
    Known {
        name: "aws-vpc-cni",
        support: Support::Conditional,
        note: "The AWS VPC CNI enforces NetworkPolicy only with its network policy agent enabled (aws-network-policy-agent with --enable-network-policy=true, or enableNetworkPolicy in the add-on configuration).",
        names: &["aws-node"],
        images: &["amazon-k8s-cni"],
    },
    Known {
        name: "flannel",
        support: Support::NotSupported,
        note: "flannel alone does not enforce NetworkPolicy: policies are accepted by the API server and ignored.",
        names: &["kube-flannel", "flannel"],
        images: &[
            "flannel/flannel",
            "coreos/flannel",
            "flannelcni/flannel",
            "rancher/mirrored-flannelcni-flannel",
        ],
    },
];

/// Node annotation prefixes that betray a CNI.
const NODE_ANNOTATIONS: &[(&str, &str)] = &[
    ("flannel.alpha.coreos.com/", "flannel"),
    ("projectcalico.org/", "calico"),
    ("io.cilium", "cilium"),
];

fn known(name: &str) -> &'static Known {
    KNOWN.iter().find(|k| k.name == name).expect("names come from KNOWN")
}

fn containers(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.init_containers.iter().flatten().chain(spec.containers.iter())
}

/// Whether `object_name` is `prefix` or `prefix-<suffix>` (a pod of a DaemonSet).
fn named(object_name: &str, prefix: &str) -> bool {
    object_name == prefix || object_name.strip_prefix(prefix).is_some_and(|r| r.starts_with('-'))
}

/// The CNI an agent object (pod or DaemonSet) belongs to, with a line of evidence.
fn classify(kind: &str, meta: &ObjectMeta, spec: &PodSpec) -> Vec<(&'static str, String)> {
    let name = meta.name.as_deref().unwrap_or_default();
    let ns = meta.namespace.as_deref().unwrap_or("default");
    let mut out = Vec::new();
    for k in KNOWN {
        let by_name = k.names.iter().any(|n| named(name, n));
        let image = containers(spec)
            .filter_map(|c| c.image.as_deref())
            .find(|img| k.images.iter().any(|f| img.contains(f)));
        let by_container = containers(spec).any(|c| k.names.iter().any(|n| c.name == *n));
        if by_name || image.is_some() || by_container {
            let mut line = format!("{kind} {ns}/{name}");
            if let Some(img) = image {
                line.push_str(&format!(" (image {img})"));
            }
            // flannel inside a canal pod is canal, not standalone flannel.
            if k.name == "flannel" && out.iter().any(|(n, _)| *n == "canal") {
                continue;
            }
            out.push((k.name, line));
        }
    }
    if ns == "calico-system" && !out.iter().any(|(n, _)| *n == "calico") {
        out.push(("calico", format!("{kind} {ns}/{name} in namespace calico-system")));
    }
    out
}

/// AWS VPC CNI: whether the network policy agent runs and is enabled.
fn aws_policy_agent(spec: &PodSpec) -> Option<bool> {
    let agent = containers(spec).find(|c| {
        c.name == "aws-network-policy-agent" || c.image.as_deref().is_some_and(|i| i.contains("network-policy-agent"))
    })?;
    let args: Vec<&str> = agent.args.iter().flatten().map(String::as_str).collect();
    Some(args.contains(&"--enable-network-policy=true"))
}

/// A boolean as Go's `strconv.ParseBool` (used by pflag and urfave/cli) reads it.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// kube-router's `--run-firewall` (a pflag boolean, default true), as its container sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Firewall {
    /// Not among the arguments: the default, true.
    Default,
    /// `--run-firewall=<value>` or a bare `--run-firewall`; the last one wins, as in pflag.
    Set { arg: String, value: Option<bool> },
    /// `--run-firewall false` as two arguments: pflag reads a bare boolean flag as true and
    /// `false` as a stray positional argument, so the firewall runs.
    BareThenFalse,
}

/// The `--run-firewall` setting of the kube-router container of `spec`, when it has one.
fn kube_router_firewall(spec: &PodSpec) -> Option<Firewall> {
    let c = containers(spec)
        .find(|c| c.name == "kube-router" || c.image.as_deref().is_some_and(|i| i.contains("kube-router")))?;
    // `command` and `args` both carry flags; a `sh -c "..."` string is split into words.
    let words: Vec<&str> = c
        .command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .flat_map(|a| a.split_whitespace())
        .collect();
    let mut out = Firewall::Default;
    for (i, w) in words.iter().enumerate() {
        if *w == "--run-firewall" {
            out = if words.get(i + 1).and_then(|v| parse_bool(v)) == Some(false) {
                Firewall::BareThenFalse
            } else {
                Firewall::Set {
                    arg: (*w).to_string(),
                    value: Some(true),
                }
            };
        } else if let Some(v) = w.strip_prefix("--run-firewall=") {
            out = Firewall::Set {
                arg: (*w).to_string(),
                value: parse_bool(v),
            };
        }
    }
    Some(out)
}

/// The support of kube-router from the `--run-firewall` settings of its agents.
fn kube_router_support(settings: &[Firewall]) -> (Support, String) {
    let on = |f: &Firewall| {
        matches!(
            f,
            Firewall::Default | Firewall::BareThenFalse | Firewall::Set { value: Some(true), .. }
        )
    };
    if settings.iter().any(on) {
        if settings.contains(&Firewall::BareThenFalse) {
            return (
                Support::Supported,
                "kube-router enforces NetworkPolicy: its arguments have `--run-firewall false` as two words, which pflag reads as --run-firewall (true) and a stray `false`; only --run-firewall=false turns the firewall off.".to_string(),
            );
        }
        return (Support::Supported, known("kube-router").note.to_string());
    }
    if let Some(arg) = settings.iter().find_map(|f| match f {
        Firewall::Set { arg, value: None } => Some(arg),
        _ => None,
    }) && !settings
        .iter()
        .any(|f| matches!(f, Firewall::Set { value: Some(false), .. }))
    {
        return (
            Support::Unknown,
            format!(
                "kube-router's {arg} is not a boolean, which kube-router rejects at start: check the agent pods' logs and arguments."
            ),
        );
    }
    (
        Support::NotSupported,
        "kube-router runs with --run-firewall=false: its network policy controller is off, so kube-router does not enforce NetworkPolicy (it may still route pods and proxy Services).".to_string(),
    )
}

/// The value of a boolean flag in k3s/RKE2 node-args: `--f`, `--f=v`, or `--f`, `v` (current
/// releases record `--f=v` as two elements). The last one wins.
fn node_args_bool(args: &[String], flag: &str) -> Option<bool> {
    let mut out = None;
    for (i, a) in args.iter().enumerate() {
        if a == flag {
            out = Some(args.get(i + 1).and_then(|v| parse_bool(v)) != Some(false));
        } else if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            out = Some(parse_bool(v) != Some(false));
        }
    }
    out
}

/// The values of a string (or string-slice) flag in k3s/RKE2 node-args, lowercased, with
/// comma-separated lists split.
fn node_args_values(args: &[String], flag: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        let value = if a == flag {
            args.get(i + 1).filter(|v| !v.starts_with("--")).map(String::as_str)
        } else {
            a.strip_prefix(flag).and_then(|r| r.strip_prefix('='))
        };
        for v in value.into_iter().flat_map(|v| v.split(',')) {
            let v = v.trim().to_ascii_lowercase();
            if !v.is_empty() {
                out.push(v);
            }
        }
    }
    out
}

/// The nodes of a k3s or RKE2 cluster and what their `<distro>.io/node-args` annotations show.
#[derive(Default)]
struct Distro {
    /// `Node <name> kubelet <version>`.
    kubelets: Vec<String>,
    /// Server nodes with a readable node-args annotation: (node name, arguments).
    servers: Vec<(String, Vec<String>)>,
    /// Agent nodes with a readable node-args annotation (their arguments carry no server flag).
    agents: usize,
    /// Nodes whose node-args annotation is not a JSON array of strings.
    unreadable: Vec<String>,
}

impl Distro {
    fn add(&mut self, name: &str, version: &str, annotation: Option<&String>, key: &str) {
        self.kubelets.push(format!("Node {name} kubelet {version}"));
        let Some(raw) = annotation else { return };
        match serde_json::from_str::<Vec<String>>(raw) {
            Ok(args) if args.first().map(String::as_str) == Some("server") => {
                self.servers.push((name.to_string(), args));
            }
            Ok(_) => self.agents += 1,
            Err(_) => self
                .unreadable
                .push(format!("Node {name} annotation {key} is not a JSON array of strings")),
        }
    }

    /// Evidence: `first` lines, then kubelet lines, at most 3.
    fn evidence(&self, first: Vec<String>) -> Vec<String> {
        let mut out = first;
        out.extend(self.unreadable.iter().cloned());
        out.extend(self.kubelets.iter().cloned());
        out.truncate(3);
        out
    }

    /// Why the annotation cannot decide, for a `conditional` note.
    fn missing_args(&self, key: &str) -> String {
        if self.agents > 0 {
            format!("only agent nodes' {key} annotations are in the snapshot, and the flag is a server flag")
        } else {
            format!("the {key} annotation of a server node is not in the snapshot")
        }
    }
}

/// The k3s finding, and whether it accounts for flannel node annotations (k3s's embedded flannel).
fn k3s_finding(k3s: &Distro) -> (CniFound, bool) {
    const KEY: &str = "k3s.io/node-args";
    let disabled: Vec<&String> = k3s
        .servers
        .iter()
        .filter(|(_, a)| node_args_bool(a, "--disable-network-policy") == Some(true))
        .map(|(n, _)| n)
        .collect();
    let (support, first, note) = if let Some(node) = disabled.first() {
        (
            Support::NotSupported,
            vec![format!("Node {node} annotation {KEY} has --disable-network-policy")],
            "k3s was started with --disable-network-policy: its embedded network policy controller is off, so k3s does not enforce NetworkPolicy.".to_string(),
        )
    } else if let Some((node, _)) = k3s.servers.first() {
        (
            Support::Supported,
            vec![format!("Node {node} annotation {KEY} (server) has no --disable-network-policy")],
            "k3s embeds kube-router's network policy controller, so NetworkPolicy is enforced even with flannel: the server's node-args do not have --disable-network-policy.".to_string(),
        )
    } else {
        (
            Support::Conditional,
            Vec::new(),
            format!(
                "k3s enforces NetworkPolicy unless started with --disable-network-policy; {}: check the k3s server's arguments and config.yaml.",
                k3s.missing_args(KEY)
            ),
        )
    };
    // With --flannel-backend=none the flannel annotations are not k3s's own.
    let own_flannel = support == Support::NotSupported
        && !k3s
            .servers
            .iter()
            .any(|(_, a)| node_args_values(a, "--flannel-backend").iter().any(|v| v == "none"));
    let finding = CniFound {
        name: "k3s-network-policy".into(),
        support,
        evidence: k3s.evidence(first),
        note,
    };
    (finding, own_flannel)
}

/// The RKE2 finding; whether it accounts for flannel node annotations (RKE2's flannel CNI); and
/// whether RKE2 runs with `--cni none` (the cluster brings its own CNI).
fn rke2_finding(rke2: &Distro) -> (CniFound, bool, bool) {
    const KEY: &str = "rke2.io/node-args";
    // `multus` is a secondary CNI, always paired with a primary one.
    let mut cnis: Vec<String> = rke2
        .servers
        .iter()
        .flat_map(|(_, a)| node_args_values(a, "--cni"))
        .filter(|v| v != "multus")
        .collect();
    cnis.sort();
    cnis.dedup();
    let enforcing = |c: &String| matches!(c.as_str(), "canal" | "calico" | "cilium");
    let brings_own = !cnis.iter().any(enforcing) && cnis.iter().any(|c| c == "none");
    let (support, first, note) = if let Some((node, _)) = rke2.servers.first() {
        let shown = cnis.join(",");
        let line = |what: &str| vec![format!("Node {node} annotation {KEY} (server) {what}")];
        if cnis.is_empty() {
            (
                Support::Supported,
                line("has no --cni: the default canal"),
                "RKE2 runs its default CNI, canal, which enforces NetworkPolicy.".to_string(),
            )
        } else if cnis.iter().any(enforcing) {
            (
                Support::Supported,
                line(&format!("has --cni {shown}")),
                format!("RKE2 runs the CNI {shown}, which enforces NetworkPolicy."),
            )
        } else if brings_own {
            (
                Support::Unknown,
                line("has --cni none"),
                "RKE2 runs with --cni none: the cluster brings its own CNI, and that CNI decides whether NetworkPolicy is enforced (see its own finding, if any).".to_string(),
            )
        } else if cnis.iter().all(|c| c == "flannel") {
            (
                Support::NotSupported,
                line("has --cni flannel"),
                "RKE2 runs the CNI flannel, which does not enforce NetworkPolicy.".to_string(),
            )
        } else {
            (
                Support::Unknown,
                line(&format!("has --cni {shown}")),
                format!(
                    "RKE2 runs the CNI {shown}, which is not recognised: whether it enforces NetworkPolicy cannot be told."
                ),
            )
        }
    } else {
        (
            Support::Conditional,
            Vec::new(),
            format!(
                "RKE2's default CNI canal enforces NetworkPolicy; --cni may change it, and {}: check the RKE2 server's --cni (or cni: in config.yaml).",
                rke2.missing_args(KEY)
            ),
        )
    };
    let own_flannel = support == Support::NotSupported;
    let finding = CniFound {
        name: "rke2".into(),
        support,
        evidence: rke2.evidence(first),
        note,
    };
    (finding, own_flannel, brings_own)
}

/// What the CNI agents (pods and DaemonSets) and the nodes of a snapshot show.
#[derive(Default)]
struct Evidence {
    /// Evidence lines (at most 3) per CNI recognised.
    found: BTreeMap<&'static str, Vec<String>>,
    /// Whether the AWS VPC CNI network policy agent is enabled; None: no agent seen.
    aws_agent: Option<bool>,
    /// kube-router's firewall settings, one per agent.
    firewall: Vec<Firewall>,
    /// A flannel agent (pod or DaemonSet) is in the snapshot.
    flannel_agent: bool,
    /// Agents recognised (an object counts once per CNI it shows).
    agents_seen: usize,
    /// CNIs recognised by their agents, before the node annotations.
    agent_cnis: usize,
    k3s: Distro,
    rke2: Distro,
}

impl Evidence {
    /// The agents (DaemonSets, then pods), then the nodes, of `snap`.
    fn gather(snap: &ClusterSnapshot) -> Evidence {
        let mut ev = Evidence::default();
        for w in snap.workloads.iter().filter(|w| w.kind == WorkloadKind::DaemonSet) {
            if let Some(spec) = &w.template.spec {
                ev.consider("DaemonSet", &w.metadata, spec);
            }
        }
        for p in &snap.pods {
            if let Some(spec) = &p.spec {
                ev.consider("Pod", &p.metadata, spec);
            }
        }
        ev.agent_cnis = ev.found.len();
        for n in &snap.nodes {
            ev.add_node(n);
        }
        ev
    }

    /// One pod or DaemonSet: the CNIs it shows, and the AWS and kube-router settings it carries.
    fn consider(&mut self, kind: &str, meta: &ObjectMeta, spec: &PodSpec) {
        let hits = classify(kind, meta, spec);
        self.agents_seen += hits.len();
        for (name, mut line) in hits {
            if name == "aws-vpc-cni"
                && let Some(enabled) = aws_policy_agent(spec)
            {
                self.aws_agent = Some(self.aws_agent.unwrap_or(false) || enabled);
            }
            if name == "kube-router" {
                let f = kube_router_firewall(spec).unwrap_or(Firewall::Default);
                match &f {
                    Firewall::Set { arg, .. } => line.push_str(&format!(" with {arg}")),
                    Firewall::BareThenFalse => line.push_str(" with --run-firewall false"),
                    Firewall::Default => {}
                }
                self.firewall.push(f);
            }
            self.flannel_agent |= name == "flannel";
            let lines = self.found.entry(name).or_default();
            if lines.len() < 3 && !lines.contains(&line) {
                lines.push(line);
            }
        }
    }

    /// One node: its CNI annotations, and its kubelet if k3s's or RKE2's.
    fn add_node(&mut self, n: &Node) {
        let name = n.metadata.name.clone().unwrap_or_default();
        let annotations = n.metadata.annotations.as_ref();
        for key in annotations.into_iter().flatten().map(|(k, _)| k) {
            if let Some((_, cni)) = NODE_ANNOTATIONS.iter().find(|(p, _)| key.starts_with(p)) {
                let lines = self.found.entry(cni).or_default();
                let line = format!("Node {name} annotation {key}");
                if lines.len() < 3 && !lines.iter().any(|l| l.starts_with(&format!("Node {name} "))) {
                    lines.push(line);
                }
            }
        }
        let version = n
            .status
            .as_ref()
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.kubelet_version.as_str());
        for (distro, marker, key) in [
            (&mut self.k3s, "+k3s", "k3s.io/node-args"),
            (&mut self.rke2, "+rke2", "rke2.io/node-args"),
        ] {
            if let Some(v) = version.filter(|v| v.contains(marker)) {
                distro.add(&name, v, annotations.and_then(|a| a.get(key)), key);
            }
        }
    }

    /// A finding per CNI recognised by its agents or node annotations (flannel annotations on
    /// nodes of a canal cluster are canal's).
    fn cni_findings(&mut self) -> Vec<CniFound> {
        let mut found = std::mem::take(&mut self.found);
        if found.contains_key("canal") {
            found.remove("flannel");
        }
        let mut cnis = Vec::new();
        for (name, evidence) in found {
            let k = known(name);
            let (support, note) = match (name, self.aws_agent) {
                ("aws-vpc-cni", Some(true)) => (
                    Support::Supported,
                    "The AWS VPC CNI network policy agent runs with --enable-network-policy=true: NetworkPolicy is enforced."
                        .to_string(),
                ),
                ("aws-vpc-cni", Some(false)) => (
                    Support::Conditional,
                    "The AWS VPC CNI network policy agent container is present but --enable-network-policy=true is not among its arguments: check the add-on configuration (enableNetworkPolicy).".to_string(),
                ),
                ("kube-router", _) => kube_router_support(&self.firewall),
                ("flannel", _) if !self.flannel_agent => (
                    Support::Unknown,
                    "The flannel node annotations show flannel networking, but not whether a policy engine (canal, k3s's or RKE2's controller) runs with it, and no flannel agent pod or DaemonSet is in the snapshot.".to_string(),
                ),
                _ => (k.support, k.note.to_string()),
            };
            cnis.push(CniFound {
                name: name.to_string(),
                support,
                evidence,
                note,
            });
        }
        cnis
    }

    /// The k3s and RKE2 findings, pushed onto `cnis`; returns the unknown findings that do not
    /// keep the cluster from `not-enforced` (RKE2 bringing its own CNI, flannel explained).
    fn distro_findings(&self, cnis: &mut Vec<CniFound>) -> Vec<&'static str> {
        let mut neutral = Vec::new();
        let mut flannel_explained = false;
        if !self.k3s.kubelets.is_empty() {
            let (finding, own_flannel) = k3s_finding(&self.k3s);
            flannel_explained |= own_flannel;
            cnis.push(finding);
        }
        if !self.rke2.kubelets.is_empty() {
            let (finding, own_flannel, brings_own) = rke2_finding(&self.rke2);
            flannel_explained |= own_flannel;
            // With --cni none, the agents of the CNI brought in (if any) decide.
            if brings_own && self.agent_cnis > 0 {
                neutral.push("rke2");
            }
            cnis.push(finding);
        }
        if flannel_explained && !self.flannel_agent {
            neutral.push("flannel");
        }
        neutral
    }
}

/// Detects the CNIs of a snapshot.
pub fn detect(snap: &ClusterSnapshot) -> CniDetection {
    let mut ev = Evidence::gather(snap);
    let mut cnis = ev.cni_findings();
    let neutral = ev.distro_findings(&mut cnis);
    cnis.sort_by(|a, b| a.support.cmp(&b.support).then_with(|| a.name.cmp(&b.name)));
    conclude(cnis, &neutral, ev.agents_seen == 0 && snap.nodes.is_empty())
}

/// The names of the findings of `support`, comma-separated.
fn names_of(cnis: &[CniFound], support: Support) -> String {
    let names: Vec<&str> = cnis
        .iter()
        .filter(|c| c.support == support)
        .map(|c| c.name.as_str())
        .collect();
    names.join(", ")
}

/// Whether NetworkPolicy is enforced, from the sorted findings; `neutral` unknown findings do
/// not keep it from `not-enforced`; `nothing_seen`: no agent and no node in the snapshot.
fn conclude(cnis: Vec<CniFound>, neutral: &[&str], nothing_seen: bool) -> CniDetection {
    let any = |s: Support| cnis.iter().any(|c| c.support == s);
    let blocking_unknown = cnis
        .iter()
        .any(|c| c.support == Support::Unknown && !neutral.contains(&c.name.as_str()));
    let mut missing = Vec::new();
    let (enforcement, summary) = if any(Support::Supported) {
        (
            Enforcement::Enforced,
            format!("NetworkPolicy is enforced by {}.", names_of(&cnis, Support::Supported)),
        )
    } else if any(Support::Conditional) {
        (
            Enforcement::Conditional,
            "The CNI enforces NetworkPolicy only when configured to; the snapshot does not show that it is (see the evidence and note).".to_string(),
        )
    } else if any(Support::NotSupported) && !blocking_unknown {
        (
            Enforcement::NotEnforced,
            format!(
                "{} does not enforce NetworkPolicy and nothing else in the snapshot does: policies are accepted and ignored, so they are not why traffic fails.",
                names_of(&cnis, Support::NotSupported)
            ),
        )
    } else {
        missing.push(if blocking_unknown {
            "the CNI's agent pods or DaemonSets (usually in kube-system, kube-flannel, calico-system or cilium namespaces) and their arguments: include `kubectl get ds,pods -A -o yaml` in the snapshot".to_string()
        } else {
            "the CNI's agent pods or DaemonSets (usually in kube-system, calico-system or cilium namespaces) and the Node objects: include `kubectl get ds,pods -A -o yaml` and `kubectl get nodes -o yaml` in the snapshot".to_string()
        });
        (
            Enforcement::Unknown,
            unknown_summary(&cnis, blocking_unknown, nothing_seen),
        )
    };
    CniDetection {
        enforcement,
        cnis,
        summary,
        missing,
    }
}

/// Why enforcement cannot be told: an unrecognised setup, no evidence at all, or no known CNI.
fn unknown_summary(cnis: &[CniFound], blocking_unknown: bool, nothing_seen: bool) -> String {
    if blocking_unknown {
        format!(
            "{} was recognised, but whether NetworkPolicy is enforced cannot be told from the snapshot (see the note); verdicts assume it is.",
            names_of(cnis, Support::Unknown)
        )
    } else if nothing_seen {
        "No CNI agent and no Node is in the snapshot, so whether NetworkPolicy is enforced cannot be told; verdicts assume it is.".to_string()
    } else {
        "No known CNI was recognised in the snapshot, so whether NetworkPolicy is enforced cannot be told; verdicts assume it is.".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(yaml: &str) -> CniDetection {
        detect(&crate::snapshot::load_str("test.yaml", yaml).expect("test snapshot parses"))
    }

    fn ds(ns: &str, name: &str, image: &str) -> String {
        format!(
            "---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{k8s-app: {name}}}}}\n  template:\n    metadata: {{labels: {{k8s-app: {name}}}}}\n    spec:\n      containers: [{{name: {name}, image: \"{image}\"}}]\n"
        )
    }

    /// Cilium's `toServices` reads Services with a selector from 1.17 on: the version comes from
    /// the agent's image tag, and is unknown without one or when agents of both sides run.
    #[test]
    fn cilium_version_from_the_agent_image() {
        let cases: &[(&[&str], Option<bool>)] = &[
            (&["quay.io/cilium/cilium:v1.17.2@sha256:0123"], Some(true)),
            (&["quay.io/cilium/cilium:v1.16.5"], Some(false)),
            (&["cilium/cilium:v2.0.0"], Some(true)),
            (&["quay.io/cilium/cilium:latest"], None),
            (&["quay.io/cilium/cilium@sha256:0123"], None),
            (
                &["quay.io/cilium/cilium:v1.16.5", "quay.io/cilium/cilium:v1.17.0"],
                None,
            ),
        ];
        for (images, want) in cases {
            let yaml: String = images
                .iter()
                .enumerate()
                .map(|(i, img)| {
                    ds(
                        "kube-system",
                        &format!("cilium{}", if i == 0 { String::new() } else { format!("-{i}") }),
                        img,
                    )
                })
                .collect();
            assert_eq!(cilium_since_1_17(&report(&yaml)), *want, "{images:?}");
        }
    }

    /// A DaemonSet whose one container has `args` (a YAML flow sequence, e.g. `[--a, b]`).
    fn ds_args(ns: &str, name: &str, image: &str, args: &str) -> String {
        ds(ns, name, image).replace(
            &format!("image: \"{image}\"}}"),
            &format!("image: \"{image}\", args: {args}}}"),
        )
    }

    /// A Node with a kubelet version and `annotations` (YAML flow-map entries).
    fn node(name: &str, kubelet: &str, annotations: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\nstatus:\n  nodeInfo: {{kubeletVersion: {kubelet}, architecture: amd64, bootID: x, containerRuntimeVersion: x, kernelVersion: x, kubeProxyVersion: x, machineID: x, operatingSystem: linux, osImage: x, systemUUID: x}}\n"
        )
    }

    const FLANNEL_ANN: &str = "flannel.alpha.coreos.com/backend-type: vxlan";
    const KUBE_ROUTER_IMAGE: &str = "docker.io/cloudnativelabs/kube-router:v2.1.0";

    /// Table: (what the cluster shows, expected enforcement, expected CNI names).
    #[test]
    fn cni_detection_table() {
        let cases: Vec<(&str, String, &str, Vec<&str>)> = vec![
            (
                "calico DaemonSet",
                ds("kube-system", "calico-node", "docker.io/calico/node:v3.28.0"),
                "enforced",
                vec!["calico"],
            ),
            (
                "cilium agent by image",
                ds("kube-system", "agent", "quay.io/cilium/cilium:v1.16.0"),
                "enforced",
                vec!["cilium"],
            ),
            (
                "standalone flannel is not enforcing",
                ds("kube-flannel", "kube-flannel-ds", "docker.io/flannel/flannel:v0.25.1"),
                "not-enforced",
                vec!["flannel"],
            ),
            (
                "canal hides its flannel",
                ds("kube-system", "canal", "docker.io/flannel/flannel:v0.25.1"),
                "enforced",
                vec!["canal"],
            ),
            (
                "weave",
                ds("kube-system", "weave-net", "weaveworks/weave-kube:2.8.1"),
                "enforced",
                vec!["weave-net"],
            ),
            (
                "antrea",
                ds("kube-system", "antrea-agent", "antrea/antrea-agent-ubuntu:v2.0.0"),
                "enforced",
                vec!["antrea"],
            ),
            (
                "kube-router",
                ds("kube-system", "kube-router", "docker.io/cloudnativelabs/kube-router"),
                "enforced",
                vec!["kube-router"],
            ),
            (
                "azure npm",
                ds(
                    "kube-system",
                    "azure-npm",
                    "mcr.microsoft.com/containernetworking/azure-npm:v1.5",
                ),
                "enforced",
                vec!["azure-npm"],
            ),
            (
                "GKE dataplane v2",
                ds("kube-system", "anetd", "gke.gcr.io/cilium/cilium:v1.14"),
                "enforced",
                vec!["cilium", "gke-dataplane-v2"],
            ),
            (
                "aws-node without agent is conditional",
                ds(
                    "kube-system",
                    "aws-node",
                    "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.0",
                ),
                "conditional",
                vec!["aws-vpc-cni"],
            ),
            (
                "nothing known is unknown",
                ds("kube-system", "kube-proxy", "registry.k8s.io/kube-proxy:v1.30.0"),
                "unknown",
                vec![],
            ),
            (
                "calico plus flannel enforces",
                format!(
                    "{}{}",
                    ds("kube-system", "calico-node", "calico/node:v3"),
                    ds("kube-flannel", "kube-flannel-ds", "flannel/flannel:v0.25")
                ),
                "enforced",
                vec!["calico", "flannel"],
            ),
            (
                "kube-router with --run-firewall=false does not enforce",
                ds_args(
                    "kube-system",
                    "kube-router",
                    KUBE_ROUTER_IMAGE,
                    "[--run-router=true, --run-firewall=false]",
                ),
                "not-enforced",
                vec!["kube-router"],
            ),
            (
                "kube-router with --run-firewall=true enforces",
                ds_args("kube-system", "kube-router", KUBE_ROUTER_IMAGE, "[--run-firewall=true]"),
                "enforced",
                vec!["kube-router"],
            ),
            (
                "kube-router `--run-firewall false` is pflag's true plus a stray word",
                ds_args(
                    "kube-system",
                    "kube-router",
                    KUBE_ROUTER_IMAGE,
                    "[--run-firewall, \"false\"]",
                ),
                "enforced",
                vec!["kube-router"],
            ),
            (
                "kube-router with --run-firewall=false next to calico: calico enforces",
                format!(
                    "{}{}",
                    ds_args(
                        "kube-system",
                        "kube-router",
                        KUBE_ROUTER_IMAGE,
                        "[--run-firewall=false]"
                    ),
                    ds("kube-system", "calico-node", "calico/node:v3")
                ),
                "enforced",
                vec!["calico", "kube-router"],
            ),
            (
                "flannel seen only by node annotations is unknown",
                node("n1", "v1.30.2", FLANNEL_ANN),
                "unknown",
                vec!["flannel"],
            ),
            (
                "flannel DaemonSet plus its node annotations does not enforce",
                format!(
                    "{}{}",
                    ds("kube-flannel", "kube-flannel-ds", "docker.io/flannel/flannel:v0.25.1"),
                    node("n1", "v1.30.2", FLANNEL_ANN)
                ),
                "not-enforced",
                vec!["flannel"],
            ),
            (
                "flannel annotations and a not-enforcing kube-router cannot tell",
                format!(
                    "{}{}",
                    ds_args(
                        "kube-system",
                        "kube-router",
                        KUBE_ROUTER_IMAGE,
                        "[--run-firewall=false]"
                    ),
                    node("n1", "v1.30.2", FLANNEL_ANN)
                ),
                "unknown",
                vec!["flannel", "kube-router"],
            ),
            (
                "k3s without --disable-network-policy enforces",
                node(
                    "k1",
                    "v1.30.2+k3s1",
                    &format!("{FLANNEL_ANN}, k3s.io/node-args: '[\"server\",\"--write-kubeconfig-mode\",\"0644\"]'"),
                ),
                "enforced",
                vec!["flannel", "k3s-network-policy"],
            ),
            (
                "k3s with --disable-network-policy does not enforce; its flannel is its own",
                node(
                    "k1",
                    "v1.30.2+k3s1",
                    &format!("{FLANNEL_ANN}, k3s.io/node-args: '[\"server\",\"--disable-network-policy\"]'"),
                ),
                "not-enforced",
                vec!["flannel", "k3s-network-policy"],
            ),
            (
                "k3s with --disable-network-policy true (split as k3s records --flag=value)",
                node(
                    "k1",
                    "v1.30.2+k3s1",
                    "k3s.io/node-args: '[\"server\",\"--disable-network-policy\",\"true\"]'",
                ),
                "not-enforced",
                vec!["k3s-network-policy"],
            ),
            (
                "k3s --disable-network-policy=false enforces",
                node(
                    "k1",
                    "v1.30.2+k3s1",
                    "k3s.io/node-args: '[\"server\",\"--disable-network-policy=false\"]'",
                ),
                "enforced",
                vec!["k3s-network-policy"],
            ),
            (
                "k3s without node-args is conditional",
                node("k1", "v1.30.2+k3s1", FLANNEL_ANN),
                "conditional",
                vec!["flannel", "k3s-network-policy"],
            ),
            (
                "k3s agent node-args alone cannot show the server flag",
                node(
                    "k2",
                    "v1.30.2+k3s1",
                    "k3s.io/node-args: '[\"agent\",\"--node-label\",\"a=b\"]'",
                ),
                "conditional",
                vec!["k3s-network-policy"],
            ),
            (
                "k3s without network policy but with calico agents enforces",
                format!(
                    "{}{}",
                    ds("calico-system", "calico-node", "calico/node:v3"),
                    node(
                        "k1",
                        "v1.30.2+k3s1",
                        "k3s.io/node-args: '[\"server\",\"--disable-network-policy\"]'"
                    )
                ),
                "enforced",
                vec!["calico", "k3s-network-policy"],
            ),
            (
                "rke2 default cni (canal) enforces",
                node(
                    "r1",
                    "v1.30.2+rke2r1",
                    "rke2.io/node-args: '[\"server\",\"--token\",\"********\"]'",
                ),
                "enforced",
                vec!["rke2"],
            ),
            (
                "rke2 --cni cilium enforces",
                node(
                    "r1",
                    "v1.30.2+rke2r1",
                    "rke2.io/node-args: '[\"server\",\"--cni\",\"cilium\"]'",
                ),
                "enforced",
                vec!["rke2"],
            ),
            (
                "rke2 --cni=multus,calico enforces",
                node(
                    "r1",
                    "v1.30.2+rke2r1",
                    "rke2.io/node-args: '[\"server\",\"--cni=multus,calico\"]'",
                ),
                "enforced",
                vec!["rke2"],
            ),
            (
                "rke2 --cni flannel does not enforce",
                node(
                    "r1",
                    "v1.30.2+rke2r1",
                    &format!("{FLANNEL_ANN}, rke2.io/node-args: '[\"server\",\"--cni\",\"flannel\"]'"),
                ),
                "not-enforced",
                vec!["flannel", "rke2"],
            ),
            (
                "rke2 --cni none alone is unknown",
                node(
                    "r1",
                    "v1.30.2+rke2r1",
                    "rke2.io/node-args: '[\"server\",\"--cni\",\"none\"]'",
                ),
                "unknown",
                vec!["rke2"],
            ),
            (
                "rke2 --cni none with its own CNI's agents: they decide",
                format!(
                    "{}{}",
                    ds("kube-flannel", "kube-flannel-ds", "docker.io/flannel/flannel:v0.25.1"),
                    node(
                        "r1",
                        "v1.30.2+rke2r1",
                        "rke2.io/node-args: '[\"server\",\"--cni\",\"none\"]'"
                    )
                ),
                "not-enforced",
                vec!["flannel", "rke2"],
            ),
            (
                "rke2 without node-args is conditional",
                node("r1", "v1.30.2+rke2r1", FLANNEL_ANN),
                "conditional",
                vec!["flannel", "rke2"],
            ),
            (
                "rke2 canal agents are canal",
                ds(
                    "kube-system",
                    "rke2-canal",
                    "rancher/hardened-calico:v3.28.0-build20240625",
                ),
                "enforced",
                vec!["canal"],
            ),
        ];
        for (rule, yaml, enforcement, names) in cases {
            let r = report(&yaml);
            assert_eq!(r.enforcement.as_str(), enforcement, "{rule}: {r:#?}");
            let mut got: Vec<&str> = r.cnis.iter().map(|c| c.name.as_str()).collect();
            got.sort();
            assert_eq!(got, names, "{rule}");
            assert!(
                r.cnis.iter().all(|c| !c.evidence.is_empty()),
                "{rule}: every finding has evidence"
            );
        }
    }

    #[test]
    fn aws_vpc_cni_with_enabled_policy_agent_is_supported() {
        let yaml = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: aws-node, namespace: kube-system}\nspec:\n  selector: {matchLabels: {k8s-app: aws-node}}\n  template:\n    metadata: {labels: {k8s-app: aws-node}}\n    spec:\n      containers:\n      - {name: aws-node, image: amazon-k8s-cni:v1.18.0}\n      - {name: aws-network-policy-agent, image: aws-network-policy-agent:v1.1.0, args: [--enable-network-policy=true]}\n";
        let r = report(yaml);
        assert_eq!(r.enforcement.as_str(), "enforced");
        assert_eq!(r.cnis[0].support, Support::Supported);
    }

    #[test]
    fn k3s_nodes_enforce_policy_even_with_flannel() {
        let yaml = "apiVersion: v1\nkind: Node\nmetadata:\n  name: k3s-1\n  annotations: {flannel.alpha.coreos.com/backend-type: vxlan, k3s.io/node-args: '[\"server\"]'}\nstatus:\n  nodeInfo: {kubeletVersion: v1.30.2+k3s1, architecture: amd64, bootID: x, containerRuntimeVersion: x, kernelVersion: x, kubeProxyVersion: x, machineID: x, operatingSystem: linux, osImage: x, systemUUID: x}\n";
        let r = report(yaml);
        assert_eq!(r.enforcement.as_str(), "enforced", "{r:#?}");
        let names: Vec<&str> = r.cnis.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["k3s-network-policy", "flannel"]);
    }

    /// Table: (what the cluster shows, finding, its expected support, a fragment of its note or evidence).
    #[test]
    fn cni_finding_support_table() {
        let k3s = |args: &str| node("k1", "v1.30.2+k3s1", &format!("k3s.io/node-args: '{args}'"));
        let rke2 = |args: &str| node("r1", "v1.30.2+rke2r1", &format!("rke2.io/node-args: '{args}'"));
        let cases: Vec<(&str, String, &str, Support, &str)> = vec![
            (
                "kube-router --run-firewall=false",
                ds_args(
                    "kube-system",
                    "kube-router",
                    KUBE_ROUTER_IMAGE,
                    "[--run-firewall=false]",
                ),
                "kube-router",
                Support::NotSupported,
                "with --run-firewall=false",
            ),
            (
                "kube-router with no --run-firewall: the default, true",
                ds("kube-system", "kube-router", KUBE_ROUTER_IMAGE),
                "kube-router",
                Support::Supported,
                "default true",
            ),
            (
                "kube-router `--run-firewall false`: pflag reads true",
                ds_args(
                    "kube-system",
                    "kube-router",
                    KUBE_ROUTER_IMAGE,
                    "[--run-firewall, \"false\"]",
                ),
                "kube-router",
                Support::Supported,
                "stray `false`",
            ),
            (
                "kube-router: the last --run-firewall wins",
                ds_args(
                    "kube-system",
                    "kube-router",
                    KUBE_ROUTER_IMAGE,
                    "[--run-firewall=false, --run-firewall=true]",
                ),
                "kube-router",
                Support::Supported,
                "",
            ),
            (
                "kube-router --run-firewall=0 is false",
                ds_args("kube-system", "kube-router", KUBE_ROUTER_IMAGE, "[--run-firewall=0]"),
                "kube-router",
                Support::NotSupported,
                "",
            ),
            (
                "kube-router with a non-boolean --run-firewall",
                ds_args(
                    "kube-system",
                    "kube-router",
                    KUBE_ROUTER_IMAGE,
                    "[--run-firewall=maybe]",
                ),
                "kube-router",
                Support::Unknown,
                "not a boolean",
            ),
            (
                "flannel by annotation only",
                node("n1", "v1.30.2", FLANNEL_ANN),
                "flannel",
                Support::Unknown,
                "policy engine (canal, k3s",
            ),
            (
                "flannel by DaemonSet",
                ds("kube-flannel", "kube-flannel-ds", "docker.io/flannel/flannel:v0.25.1"),
                "flannel",
                Support::NotSupported,
                "does not enforce",
            ),
            (
                "k3s --disable-network-policy",
                k3s(r#"["server","--disable-network-policy"]"#),
                "k3s-network-policy",
                Support::NotSupported,
                "has --disable-network-policy",
            ),
            (
                "k3s server node-args without the flag",
                k3s(r#"["server","--cluster-init"]"#),
                "k3s-network-policy",
                Support::Supported,
                "has no --disable-network-policy",
            ),
            (
                "k3s without node-args",
                node("k1", "v1.30.2+k3s1", ""),
                "k3s-network-policy",
                Support::Conditional,
                "k3s enforces NetworkPolicy unless started with --disable-network-policy; the k3s.io/node-args annotation of a server node is not in the snapshot",
            ),
            (
                "k3s unreadable node-args",
                k3s("not json"),
                "k3s-network-policy",
                Support::Conditional,
                "is not a JSON array",
            ),
            (
                "rke2 without --cni: canal",
                rke2(r#"["server"]"#),
                "rke2",
                Support::Supported,
                "default canal",
            ),
            (
                "rke2 --cni calico",
                rke2(r#"["server","--cni","calico"]"#),
                "rke2",
                Support::Supported,
                "--cni calico",
            ),
            (
                "rke2 --cni=canal",
                rke2(r#"["server","--cni=canal"]"#),
                "rke2",
                Support::Supported,
                "--cni canal",
            ),
            (
                "rke2 --cni flannel",
                rke2(r#"["server","--cni","flannel"]"#),
                "rke2",
                Support::NotSupported,
                "--cni flannel",
            ),
            (
                "rke2 --cni none",
                rke2(r#"["server","--cni","none"]"#),
                "rke2",
                Support::Unknown,
                "brings its own CNI",
            ),
            (
                "rke2 without node-args",
                node("r1", "v1.30.2+rke2r1", ""),
                "rke2",
                Support::Conditional,
                "RKE2's default CNI canal enforces NetworkPolicy; --cni may change it",
            ),
        ];
        for (rule, yaml, name, support, fragment) in cases {
            let r = report(&yaml);
            let f = r
                .cnis
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{rule}: no {name} finding in {r:#?}"));
            assert_eq!(f.support, support, "{rule}: {f:#?}");
            assert!(
                f.note.contains(fragment) || f.evidence.iter().any(|e| e.contains(fragment)),
                "{rule}: {fragment:?} not in {f:#?}"
            );
        }
    }

    #[test]
    fn empty_snapshot_says_what_is_missing() {
        let r = report("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
        assert_eq!(r.enforcement.as_str(), "unknown");
        assert!(!r.missing.is_empty());
    }
}
