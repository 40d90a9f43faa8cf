//! The step tools' view of the cluster-scoped policies the engine evaluates in its Admin and
//! Baseline tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy): which
//! select a pod or a namespace's pods, with tier, priority, subject, rules and issues.
//!
//! Cilium policies (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy) are listed the same way,
//! with tier `Cilium`, after them.
//!
//! Invariant: pure; entries come in evaluation order (Admin tier, then Baseline tier, then the
//! policies that could not be ordered, in snapshot order).

use crate::index::{ClusterIndex, PodId};
use crate::policy::Direction;
use crate::policy::admin::AdminPolicy;
use crate::policy::extended::{CiliumPolicy, CiliumSubject, Section};
use crate::report::ClusterPolicyEntry;

/// Indices of every admin-kind policy: the Admin tier's order, the Baseline tier's, then the rest.
fn in_order(ix: &ClusterIndex) -> Vec<usize> {
    let a = &ix.admin;
    let ordered: Vec<usize> = a.admin_order.iter().chain(&a.baseline_order).copied().collect();
    let rest = (0..a.policies.len()).filter(|i| !ordered.contains(i));
    ordered.iter().copied().chain(rest).collect()
}

/// One policy as the step tools show it.
pub fn entry(p: &AdminPolicy) -> ClusterPolicyEntry {
    let dirs = [Direction::Ingress, Direction::Egress];
    ClusterPolicyEntry {
        policy: p.key(),
        tier: p.tier.map(|t| t.as_str().to_string()),
        priority: p.priority.map(i64::from),
        subject: p.subject.as_ref().map(|s| s.to_string()),
        directions: dirs
            .iter()
            .filter(|&&d| p.affects(d))
            .map(|d| d.as_str().to_string())
            .collect(),
        rules: dirs
            .iter()
            .flat_map(|&d| p.rules(d).iter().map(move |r| (d, r)))
            .map(|(d, r)| {
                let name = if r.name.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.name)
                };
                format!(
                    "spec.{}[{}]{name}: {}",
                    d.as_str(),
                    r.index,
                    p.kind.action_word(r.action)
                )
            })
            .collect(),
        issues: p.issues.iter().map(|i| format!("{}: {}", i.field, i.message)).collect(),
    }
}

/// Whether the policy selects the pod, or may (its subject could not be read). Never a
/// hostNetwork pod.
fn may_select(ix: &ClusterIndex, p: &AdminPolicy, pod: PodId) -> bool {
    !ix.pod(pod).host_network && ix.admin_selects(p, pod) != Some(false)
}

/// The admin-kind policies that select (or may select) `pod`, in evaluation order.
pub fn selecting_pod(ix: &ClusterIndex, pod: PodId) -> Vec<ClusterPolicyEntry> {
    in_order(ix)
        .into_iter()
        .map(|i| &ix.admin.policies[i])
        .filter(|p| may_select(ix, p, pod))
        .map(entry)
        .collect()
}

/// The admin-kind policies that select (or may select) a pod of `namespace`, or every one when
/// `namespace` is `None`, in evaluation order.
pub fn selecting_namespace(ix: &ClusterIndex, namespace: Option<&str>) -> Vec<ClusterPolicyEntry> {
    in_order(ix)
        .into_iter()
        .map(|i| &ix.admin.policies[i])
        .filter(|p| namespace.is_none_or(|ns| ix.pods_in(ns).iter().any(|&pod| may_select(ix, p, pod))))
        .map(entry)
        .collect()
}

/// One Cilium policy as the step tools show it: tier `Cilium` (deny rules before NetworkPolicy,
/// allows joined to it), no priority, the endpoint selectors of its rules as subject, and each
/// element of its sections with its action, quoted.
pub fn cilium_entry(p: &CiliumPolicy) -> ClusterPolicyEntry {
    let subjects: Vec<String> = p
        .rules
        .iter()
        .map(|r| match &r.subject {
            CiliumSubject::Endpoints(s) => format!("{}.endpointSelector {}", r.path, s.describe()),
            CiliumSubject::Host => format!("{}.nodeSelector (host policy: out of scope)", r.path),
            CiliumSubject::Unreadable(why) => why.clone(),
        })
        .collect();
    let sections = [
        Section::Ingress,
        Section::IngressDeny,
        Section::Egress,
        Section::EgressDeny,
    ];
    let mut directions = Vec::new();
    let mut rules = Vec::new();
    for r in &p.rules {
        for s in sections {
            let dir = if matches!(s, Section::Ingress | Section::IngressDeny) {
                "ingress"
            } else {
                "egress"
            };
            if r.section(s).is_some() && !directions.contains(&dir.to_string()) {
                directions.push(dir.to_string());
            }
            for e in r.section(s).unwrap_or_default() {
                let action = if s.is_deny() { "Deny" } else { "Allow" };
                rules.push(format!("{}: {action} {}", e.field, e.quote));
            }
        }
    }
    ClusterPolicyEntry {
        policy: p.key(),
        tier: Some("Cilium".into()),
        priority: None,
        subject: Some(subjects.join("; ")),
        directions,
        rules,
        issues: p.unreadable.iter().cloned().collect(),
    }
}

/// The Cilium policies that select (or may select) `pod`.
pub fn cilium_selecting_pod(ix: &ClusterIndex, pod: PodId) -> Vec<ClusterPolicyEntry> {
    let mut ids: Vec<usize> = [Direction::Ingress, Direction::Egress]
        .into_iter()
        .flat_map(|d| ix.cilium_selecting(pod, d))
        .map(|s| s.policy)
        .collect();
    ids.sort();
    ids.dedup();
    ids.into_iter().map(|i| cilium_entry(&ix.cilium[i])).collect()
}

/// The Cilium policies that select (or may select) a pod of `namespace`, or every one.
pub fn cilium_selecting_namespace(ix: &ClusterIndex, namespace: Option<&str>) -> Vec<ClusterPolicyEntry> {
    let Some(ns) = namespace else {
        return ix.cilium.iter().map(cilium_entry).collect();
    };
    let mut ids: Vec<usize> = ix
        .pods_in(ns)
        .iter()
        .flat_map(|&pod| [Direction::Ingress, Direction::Egress].map(|d| ix.cilium_selecting(pod, d)))
        .flatten()
        .map(|s| s.policy)
        .collect();
    ids.sort();
    ids.dedup();
    ids.into_iter().map(|i| cilium_entry(&ix.cilium[i])).collect()
}
