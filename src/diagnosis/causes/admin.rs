//! The admin tiers' causes: an AdminNetworkPolicy rule that denied or allowed a side before any
//! NetworkPolicy, or the BaselineAdminNetworkPolicy that denied a side no NetworkPolicy isolates.
//!
//! Invariant: a Pass never denies; it is named only as what handed the decision on.

use super::on_port;
use crate::diagnosis::describe::endpoint_name;
use crate::engine::{AdminHit, FlowTrace, SideTrace};
use crate::index::ClusterIndex;
use crate::policy::Direction;
use crate::policy::admin::{AdminAction, AdminKind};
use crate::report::*;

/// The side, its subject and its peer, as the causes name them.
struct Side<'a> {
    side: &'a SideTrace,
    dir: Direction,
    subject: String,
    peer: String,
}

/// `rule spec.ingress[0] (name) of AdminNetworkPolicy x (priority 5)`.
fn rule_text(hit: &AdminHit, dir: Direction) -> String {
    format!(
        "rule {}{} of {}{}",
        hit.field(dir),
        if hit.rule_name.is_empty() {
            String::new()
        } else {
            format!(" ({})", hit.rule_name)
        },
        hit.policy_key(),
        hit.priority.map(|p| format!(" (priority {p})")).unwrap_or_default()
    )
}

/// The admin-tier rule that decided a side, as a root cause (Deny, or Allow on an allowed side).
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
    let baseline_denies = |hit: &&AdminHit| {
        hit.kind == AdminKind::Baseline && hit.action == AdminAction::Deny && !side.allowed && !side.isolated()
    };
    side.baseline
        .as_ref()
        .filter(baseline_denies)
        .map(|hit| baseline_deny(&s, hit))
}

fn admin_deny(s: &Side<'_>, hit: &AdminHit, port: &str) -> RootCause {
    let (dir, subject, peer) = (s.dir, &s.subject, &s.peer);
    RootCause {
        code: RootCauseCode::AdminNetworkPolicyDeny,
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
            "No NetworkPolicy can override an AdminNetworkPolicy Deny. The cluster admins would change {} or add an AdminNetworkPolicy with a lower priority number that Allows or Passes this traffic (kubectl get adminnetworkpolicy {} -o yaml).",
            hit.policy_key(),
            hit.policy
        ),
    }
}

fn admin_allow(s: &Side<'_>, hit: &AdminHit) -> RootCause {
    RootCause {
        code: RootCauseCode::AdminNetworkPolicyAllow,
        summary: format!(
            "{} allows this {} traffic; NetworkPolicies are not consulted for it.",
            rule_text(hit, s.dir),
            s.dir.as_str()
        ),
        policies: vec![hit.policy_key()],
        evidence: vec![format!("{} selects {}", hit.policy_key(), s.subject)],
        suggestion: "If the traffic still fails, NetworkPolicy is not the cause on this side.".into(),
    }
}

fn baseline_deny(s: &Side<'_>, hit: &AdminHit) -> RootCause {
    let (dir, subject, peer) = (s.dir, &s.subject, &s.peer);
    RootCause {
        code: RootCauseCode::BaselineAdminNetworkPolicyDeny,
        summary: format!(
            "No NetworkPolicy isolates {} of {subject}, so the BaselineAdminNetworkPolicy decides: {} denies it{}.",
            dir.as_str(),
            rule_text(hit, dir),
            if s.side.admin.as_ref().is_some_and(|a| a.action == AdminAction::Pass) {
                " (an AdminNetworkPolicy passed it on)"
            } else {
                ""
            }
        ),
        policies: vec![hit.policy_key()],
        evidence: vec![format!("{} selects {subject} and matches {peer}", hit.policy_key())],
        suggestion: format!(
            "A NetworkPolicy that selects {subject} and allows this traffic takes precedence over the baseline (it also isolates the pod for {}, so list everything else it needs).",
            dir.as_str()
        ),
    }
}
