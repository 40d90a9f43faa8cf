//! The root cause of a side that blocks: the nearest miss among its rules, most specific first.
//!
//! Invariant: the order of the steps is the ranking. An admin-tier rule decides before any
//! NetworkPolicy; then a default deny (no rule at all); then a rule whose peers match but whose
//! named port is not declared; a port the rule does not list (unless another rule lists the port
//! but not the peer: then the peer is what is missing); an ipBlock `except`; an AND element that
//! selects no pod while each half does (by the snapshot's pods); a namespace label; a
//! cross-namespace egress block; else "no rule matches". The evidence quotes each failing clause
//! as written beside the peer's labels; suggestions select pods by labels.

use super::{admin_cause, on_port, pass_notes};
use crate::diagnosis::describe::{
    Role, endpoint_name, labels_line, peer_failure_text, peer_text, peers_word, pod_selector_text, pods_text,
    port_failure_text, wanted_text,
};
use crate::engine::{Endpoint, FlowTrace, PeerFailure, PortFailure, RuleTrace, SideTrace};
use crate::index::{ClusterIndex, NAMESPACE_NAME_LABEL, PodId, TargetPort};
use crate::policy::{Direction, NamespaceScope, Peer, PortValue, Rule, Selector};
use crate::report::*;

/// How many failing clauses the evidence quotes.
const MAX_CLAUSES: usize = 8;

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

    /// Every failing clause of the first rules, quoted as written, with why it fails.
    fn rule_lines(&self, evidence: &mut Vec<String>) {
        let lines = self.side.rules.iter().flat_map(|r| self.clause_lines(r));
        evidence.extend(lines.take(MAX_CLAUSES));
    }

    /// One rule's failing clauses: each failing peer element, else its ports.
    fn clause_lines(&self, r: &RuleTrace) -> Vec<String> {
        if !r.peer_failures.is_empty() {
            return r
                .peer_failures
                .iter()
                .map(|(i, f)| format!("{} — {}", self.element_line(r, *i), peer_failure_text(f)))
                .collect();
        }
        r.port_failure
            .iter()
            .map(|pf| format!("{} — {}", self.ports_line(r), port_failure_text(pf)))
            .collect()
    }

    /// The rule as written (`spec.ingress[0]: {from: [...], ports: [...]}`).
    fn policy_rule(&self, r: &RuleTrace) -> Option<&'a Rule> {
        self.ix.policies[r.policy].rule(self.dir, r.rule_index)
    }

    /// One peer element as written.
    fn element(&self, r: &RuleTrace, i: usize) -> Option<&'a Peer> {
        self.policy_rule(r)?.peers.as_ref()?.get(i)
    }

    /// `ns/policy spec.ingress[0].from[1]: {podSelector: {matchLabels: {app: web}}}`.
    fn element_line(&self, r: &RuleTrace, i: usize) -> String {
        format!(
            "{} spec.{}[{}].{}[{i}]: {}",
            self.key(r),
            self.what,
            r.rule_index,
            peers_word(self.dir),
            self.element(r, i).map_or_else(|| "?".into(), Peer::quote)
        )
    }

    /// `ns/policy spec.ingress[0].ports: [{protocol: TCP, port: 8080}]`.
    fn ports_line(&self, r: &RuleTrace) -> String {
        format!(
            "{} spec.{}[{}].ports: {}",
            self.key(r),
            self.what,
            r.rule_index,
            self.policy_rule(r).map_or_else(|| "?".into(), Rule::quote_ports)
        )
    }

    /// The labels the peer pod and its namespace actually have.
    fn peer_labels_line(&self) -> Option<String> {
        let Endpoint::Pod(peer) = self.peer_ep else { return None };
        Some(labels_line(self.ix, Role::deciding(self.dir.opposite()), peer))
    }

    /// The namespace of the policies that decide this side (the subject's).
    fn policy_ns(&self) -> String {
        self.side
            .subject
            .map(|id| self.ix.pod(id).namespace.clone())
            .unwrap_or_default()
    }

    /// The subject as a suggestion selects it (by labels).
    fn subject_pods(&self) -> String {
        self.side
            .subject
            .map(|id| pods_text(self.ix, id))
            .unwrap_or_else(|| self.subject.clone())
    }

    /// The peer as a suggestion writes it (by labels, or an ipBlock).
    fn peer_pods(&self) -> String {
        peer_text(self.ix, &self.policy_ns(), self.peer_ep)
    }

    /// The peer's pods by label, without the namespace (`pods app=web`), or its ipBlock.
    fn peer_pods_here(&self) -> String {
        match self.peer_ep {
            Endpoint::Pod(id) => pods_text(self.ix, id),
            Endpoint::Ip(_) => self.peer_pods(),
        }
    }

    /// A rule that admits the asked port but not the peer: the peer is missing from it.
    fn port_rule_missing_peer(&self) -> Option<&'a RuleTrace> {
        self.side
            .rules
            .iter()
            .find(|r| r.port_failure.is_none() && !r.peer_failures.is_empty())
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
    if let Some(rc) = super::calico_block(ix, t, side).or_else(|| super::cilium::blocked(ix, t, side)) {
        return rc;
    }
    let mut rc = rule_cause(ix, t, side);
    rc.evidence.extend(pass_notes(side));
    rc
}

/// The NetworkPolicy tier's cause of a blocked side, in ranking order.
fn rule_cause(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace) -> RootCause {
    let b = Blocked::new(ix, t, side);
    if side.rules.is_empty() {
        return default_deny(&b, b.isolating_lines());
    }
    // The clauses as written first, beside the labels the peer has; then what isolates.
    let mut evidence = Vec::new();
    b.rule_lines(&mut evidence);
    if side.rules.iter().any(|r| !r.peer_failures.is_empty()) {
        evidence.extend(b.peer_labels_line());
    }
    evidence.extend(b.isolating_lines());
    if let Some(rc) = named_port_unresolved(&b, &mut evidence)
        .or_else(|| port_not_allowed(&b, &mut evidence))
        .or_else(|| ipblock_except(&b, &evidence))
        .or_else(|| and_or_confusion(&b, &evidence))
        .or_else(|| {
            evidence.extend(deliberate_and_line(&b));
            namespace_label_missing(&b, &mut evidence)
        })
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
            "Add a NetworkPolicy in namespace {} that selects {} and allows {} {} {} {} (policies are additive; the default deny stays).",
            b.policy_ns(),
            b.subject_pods(),
            b.what,
            if b.dir == Direction::Ingress { "from" } else { "to" },
            b.peer_pods(),
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
    if b.port_rule_missing_peer().is_some() {
        // Another rule allows the port: what is missing is the peer in that rule.
        return None;
    }
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
        port_suggestion(b, r, pf),
    ))
}

/// Where the asked port goes: a rule whose peers are everyone must not get it (every pod would
/// reach the port); a new rule with the specific peer does. Otherwise the rule's ports, saying
/// which other peers the port opens to.
fn port_suggestion(b: &Blocked<'_>, r: &RuleTrace, pf: &PortFailure) -> String {
    let wanted = wanted_text(&pf.wanted);
    let rule = b.policy_rule(r);
    let peers = rule.map_or_else(String::new, |x| match &x.peers {
        Some(p) => p.iter().map(Peer::quote).collect::<Vec<_>>().join(", "),
        None => format!("(no `{}`: every peer)", peers_word(b.dir)),
    });
    if rule.is_none_or(|x| admits_everyone(x.peers.as_deref())) {
        return format!(
            "Do not add {wanted} to {} spec.{}[{}]: its peers {peers} admit everyone, so every pod (or address) would reach {wanted}. Add a rule to {} that allows {} {} {} on {wanted} (or send the traffic to a port the rule allows).",
            b.key(r),
            b.what,
            r.rule_index,
            b.key(r),
            b.what,
            if b.dir == Direction::Ingress { "from" } else { "to" },
            b.peer_pods()
        );
    }
    format!(
        "Allow {wanted} in {} spec.{}[{}].ports (or send the traffic to a port the rule allows); that opens {wanted} to every peer of the rule: {peers}.",
        b.key(r),
        b.what,
        r.rule_index
    )
}

/// Peers that admit every pod of the cluster or every address: no `from`/`to`, an element
/// `namespaceSelector: {}` without podSelector (or with `podSelector: {}`), an ipBlock /0.
fn admits_everyone(peers: Option<&[Peer]>) -> bool {
    let Some(peers) = peers else { return true };
    peers.iter().any(|p| match p {
        Peer::Pods {
            namespaces: NamespaceScope::Matching(ns),
            pods,
            ..
        } => ns.is_everything() && pods.is_everything(),
        Peer::IpBlock { cidr, except } => cidr.prefix_len() == 0 && except.is_empty(),
        _ => false,
    })
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
            "Either namespace {namespace} gets the label {} or the namespaceSelector changes; a person who owns them decides which is right.{}",
            wanted.join(", "),
            label_opens(b, r, i, &namespace)
        ),
    ))
}

/// What labelling the namespace opens besides the asked flow: every pod of it the element's
/// podSelector selects, when that is more than the peer.
fn label_opens(b: &Blocked<'_>, r: &RuleTrace, i: usize, namespace: &str) -> String {
    let pods = match b.element(r, i) {
        Some(Peer::Pods { pods, .. }) => pods,
        _ => return String::new(),
    };
    let n =
        b.ix.pods_in(namespace)
            .iter()
            .filter(|&&id| pods.matches(&b.ix.pod(id).labels))
            .count();
    if n > 1 {
        format!(
            " The label admits {n} pods of {namespace} through this rule, not only {}.",
            b.peer_name
        )
    } else {
        String::new()
    }
}

/// What an element that ANDs namespaceSelector and podSelector selects in the snapshot, as
/// written and read as two peers (OR).
struct AndReading<'a> {
    ns_selector: &'a Selector,
    pod_selector: &'a Selector,
    /// Pods the element selects as written.
    written: Vec<PodId>,
    /// Pods the namespaceSelector alone selects (every pod of the matching namespaces).
    ns_alone: Vec<PodId>,
    /// Pods the podSelector alone selects (the policy's namespace only).
    pod_alone: Vec<PodId>,
    /// The peer would be selected by one of the two peers.
    peer_as_two: bool,
}

/// The first AND element of a rule that admits the port, whose failure leaves one half matching.
fn and_reading<'a>(b: &Blocked<'a>) -> Option<(&'a RuleTrace, usize, AndReading<'a>)> {
    let Endpoint::Pod(peer) = b.peer_ep else { return None };
    let ix = b.ix;
    b.failures().find_map(|(r, i, f)| {
        let half = matches!(
            f,
            PeerFailure::PodLabels { and_element: true, .. }
                | PeerFailure::NamespaceLabels {
                    and_element: true,
                    pod_selector_matches: true,
                    ..
                }
        );
        let Some(Peer::Pods {
            namespaces: NamespaceScope::Matching(ns_selector),
            pods: pod_selector,
            pod_selector_set: true,
        }) = b.element(r, i)
        else {
            return None;
        };
        if !half || r.port_failure.is_some() {
            return None;
        }
        let ns_alone = pods_selected(ix, Some(ns_selector), &Selector::everything(), None);
        let pod_alone = pods_selected(ix, None, pod_selector, Some(&ix.policies[r.policy].namespace));
        let reading = AndReading {
            ns_selector,
            pod_selector,
            written: pods_selected(ix, Some(ns_selector), pod_selector, None),
            peer_as_two: ns_alone.contains(&peer) || pod_alone.contains(&peer),
            ns_alone,
            pod_alone,
        };
        Some((r, i, reading))
    })
}

/// The pods (not on the host network: selectors never match those) a peer element selects:
/// `ns` a namespaceSelector (`None`: only namespace `same`, or every namespace when that is `None`
/// too) and `pods` its podSelector.
pub(super) fn pods_selected(
    ix: &ClusterIndex,
    ns: Option<&Selector>,
    pods: &Selector,
    same: Option<&str>,
) -> Vec<PodId> {
    // Namespace by namespace (every pod's namespace is in the index): a namespaceSelector is
    // matched once per namespace, not once per pod.
    let mut out: Vec<PodId> = ix
        .namespaces
        .iter()
        .filter(|n| same.is_none_or(|s| n.name == s) && ns.is_none_or(|sel| sel.matches(&n.labels)))
        .flat_map(|n| ix.pods_in(&n.name).iter().copied())
        .filter(|&id| {
            let p = ix.pod(id);
            !p.host_network && pods.matches(&p.labels)
        })
        .collect();
    out.sort_unstable();
    out
}

/// `2 pods (monitoring/prometheus-0, monitoring/grafana-1)`, naming at most three.
fn pods_named(ix: &ClusterIndex, pods: &[PodId]) -> String {
    let mut names: Vec<String> = pods.iter().take(3).map(|&p| ix.pod(p).key()).collect();
    if pods.len() > 3 {
        names.push("…".into());
    }
    let n = pods.len();
    format!("{n} pod{} ({})", if n == 1 { "" } else { "s" }, names.join(", "))
}

/// An AND element that selects no pod anywhere, while each half alone does and one of them
/// selects the peer: the author meant two peers (OR).
fn and_or_confusion(b: &Blocked<'_>, evidence: &[String]) -> Option<RootCause> {
    let (r, i, a) = and_reading(b)?;
    if !a.written.is_empty() || a.ns_alone.is_empty() || a.pod_alone.is_empty() || !a.peer_as_two {
        return None;
    }
    let ix = b.ix;
    let mut either: Vec<PodId> = a.ns_alone.iter().chain(&a.pod_alone).copied().collect();
    either.sort_unstable();
    either.dedup();
    let mut namespaces: Vec<&str> = a.ns_alone.iter().map(|&p| ix.pod(p).namespace.as_str()).collect();
    namespaces.dedup();
    let mut evidence = evidence.to_vec();
    evidence.insert(
        0,
        format!(
            "as written (AND) the element selects no pod in the snapshot; namespaceSelector alone selects {}; podSelector alone (namespace {}) selects {}",
            pods_named(ix, &a.ns_alone),
            ix.policies[r.policy].namespace,
            pods_named(ix, &a.pod_alone)
        ),
    );
    Some(b.cause(
        RootCauseCode::SelectorAndOrConfusion,
        format!(
            "{} rule spec.{}[{}].{}[{i}] puts namespaceSelector and podSelector in ONE element (AND): this element matches no pod; as two peers (OR) it would match {}, {} among them.",
            b.key(r),
            b.what,
            r.rule_index,
            peers_word(b.dir),
            pods_named(ix, &either),
            b.peer_name
        ),
        r,
        evidence,
        format!(
            "If either was meant, split the element in two (a second '-'): `- namespaceSelector: {}` and `- podSelector: {}`. That admits the {}: the first admits every pod of namespace {} ({} now), the second the pods {} of {} ({} now). If only pods matching both were meant, no pod has both yet.",
            a.ns_selector.quote(),
            a.pod_selector.quote(),
            Role::deciding(b.dir.opposite()).as_str(),
            namespaces.join(", "),
            a.ns_alone.len(),
            a.pod_selector,
            ix.policies[r.policy].namespace,
            a.pod_alone.len()
        ),
    ))
}

/// An AND element that selects real pods is deliberate: the plain mismatch decides, and this
/// line says what reading it as two peers would change.
fn deliberate_and_line(b: &Blocked<'_>) -> Option<String> {
    let (r, i, a) = and_reading(b)?;
    (!a.written.is_empty() && a.peer_as_two).then(|| {
        format!(
            "{} spec.{}[{}].{}[{i}] ANDs its selectors and selects {} as written, so the AND looks deliberate; as two peers (OR) it would also select {}",
            b.key(r),
            b.what,
            r.rule_index,
            peers_word(b.dir),
            pods_named(b.ix, &a.written),
            b.peer_name
        )
    })
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
            "Allow egress from {} to namespace {dst_ns} (a `to` element with a namespaceSelector matching kubernetes.io/metadata.name={dst_ns} and, in the same element, podSelector {}) {}; both sides must allow cross-namespace traffic.",
            b.subject_pods(),
            pod_selector_text(ix, d).unwrap_or_else(|| "for the destination".into()),
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
fn no_matching_rule(b: &Blocked<'_>, evidence: Vec<String>) -> RootCause {
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
            "{} spec.{}[{}].{}[{i}] has a podSelector that matches the {} ({}) but no namespaceSelector, so it only selects pods of {policy_ns}: to admit pods of {peer_ns}, add a namespaceSelector (e.g. {NAMESPACE_NAME_LABEL}={peer_ns}) in the SAME element as the podSelector.",
            b.key(r),
            b.what,
            r.rule_index,
            peers_word(b.dir),
            Role::deciding(b.dir.opposite()).as_str(),
            b.peer_pods_here()
        ),
        None => match b.port_rule_missing_peer() {
            Some(r) if b.t.flow.port.is_some() => format!(
                "{} spec.{}[{}] allows {} but not this peer: add {} as an element of its `{}` (that admits it on every port the rule lists), or add a rule of its own with {} only.",
                b.key(r),
                b.what,
                r.rule_index,
                on_port(b.t).trim_start_matches("on "),
                b.peer_pods(),
                peers_word(b.dir),
                on_port(b.t).trim_start_matches("on ")
            ),
            _ => format!(
                "Add a rule (or a policy) allowing {} {} {} {}; the evidence quotes the clause of each rule that fails.",
                b.what,
                if b.dir == Direction::Ingress { "from" } else { "to" },
                b.peer_pods(),
                on_port(b.t)
            ),
        },
    }
}
