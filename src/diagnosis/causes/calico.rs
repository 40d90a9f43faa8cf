//! Calico's causes: the step of Calico's tier walk (`engine::calico`) that decided a side.
//!
//! Codes: `CALICO_POLICY_DENY` (a Deny rule), `CALICO_NO_MATCHING_RULE` (the end of a tier in
//! which a Calico policy applies), `CALICO_PASS_TO_PROFILE` (a Pass left the last tier that
//! applies and the namespace profile allowed), and `ALLOWED_BY_POLICY` naming the Calico rule
//! that allowed. A side whose deciding tier holds only Kubernetes NetworkPolicies
//! (`knp.default.*`) is explained by the NetworkPolicy causes instead, as without Calico.
//!
//! Invariant: a Pass never denies; it is named as what handed the decision on.

use super::on_port;
use crate::diagnosis::describe::endpoint_name;
use crate::engine::{CalicoStep, CalicoStepAction, FlowTrace, SideTrace};
use crate::index::ClusterIndex;
use crate::policy::Direction;
use crate::report::*;

/// `rule spec.ingress[0] {…} of GlobalNetworkPolicy x (tier security)`.
fn rule_text(step: &CalicoStep, dir: Direction) -> String {
    format!(
        "rule spec.{}[{}] {} of {} (tier {})",
        dir.as_str(),
        step.rule_index.unwrap_or_default(),
        step.rule.as_deref().unwrap_or_default(),
        step.policy.as_deref().unwrap_or_default(),
        step.tier
    )
}

/// `globalnetworkpolicy NAME` / `networkpolicy NAME -n NS` for calicoctl.
fn calicoctl_target(key: &str) -> String {
    let (kind, name) = key.split_once(' ').unwrap_or((key, ""));
    match name.split_once('/') {
        Some((ns, n)) => format!("{} {n} -n {ns}", kind.to_ascii_lowercase()),
        None => format!("{} {name}", kind.to_ascii_lowercase()),
    }
}

/// The walk, one line per step, for evidence.
pub fn walk_lines(side: &SideTrace) -> Vec<String> {
    let Some(walk) = &side.calico else { return Vec::new() };
    let dir = side.direction;
    let mut out: Vec<String> = walk
        .steps
        .iter()
        .map(|s| match s.action {
            CalicoStepAction::EndDeny => format!("tier {}: no rule decided; end of tier: Deny", s.tier),
            CalicoStepAction::EndPass => format!("tier {}: no rule decided; defaultAction Pass", s.tier),
            a => format!(
                "tier {}: {} spec.{}[{}] {}: {a:?}",
                s.tier,
                s.policy.as_deref().unwrap_or_default(),
                dir.as_str(),
                s.rule_index.unwrap_or_default(),
                s.rule.as_deref().unwrap_or_default()
            ),
        })
        .collect();
    if walk.passed_on && walk.steps.is_empty() {
        out.push("no Calico tier applies: the namespace profile (allow)".into());
    } else if walk.passed_on {
        out.push("after the last Calico tier that applies: the namespace profile (allow)".into());
    }
    out
}

fn subject_and_peer(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace) -> (String, String) {
    let subject = side.subject.map(|id| ix.pod(id).key()).unwrap_or_default();
    let peer = endpoint_name(
        ix,
        match side.direction {
            Direction::Egress => t.flow.dst,
            Direction::Ingress => t.flow.src,
        },
    );
    (subject, peer)
}

/// Whether a Calico (not Kubernetes) policy of `tier` applies to the side's subject.
fn calico_policy_applies(ix: &ClusterIndex, side: &SideTrace, tier: &str) -> bool {
    let Some(id) = side.subject else { return false };
    let p = ix.pod(id);
    let ns_labels = ix.namespace_labels(&p.namespace);
    let pod = p.pod_ref(&ns_labels);
    ix.calico
        .policies
        .iter()
        .filter(|c| c.tier == tier && c.rules(side.direction).is_some() && c.problems.is_empty())
        .any(|c| c.applies(&pod, !ix.namespaces_labels_unknown.contains(&p.namespace)) == Some(true))
}

/// The cause of a blocked side that Calico's walk decided, unless a tier of Kubernetes
/// NetworkPolicies alone did (the NetworkPolicy causes explain that).
pub fn calico_block(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace) -> Option<RootCause> {
    let step = side.calico.as_ref()?.decision()?;
    let dir = side.direction;
    let (subject, peer) = subject_and_peer(ix, t, side);
    let (from, to) = match dir {
        Direction::Ingress => (&peer, &subject),
        Direction::Egress => (&subject, &peer),
    };
    let port = on_port(t);
    let evidence = walk_lines(side);
    match step.action {
        CalicoStepAction::Deny => {
            let policy = step.policy.clone().unwrap_or_default();
            Some(RootCause {
                code: RootCauseCode::CalicoPolicyDeny,
                summary: format!(
                    "{} denies {} from {from} to {to} {port}.",
                    rule_text(step, dir),
                    dir.as_str()
                ),
                policies: vec![policy.clone()],
                evidence,
                suggestion: format!(
                    "Calico decides at the first rule that matches: change or remove that rule of {policy}, or add an Allow for this traffic before it (a lower order in the same tier, or an earlier tier). Read it with calicoctl get {} -o yaml.",
                    calicoctl_target(&policy)
                ),
            })
        }
        CalicoStepAction::EndDeny if calico_policy_applies(ix, side, &step.tier) => Some(RootCause {
            code: RootCauseCode::CalicoNoMatchingRule,
            summary: format!(
                "Calico tier {} applies to {subject} for {} and none of its rules decides this traffic ({from} to {to} {port}): the end of the tier denies it.",
                step.tier,
                dir.as_str()
            ),
            policies: Vec::new(),
            evidence,
            suggestion: format!(
                "Add an Allow rule for this traffic to a policy of tier {}, or a Pass that hands it to the next tier (or set the tier's defaultAction: Pass).",
                step.tier
            ),
        }),
        _ => None,
    }
}

/// The cause of an allowed side that Calico's walk decided: a Calico Allow rule
/// (`ALLOWED_BY_POLICY`), or a Pass out of the last tier to the namespace profile.
pub fn calico_allow(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace) -> Option<RootCause> {
    let walk = side.calico.as_ref()?;
    let dir = side.direction;
    let (subject, _) = subject_and_peer(ix, t, side);
    if walk.passed_by_pass() && side.baseline.is_none() && side.admin.is_none() {
        return Some(RootCause {
            code: RootCauseCode::CalicoPassToProfile,
            summary: format!(
                "A Pass left the last Calico tier that applies to {subject} for {}: the namespace profile decides, and it allows.",
                dir.as_str()
            ),
            policies: Vec::new(),
            evidence: walk_lines(side),
            suggestion: "If it should not pass: add a policy in a later tier (e.g. default) that applies to the endpoint; its end-of-tier deny then stops every flow into the endpoint that no rule of that tier allows, so each flow that must still pass needs an Allow there.".into(),
        });
    }
    let step = walk.decision().filter(|s| s.action == CalicoStepAction::Allow)?;
    let policy = step.policy.clone().unwrap_or_default();
    if policy.contains("/knp.default.") {
        return None;
    }
    Some(RootCause {
        code: RootCauseCode::AllowedByPolicy,
        summary: format!("{} allows this {} traffic.", rule_text(step, dir), dir.as_str()),
        policies: vec![policy],
        evidence: walk_lines(side),
        suggestion: "If it should not pass: narrow that rule or add a Deny before it. If it still fails, the cause is not network policy on this side.".into(),
    })
}

/// The Calico rule (or tier end, or Pass to the profile) that decided a side, in a line, when
/// Calico's walk decided it and not a Kubernetes NetworkPolicy alone:
/// `GlobalNetworkPolicy x spec.egress[0]: Deny (tier default)`.
pub fn calico_deciding_rule(ix: &ClusterIndex, side: &SideTrace) -> Option<String> {
    let walk = side.calico.as_ref()?;
    if walk.passed_by_pass() && side.baseline.is_none() {
        return Some("a Calico Pass to the namespace profile (allow)".into());
    }
    let step = walk.decision()?;
    match step.action {
        CalicoStepAction::EndDeny if calico_policy_applies(ix, side, &step.tier) => {
            Some(format!("the end of Calico tier {} (no rule matched): Deny", step.tier))
        }
        CalicoStepAction::Allow | CalicoStepAction::Deny
            if !step.policy.as_deref().unwrap_or_default().contains("/knp.default.") =>
        {
            Some(format!(
                "{} spec.{}[{}]: {:?} (tier {})",
                step.policy.as_deref().unwrap_or_default(),
                side.direction.as_str(),
                step.rule_index.unwrap_or_default(),
                step.action,
                step.tier
            ))
        }
        _ => None,
    }
}

/// Whether Calico's walk (not a Kubernetes NetworkPolicy) decided an allowed side.
pub fn calico_decided_allow(side: &SideTrace) -> bool {
    let Some(walk) = &side.calico else { return false };
    walk.passed_by_pass()
        || walk.decision().is_some_and(|s| {
            s.action == CalicoStepAction::Allow && !s.policy.as_deref().unwrap_or_default().contains("/knp.default.")
        })
}
