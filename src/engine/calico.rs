//! Calico's tier walk, as one tier kind of the engine ([`super::tiers::Rules::Calico`]): it takes
//! the place of the NetworkPolicy tier when the snapshot has Calico policies, because Kubernetes
//! NetworkPolicies are then Calico policies of the `default` tier (libcalico-go
//! `conversion.K8sNetworkPolicyToCalico`: name `knp.default.<name>`, order 1000, Allow rules)
//! and Calico policies of the same tier can come before or after them.
//!
//! Why a tier kind and not first-match rules: a Calico tier ends in a deny for an endpoint that
//! one of its policies applies to (docs "Tier": `defaultAction`, Deny unless set to Pass), and
//! skipping a tier depends on whether a policy applies, not on whether a rule matched. The
//! first-match kind passes what no rule matched; the isolate-then-allow kind has no order. The
//! walk (docs "Tier", felix `calc/policy_sorter.go`, `rules/static.go` end-of-tier drop):
//!
//! - tiers in order; a tier none of whose policies applies to the endpoint (for the direction)
//!   is skipped;
//! - in a tier, policies in order, rules in order: Allow and Deny decide, Log goes on, Pass
//!   leaves the tier (the connection goes to the next tier that applies);
//! - what no rule decided at the end of a tier that applies is denied (passed on with
//!   `defaultAction: Pass`);
//! - what leaves the last tier goes on to the engine's next tier (Baseline), then to the default
//!   allow, which is Calico's namespace profile (`kns.<namespace>`, allow all).
//!
//! The engine's Admin tier stays before this walk and its Baseline tier after it: Calico puts
//! the AdminNetworkPolicy / `kube-admin` tier at order 1,000 and the Baseline ones at
//! 10,000,000 (`projectcalico/api` `tier.go`), so a user tier ordered below 1,000 (or above
//! 10,000,000) would really run before the Admin (after the Baseline) tier; we do not model
//! that: where both apply to the endpoint, [`admin_order_doubt`] makes the side uncertain.

use std::net::IpAddr;

use super::matchers::{PeerView, SideCtx};
use super::trace::{CalicoStep, CalicoStepAction, Doubt, Uncertainty};
use crate::index::{ClusterIndex, PodId, PodInfo, PolicyId};
use crate::policy::extended::{
    CalicoAction, CalicoEntity, CalicoLabels, CalicoPolicy, CalicoPort, CalicoProto, CalicoRule, CalicoSaMatch,
    KNP_ORDER, PodRef,
};
use crate::policy::{ConnSet, Direction, Labels};

/// A Kubernetes NetworkPolicy that isolates the subject, as the walk sees it.
pub(super) struct KnpEntry {
    pub(super) policy: PolicyId,
    /// What its rules allow toward / from the peer.
    pub(super) allows: ConnSet,
    /// Its first rule that allows (for the trace), when known.
    pub(super) first_rule: Option<usize>,
}

/// What the walk decided about the connections it saw.
#[derive(Debug, Default)]
pub(super) struct CalicoOutcome {
    pub(super) allowed: ConnSet,
    /// What left the last tier that applies (Pass, or no tier applied).
    pub(super) passed: ConnSet,
    pub(super) steps: Vec<CalicoStep>,
}

/// One policy of a tier that applies to the subject.
enum Entry<'a> {
    Calico(&'a CalicoPolicy),
    /// A Kubernetes NetworkPolicy, as `knp.default.<name>` at order 1000 of the default tier.
    Knp(&'a KnpEntry),
}

/// The Calico walk over `seen` for the subject `pod`; `knp`: the NetworkPolicies that isolate it.
pub(super) fn calico_walk(
    cx: &SideCtx<'_>,
    pod: PodId,
    knp: &[KnpEntry],
    seen: &ConnSet,
    unknown: &mut Vec<Uncertainty>,
) -> CalicoOutcome {
    let ix = cx.ix;
    let ns_labels = ix.namespace_labels(&ix.pod(pod).namespace);
    let subject = ix.pod(pod);
    let pod_ref = subject.pod_ref(&ns_labels);
    let mut out = CalicoOutcome::default();
    let mut incoming = seen.clone();
    for tier in &ix.calico.tiers {
        if incoming.is_empty() {
            break;
        }
        let entries = tier_entries(cx, &tier.name, &pod_ref, knp, unknown);
        if entries.is_empty() {
            continue;
        }
        if tier.name != "default" && !ix.calico.unreadable_tiers.is_empty() {
            unknown.push(Uncertainty {
                policy: format!("Tier {}", tier.name),
                reason: format!(
                    "Calico tier {} applies, but the Tier objects could not be read ({}): its place among the tiers is unknown",
                    tier.name,
                    ix.calico.unreadable_tiers.join(", ")
                ),
                doubt: Doubt::Unreadable,
            });
        }
        let mut w = TierWalk {
            cx,
            subject,
            tier: &tier.name,
            undecided: incoming.clone(),
            passed: ConnSet::none(),
            out: &mut out,
        };
        for e in &entries {
            if w.undecided.is_empty() {
                break;
            }
            match e {
                Entry::Calico(p) => w.policy(p, unknown),
                Entry::Knp(k) => w.knp(k),
            }
        }
        let rest = std::mem::take(&mut w.undecided);
        let mut passed = std::mem::take(&mut w.passed);
        if !rest.is_empty() {
            let action = if tier.default_pass {
                passed.union_with(&rest);
                CalicoStepAction::EndPass
            } else {
                CalicoStepAction::EndDeny
            };
            out.steps.push(CalicoStep {
                tier: tier.name.clone(),
                policy: None,
                rule_index: None,
                rule: None,
                action,
            });
        }
        incoming = passed;
    }
    out.passed = incoming;
    out
}

/// The policies of a tier that apply to the subject for the direction, in order. A Calico policy
/// that may apply (a selector we cannot evaluate) is reported and left out.
fn tier_entries<'a>(
    cx: &SideCtx<'a>,
    tier: &str,
    pod: &PodRef,
    knp: &'a [KnpEntry],
    unknown: &mut Vec<Uncertainty>,
) -> Vec<Entry<'a>> {
    let ix = cx.ix;
    let mut keyed: Vec<((bool, f64, String), Entry<'a>)> = Vec::new();
    for p in ix
        .calico
        .policies
        .iter()
        .filter(|p| p.tier == tier && p.rules(cx.dir).is_some())
    {
        if !p.problems.is_empty() {
            continue;
        }
        let ns_known = !ix.namespaces_labels_unknown.contains(pod.namespace);
        match p.applies(pod, ns_known) {
            Some(false) => continue,
            Some(true) => keyed.push((
                (p.order.is_none(), p.order.unwrap_or(0.0), p.name.clone()),
                Entry::Calico(p),
            )),
            None => unknown.push(Uncertainty {
                policy: p.key.clone(),
                reason: format!(
                    "{} may apply to the pod: one of its selectors cannot be evaluated here",
                    p.key
                ),
                doubt: Doubt::Unreadable,
            }),
        }
    }
    if tier == "default" {
        for k in knp {
            let name = format!("knp.default.{}", ix.policies[k.policy].name);
            keyed.push(((false, KNP_ORDER, name), Entry::Knp(k)));
        }
    }
    keyed.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    keyed.into_iter().map(|(_, e)| e).collect()
}

/// One tier being walked.
struct TierWalk<'a, 'o> {
    cx: &'a SideCtx<'a>,
    subject: &'a PodInfo,
    tier: &'a str,
    undecided: ConnSet,
    /// Passed by a Pass rule: for the next tier.
    passed: ConnSet,
    out: &'o mut CalicoOutcome,
}

impl TierWalk<'_, '_> {
    fn step(&mut self, policy: String, index: usize, rule: String, action: CalicoStepAction) {
        self.out.steps.push(CalicoStep {
            tier: self.tier.to_string(),
            policy: Some(policy),
            rule_index: Some(index),
            rule: Some(rule),
            action,
        });
    }

    fn policy(&mut self, p: &CalicoPolicy, unknown: &mut Vec<Uncertainty>) {
        for rule in p.rules(self.cx.dir).unwrap_or_default() {
            let hit = match rule_match(self.cx, self.subject, p, rule) {
                Ok(conns) => conns.intersect(&self.undecided),
                Err(why) => {
                    if !rule_conns(rule, self.cx)
                        .unwrap_or_else(|_| ConnSet::all())
                        .intersect(&self.undecided)
                        .is_empty()
                    {
                        unknown.push(unknown_rule(p, rule, self.cx.dir, &why));
                    }
                    continue;
                }
            };
            if hit.is_empty() {
                continue;
            }
            let action = match rule.action {
                CalicoAction::Allow => CalicoStepAction::Allow,
                CalicoAction::Deny => CalicoStepAction::Deny,
                CalicoAction::Log => CalicoStepAction::Log,
                CalicoAction::Pass => CalicoStepAction::Pass,
            };
            self.step(p.key.clone(), rule.index, rule.quoted.clone(), action);
            match rule.action {
                CalicoAction::Log => continue,
                CalicoAction::Allow => self.out.allowed.union_with(&hit),
                CalicoAction::Pass => self.passed.union_with(&hit),
                CalicoAction::Deny => {}
            }
            self.undecided = self.undecided.subtract(&hit);
            if self.undecided.is_empty() {
                return;
            }
        }
    }

    /// A Kubernetes NetworkPolicy in the default tier: its rules are Allow rules.
    fn knp(&mut self, k: &KnpEntry) {
        let ix = self.cx.ix;
        let (pid, first) = (k.policy, k.first_rule);
        let hit = k.allows.intersect(&self.undecided);
        if hit.is_empty() {
            return;
        }
        let pol = &ix.policies[pid];
        let index = first.unwrap_or(0);
        let quoted = pol
            .rule(self.cx.dir, index)
            .map(|r| r.quote(self.cx.dir))
            .unwrap_or_default();
        let key = format!("NetworkPolicy {}/knp.default.{}", pol.namespace, pol.name);
        self.step(key, index, quoted, CalicoStepAction::Allow);
        self.out.allowed.union_with(&hit);
        self.undecided = self.undecided.subtract(&hit);
    }
}

fn unknown_rule(p: &CalicoPolicy, rule: &CalicoRule, dir: Direction, why: &str) -> Uncertainty {
    Uncertainty {
        policy: p.key.clone(),
        reason: format!(
            "rule spec.{}[{}] ({}) of {} may match this traffic: {why}; it would {}",
            dir.as_str(),
            rule.index,
            rule.action.as_str(),
            p.key,
            rule.action.as_str().to_ascii_lowercase()
        ),
        doubt: Doubt::Unreadable,
    }
}

/// An end of the flow as an entity rule sees it.
enum Ep<'a> {
    /// A Calico workload endpoint (a pod not on the host network), with its namespace's labels.
    Pod(&'a PodInfo, Labels),
    /// An address (external, a node, a hostNetwork pod).
    Addr(Vec<IpAddr>),
}

fn peer_ep<'a>(ix: &ClusterIndex, peer: &PeerView<'a>) -> Ep<'a> {
    match peer.pod() {
        Some(p) => Ep::Pod(p, ix.namespace_labels(&p.namespace)),
        None => Ep::Addr(peer.ips().collect()),
    }
}

/// The connections a rule matches for the side, or why that cannot be decided here.
fn rule_match(cx: &SideCtx<'_>, subject: &PodInfo, p: &CalicoPolicy, rule: &CalicoRule) -> Result<ConnSet, String> {
    let conns = rule_conns(rule, cx)?;
    if conns.is_empty() {
        return Ok(conns);
    }
    let me = Ep::Pod(subject, cx.ix.namespace_labels(&subject.namespace));
    let peer = peer_ep(cx.ix, &cx.peer);
    let (src, dst) = match cx.dir {
        Direction::Ingress => (&peer, &me),
        Direction::Egress => (&me, &peer),
    };
    let ns = p.namespace.as_deref();
    let a = entity_match(cx, &rule.source, src, ns);
    let b = entity_match(cx, &rule.destination, dst, ns);
    match (a, b) {
        (Ok(false), _) | (_, Ok(false)) => Ok(ConnSet::none()),
        (Err(e), _) | (_, Err(e)) => Err(e),
        _ if !rule.problems.is_empty() => Err(rule.problems.join("; ")),
        _ => Ok(conns),
    }
}

/// Protocol, `notProtocol`, destination `ports`/`notPorts` (named ports resolved on the
/// destination pod). Source ports are ephemeral: a rule that names them is not decided here.
fn rule_conns(rule: &CalicoRule, cx: &SideCtx<'_>) -> Result<ConnSet, String> {
    let mut c = match rule.protocol {
        None => ConnSet::all(),
        Some(CalicoProto::Other) => return Ok(ConnSet::none()),
        Some(CalicoProto::Known(p)) => {
            let mut c = ConnSet::none();
            c.add_protocol(p);
            c
        }
    };
    if let Some(CalicoProto::Known(p)) = rule.not_protocol {
        let mut x = ConnSet::none();
        x.add_protocol(p);
        c = c.subtract(&x);
    }
    let d = &rule.destination;
    if let Some(ports) = &d.ports {
        c = c.intersect(&port_set(ports, cx.dst_pod));
    }
    if !d.not_ports.is_empty() {
        c = c.subtract(&port_set(&d.not_ports, cx.dst_pod));
    }
    if rule.source.ports.is_some() || !rule.source.not_ports.is_empty() {
        return Err("source.ports name the client's source port, which is not known here".into());
    }
    Ok(c)
}

fn port_set(ports: &[CalicoPort], dst: Option<&PodInfo>) -> ConnSet {
    let mut c = ConnSet::none();
    for p in ports {
        match p {
            CalicoPort::Range(lo, hi) => {
                for proto in crate::policy::Protocol::ALL {
                    c.add(proto, *lo, *hi);
                }
            }
            CalicoPort::Named(name) => {
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

/// Whether an entity rule matches an end: every field present must (docs "Entity rule").
fn entity_match(cx: &SideCtx<'_>, e: &CalicoEntity, ep: &Ep<'_>, policy_ns: Option<&str>) -> Result<bool, String> {
    let ips: Vec<IpAddr> = match ep {
        Ep::Pod(p, _) => p.ips.clone(),
        Ep::Addr(ips) => ips.clone(),
    };
    if !e.nets.is_empty() || !e.not_nets.is_empty() {
        if ips.is_empty() {
            return Err("the address of the other end is not known here (nets)".into());
        }
        if !e.nets.is_empty() && !ips.iter().any(|ip| e.nets.iter().any(|n| n.contains(ip))) {
            return Ok(false);
        }
        if ips.iter().any(|ip| e.not_nets.iter().any(|n| n.contains(ip))) {
            return Ok(false);
        }
    }
    let needs_endpoint =
        e.selector.is_some() || e.namespace_selector.is_some() || e.service_accounts.is_some() || e.service.is_some();
    let (pod, ns_labels) = match ep {
        Ep::Pod(p, l) => (*p, l),
        Ep::Addr(_) if needs_endpoint && cx.ix.calico.network_sets => {
            return Err(
                "a NetworkSet, GlobalNetworkSet or HostEndpoint may give the address labels (not evaluated)".into(),
            );
        }
        Ep::Addr(_) if needs_endpoint => return Ok(false),
        // notSelector on an address: no labels, nothing to exclude.
        Ep::Addr(_) => return Ok(true),
    };
    let pod_ref = pod.pod_ref(ns_labels);
    let ns_known = !cx.ix.namespaces_labels_unknown.contains(&pod.namespace);
    let view = match ns_known {
        true => CalicoLabels::pod(&pod_ref),
        false => CalicoLabels::pod(&pod_ref).namespace_unknown(),
    };
    // A namespaced policy's selectors without a namespaceSelector stay in its namespace.
    let scoped = e.selector.is_some() || e.service_accounts.is_some();
    match &e.namespace_selector {
        Some(sel) => {
            let ns_view = match ns_known {
                true => CalicoLabels::namespace(&pod.namespace, ns_labels),
                false => CalicoLabels::unreadable_namespace(&pod.namespace),
            };
            match sel.eval(&ns_view) {
                Some(true) => {}
                Some(false) => return Ok(false),
                None if !ns_known => {
                    return Err(format!(
                        "namespaceSelector {sel}: the labels of namespace {} could not be read",
                        pod.namespace
                    ));
                }
                None => return Err(format!("namespaceSelector {sel} cannot be evaluated here")),
            }
        }
        None if scoped && policy_ns.is_some_and(|ns| ns != pod.namespace) => return Ok(false),
        None => {}
    }
    for (sel, want) in [(&e.selector, true), (&e.not_selector, false)] {
        if let Some(sel) = sel {
            match sel.eval(&view) {
                Some(v) if v != want => return Ok(false),
                Some(_) => {}
                None => return Err(format!("selector {sel} cannot be evaluated here")),
            }
        }
    }
    if let Some(sa) = &e.service_accounts
        && !service_account_match(sa, pod)?
    {
        return Ok(false);
    }
    if let Some((name, ns)) = &e.service
        && !service_match(cx, name, ns, pod)?
    {
        return Ok(false);
    }
    Ok(true)
}

/// `serviceAccounts`: by names (the pod's `serviceAccountName`) and a selector on the account,
/// of which only `projectcalico.org/name` is known here.
fn service_account_match(sa: &CalicoSaMatch, pod: &PodInfo) -> Result<bool, String> {
    let Some(name) = pod.service_account.as_deref() else {
        return Err(format!(
            "serviceAccounts: the service account of {} is not known here",
            pod.key()
        ));
    };
    if !sa.names.is_empty() && !sa.names.iter().any(|n| n == name) {
        return Ok(false);
    }
    match sa
        .selector
        .as_ref()
        .map(|sel| (sel, sel.eval(&CalicoLabels::service_account(name))))
    {
        None | Some((_, Some(true))) => Ok(true),
        Some((_, Some(false))) => Ok(false),
        Some((sel, None)) => Err(format!(
            "serviceAccounts.selector {sel} reads service account labels, not known here"
        )),
    }
}

/// `services`: the pod backs the Service (same namespace, the Service's selector matches).
fn service_match(cx: &SideCtx<'_>, name: &str, ns: &str, pod: &PodInfo) -> Result<bool, String> {
    let svc = cx.ix.services.iter().find(|s| s.name == name && s.namespace == ns);
    let Some(svc) = svc else {
        return Err(format!("services: Service {ns}/{name} is not in the snapshot"));
    };
    Ok(pod.namespace == ns
        && svc
            .selector
            .as_ref()
            .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| pod.labels.get(k) == Some(v))))
}

/// Calico orders the Kubernetes admin tiers among its own (Admin 1,000, Baseline 10,000,000:
/// `projectcalico/api` `tier.go`); the engine keeps its Admin tier first and its Baseline tier
/// last. When a policy of a Calico tier on the other side of one of them applies to the subject
/// beside an admin policy of that tier, the order matters and is not modelled: an uncertainty.
pub(super) fn admin_order_doubt(cx: &SideCtx<'_>, pod: PodId, admin: bool, baseline: bool) -> Option<Uncertainty> {
    const ADMIN: f64 = 1_000.0;
    const BASELINE: f64 = 10_000_000.0;
    if !admin && !baseline {
        return None;
    }
    let ix = cx.ix;
    let subject = ix.pod(pod);
    let ns_labels = ix.namespace_labels(&subject.namespace);
    let pod_ref = subject.pod_ref(&ns_labels);
    let ns_known = !ix.namespaces_labels_unknown.contains(&subject.namespace);
    let tier =
        ix.calico.tiers.iter().find(|t| {
            let before_admin = admin && t.order.is_some_and(|o| o < ADMIN);
            let after_baseline = baseline && t.order.is_none_or(|o| o > BASELINE);
            (before_admin || after_baseline)
                && ix.calico.policies.iter().any(|p| {
                    p.tier == t.name && p.rules(cx.dir).is_some() && p.applies(&pod_ref, ns_known) != Some(false)
                })
        })?;
    Some(Uncertainty {
        policy: format!("Tier {}", tier.name),
        reason: format!(
            "Calico tier {} ({}) applies beside an AdminNetworkPolicy / ClusterNetworkPolicy tier that Calico orders differently (Admin at 1,000, Baseline at 10,000,000); that order is not modelled here",
            tier.name,
            tier.order.map_or("no order".to_string(), |o| format!("order {o}"))
        ),
        doubt: Doubt::OrderUndefined,
    })
}
