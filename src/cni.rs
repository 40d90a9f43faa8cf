//! Which CNI (or policy engine) a cluster runs, and whether it enforces NetworkPolicy, from
//! what a snapshot shows: pods and DaemonSets (names, labels, images, arguments), node
//! annotations and kubelet versions.
//!
//! Invariant: pure; never guesses. Nothing recognised is `unknown`, and an enforcement that
//! depends on configuration the snapshot does not show is `conditional`, naming what to check.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::report::{CniFinding, CniReport, CniSupport, SCOPE};
use crate::snapshot::{ClusterSnapshot, WorkloadKind};

/// A known CNI or policy engine and how to recognise its agents.
struct Known {
    name: &'static str,
    support: CniSupport,
    note: &'static str,
    /// Object (pod/DaemonSet) name prefixes, container names, image path fragments.
    names: &'static [&'static str],
    images: &'static [&'static str],
}

const KNOWN: &[Known] = &[
    Known {
        name: "calico",
        support: CniSupport::Supported,
        note: "Calico enforces NetworkPolicy (and its own projectcalico.org policies, which can also deny).",
        names: &["calico-node", "calico-kube-controllers", "calico-typha"],
        images: &["calico/node", "calico/cni", "calico/typha"],
    },
    Known {
        name: "canal",
        support: CniSupport::Supported,
        note: "Canal (flannel networking with Calico policy) enforces NetworkPolicy.",
        names: &["canal"],
        images: &[],
    },
    Known {
        name: "cilium",
        support: CniSupport::Supported,
        note: "Cilium enforces NetworkPolicy (and CiliumNetworkPolicy, which can also deny).",
        names: &["cilium", "cilium-agent", "cilium-operator"],
        images: &["cilium/cilium", "cilium/operator"],
    },
    Known {
        name: "gke-dataplane-v2",
        support: CniSupport::Supported,
        note: "GKE Dataplane V2 (anetd, Cilium-based) enforces NetworkPolicy.",
        names: &["anetd"],
        images: &["anetd"],
    },
    Known {
        name: "weave-net",
        support: CniSupport::Supported,
        note: "Weave Net's weave-npc enforces NetworkPolicy.",
        names: &["weave-net", "weave-npc"],
        images: &["weaveworks/weave-npc", "weaveworks/weave-kube", "weave-npc"],
    },
    Known {
        name: "antrea",
        support: CniSupport::Supported,
        note: "Antrea enforces NetworkPolicy (and its own ClusterNetworkPolicy).",
        names: &["antrea-agent", "antrea-controller"],
        images: &["antrea/antrea", "antrea-agent"],
    },
    Known {
        name: "kube-router",
        support: CniSupport::Supported,
        note: "kube-router enforces NetworkPolicy unless started with --run-firewall=false.",
        names: &["kube-router"],
        images: &["kube-router"],
    },
    Known {
        name: "azure-npm",
        support: CniSupport::Supported,
        note: "Azure Network Policy Manager enforces NetworkPolicy.",
        names: &["azure-npm"],
        images: &["azure-npm"],
    },
    Known {
        name: "aws-vpc-cni",
        support: CniSupport::Conditional,
        note: "The AWS VPC CNI enforces NetworkPolicy only with its network policy agent enabled (aws-network-policy-agent with --enable-network-policy=true, or enableNetworkPolicy in the add-on configuration).",
        names: &["aws-node"],
        images: &["amazon-k8s-cni"],
    },
    Known {
        name: "flannel",
        support: CniSupport::NotSupported,
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

/// Detects the CNIs of a snapshot.
pub fn detect(snap: &ClusterSnapshot) -> CniReport {
    let mut found: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut aws_agent: Option<bool> = None;
    let mut agents_seen = 0usize;
    let mut consider = |kind: &str, meta: &ObjectMeta, spec: &PodSpec| {
        let hits = classify(kind, meta, spec);
        agents_seen += hits.len();
        for (name, line) in hits {
            if name == "aws-vpc-cni"
                && let Some(enabled) = aws_policy_agent(spec)
            {
                aws_agent = Some(aws_agent.unwrap_or(false) || enabled);
            }
            let lines = found.entry(name).or_default();
            if lines.len() < 3 && !lines.contains(&line) {
                lines.push(line);
            }
        }
    };
    for w in snap.workloads.iter().filter(|w| w.kind == WorkloadKind::DaemonSet) {
        if let Some(spec) = &w.template.spec {
            consider("DaemonSet", &w.metadata, spec);
        }
    }
    for p in &snap.pods {
        if let Some(spec) = &p.spec {
            consider("Pod", &p.metadata, spec);
        }
    }
    let mut k3s_nodes = Vec::new();
    for n in &snap.nodes {
        let name = n.metadata.name.clone().unwrap_or_default();
        for key in n.metadata.annotations.iter().flatten().map(|(k, _)| k) {
            if let Some((_, cni)) = NODE_ANNOTATIONS.iter().find(|(p, _)| key.starts_with(p)) {
                let lines = found.entry(cni).or_default();
                let line = format!("Node {name} annotation {key}");
                if lines.len() < 3 && !lines.iter().any(|l| l.starts_with(&format!("Node {name} "))) {
                    lines.push(line);
                }
            }
        }
        if let Some(v) = n
            .status
            .as_ref()
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.kubelet_version.as_str())
            .filter(|v| v.contains("+k3s"))
        {
            k3s_nodes.push(format!("Node {name} kubelet {v}"));
        }
    }

    let mut cnis: Vec<CniFinding> = Vec::new();
    // flannel annotations on nodes of a canal cluster are canal's.
    if found.contains_key("canal") {
        found.remove("flannel");
    }
    for (name, evidence) in found {
        let k = known(name);
        let (support, note) = match (name, aws_agent) {
            ("aws-vpc-cni", Some(true)) => (
                CniSupport::Supported,
                "The AWS VPC CNI network policy agent runs with --enable-network-policy=true: NetworkPolicy is enforced."
                    .to_string(),
            ),
            ("aws-vpc-cni", Some(false)) => (
                CniSupport::Conditional,
                "The AWS VPC CNI network policy agent container is present but --enable-network-policy=true is not among its arguments: check the add-on configuration (enableNetworkPolicy).".to_string(),
            ),
            _ => (k.support, k.note.to_string()),
        };
        cnis.push(CniFinding {
            name: name.to_string(),
            support,
            evidence,
            note,
        });
    }
    if !k3s_nodes.is_empty() {
        k3s_nodes.truncate(3);
        cnis.push(CniFinding {
            name: "k3s-network-policy".into(),
            support: CniSupport::Supported,
            evidence: k3s_nodes,
            note: "k3s embeds kube-router's network policy controller, so NetworkPolicy is enforced even with flannel, unless k3s was started with --disable-network-policy.".into(),
        });
    }
    cnis.sort_by(|a, b| a.support.cmp(&b.support).then_with(|| a.name.cmp(&b.name)));

    let any = |s: CniSupport| cnis.iter().any(|c| c.support == s);
    let mut missing = Vec::new();
    let (enforcement, summary) = if any(CniSupport::Supported) {
        let names: Vec<&str> = cnis
            .iter()
            .filter(|c| c.support == CniSupport::Supported)
            .map(|c| c.name.as_str())
            .collect();
        (
            "enforced",
            format!("NetworkPolicy is enforced by {}.", names.join(", ")),
        )
    } else if any(CniSupport::Conditional) {
        (
            "conditional",
            "The CNI enforces NetworkPolicy only when configured to; the snapshot does not show that it is (see the evidence and note).".to_string(),
        )
    } else if any(CniSupport::NotSupported) {
        let names: Vec<&str> = cnis.iter().map(|c| c.name.as_str()).collect();
        (
            "not-enforced",
            format!(
                "{} does not enforce NetworkPolicy and nothing else in the snapshot does: policies are accepted and ignored, so they are not why traffic fails.",
                names.join(", ")
            ),
        )
    } else {
        missing.push(
            "the CNI's agent pods or DaemonSets (usually in kube-system, calico-system or cilium namespaces) and the Node objects: include `kubectl get ds,pods -A -o yaml` and `kubectl get nodes -o yaml` in the snapshot".to_string(),
        );
        (
            "unknown",
            if agents_seen == 0 && snap.nodes.is_empty() {
                "No CNI agent and no Node is in the snapshot, so whether NetworkPolicy is enforced cannot be told; verdicts assume it is.".to_string()
            } else {
                "No known CNI was recognised in the snapshot, so whether NetworkPolicy is enforced cannot be told; verdicts assume it is.".to_string()
            },
        )
    };
    CniReport {
        enforcement: enforcement.to_string(),
        cnis,
        summary,
        missing,
        scope: SCOPE.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(yaml: &str) -> CniReport {
        detect(&crate::snapshot::load_str("test.yaml", yaml).expect("test snapshot parses"))
    }

    fn ds(ns: &str, name: &str, image: &str) -> String {
        format!(
            "---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{k8s-app: {name}}}}}\n  template:\n    metadata: {{labels: {{k8s-app: {name}}}}}\n    spec:\n      containers: [{{name: {name}, image: \"{image}\"}}]\n"
        )
    }

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
        ];
        for (rule, yaml, enforcement, names) in cases {
            let r = report(&yaml);
            assert_eq!(r.enforcement, enforcement, "{rule}: {r:#?}");
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
        assert_eq!(r.enforcement, "enforced");
        assert_eq!(r.cnis[0].support, CniSupport::Supported);
    }

    #[test]
    fn k3s_nodes_enforce_policy_even_with_flannel() {
        let yaml = "apiVersion: v1\nkind: Node\nmetadata:\n  name: k3s-1\n  annotations: {flannel.alpha.coreos.com/backend-type: vxlan}\nstatus:\n  nodeInfo: {kubeletVersion: v1.30.2+k3s1, architecture: amd64, bootID: x, containerRuntimeVersion: x, kernelVersion: x, kubeProxyVersion: x, machineID: x, operatingSystem: linux, osImage: x, systemUUID: x}\n";
        let r = report(yaml);
        assert_eq!(r.enforcement, "enforced", "{r:#?}");
        let names: Vec<&str> = r.cnis.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["k3s-network-policy", "flannel"]);
    }

    #[test]
    fn empty_snapshot_says_what_is_missing() {
        let r = report("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
        assert_eq!(r.enforcement, "unknown");
        assert!(!r.missing.is_empty());
    }
}
