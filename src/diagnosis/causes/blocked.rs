//! The root cause of a side that blocks: the nearest miss among its rules, most specific first.
//!
//! Invariant: the order of the steps is the ranking. An admin-tier rule decides before any
//! NetworkPolicy; then a default deny (no rule at all); then a rule whose peers match but whose
//! named port is not declared; a port the rule does not list; an ipBlock `except`; a namespace
//! label; an AND element half-matched; a cross-namespace egress block; else "no rule matches".
//! Evidence grows only in the step that answers.

use super::{admin_cause, on_port, pass_notes};
use crate::diagnosis::describe::{
    Role, endpoint_name, failed_clause, label_list, peers_word, port_failure_text, wanted_text,
};
use crate::engine::{Endpoint, FlowTrace, PeerFailure, PortFailure, RuleTrace, SideTrace};
use crate::index::{ClusterIndex, NAMESPACE_NAME_LABEL, TargetPort};
use crate::policy::{Direction, Peer, PortValue};
use crate::report::*;

/// What every step knows about the blocking side.
struct Blocked<'a> {
    ix: &'a ClusterIndex,
    t: &'a FlowTrace,
    side: &'a SideTrace,
    dir: Direction,
    /// `ingress` / `egress`.
    what: &'static str,
    policies: Vec<String>,
    subject: String,
    peer_ep: Endpoint,
    peer_name: String,
}

impl<'a> Blocked<'a> {
    fn new(ix: &'a ClusterIndex, t: &'a FlowTrace, side: &'a SideTrace) -> Blocked<'a> {
        let dir = side.direction;
        let peer_ep = match dir {
            Direction::Egress => t.flow.dst,
            Direction::Ingress => t.flow.src,
        };
        Blocked {
            ix,
            t,
            side,
            dir,
            what: dir.as_str(),
            policies: side.isolating.iter().map(|&p| ix.policies[p].key()).collect(),
            subject: side.subject.map(|id| ix.pod(id).key()).unwrap_or_default(),
            peer_ep,
            peer_name: endpoint_name(ix, peer_ep),
        }
    }

    fn key(&self, r: &RuleTrace) -> String {
        self.ix.policies[r.policy].key()
    }

    /// Each isolating policy, the subject it selects and how many rules it has.
    fn isolating_lines(&self) -> Vec<String> {
        let ix = self.ix;
        self.side
            .isolating
            .iter()
            .map(|&p| {
                let pol = &ix.policies[p];
                format!(
                    "{} selects {} (podSelector {}) and isolates {} with {} rule(s)",
                    pol.key(),
                    self.subject,
                    pol.target,
                    self.dir.as_str(),
                    pol.rules(self.dir).map(<[_]>::len).unwrap_or(0)
                )
            })
            .collect()
    }

    /// The failed clause of each of the first rules.
    fn rule_lines(&self, evidence: &mut Vec<String>) {
        for r in self.side.rules.iter().take(8) {
            if let Some(c) = failed_clause(self.dir, r) {
                evidence.push(format!("{} {}: {}", self.key(r), c.field, c.reasons.join("; ")));
            }
        }
    }

    /// Every failing peer element of every rule: `(rule, element index, failure)`.
    fn failures(&self) -> impl Iterator<Item = (&'a RuleTrace, usize, &'a PeerFailure)> {
        self.side
            .rules
            .iter()
            .flat_map(|r| r.peer_failures.iter().map(move |(i, f)| (r, *i, f)))
    }

    /// Rules whose peers match and whose ports do not.
    fn port_misses(&self) -> impl Iterator<Item = (&'a RuleTrace, &'a PortFailure)> {
        self.side
            .rules
            .iter()
            .filter(|r| r.peer_failures.is_empty())
            .filter_map(|r| r.port_failure.as_ref().map(|pf| (r, pf)))
    }

    fn cause(
        &self,
        code: RootCauseCode,
        summary: String,
        r: &RuleTrace,
        evidence: Vec<String>,
        suggestion: String,
    ) -> RootCause {
        RootCause {
            code,
            summary,
            policies: vec![self.key(r)],
            evidence,
            suggestion,
        }
    }
}

pub fn blocked_cause(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace) -> RootCause {
    if let Some(rc) = admin_cause(ix, t, side) {
        return rc;
    }
    let mut rc = rule_cause(ix, t, side);
    rc.evidence.extend(pass_notes(side));
    rc
}

/// The NetworkPolicy tier's cause of a blocked side, in ranking order.
fn rule_cause(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace) -> RootCause {
    let b = Blocked::new(ix, t, side);
    let mut evidence = b.isolating_lines();
    if side.rules.is_empty() {
        return default_deny(&b, evidence);
    }
    b.rule_lines(&mut evidence);
    if let Some(rc) = named_port_unresolved(&b, &mut evidence)
        .or_else(|| port_not_allowed(&b, &mut evidence))
        .or_else(|| ipblock_except(&b, &evidence))
        .or_else(|| namespace_label_missing(&b, &mut evidence))
        .or_else(|| and_or_half_match(&b, &evidence))
        .or_else(|| cross_namespace_egress(&b, &mut evidence))
    {
        return rc;
    }
    no_matching_rule(&b, evidence)
}

/// The isolating policies have no rule for the direction.
fn default_deny(b: &Blocked<'_>, evidence: Vec<String>) -> RootCause {
    let n = if b.policies.len() == 1 { "s" } else { "" };
    RootCause {
        code: match b.dir {
            Direction::Ingress => RootCauseCode::DefaultDenyIngress,
            Direction::Egress => RootCauseCode::DefaultDenyEgress,
        },
        summary: format!(
            "{} is selected by {} that isolate{n} {} and allow{n} nothing: default deny.",
            b.subject,
            b.policies.join(", "),
            b.what
        ),
        policies: b.policies.clone(),
        evidence,
        suggestion: format!(
            "Add a NetworkPolicy that selects {} and allows {} {} {} {} (policies are additive; the default deny stays).",
            b.subject,
            b.what,
            if b.dir == Direction::Ingress { "from" } else { "to" },
            b.peer_name,
            on_port(b.t)
        ),
    }
}

/// A rule's peers match, but its named port is not declared by the destination pod.
fn named_port_unresolved(b: &Blocked<'_>, evidence: &mut Vec<String>) -> Option<RootCause> {
    let (r, pf) = b.port_misses().find(|(_, pf)| !pf.unresolved_named.is_empty())?;
    let ix = b.ix;
    evidence.push(format!(
        "destination {} declares container ports: {}",
        endpoint_name(ix, b.t.flow.dst),
        match b.t.flow.dst {
            Endpoint::Pod(id) => ix.pod(id).declared_ports(),
            Endpoint::Ip(_) => "none (it is not a pod)".into(),
        }
    ));
    Some(b.cause(
        RootCauseCode::NamedPortUnresolved,
        format!(
            "{} rule spec.{}[{}] allows the named port {}, which the destination pod does not declare, so that port matches nothing.",
            b.key(r),
            b.what,
            r.rule_index,
            pf.unresolved_named.join(", ")
        ),
        r,
        std::mem::take(evidence),
        format!(
            "Name the container port {:?} in the destination pod's spec (containers[].ports[].name), or use the numeric port in the policy.",
            pf.unresolved_named[0]
        ),
    ))
}

/// A rule's peers match, but not its ports.
fn port_not_allowed(b: &Blocked<'_>, evidence: &mut Vec<String>) -> Option<RootCause> {
    let (r, pf) = b.port_misses().next()?;
    if let Endpoint::Pod(id) = b.t.flow.dst {
        let p = b.ix.pod(id);
        if !p.ports.is_empty() {
            evidence.push(format!(
                "destination {} declares container ports: {}",
                p.key(),
                p.declared_ports()
            ));
        }
    }
    evidence.extend(service_port_lines(b, r));
    Some(b.cause(
        RootCauseCode::PortNotAllowed,
        format!(
            "{} rule spec.{}[{}] matches {} but not the port: {}.",
            b.key(r),
            b.what,
            r.rule_index,
            b.peer_name,
            port_failure_text(pf)
        ),
        r,
        std::mem::take(evidence),
        format!(
            "Allow {} in that rule's ports (or send the traffic to a port the rule allows).",
            wanted_text(&pf.wanted)
        ),
    ))
}

/// The rule allows the port of a Service in front of the destination, whose targetPort is the
/// asked port: policies must name the pod port.
fn service_port_lines(b: &Blocked<'_>, r: &RuleTrace) -> Vec<String> {
    let (ix, flow) = (b.ix, b.t.flow);
    let (Endpoint::Pod(id), Some(wanted)) = (flow.dst, flow.port) else {
        return Vec::new();
    };
    let p = ix.pod(id);
    let rule = ix.policies[r.policy].rule(b.dir, r.rule_index);
    let rule_allows = |port: u16| {
        rule.and_then(|x| x.ports.as_ref()).is_some_and(|ps| {
            ps.iter().any(|ps| {
                ps.protocol == flow.protocol && matches!(ps.value, PortValue::Range(lo, hi) if lo <= port && port <= hi)
            })
        })
    };
    let mut out = Vec::new();
    for svc in ix.services.iter().filter(|s| s.selects(p)) {
        for sp in svc
            .ports
            .iter()
            .filter(|sp| sp.protocol == flow.protocol && sp.port != wanted && rule_allows(sp.port))
        {
            let target = match &sp.target {
                TargetPort::Number(n) => Some(*n),
                TargetPort::Named(name) => p.resolve_named_port(name, sp.protocol),
            };
            if target == Some(wanted) {
                out.push(format!(
                    "the rule allows {} {}, the port of Service {}/{}, but a Service port is translated to the pod's targetPort {wanted} before NetworkPolicy applies: policies must name the pod port",
                    sp.protocol, sp.port, svc.namespace, svc.name
                ));
            }
        }
    }
    out
}

/// An ipBlock admits the address but its `except` removes it.
fn ipblock_except(b: &Blocked<'_>, evidence: &[String]) -> Option<RootCause> {
    let (r, i, f) = b
        .failures()
        .find(|(_, _, f)| matches!(f, PeerFailure::Excepted { .. }))?;
    let PeerFailure::Excepted { cidr, except, ip } = f else {
        return None;
    };
    Some(b.cause(
        RootCauseCode::IpblockExcept,
        format!(
            "{} rule spec.{}[{}].{}[{i}] allows {cidr} but its except {except} removes {ip}.",
            b.key(r),
            b.what,
            r.rule_index,
            peers_word(b.dir)
        ),
        r,
        evidence.to_vec(),
        format!("Narrow or remove the except block {except}, or add a rule that allows {ip} explicitly."),
    ))
}

/// A namespaceSelector would match if the peer's namespace had a label (not its name label).
fn namespace_label_missing(b: &Blocked<'_>, evidence: &mut Vec<String>) -> Option<RootCause> {
    let (r, i, namespace, labels) = b.failures().find_map(|(r, i, f)| {
        let PeerFailure::NamespaceLabels {
            namespace,
            missing_labels,
            pod_selector_matches,
            and_element,
            ..
        } = f
        else {
            return None;
        };
        let useful: Vec<String> = missing_labels
            .iter()
            .filter(|(k, _)| k != NAMESPACE_NAME_LABEL)
            .map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") })
            .collect();
        let fits = !useful.is_empty() && (*pod_selector_matches || !*and_element) && r.port_failure.is_none();
        fits.then(|| (r, i, namespace.clone(), useful))
    })?;
    evidence.push(format!(
        "namespace {namespace} has labels: {}",
        label_list(&b.ix.namespace_labels(&namespace))
    ));
    let wanted: Vec<String> = labels
        .iter()
        .map(|l| {
            if l.contains('=') {
                l.clone()
            } else {
                format!("{l}=<value>")
            }
        })
        .collect();
    Some(b.cause(
        RootCauseCode::NamespaceLabelMissing,
        format!(
            "{} rule spec.{}[{}].{}[{i}] would match if namespace {namespace} had the label {}.",
            b.key(r),
            b.what,
            r.rule_index,
            peers_word(b.dir),
            labels.join(",")
        ),
        r,
        std::mem::take(evidence),
        format!(
            "Either namespace {namespace} gets the label {} or the namespaceSelector changes; a person who owns them decides which is right.",
            wanted.join(", ")
        ),
    ))
}

/// An element that ANDs namespaceSelector and podSelector, where only one half matches.
fn and_or_half_match(b: &Blocked<'_>, evidence: &[String]) -> Option<RootCause> {
    let (r, i, f) = b.failures().find(|(r, _, f)| {
        r.port_failure.is_none()
            && matches!(
                f,
                PeerFailure::PodLabels { and_element: true, .. }
                    | PeerFailure::NamespaceLabels {
                        and_element: true,
                        pod_selector_matches: true,
                        ..
                    }
            )
    })?;
    let half = match f {
        PeerFailure::PodLabels { .. } => "its namespaceSelector matches but its podSelector does not",
        _ => "its podSelector matches but its namespaceSelector does not",
    };
    Some(b.cause(
        RootCauseCode::SelectorAndOrConfusion,
        format!(
            "{} rule spec.{}[{}].{}[{i}] puts namespaceSelector and podSelector in ONE element (AND): {half}. As two separate elements (OR) it would match.",
            b.key(r),
            b.what,
            r.rule_index,
            peers_word(b.dir)
        ),
        r,
        evidence.to_vec(),
        "Check the intent: in one list element both selectors must match (AND); as two elements (a second '-') either one suffices (OR).".into(),
    ))
}

/// The source's egress allows nothing toward the destination's namespace.
fn cross_namespace_egress(b: &Blocked<'_>, evidence: &mut Vec<String>) -> Option<RootCause> {
    let (ix, t) = (b.ix, b.t);
    let (Endpoint::Pod(s), Endpoint::Pod(d)) = (t.flow.src, t.flow.dst) else {
        return None;
    };
    let applies = b.dir == Direction::Egress
        && ix.pod(s).namespace != ix.pod(d).namespace
        && b.side.rules.iter().any(|r| r.port_failure.is_none());
    if !applies {
        return None;
    }
    let dst_ns = &ix.pod(d).namespace;
    evidence.push(destination_ingress_line(ix, t, d));
    Some(RootCause {
        code: RootCauseCode::CrossNamespaceEgressBlocked,
        summary: format!(
            "The source's egress policies ({}) allow no traffic to namespace {dst_ns}: the connection is blocked at the source, before the destination's ingress is considered.",
            b.policies.join(", ")
        ),
        policies: b.policies.clone(),
        evidence: std::mem::take(evidence),
        suggestion: format!(
            "Allow egress from {} to namespace {dst_ns} (a `to` element with a namespaceSelector matching kubernetes.io/metadata.name={dst_ns}, plus a podSelector for the destination) {}; both sides must allow cross-namespace traffic.",
            b.subject,
            on_port(t)
        ),
    })
}

/// What ingress at the destination says about the same flow.
fn destination_ingress_line(ix: &ClusterIndex, t: &FlowTrace, d: crate::index::PodId) -> String {
    if !t.ingress.isolated() {
        format!(
            "ingress at the destination {} is not isolated: only the source's egress blocks",
            ix.pod(d).key()
        )
    } else if t.ingress.allowed {
        format!(
            "ingress at the destination is allowed by {}: only the source's egress blocks",
            t.ingress
                .rules
                .iter()
                .filter(|r| r.allows())
                .map(|r| format!("{} spec.ingress[{}]", ix.policies[r.policy].key(), r.rule_index))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(
            "ingress at the destination {} blocks too (see the ingress root cause)",
            ix.pod(d).key()
        )
    }
}

/// No rule matches the peer: its labels, and the nearest fix in words.
fn no_matching_rule(b: &Blocked<'_>, mut evidence: Vec<String>) -> RootCause {
    let ix = b.ix;
    if let Endpoint::Pod(peer) = b.peer_ep {
        let p = ix.pod(peer);
        evidence.push(format!(
            "{} {} has labels: {}; its namespace {} has labels: {}",
            Role::deciding(b.dir.opposite()).as_str(),
            b.peer_name,
            if p.labels.is_empty() {
                "none".into()
            } else {
                label_list(&p.labels)
            },
            p.namespace,
            label_list(&ix.namespace_labels(&p.namespace))
        ));
    }
    RootCause {
        code: match b.dir {
            Direction::Ingress => RootCauseCode::IngressNoMatchingRule,
            Direction::Egress => RootCauseCode::EgressNoMatchingRule,
        },
        summary: format!(
            "{} is isolated for {} by {}, and no rule matches {}{}.",
            b.subject,
            b.what,
            b.policies.join(", "),
            b.peer_name,
            b.t.flow
                .port
                .map(|p| format!(" on {} {p}", b.t.flow.protocol))
                .unwrap_or_default()
        ),
        policies: b.policies.clone(),
        evidence,
        suggestion: no_match_suggestion(b),
    }
}

/// A podSelector that matches the peer but, without a namespaceSelector, covers only the
/// policy's namespace: the fix is a namespaceSelector in the same element.
fn no_match_suggestion(b: &Blocked<'_>) -> String {
    let ix = b.ix;
    let same_ns_only = b.failures().find_map(|(r, i, f)| match f {
        PeerFailure::OtherNamespace {
            policy_namespace,
            peer_namespace,
        } if r.port_failure.is_none() => {
            let Endpoint::Pod(peer) = b.peer_ep else { return None };
            let rule = ix.policies[r.policy].rule(b.dir, r.rule_index)?;
            match rule.peers.as_ref()?.get(i)? {
                Peer::Pods { pods, .. } if pods.matches(&ix.pod(peer).labels) => {
                    Some((r, i, policy_namespace.clone(), peer_namespace.clone()))
                }
                _ => None,
            }
        }
        _ => None,
    });
    match same_ns_only {
        Some((r, i, policy_ns, peer_ns)) => format!(
            "{} spec.{}[{}].{}[{i}] has a podSelector that matches {} but no namespaceSelector, so it only selects pods of {policy_ns}: to admit pods of {peer_ns}, add a namespaceSelector (e.g. {NAMESPACE_NAME_LABEL}={peer_ns}) in the SAME element as the podSelector.",
            b.key(r),
            b.what,
            r.rule_index,
            peers_word(b.dir),
            b.peer_name
        ),
        None => format!(
            "Add a rule (or a policy) allowing {} {} {}; the evidence names the clause of each rule that fails.",
            b.what,
            if b.dir == Direction::Ingress { "from" } else { "to" },
            b.peer_name
        ),
    }
}
