//! The tiers of one side, in evaluation order.

use super::conns::{admin_rule_conns, rule_conns};
use super::matchers::{PeerView, admin_rule_matches, endpoint_pod, evaluate_rule};
use super::trace::{AdminHit, Endpoint, Flow, RuleTrace, SideTrace, Uncertainty};
use crate::index::{ClusterIndex, PodId, PodInfo};
use crate::policy::admin::{AdminAction, AdminKind, AdminPolicy, AdminRule};
use crate::policy::{ConnSet, Direction, NamespaceScope, Peer, Rule};

pub(super) fn evaluate_side(ix: &ClusterIndex, flow: Flow, dir: Direction) -> SideTrace {
    let (subject, peer) = match dir {
        Direction::Egress => (flow.src, flow.dst),
        Direction::Ingress => (flow.dst, flow.src),
    };
    let mut trace = SideTrace {
        direction: dir,
        subject: None,
        not_applicable: None,
        isolating: Vec::new(),
        rules: Vec::new(),
        admin: None,
        baseline: None,
        allowed: true,
        uncertain: Vec::new(),
    };
    let subject_id = match subject {
        Endpoint::Ip(_) => {
            trace.not_applicable = Some(match dir {
                Direction::Egress => {
                    "the source is outside the cluster's pods: no NetworkPolicy restricts its egress".into()
                }
                Direction::Ingress => {
                    "the destination is outside the cluster's pods: no NetworkPolicy restricts its ingress".into()
                }
            });
            return trace;
        }
        Endpoint::Pod(id) => id,
    };
    trace.subject = Some(subject_id);
    let subject_pod = ix.pod(subject_id);
    if subject_pod.host_network {
        trace.not_applicable = Some(format!(
            "{} uses the host network: NetworkPolicy neither selects nor restricts it",
            subject_pod.key()
        ));
        return trace;
    }
    trace.isolating = ix.isolating_policies(subject_id, dir);
    let peer_view = PeerView::of(ix, peer);
    let dst_pod = endpoint_pod(ix, flow.dst);
    for &pid in &trace.isolating {
        let pol = &ix.policies[pid];
        for rule in pol.rules(dir).unwrap_or_default() {
            trace
                .rules
                .push(evaluate_rule(ix, pid, rule, &peer_view, dst_pod, flow));
        }
    }
    let query = ConnSet::single(flow.protocol, flow.port);
    let anps = if ix.admin.is_empty() {
        Vec::new()
    } else {
        ix.admin_selecting(subject_id, dir)
    };
    let mut unknown = Vec::new();
    let first = admin_tier(ix, &anps, dir, &peer_view, dst_pod, &query, &mut unknown);
    trace.admin = first.hit.clone();
    // The NetworkPolicy tier sees what the first tier passed or left.
    let np_reached = !first.down.is_empty();
    let rest_allowed = if !np_reached {
        false
    } else if trace.isolated() {
        if first.down == query {
            trace.rules.iter().any(RuleTrace::allows)
        } else {
            let mut np = ConnSet::none();
            for r in trace.rules.iter().filter(|r| r.peer_failures.is_empty()) {
                if let Some(rule) = ix.policies[r.policy].rule(dir, r.rule_index) {
                    np.union_with(&rule_conns(rule, dst_pod));
                }
            }
            !first.down.intersect(&np).is_empty()
        }
    } else {
        let banp = if ix.admin.is_empty() {
            None
        } else {
            ix.baseline_selecting(subject_id, dir)
        };
        let (allowed, hit) = baseline_tier(ix, banp, dir, &peer_view, dst_pod, &first.down, &mut unknown);
        trace.baseline = hit;
        !allowed.is_empty()
    };
    trace.allowed = !first.allowed.is_empty() || rest_allowed;

    // What could make this answer wrong. An isolated side that a valid rule allows stays
    // allowed whatever other NetworkPolicy exists (policies are additive); anything else may change.
    let certainly_allowed = trace.isolated() && rest_allowed;
    if np_reached && !certainly_allowed {
        for (policy, reason) in ix.possibly_selecting_unreadable(subject_id, dir) {
            trace.uncertain.push(Uncertainty { policy, reason });
        }
    }
    // The peer's namespace labels could not be read: a namespaceSelector may decide either way,
    // unless a rule that does not look at namespace labels allows the traffic anyway.
    let peer_ns = endpoint_pod(ix, peer).map(|p| p.namespace.as_str());
    if np_reached
        && first.allowed.is_empty()
        && trace.isolated()
        && let Some(ns) = peer_ns.filter(|ns| ix.namespaces_labels_unknown.contains(*ns))
    {
        let reads_labels = |rule: &Rule| {
            rule.peers.iter().flatten().any(
                |p| matches!(p, Peer::Pods { namespaces: NamespaceScope::Matching(sel), .. } if !sel.is_everything()),
            )
        };
        let allowed_regardless = trace.rules.iter().filter(|r| r.allows()).any(|r| {
            ix.policies[r.policy]
                .rule(dir, r.rule_index)
                .is_some_and(|rule| !reads_labels(rule))
        });
        if !allowed_regardless {
            for &pid in &trace.isolating {
                let pol = &ix.policies[pid];
                if pol.rules(dir).unwrap_or_default().iter().any(reads_labels) {
                    trace.uncertain.push(Uncertainty {
                        policy: pol.key(),
                        reason: format!(
                            "the Namespace object of {ns} could not be read, so its labels are unknown: a namespaceSelector of {} may match it or not",
                            pol.key()
                        ),
                    });
                }
            }
        }
    }
    if np_reached && !trace.allowed {
        for &pid in &trace.isolating {
            if ix.policies[pid].has_rule_issues(dir) {
                trace.uncertain.push(Uncertainty {
                    policy: ix.policies[pid].key(),
                    reason: format!(
                        "NetworkPolicy {} has {} rules that could not be read; one of them may allow this traffic",
                        ix.policies[pid].key(),
                        dir.as_str()
                    ),
                });
            }
        }
    }
    if !ix.admin.is_empty() {
        admin_uncertainty(
            ix, &mut trace, subject_id, &anps, &peer_view, dst_pod, &query, &first, np_reached,
        );
    }
    trace.uncertain.extend(unknown);
    trace
}

/// What the AdminNetworkPolicy tier decided for a set of connections.
pub(super) struct FirstTier {
    /// Allowed by an Allow rule.
    pub(super) allowed: ConnSet,
    /// Passed by a Pass rule or matched by no rule: for the next tiers.
    pub(super) down: ConnSet,
    /// The first rule that decided (or passed) some of the connections.
    pub(super) hit: Option<AdminHit>,
    /// The priority of the policy after which no connection was left undecided.
    pub(super) settled_at: Option<i32>,
}

/// The AdminNetworkPolicy tier over `query`: policies `anps` in evaluation order, the first
/// matching rule decides each connection.
pub(super) fn admin_tier(
    ix: &ClusterIndex,
    anps: &[usize],
    dir: Direction,
    pv: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    query: &ConnSet,
    unknown: &mut Vec<Uncertainty>,
) -> FirstTier {
    let mut out = FirstTier {
        allowed: ConnSet::none(),
        down: ConnSet::none(),
        hit: None,
        settled_at: None,
    };
    let mut undecided = query.clone();
    'policies: for &i in anps {
        let pol = &ix.admin.policies[i];
        for rule in pol.rules(dir) {
            let matched = admin_rule_matches(ix, rule, pv);
            if matched == Some(false) {
                continue;
            }
            let hit = admin_rule_conns(rule, dst_pod).intersect(&undecided);
            if hit.is_empty() {
                continue;
            }
            if matched.is_none() {
                unknown.push(unknown_peer(pol, rule, dir));
                continue;
            }
            if out.hit.is_none() {
                out.hit = Some(admin_hit(pol, rule));
            }
            match rule.action {
                AdminAction::Allow => out.allowed.union_with(&hit),
                AdminAction::Pass => out.down.union_with(&hit),
                AdminAction::Deny => {}
            }
            undecided = undecided.subtract(&hit);
            if undecided.is_empty() {
                out.settled_at = pol.priority;
                break 'policies;
            }
        }
    }
    out.down.union_with(&undecided);
    out
}

/// The baseline tier over `remaining`: the first matching rule decides each connection, and
/// what no rule matches is allowed. Returns the allowed part and the first deciding rule.
pub(super) fn baseline_tier(
    ix: &ClusterIndex,
    banp: Option<usize>,
    dir: Direction,
    pv: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    remaining: &ConnSet,
    unknown: &mut Vec<Uncertainty>,
) -> (ConnSet, Option<AdminHit>) {
    let mut undecided = remaining.clone();
    let mut allowed = ConnSet::none();
    let mut first = None;
    if let Some(b) = banp {
        let pol = &ix.admin.policies[b];
        for rule in pol.rules(dir) {
            let matched = admin_rule_matches(ix, rule, pv);
            if matched == Some(false) {
                continue;
            }
            let hit = admin_rule_conns(rule, dst_pod).intersect(&undecided);
            if hit.is_empty() {
                continue;
            }
            if matched.is_none() {
                unknown.push(unknown_peer(pol, rule, dir));
                continue;
            }
            if first.is_none() {
                first = Some(admin_hit(pol, rule));
            }
            if rule.action == AdminAction::Allow {
                allowed.union_with(&hit);
            }
            undecided = undecided.subtract(&hit);
            if undecided.is_empty() {
                break;
            }
        }
    }
    allowed.union_with(&undecided);
    (allowed, first)
}

/// One policy's own first-match decisions over `query`, as if it were alone in its tier.
fn policy_decisions(
    ix: &ClusterIndex,
    pol: &AdminPolicy,
    dir: Direction,
    pv: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    query: &ConnSet,
) -> Vec<(ConnSet, usize, AdminAction)> {
    let mut undecided = query.clone();
    let mut out = Vec::new();
    for rule in pol.rules(dir) {
        if admin_rule_matches(ix, rule, pv) != Some(true) {
            continue;
        }
        let hit = admin_rule_conns(rule, dst_pod).intersect(&undecided);
        if hit.is_empty() {
            continue;
        }
        undecided = undecided.subtract(&hit);
        out.push((hit, rule.index, rule.action));
        if undecided.is_empty() {
            break;
        }
    }
    out
}

/// Admin policies that may make a side's answer wrong: unreadable ones that may select the
/// subject and are reached, and AdminNetworkPolicies sharing the deciding policy's priority that
/// would decide the flow otherwise.
#[allow(clippy::too_many_arguments)]
fn admin_uncertainty(
    ix: &ClusterIndex,
    trace: &mut SideTrace,
    subject: PodId,
    anps: &[usize],
    pv: &PeerView<'_>,
    dst_pod: Option<&PodInfo>,
    query: &ConnSet,
    first: &FirstTier,
    np_reached: bool,
) {
    let dir = trace.direction;
    for (i, reason) in ix.unreadable_admin_selecting(subject, dir) {
        let pol = &ix.admin.policies[i];
        let reached = match pol.kind {
            // An unreadable AdminNetworkPolicy is evaluated before the policy that settled the
            // whole flow unless its (readable) priority is higher.
            AdminKind::Admin => match (pol.priority, first.settled_at) {
                (Some(p), Some(settled)) => p <= settled,
                _ => true,
            },
            AdminKind::Baseline => np_reached && !trace.isolated(),
        };
        if reached {
            trace.uncertain.push(Uncertainty {
                policy: pol.key(),
                reason,
            });
        }
    }
    // Same priority: their order is undefined. Check the deciding policy against its peers.
    let Some(hit) = &first.hit else { return };
    let Some(&deciding) = anps.iter().find(|&&i| ix.admin.policies[i].name == hit.policy) else {
        return;
    };
    let decider = &ix.admin.policies[deciding];
    let mine = policy_decisions(ix, decider, dir, pv, dst_pod, query);
    for &other in anps {
        let o = &ix.admin.policies[other];
        if other == deciding || o.priority != decider.priority {
            continue;
        }
        let theirs = policy_decisions(ix, o, dir, pv, dst_pod, query);
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
                    d = dir.as_str(),
                ),
            });
        }
    }
}

/// An Uncertainty for a rule whose peers may or may not match (domain names).
fn unknown_peer(pol: &AdminPolicy, rule: &AdminRule, dir: Direction) -> Uncertainty {
    Uncertainty {
        policy: pol.key(),
        reason: format!(
            "rule spec.{}[{}] ({:?}) of {} names domain names, which are not resolved here; it may {} this traffic",
            dir.as_str(),
            rule.index,
            rule.name,
            pol.key(),
            rule.action.as_str().to_ascii_lowercase()
        ),
    }
}

/// The hit for one rule of an admin policy.
fn admin_hit(pol: &AdminPolicy, rule: &AdminRule) -> AdminHit {
    AdminHit {
        kind: pol.kind,
        policy: pol.name.clone(),
        priority: pol.priority,
        rule_index: rule.index,
        rule_name: rule.name.clone(),
        action: rule.action,
    }
}
