//! What may make a side's answer wrong: policies that could not be read (or whose subject could
//! not be), namespace labels that are unknown, rules whose peers cannot be resolved, and
//! AdminNetworkPolicies whose order Kubernetes leaves undefined.
//!
//! Invariant: only policies a side actually reaches are named; a side that a valid NetworkPolicy
//! rule allows stays allowed whatever else exists (NetworkPolicies are additive), so no
//! unreadable NetworkPolicy makes it uncertain.

use super::tiers::{RuleMatch, SideCtx, Tier, TierRun, rule_match};
use super::trace::{SideTrace, Uncertainty};
use crate::index::PodId;
use crate::policy::admin::{AdminKind, AdminPolicy};
use crate::policy::{Action, ConnSet, NamespaceScope, Peer, Rule};

/// NetworkPolicies that may change the side, when the NetworkPolicy tier saw the query: unreadable
/// ones that may select the subject, selectors of a namespace whose labels are unknown, rules that
/// could not be read.
pub(super) fn np_uncertainty(
    cx: &SideCtx<'_>,
    trace: &mut SideTrace,
    subject: PodId,
    peer_namespace: Option<&str>,
    run: &TierRun,
) {
    if !run.reached(Tier::NetworkPolicy) {
        return;
    }
    let allowed_below_admin = !run.allowed_after(Tier::Admin).is_empty();
    if !(trace.isolated() && allowed_below_admin) {
        for m in cx.ix.possibly_selecting_unreadable(subject, cx.dir) {
            trace.uncertain.push(Uncertainty {
                policy: m.policy,
                reason: m.reason,
                unknown_field: m.unknown_field,
            });
        }
    }
    let admin_allowed = run.outcome(Tier::Admin).is_some_and(|o| !o.allowed.is_empty());
    if !admin_allowed
        && trace.isolated()
        && let Some(ns) = peer_namespace.filter(|ns| cx.ix.namespaces_labels_unknown.contains(*ns))
    {
        unknown_namespace_labels(cx, trace, ns);
    }
    if !trace.allowed {
        unreadable_rules(cx, trace);
    }
}

/// The peer's namespace labels could not be read: a namespaceSelector may decide either way,
/// unless a rule that does not look at namespace labels allows the traffic anyway.
fn unknown_namespace_labels(cx: &SideCtx<'_>, trace: &mut SideTrace, ns: &str) {
    let ix = cx.ix;
    let allowed_regardless = trace.rules.iter().filter(|r| r.allows()).any(|r| {
        ix.policies[r.policy]
            .rule(cx.dir, r.rule_index)
            .is_some_and(|rule| !reads_namespace_labels(rule))
    });
    if allowed_regardless {
        return;
    }
    for &pid in &trace.isolating {
        let pol = &ix.policies[pid];
        if pol.rules(cx.dir).unwrap_or_default().iter().any(reads_namespace_labels) {
            trace.uncertain.push(Uncertainty {
                policy: pol.key(),
                reason: format!(
                    "the Namespace object of {ns} could not be read, so its labels are unknown: a namespaceSelector of {} may match it or not",
                    pol.key()
                ),
                unknown_field: false,
            });
        }
    }
}

/// A peer element of the rule selects namespaces by label (not `{}`).
fn reads_namespace_labels(rule: &Rule) -> bool {
    rule.peers
        .iter()
        .flatten()
        .any(|p| matches!(p, Peer::Pods { namespaces: NamespaceScope::Matching(sel), .. } if !sel.is_everything()))
}

/// Isolating NetworkPolicies with rules of the direction that could not be read: one of them
/// may allow what the side blocks.
fn unreadable_rules(cx: &SideCtx<'_>, trace: &mut SideTrace) {
    for &pid in &trace.isolating {
        let pol = &cx.ix.policies[pid];
        if pol.has_rule_issues(cx.dir) {
            trace.uncertain.push(Uncertainty {
                policy: pol.key(),
                reason: format!(
                    "NetworkPolicy {} has {} rules that could not be read; one of them may allow this traffic",
                    pol.key(),
                    cx.dir.as_str()
                ),
                unknown_field: false,
            });
        }
    }
}

/// Admin policies of either kind that could not be read, may select the subject, and would be
/// reached: an AdminNetworkPolicy unless its (readable) priority comes after the policy that
/// settled the whole query, the baseline when its tier was reached.
pub(super) fn unreadable_admin(cx: &SideCtx<'_>, trace: &mut SideTrace, subject: PodId, run: &TierRun) {
    let settled_at = run.outcome(Tier::Admin).and_then(|o| o.settled_at);
    for (i, reason) in cx.ix.unreadable_admin_selecting(subject, cx.dir) {
        let pol = &cx.ix.admin.policies[i];
        let reached = match pol.kind {
            AdminKind::Admin => match (pol.priority, settled_at) {
                (Some(p), Some(settled)) => p <= settled,
                _ => true,
            },
            AdminKind::Baseline => run.reached(Tier::Baseline),
        };
        if reached {
            trace.uncertain.push(Uncertainty {
                policy: pol.key(),
                reason,
                unknown_field: false,
            });
        }
    }
}

/// AdminNetworkPolicies sharing the deciding policy's priority that would decide the query
/// otherwise: Kubernetes leaves their order undefined.
pub(super) fn same_priority(cx: &SideCtx<'_>, trace: &mut SideTrace, anps: &[usize], query: &ConnSet) {
    let ix = cx.ix;
    let Some(hit) = &trace.admin else { return };
    let Some(&deciding) = anps.iter().find(|&&i| ix.admin.policies[i].name == hit.policy) else {
        return;
    };
    let decider = &ix.admin.policies[deciding];
    let mine = policy_decisions(cx, decider, query);
    for &other in anps {
        let o = &ix.admin.policies[other];
        if other == deciding || o.priority != decider.priority {
            continue;
        }
        let theirs = policy_decisions(cx, o, query);
        let conflict = mine.iter().find_map(|(c, r, a)| {
            theirs
                .iter()
                .find(|(c2, _, a2)| a2 != a && !c.intersect(c2).is_empty())
                .map(|(_, r2, a2)| (*r, *a, *r2, *a2))
        });
        if let Some((r, a, r2, a2)) = conflict {
            trace.uncertain.push(Uncertainty {
                policy: o.key(),
                reason: format!(
                    "{} and {} share priority {}, and both match this traffic: {} by its rule spec.{d}[{r}], {} by rule \
                     spec.{d}[{r2}]; Kubernetes leaves their order undefined (evaluated here by name)",
                    decider.key(),
                    o.key(),
                    decider.priority.unwrap_or_default(),
                    a.as_str(),
                    a2.as_str(),
                    d = cx.dir.as_str(),
                ),
                unknown_field: false,
            });
        }
    }
}

/// One policy's own first-match decisions over `query`, as if it were alone in its tier:
/// `(connections, rule index, action)` in rule order.
fn policy_decisions(cx: &SideCtx<'_>, pol: &AdminPolicy, query: &ConnSet) -> Vec<(ConnSet, usize, Action)> {
    let mut undecided = query.clone();
    let mut out = Vec::new();
    for rule in pol.rules(cx.dir) {
        let RuleMatch::Yes(hit) = rule_match(cx, rule, &undecided) else {
            continue;
        };
        undecided = undecided.subtract(&hit);
        out.push((hit, rule.index, rule.action));
        if undecided.is_empty() {
            break;
        }
    }
    out
}
