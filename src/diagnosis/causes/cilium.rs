//! Causes for the sides Cilium rules decided: a deny element (`CILIUM_POLICY_DENY`), Cilium's
//! default deny with no allow matching (`CILIUM_NO_MATCHING_RULE`), and the lines that quote the
//! Cilium rules of a side.
//!
//! Invariant: only rules the engine evaluated against this flow are named; each is quoted as
//! written (compact flow style).

use super::on_port;
use crate::diagnosis::describe::endpoint_name;
use crate::engine::{CiliumOutcome, CiliumRuleTrace, FlowTrace, SideTrace};
use crate::index::ClusterIndex;
use crate::policy::Direction;
use crate::report::*;

/// `CiliumNetworkPolicy shop/p spec.egressDeny[0] {toEntities: [world]}`.
pub fn rule_line(ix: &ClusterIndex, t: &CiliumRuleTrace) -> String {
    let pol = &ix.cilium[t.policy];
    let pr = &pol.rules[t.rule].section(t.section).unwrap_or_default()[t.index];
    format!("{} {} {}", pol.key(), pr.field, pr.quote)
}

/// One evaluated element with its outcome, for a side's rule list.
pub fn outcome_line(ix: &ClusterIndex, t: &CiliumRuleTrace) -> String {
    let verb = if t.section.is_deny() { "denies" } else { "allows" };
    let what = match (&t.outcome, t.covers) {
        (CiliumOutcome::Matched, true) => verb.to_string(),
        (CiliumOutcome::Matched, false) => "matches the peer, not the port".to_string(),
        (CiliumOutcome::NoMatch(why), _) => format!("no match: {why}"),
        (CiliumOutcome::Unknown(why), _) => format!("undecided offline: {why}"),
    };
    format!("{}: {what}", rule_line(ix, t))
}

/// The Cilium rule that decided the side, when one did: the deny that matched, or the first
/// allow that matched when the side is allowed.
pub fn deciding_rule(ix: &ClusterIndex, s: &SideTrace) -> Option<String> {
    let deny = s.cilium_rules.iter().find(|t| t.section.is_deny() && t.applies());
    if s.cilium_denied {
        return deny.map(|t| format!("{}: deny", rule_line(ix, t)));
    }
    if !s.allowed || !s.isolated() {
        return None;
    }
    let allow = s.cilium_rules.iter().find(|t| !t.section.is_deny() && t.applies())?;
    Some(format!("{}: allow", rule_line(ix, allow)))
}

/// The Cilium policies that put the subject into default deny for the side.
pub fn isolating(ix: &ClusterIndex, s: &SideTrace) -> Vec<String> {
    let mut out: Vec<String> = s
        .cilium_rules
        .iter()
        .filter(|t| ix.cilium[t.policy].rules[t.rule].isolates(s.direction))
        .map(|t| ix.cilium[t.policy].key())
        .collect();
    out.dedup();
    out
}

/// The Cilium cause of a blocked side, when Cilium decided it: a deny element, or Cilium's
/// default deny with no allow (NetworkPolicy's or Cilium's) matching.
pub fn blocked(ix: &ClusterIndex, t: &FlowTrace, s: &SideTrace) -> Option<RootCause> {
    let (dir, subject) = (
        s.direction.as_str(),
        s.subject.map(|id| ix.pod(id).key()).unwrap_or_default(),
    );
    let peer = match s.direction {
        Direction::Egress => endpoint_name(ix, t.flow.dst),
        Direction::Ingress => endpoint_name(ix, t.flow.src),
    };
    let evidence: Vec<String> = s.cilium_rules.iter().map(|r| outcome_line(ix, r)).collect();
    if s.cilium_denied {
        let deny = s.cilium_rules.iter().find(|r| r.section.is_deny() && r.applies())?;
        let pol = ix.cilium[deny.policy].key();
        return Some(RootCause {
            code: RootCauseCode::CiliumPolicyDeny,
            summary: format!(
                "{} denies {subject}'s {dir} {} {peer} {}: a Cilium deny rule wins over every allow.",
                rule_line(ix, deny),
                if s.direction == Direction::Egress { "to" } else { "from" },
                on_port(t)
            ),
            policies: vec![pol.clone()],
            evidence,
            suggestion: format!(
                "Narrow {} of {pol} (its peers or toPorts) so that it no longer matches this traffic; no allow, Cilium's or NetworkPolicy's, can override a deny.",
                ix.cilium[deny.policy].rules[deny.rule]
                    .section(deny.section)
                    .unwrap_or_default()[deny.index]
                    .field
            ),
        });
    }
    if !s.cilium_isolates {
        return None;
    }
    let mut policies = isolating(ix, s);
    policies.extend(s.isolating.iter().map(|&p| ix.policies[p].key()));
    Some(RootCause {
        code: RootCauseCode::CiliumNoMatchingRule,
        summary: format!(
            "{subject} is in Cilium's default deny for {dir} ({} select{} it with an {dir} section), and no rule (Cilium's or NetworkPolicy's) allows {peer} {}.",
            isolating(ix, s).join(", "),
            if isolating(ix, s).len() == 1 { "s" } else { "" },
            on_port(t)
        ),
        policies,
        evidence,
        suggestion: format!(
            "Add a Cilium rule (or a NetworkPolicy) that selects {subject} and allows {dir} {} {peer} {} (allows are a union; Cilium's default deny stays).",
            if s.direction == Direction::Egress { "to" } else { "from" },
            on_port(t)
        ),
    })
}

/// The Cilium elements that allow an allowed side: (policy, `policy field`, quoted line).
pub fn allowing(ix: &ClusterIndex, s: &SideTrace) -> Vec<(String, String, String)> {
    s.cilium_rules
        .iter()
        .filter(|t| !t.section.is_deny() && t.applies())
        .map(|t| {
            let pol = &ix.cilium[t.policy];
            let field = &pol.rules[t.rule].section(t.section).unwrap_or_default()[t.index].field;
            (pol.key(), format!("{} {field}", pol.key()), rule_line(ix, t))
        })
        .collect()
}
