//! What may make a side's answer wrong: policies that could not be read (or whose subject could
//! not be), namespace labels that are unknown, rules whose peers cannot be resolved, and
//! admin-tier or baseline-tier policies whose order Kubernetes leaves undefined.
//!
//! Invariant: only policies a side actually reaches are named; a side that a valid NetworkPolicy
//! rule allows stays allowed whatever else exists (NetworkPolicies are additive), so no
//! unreadable NetworkPolicy makes it uncertain.

use super::cilium::CiliumSide;
use super::tiers::{RuleMatch, SideCtx, Tier, TierRun, rule_match};
use super::trace::{CiliumOutcome, CiliumRuleTrace};
use super::trace::{Doubt, SideTrace, Uncertainty};
use crate::index::PodId;
use crate::policy::admin::{AdminPolicy, AdminTier};
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
                doubt: if m.unknown_field {
                    Doubt::FieldUnknown
                } else {
                    Doubt::Unreadable
                },
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
                doubt: Doubt::Unreadable,
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
                doubt: Doubt::Unreadable,
            });
        }
    }
}

/// Admin policies of any kind that could not be read, may select the subject, and would be
/// reached (see [`reached`]).
pub(super) fn unreadable_admin(cx: &SideCtx<'_>, trace: &mut SideTrace, subject: PodId, run: &TierRun) {
    for (i, reason) in cx.ix.unreadable_admin_selecting(subject, cx.dir) {
        let pol = &cx.ix.admin.policies[i];
        if reached(cx, pol, run) {
            trace.uncertain.push(Uncertainty {
                policy: pol.key(),
                reason,
                doubt: match pol.field_unknown(cx.dir) {
                    true => Doubt::FieldUnknown,
                    false => Doubt::Unreadable,
                },
            });
        }
    }
}

/// Whether the query would reach an unreadable policy: its tier was reached, and unless a policy
/// of the same kind with a lower or equal priority number settled the whole query there. A
/// policy whose tier is unknown is reached when either tier was.
fn reached(cx: &SideCtx<'_>, pol: &AdminPolicy, run: &TierRun) -> bool {
    let tier = match pol.tier {
        Some(AdminTier::Admin) => Tier::Admin,
        Some(AdminTier::Baseline) => Tier::Baseline,
        None => return run.reached(Tier::Admin) || run.reached(Tier::Baseline),
    };
    let Some(out) = run.outcome(tier) else { return false };
    let Some(settler) = out.settled_by.map(|i| &cx.ix.admin.policies[i]) else {
        return true;
    };
    match (pol.priority, settler.priority) {
        (Some(p), Some(s)) if pol.kind == settler.kind => p <= s,
        _ => true,
    }
}

/// Policies of the deciding policy's tier whose order against it Kubernetes leaves undefined (the
/// same kind and priority, or another kind: an AdminNetworkPolicy beside an Admin-tier
/// ClusterNetworkPolicy, the BaselineAdminNetworkPolicy beside Baseline-tier ones) and that would
/// decide the query otherwise.
pub(super) fn undefined_order(cx: &SideCtx<'_>, trace: &mut SideTrace, tier: &[usize], query: &ConnSet) {
    let ix = cx.ix;
    let hit = match tier.first().and_then(|&i| ix.admin.policies[i].tier) {
        Some(AdminTier::Admin) => trace.admin.clone(),
        Some(AdminTier::Baseline) => trace.baseline.clone(),
        None => None,
    };
    let Some(hit) = hit else { return };
    let Some(&deciding) = tier.iter().find(|&&i| {
        let p = &ix.admin.policies[i];
        p.kind == hit.kind && p.name == hit.policy
    }) else {
        return;
    };
    let decider = &ix.admin.policies[deciding];
    let mine = policy_decisions(cx, decider, query);
    for &other in tier.iter().filter(|&&o| o != deciding) {
        let o = &ix.admin.policies[other];
        if o.kind == decider.kind && o.priority != decider.priority {
            continue;
        }
        let theirs = policy_decisions(cx, o, query);
        if let Some(why) = conflict(cx, decider, &mine, o, &theirs) {
            trace.uncertain.push(Uncertainty {
                policy: o.key(),
                reason: why,
                doubt: Doubt::OrderUndefined,
            });
        }
    }
}

/// Why two policies of undefined order would decide some connection differently, if they would.
fn conflict(
    cx: &SideCtx<'_>,
    a: &AdminPolicy,
    mine: &[(ConnSet, usize, Action)],
    b: &AdminPolicy,
    theirs: &[(ConnSet, usize, Action)],
) -> Option<String> {
    let (r, x, r2, y) = mine.iter().find_map(|(c, r, x)| {
        theirs
            .iter()
            .find(|(c2, _, y)| y != x && !c.intersect(c2).is_empty())
            .map(|(_, r2, y)| (*r, *x, *r2, *y))
    })?;
    let why = if a.kind == b.kind {
        format!("share priority {}", a.priority.unwrap_or_default())
    } else {
        "are of two kinds that no API orders against each other".to_string()
    };
    Some(format!(
        "{} and {} {why}, and both match this traffic: {} by its rule spec.{d}[{r}], {} by rule spec.{d}[{r2}]; \
         Kubernetes leaves their order undefined (evaluated here by priority, kind, then name)",
        a.key(),
        b.key(),
        a.kind.action_word(x),
        b.kind.action_word(y),
        d = cx.dir.as_str(),
    ))
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

/// Puts what the Cilium rules decided into the side's trace, with what they leave undecided:
/// a deny or allow element whose peer is not decided offline and that could change the answer,
/// an allow that holds only through an element with an L7 part, a rule that may select.
pub(super) fn cilium_record(cx: &SideCtx<'_>, c: &CiliumSide, run: &TierRun, query: &ConnSet, trace: &mut SideTrace) {
    trace.cilium_rules = c.traces.clone();
    trace.cilium_isolates = c.isolating;
    if !run.reached(Tier::CiliumDeny) {
        return;
    }
    trace.cilium_denied = !c.deny.intersect(query).is_empty();
    let allowed = run.allowed();
    let mut doubt = |t: &CiliumRuleTrace, what: &str| {
        let pol = &cx.ix.cilium[t.policy];
        let field = &pol.rules[t.rule].section(t.section).unwrap_or_default()[t.index].field;
        let why = match &t.outcome {
            CiliumOutcome::Unknown(w) => w.clone(),
            _ => String::new(),
        };
        let doubt = match why.starts_with(super::cilium::UNREADABLE) {
            true => Doubt::Unreadable,
            false => Doubt::DataplaneDependent,
        };
        trace.uncertain.push(Uncertainty {
            policy: pol.key(),
            reason: format!("{} {field} {what}: {why}", pol.key()),
            doubt,
        });
    };
    let unknown = |t: &&CiliumRuleTrace| t.covers && matches!(t.outcome, CiliumOutcome::Unknown(_));
    if !c.deny_unknown.intersect(&allowed).is_empty() {
        for t in c.traces.iter().filter(|t| t.section.is_deny()).filter(unknown) {
            doubt(t, "may deny this traffic");
        }
    }
    let np = run.outcome(Tier::NetworkPolicy);
    let denied_in_np = np.is_some() && allowed.intersect(query).is_empty() && !trace.cilium_denied;
    if denied_in_np && !c.allow_unknown.intersect(query).is_empty() {
        for t in c.traces.iter().filter(|t| !t.section.is_deny()).filter(unknown) {
            doubt(t, "may allow this traffic");
        }
    }
    l7_doubt(cx, c, run, trace);
    for (policy, path) in &c.maybe {
        trace.uncertain.push(Uncertainty {
            policy: policy.clone(),
            reason: format!("{policy} {path}.endpointSelector reads a label not known here (the cluster name, a label source): it may select the subject"),
            doubt: Doubt::DataplaneDependent,
        });
    }
}

/// An allow on a port where an element with an L7 part matches the peer: the L4 part is decided,
/// and the L7 proxy may still refuse requests (language.rst, "Layer 7 Examples"). How Cilium
/// merges an L4-only allow of the same peer and port with the L7 rules is left to the proxy
/// (`pkg/policy/l4.go`), so any such element makes the allow undecided.
fn l7_doubt(cx: &SideCtx<'_>, c: &CiliumSide, run: &TierRun, trace: &mut SideTrace) {
    let Some(np) = run.outcome(Tier::NetworkPolicy) else {
        return;
    };
    if np.allowed.is_empty() {
        return;
    }
    for t in c.traces.iter().filter(|t| !t.section.is_deny() && t.applies()) {
        let pol = &cx.ix.cilium[t.policy];
        let pr = &pol.rules[t.rule].section(t.section).unwrap_or_default()[t.index];
        if let Some(l7) = &pr.l7 {
            trace.uncertain.push(Uncertainty {
                policy: pol.key(),
                reason: format!(
                    "{} {} allows this traffic at L4, with {l7}: the L7 proxy may still refuse requests",
                    pol.key(),
                    pr.field
                ),
                doubt: Doubt::DataplaneDependent,
            });
        }
    }
}
