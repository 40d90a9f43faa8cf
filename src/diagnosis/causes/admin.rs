//! The admin tiers' causes: an Admin-tier rule (AdminNetworkPolicy, or ClusterNetworkPolicy with
//! `tier: Admin`) that denied or allowed a side before any NetworkPolicy, a Baseline-tier rule
//! (BaselineAdminNetworkPolicy, or ClusterNetworkPolicy with `tier: Baseline`) that denied or
//! accepted a side no NetworkPolicy isolates, and what a Pass handed on.
//!
//! Codes by kind: AdminNetworkPolicy `ADMIN_NETWORK_POLICY_DENY` / `_ALLOW`,
//! BaselineAdminNetworkPolicy `BASELINE_ADMIN_NETWORK_POLICY_DENY`, ClusterNetworkPolicy
//! `CLUSTER_NETWORK_POLICY_DENY` / `BASELINE_CLUSTER_NETWORK_POLICY_DENY`, and an Accept is
//! `ALLOWED_BY_POLICY` naming the rule.
//!
//! Invariant: a Pass never denies; it is named only as what handed the decision on, and to which
//! tier ([`pass_notes`]).

use super::on_port;
use crate::diagnosis::describe::endpoint_name;
use crate::engine::{AdminHit, FlowTrace, SideTrace};
use crate::index::ClusterIndex;
use crate::policy::Direction;
use crate::policy::admin::{AdminAction, AdminKind, AdminTier};
use crate::report::*;

/// The side, its subject and its peer, as the causes name them.
struct Side<'a> {
    side: &'a SideTrace,
    dir: Direction,
    subject: String,
    peer: String,
}

/// `rule spec.ingress[0] (name) of AdminNetworkPolicy x (priority 5)`; a ClusterNetworkPolicy's
/// tier is named too.
fn rule_text(hit: &AdminHit, dir: Direction) -> String {
    let tier = match hit.kind {
        AdminKind::Cluster => format!("{} tier, ", hit.tier.as_str()),
        _ => String::new(),
    };
    format!(
        "rule {}{} of {}{}",
        hit.field(dir),
        rule_name(hit),
        hit.policy_key(),
        hit.priority
            .map(|p| format!(" ({tier}priority {p})"))
            .unwrap_or_default()
    )
}

/// The admin-tier rule that decided a side, as a root cause (Deny, or Allow/Accept on an allowed
/// side), else the Baseline tier's.
pub fn admin_cause(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace) -> Option<RootCause> {
    let dir = side.direction;
    let s = Side {
        side,
        dir,
        subject: side.subject.map(|id| ix.pod(id).key()).unwrap_or_default(),
        peer: endpoint_name(
            ix,
            match dir {
                Direction::Egress => t.flow.dst,
                Direction::Ingress => t.flow.src,
            },
        ),
    };
    if let Some(hit) = &side.admin {
        match (hit.action, side.allowed) {
            (AdminAction::Deny, false) => return Some(admin_deny(&s, hit, &on_port(t))),
            (AdminAction::Allow, true) => return Some(admin_allow(&s, hit)),
            _ => {}
        }
    }
    let hit = side
        .baseline
        .as_ref()
        .filter(|h| h.tier == AdminTier::Baseline && !side.isolated())?;
    match (hit.action, side.allowed) {
        (AdminAction::Deny, false) => Some(baseline_deny(&s, hit)),
        (AdminAction::Allow, true) if hit.kind == AdminKind::Cluster => Some(cluster_accept(&s, hit)),
        _ => None,
    }
}

fn admin_deny(s: &Side<'_>, hit: &AdminHit, port: &str) -> RootCause {
    let (dir, subject, peer) = (s.dir, &s.subject, &s.peer);
    let (code, what, override_with) = match hit.kind {
        AdminKind::Cluster => (
            RootCauseCode::ClusterNetworkPolicyDeny,
            "an Admin-tier ClusterNetworkPolicy Deny",
            "a ClusterNetworkPolicy in the Admin tier with a lower priority number that Accepts or Passes",
        ),
        _ => (
            RootCauseCode::AdminNetworkPolicyDeny,
            "an AdminNetworkPolicy Deny",
            "an AdminNetworkPolicy with a lower priority number that Allows or Passes",
        ),
    };
    RootCause {
        code,
        summary: format!(
            "{} denies {} from {} to {} {port} before any NetworkPolicy is consulted.",
            rule_text(hit, dir),
            dir.as_str(),
            if dir == Direction::Ingress { peer } else { subject },
            if dir == Direction::Ingress { subject } else { peer },
        ),
        policies: vec![hit.policy_key()],
        evidence: vec![format!(
            "{} selects {subject} and its {} peers match {peer}",
            hit.policy_key(),
            hit.field(dir)
        )],
        suggestion: format!(
            "No NetworkPolicy can override {what}. The cluster admins would change {} or add {override_with} this traffic (kubectl get {} {} -o yaml).",
            hit.policy_key(),
            hit.kind.resource(),
            hit.policy
        ),
    }
}

fn admin_allow(s: &Side<'_>, hit: &AdminHit) -> RootCause {
    let code = match hit.kind {
        AdminKind::Cluster => RootCauseCode::AllowedByPolicy,
        _ => RootCauseCode::AdminNetworkPolicyAllow,
    };
    RootCause {
        code,
        summary: format!(
            "{} {}s this {} traffic; NetworkPolicies are not consulted for it.",
            rule_text(hit, s.dir),
            hit.action_word().to_ascii_lowercase(),
            s.dir.as_str()
        ),
        policies: vec![hit.policy_key()],
        evidence: vec![format!("{} selects {}", hit.policy_key(), s.subject)],
        suggestion: "If the traffic still fails, NetworkPolicy is not the cause on this side.".into(),
    }
}

/// A Baseline-tier ClusterNetworkPolicy Accept on a side no NetworkPolicy isolates.
fn cluster_accept(s: &Side<'_>, hit: &AdminHit) -> RootCause {
    RootCause {
        code: RootCauseCode::AllowedByPolicy,
        summary: format!(
            "No NetworkPolicy isolates {} of {}, so the Baseline tier decides: {} accepts it.",
            s.dir.as_str(),
            s.subject,
            rule_text(hit, s.dir)
        ),
        policies: vec![hit.policy_key()],
        evidence: vec![format!(
            "{} selects {} and matches {}",
            hit.policy_key(),
            s.subject,
            s.peer
        )],
        suggestion: "If the traffic still fails, NetworkPolicy is not the cause on this side.".into(),
    }
}

fn baseline_deny(s: &Side<'_>, hit: &AdminHit) -> RootCause {
    let (dir, subject, peer) = (s.dir, &s.subject, &s.peer);
    let (code, tier) = match hit.kind {
        AdminKind::Cluster => (RootCauseCode::BaselineClusterNetworkPolicyDeny, "the Baseline tier"),
        _ => (
            RootCauseCode::BaselineAdminNetworkPolicyDeny,
            "the BaselineAdminNetworkPolicy",
        ),
    };
    let passed = match s.side.admin.as_ref().filter(|a| a.action == AdminAction::Pass) {
        Some(a) => format!(" ({} passed it on from the Admin tier)", a.policy_key()),
        None => String::new(),
    };
    RootCause {
        code,
        summary: format!(
            "No NetworkPolicy isolates {} of {subject}, so {tier} decides: {} denies it{passed}.",
            dir.as_str(),
            rule_text(hit, dir),
        ),
        policies: vec![hit.policy_key()],
        evidence: vec![format!("{} selects {subject} and matches {peer}", hit.policy_key())],
        suggestion: format!(
            "A NetworkPolicy that selects {subject} and allows this traffic takes precedence over the baseline (it also isolates the pod for {}, so list everything else it needs).",
            dir.as_str()
        ),
    }
}

/// What a Pass on this side handed on, and to which tier: evidence for the cause that the tier
/// that took over gives.
pub fn pass_notes(side: &SideTrace) -> Vec<String> {
    let d = side.direction;
    let mut out = Vec::new();
    if let Some(a) = side.admin.as_ref().filter(|a| a.action == AdminAction::Pass) {
        let next = if side.isolated() {
            "the NetworkPolicy tier, which decides it (NetworkPolicies isolate the pod)".to_string()
        } else if let Some(b) = side.baseline.as_ref().filter(|b| b.action != AdminAction::Pass) {
            format!(
                "the Baseline tier (no NetworkPolicy isolates the pod), where {} decides it",
                rule_text(b, d)
            )
        } else {
            "the default allow (no NetworkPolicy isolates the pod and no Baseline-tier rule decides it)".to_string()
        };
        out.push(format!(
            "{} passes this traffic from the Admin tier to {next}",
            rule_text(a, d)
        ));
    }
    if !side.isolated()
        && let Some(b) = side.baseline.as_ref().filter(|b| b.action == AdminAction::Pass)
    {
        out.push(format!(
            "{} passes this traffic from the Baseline tier to the default allow",
            rule_text(b, d)
        ));
    }
    out
}

/// `AdminNetworkPolicy x spec.ingress[0] (name): Deny`.
fn hit_label(hit: &AdminHit, dir: Direction) -> String {
    format!("{}: {}", hit_path(hit, dir), hit.action_word())
}

/// `AdminNetworkPolicy x spec.ingress[0] (name)`.
fn hit_path(hit: &AdminHit, dir: Direction) -> String {
    format!("{} {}{}", hit.policy_key(), hit.field(dir), rule_name(hit))
}

/// ` (name)` of a named rule, else nothing.
fn rule_name(hit: &AdminHit) -> String {
    if hit.rule_name.is_empty() {
        String::new()
    } else {
        format!(" ({})", hit.rule_name)
    }
}

/// The admin-tier rule that decided a side, for the side's one line (`SideReport.admin_rule`).
/// A Pass never decides: after one, the line names who did — the NetworkPolicy tier, a
/// Baseline-tier rule or the default allow — and the Pass that handed it on.
pub fn deciding_admin_rule(ix: &ClusterIndex, side: &SideTrace) -> Option<String> {
    let dir = side.direction;
    let baseline = side.baseline.as_ref().filter(|_| !side.isolated());
    let (passed, decided) = match (side.admin.as_ref(), baseline) {
        (Some(a), _) if a.action != AdminAction::Pass => return Some(hit_label(a, dir)),
        (Some(a), _) if side.isolated() => (a, network_policy_tier(ix, side)),
        (Some(a), Some(b)) if b.action != AdminAction::Pass => (a, hit_label(b, dir)),
        (Some(a), _) => (a, DEFAULT_ALLOW.into()),
        (None, Some(b)) if b.action == AdminAction::Pass => (b, DEFAULT_ALLOW.into()),
        (None, b) => return b.map(|b| hit_label(b, dir)),
    };
    Some(format!("{decided}, after a Pass from {}", hit_path(passed, dir)))
}

const DEFAULT_ALLOW: &str = "the default allow (no NetworkPolicy isolates the pod, no Baseline-tier rule decides)";

/// `the NetworkPolicy tier (ns/a rule 0)` or `(ns/a, ns/b: no rule matches)`.
fn network_policy_tier(ix: &ClusterIndex, side: &SideTrace) -> String {
    let allowing: Vec<String> = side
        .rules
        .iter()
        .filter(|r| r.allows())
        .map(|r| format!("{} rule {}", ix.policies[r.policy].key(), r.rule_index))
        .collect();
    let what = if allowing.is_empty() {
        let isolating: Vec<String> = side.isolating.iter().map(|&p| ix.policies[p].key()).collect();
        format!("{}: no rule matches", isolating.join(", "))
    } else {
        allowing.join(", ")
    };
    format!("the NetworkPolicy tier ({what})")
}
