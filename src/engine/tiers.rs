//! The tiers of one side and their order: how a side's connections are decided.
//!
//! A side is decided connection by connection (protocol x port) by ordered tiers. A tier sees the
//! connections the tiers before it passed or left undecided, decides some of them (allow or
//! deny), and passes the rest to the next tier; what no tier decides is allowed. A tier decides
//! in one of three ways ([`Rules`]):
//!
//! - first match: prioritised rules (policies in evaluation order, rules in order); the first
//!   rule that matches a connection applies its [`Action`]: Allow, Deny, or Pass to the next tier.
//!   AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy (either tier) are
//!   lowered into this kind.
//! - isolate-then-allow: NetworkPolicy, with Cilium's allow rules and default deny joined to it
//!   (Cilium enforces both as one allow-list). A pod that no policy selects passes everything on;
//!   once one selects it, what one of the rules allows is allowed and the rest is denied.
//! - deny-only: Cilium's deny rules. What one matches is denied; the rest passes on.
//! - Calico's tier walk (`engine::calico`), which takes the NetworkPolicy tier's place when the
//!   snapshot has Calico policies: Calico tiers in order, each a first match over the policies
//!   that apply to the subject (Kubernetes NetworkPolicies among them, in the `default` tier at
//!   order 1000, as Allow rules), ending in a deny. It is a kind of its own because a Calico
//!   tier's end-of-tier deny and its skipping depend on which policies *apply*, not on which
//!   rules matched, which neither kind above expresses; inside a tier it is first match.
//!
//! [`Tier::ORDER`] lists the tiers in evaluation order. A new policy dialect is a lowering into
//! prioritised rules plus its place in that list, not a new evaluator.
//!
//! Invariant: the tiers partition the connections of a query (each is decided by exactly one tier
//! or by the default allow), and one loop ([`run_tiers`]) serves both the explained evaluation of
//! one port and the connection sets of a connectivity map.

use super::calico::{KnpEntry, calico_walk};
use super::cilium::CiliumSide;
pub(super) use super::matchers::SideCtx;
use super::matchers::{admin_rule_matches, match_peer, spec_ports};
use super::trace::{AdminHit, CalicoStep, Doubt, RuleTrace, Uncertainty};
use crate::index::{PodId, PodInfo, PolicyId};
use crate::policy::admin::{AdminPolicy, AdminPort, AdminRule, AdminTier};
use crate::policy::{Action, ConnSet, Direction, Rule};

/// The tiers of a side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tier {
    /// AdminNetworkPolicy and `tier: Admin` ClusterNetworkPolicy (first match, by priority):
    /// before any NetworkPolicy.
    Admin,
    /// Cilium's `ingressDeny`/`egressDeny` rules: what one matches is denied, whatever allows
    /// it (language.rst, "Deny Policies"); the rest passes on. After the Admin tier: what an
    /// AdminNetworkPolicy decides on a Cilium cluster is kept as the engine decides it today.
    CiliumDeny,
    /// NetworkPolicy (isolate-then-allow), with Cilium's allow rules and default deny joined to
    /// it: Cilium enforces both as one allow-list.
    NetworkPolicy,
    /// `tier: Baseline` ClusterNetworkPolicy by priority, then the BaselineAdminNetworkPolicy
    /// (first match): what NetworkPolicy leaves, i.e. the connections of a pod that no
    /// NetworkPolicy isolates. A Pass here hands the connection to the default allow.
    Baseline,
}

impl Tier {
    /// The order in which a side's connections go through the tiers.
    pub(super) const ORDER: [Tier; 4] = [Tier::Admin, Tier::CiliumDeny, Tier::NetworkPolicy, Tier::Baseline];
}

/// How the rules of one tier decide the connections it sees.
pub(super) enum Rules<'a> {
    /// Admin policies (indices into `ix.admin.policies`) in evaluation order: the first matching
    /// rule decides each connection with its action.
    FirstMatch(&'a [usize]),
    /// The NetworkPolicies that isolate the subject; `traces`: their rules already evaluated
    /// against the peer (in policy then rule order), when the caller has them.
    Isolating {
        policies: &'a [PolicyId],
        traces: Option<&'a [RuleTrace]>,
        cilium: Option<&'a CiliumSide>,
    },
    /// Calico's tier walk for the subject (`engine::calico`): Calico tiers in order, each a
    /// first match over its policies that apply to the subject (the NetworkPolicies that isolate
    /// it among them, in the `default` tier), ending in a deny; a tier none of whose policies
    /// applies is skipped.
    Calico {
        subject: PodId,
        knp: &'a [PolicyId],
        traces: Option<&'a [RuleTrace]>,
    },
    /// Connections denied outright; the rest passes on.
    DenyOnly(Option<&'a ConnSet>),
}

/// The policies that select a side's subject, tier by tier.
pub(super) struct SidePolicies<'a> {
    /// The Admin tier's policies, in evaluation order.
    pub(super) admin: &'a [usize],
    /// NetworkPolicies that isolate the subject for the direction.
    pub(super) isolating: &'a [PolicyId],
    /// The Baseline tier's policies, in evaluation order.
    pub(super) baseline: &'a [usize],
    /// The isolating policies' rules, evaluated (`evaluate` has them; connection sets do not).
    pub(super) traces: Option<&'a [RuleTrace]>,
    /// The subject, when the snapshot has Calico policies: the NetworkPolicy tier is then
    /// Calico's tier walk.
    pub(super) calico: Option<PodId>,
    /// The Cilium rules that select the subject, evaluated against the peer.
    pub(super) cilium: Option<&'a CiliumSide>,
}

impl SidePolicies<'_> {
    /// The rules of a tier.
    pub(super) fn rules(&self, tier: Tier) -> Rules<'_> {
        match tier {
            Tier::Admin => Rules::FirstMatch(self.admin),
            Tier::CiliumDeny => Rules::DenyOnly(self.cilium.map(|c| &c.deny)),
            Tier::NetworkPolicy => match self.calico {
                Some(subject) => Rules::Calico {
                    subject,
                    knp: self.isolating,
                    traces: self.traces,
                },
                None => Rules::Isolating {
                    policies: self.isolating,
                    traces: self.traces,
                    cilium: self.cilium,
                },
            },
            Tier::Baseline => Rules::FirstMatch(self.baseline),
        }
    }
}

/// What one tier decided about the connections it saw.
#[derive(Debug, Default)]
pub(super) struct TierOutcome {
    pub(super) allowed: ConnSet,
    /// Passed by a Pass rule or matched by no rule: for the next tier.
    pub(super) passed: ConnSet,
    /// The first rule that decided (or passed) some of the connections (first-match tiers).
    pub(super) hit: Option<AdminHit>,
    /// The policy (index into `ix.admin.policies`) after which no connection was left undecided.
    pub(super) settled_by: Option<usize>,
    /// Calico's tier walk: its steps (the Calico tier kind only).
    pub(super) calico: Vec<CalicoStep>,
}

/// The tiers one side went through.
#[derive(Debug)]
pub(super) struct TierRun {
    /// The tiers that saw some connection, in evaluation order, with what each decided.
    pub(super) reached: Vec<(Tier, TierOutcome)>,
    /// What the last tier reached passed on: allowed by default.
    pub(super) unmatched: ConnSet,
}

impl TierRun {
    pub(super) fn outcome(&self, tier: Tier) -> Option<&TierOutcome> {
        self.reached.iter().find(|(t, _)| *t == tier).map(|(_, o)| o)
    }

    pub(super) fn reached(&self, tier: Tier) -> bool {
        self.outcome(tier).is_some()
    }

    /// The first rule of a tier that decided (or passed) some of the connections.
    pub(super) fn hit(&self, tier: Tier) -> Option<AdminHit> {
        self.outcome(tier).and_then(|o| o.hit.clone())
    }

    /// Every connection allowed, by the tier that decided it or by default.
    pub(super) fn allowed(&self) -> ConnSet {
        let mut out = self.unmatched.clone();
        for (_, o) in &self.reached {
            out.union_with(&o.allowed);
        }
        out
    }

    /// The connections allowed by the tiers after `tier`, or by default.
    pub(super) fn allowed_after(&self, tier: Tier) -> ConnSet {
        let mut out = self.unmatched.clone();
        for (_, o) in self.reached.iter().skip_while(|(t, _)| *t != tier).skip(1) {
            out.union_with(&o.allowed);
        }
        out
    }
}

/// Runs `query` through the tiers in order. A first-match rule whose peers may or may not match
/// (domain names) decides nothing; it is reported in `unknown`.
pub(super) fn run_tiers(
    cx: &SideCtx<'_>,
    policies: &SidePolicies<'_>,
    query: &ConnSet,
    unknown: &mut Vec<Uncertainty>,
) -> TierRun {
    let mut run = TierRun {
        reached: Vec::with_capacity(Tier::ORDER.len()),
        unmatched: query.clone(),
    };
    for tier in Tier::ORDER {
        if run.unmatched.is_empty() {
            break;
        }
        let out = match policies.rules(tier) {
            Rules::FirstMatch(pols) => first_match(cx, pols, &run.unmatched, unknown),
            Rules::Isolating {
                policies,
                traces,
                cilium,
            } => isolate_then_allow(cx, policies, traces, cilium, &run.unmatched),
            Rules::DenyOnly(deny) => TierOutcome {
                passed: deny.map_or_else(|| run.unmatched.clone(), |d| run.unmatched.subtract(d)),
                ..TierOutcome::default()
            },
            Rules::Calico { subject, knp, traces } => {
                let knp = knp_entries(cx, knp, traces);
                let c = calico_walk(cx, subject, &knp, &run.unmatched, unknown);
                TierOutcome {
                    allowed: c.allowed,
                    passed: c.passed,
                    calico: c.steps,
                    ..TierOutcome::default()
                }
            }
        };
        run.unmatched = out.passed.clone();
        run.reached.push((tier, out));
    }
    run
}

/// A first-match tier over `seen`: policies in evaluation order, rules in order; the first rule
/// that matches a connection decides it with its action.
fn first_match(cx: &SideCtx<'_>, policies: &[usize], seen: &ConnSet, unknown: &mut Vec<Uncertainty>) -> TierOutcome {
    let mut out = TierOutcome::default();
    let mut undecided = seen.clone();
    'policies: for &i in policies {
        let pol = &cx.ix.admin.policies[i];
        for rule in pol.rules(cx.dir) {
            let hit = match rule_match(cx, rule, &undecided) {
                RuleMatch::No => continue,
                RuleMatch::Unknown => {
                    unknown.push(unknown_peer(pol, rule, cx.dir));
                    continue;
                }
                RuleMatch::Yes(hit) => hit,
            };
            out.hit.get_or_insert_with(|| admin_hit(pol, rule));
            match rule.action {
                Action::Allow => out.allowed.union_with(&hit),
                Action::Pass => out.passed.union_with(&hit),
                Action::Deny => {}
            }
            undecided = undecided.subtract(&hit);
            if undecided.is_empty() {
                out.settled_by = Some(i);
                break 'policies;
            }
        }
    }
    out.passed.union_with(&undecided);
    out
}

/// The NetworkPolicy tier over `seen`: a pod that no policy (NetworkPolicy or Cilium rule)
/// isolates passes everything on; otherwise what a rule allows is allowed and the rest is denied.
fn isolate_then_allow(
    cx: &SideCtx<'_>,
    policies: &[PolicyId],
    traces: Option<&[RuleTrace]>,
    cilium: Option<&CiliumSide>,
    seen: &ConnSet,
) -> TierOutcome {
    if policies.is_empty() && !cilium.is_some_and(|c| c.isolating) {
        return TierOutcome {
            passed: seen.clone(),
            ..TierOutcome::default()
        };
    }
    let mut allows = match traces {
        Some(traces) => traced_np_conns(cx, traces),
        None => np_conns(cx, policies),
    };
    if let Some(c) = cilium {
        allows.union_with(&c.allow);
    }
    TierOutcome {
        allowed: seen.intersect(&allows),
        ..TierOutcome::default()
    }
}

/// The Kubernetes NetworkPolicies that isolate the subject, as Calico's walk sees them: what
/// each allows toward / from the peer, and its first rule that allows.
fn knp_entries(cx: &SideCtx<'_>, knp: &[PolicyId], traces: Option<&[RuleTrace]>) -> Vec<KnpEntry> {
    knp.iter()
        .map(|&pid| match traces {
            Some(t) => {
                let mine: Vec<RuleTrace> = t.iter().filter(|r| r.policy == pid).cloned().collect();
                KnpEntry {
                    policy: pid,
                    allows: traced_np_conns(cx, &mine),
                    first_rule: mine.iter().find(|r| r.allows()).map(|r| r.rule_index),
                }
            }
            None => KnpEntry {
                policy: pid,
                allows: np_conns(cx, &[pid]),
                first_rule: None,
            },
        })
        .collect()
}

/// How a first-match rule meets the undecided connections.
pub(super) enum RuleMatch {
    /// Its peers do not match, or its ports cover none of the connections.
    No,
    /// Its ports cover some of the connections, but whether its peers match is unknown.
    Unknown,
    /// The connections it decides.
    Yes(ConnSet),
}

pub(super) fn rule_match(cx: &SideCtx<'_>, rule: &AdminRule, undecided: &ConnSet) -> RuleMatch {
    let peers = admin_rule_matches(cx.ix, rule, &cx.peer);
    if peers == Some(false) {
        return RuleMatch::No;
    }
    let hit = admin_rule_conns(rule, cx.dst_pod).intersect(undecided);
    match peers {
        _ if hit.is_empty() => RuleMatch::No,
        None => RuleMatch::Unknown,
        Some(_) => RuleMatch::Yes(hit),
    }
}

/// The hit for one rule of an admin policy.
fn admin_hit(pol: &AdminPolicy, rule: &AdminRule) -> AdminHit {
    AdminHit {
        kind: pol.kind,
        tier: pol.tier.unwrap_or(AdminTier::Admin),
        policy: pol.name.clone(),
        priority: pol.priority,
        rule_index: rule.index,
        rule_name: rule.name.clone(),
        action: rule.action,
    }
}

/// What the NetworkPolicies that isolate a pod allow toward / from the peer: the connections of
/// every rule whose peers match.
pub(super) fn np_conns(cx: &SideCtx<'_>, isolating: &[PolicyId]) -> ConnSet {
    let mut out = ConnSet::none();
    for &pid in isolating {
        let pol = &cx.ix.policies[pid];
        for rule in pol.rules(cx.dir).unwrap_or_default() {
            let peers_match = match &rule.peers {
                None => true,
                Some(peers) => peers.iter().any(|p| match_peer(cx.ix, p, &cx.peer).is_ok()),
            };
            if peers_match {
                out.union_with(&rule_conns(rule, cx.dst_pod));
                if out.is_all() {
                    return out;
                }
            }
        }
    }
    out
}

/// [`np_conns`] from rules already evaluated against the peer: the connections of every rule
/// whose peers matched.
pub(super) fn traced_np_conns(cx: &SideCtx<'_>, traces: &[RuleTrace]) -> ConnSet {
    let mut out = ConnSet::none();
    for r in traces.iter().filter(|r| r.peer_failures.is_empty()) {
        if let Some(rule) = cx.ix.policies[r.policy].rule(cx.dir, r.rule_index) {
            out.union_with(&rule_conns(rule, cx.dst_pod));
        }
    }
    out
}

/// The connections a NetworkPolicy rule's ports admit toward `dst` (named ports resolved on it).
pub(super) fn rule_conns(rule: &Rule, dst: Option<&PodInfo>) -> ConnSet {
    let Some(ports) = &rule.ports else {
        return ConnSet::all();
    };
    let mut c = ConnSet::none();
    for spec in ports {
        if let Some((lo, hi)) = spec_ports(spec, dst) {
            c.add(spec.protocol, lo, hi);
        }
    }
    c
}

/// The connections an admin rule's ports cover toward `dst` (named ports resolved on it, whatever
/// their protocol; an address declares no port).
pub(super) fn admin_rule_conns(rule: &AdminRule, dst: Option<&PodInfo>) -> ConnSet {
    let Some(ports) = &rule.ports else {
        return ConnSet::all();
    };
    let mut c = ConnSet::none();
    for p in ports {
        match p {
            AdminPort::Number { protocol, port } => c.add(*protocol, *port, *port),
            AdminPort::Range { protocol, start, end } => c.add(*protocol, *start, *end),
            AdminPort::Named(name) => {
                for cp in dst.into_iter().flat_map(|d| &d.ports) {
                    if cp.name.as_deref() == Some(name.as_str()) {
                        c.add(cp.protocol, cp.port, cp.port);
                    }
                }
            }
        }
    }
    c
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
            pol.kind.action_word(rule.action).to_ascii_lowercase()
        ),
        doubt: Doubt::Unresolved,
    }
}
