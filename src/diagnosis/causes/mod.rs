//! Root causes and their ranking: from the engine's trace of the asked flow to the causes a
//! diagnosis reports, most important first.
//!
//! Invariant: pure. The first cause is the one that decides the asked flow on the side that
//! blocks it (a side that blocks for certain, then what makes a blocking side uncertain, then
//! doubts about open sides); allowed flows name the rules or the tier that allowed them (an
//! AND/OR mix-up the snapshot's pods show first; the omitted-policyTypes trap first only for a
//! deny-all-shaped policy). The checks around the rules (`checks/`) rank their own causes around
//! these. ARCHITECTURE.md "Ranking" states the whole rule.

mod admin;
mod blocked;
mod calico;
pub mod cilium;

pub use admin::{admin_cause, deciding_admin_rule, pass_notes};
pub use blocked::blocked_cause;
pub use calico::{calico_allow, calico_block, calico_decided_allow, calico_deciding_rule, walk_lines};

use super::describe::{Role, peers_word};
use crate::engine::{AdminKind, AlwaysAllowed, Doubt, Endpoint, FlowTrace, SideTrace};
use crate::index::ClusterIndex;
use crate::policy::{Action, Direction, NamespaceScope, Peer, Protocol};
use crate::report::*;

/// The verdict a trace supports.
pub fn verdict_of(t: &FlowTrace) -> Verdict {
    if t.always_allowed.is_some() {
        return Verdict::Allowed;
    }
    let certainly_blocked = |s: &SideTrace| !s.allowed && s.certain();
    if certainly_blocked(&t.egress) || certainly_blocked(&t.ingress) {
        return Verdict::Blocked;
    }
    if t.egress.allowed && t.ingress.allowed && t.egress.certain() && t.ingress.certain() {
        return Verdict::Allowed;
    }
    Verdict::Inconclusive
}

/// The rule-level causes of a flow, most important first.
pub fn root_causes(ix: &ClusterIndex, t: &FlowTrace) -> Vec<RootCause> {
    if let Some(a) = &t.always_allowed {
        return vec![always_allowed_cause(a)];
    }
    // Most important first: a side that blocks for certain (that is the verdict), then what makes
    // a blocking side uncertain (that is why the verdict is inconclusive) followed by what that
    // side would be without the unreadable policy, then doubts about sides that look open.
    let (mut certain_blocks, mut unsure_blocks, mut unsure_open) = (Vec::new(), Vec::new(), Vec::new());
    for side in [&t.egress, &t.ingress] {
        match (side.allowed, side.certain()) {
            (false, true) => certain_blocks.push(blocked_cause(ix, t, side)),
            (false, false) => {
                unsure_blocks.extend(uncertain_causes(ix, side));
                unsure_blocks.push(blocked_cause(ix, t, side));
            }
            (true, false) => unsure_open.extend(uncertain_causes(ix, side)),
            (true, true) => {}
        }
    }
    if let [first, second] = certain_blocks.as_mut_slice() {
        both_sides_block(first, second);
    }
    let mut out = certain_blocks;
    out.extend(unsure_blocks);
    out.extend(unsure_open);
    if t.egress.allowed && t.ingress.allowed {
        // An AdminNetworkPolicy Allow decided before any NetworkPolicy: that is the reason.
        let mut front: Vec<RootCause> = [&t.egress, &t.ingress]
            .into_iter()
            .filter_map(|side| {
                admin_cause(ix, t, side).or_else(|| calico_allow(ix, t, side).filter(|_| side.certain()))
            })
            .collect();
        // The omitted-policyTypes trap leads only when a policy shaped as a deny-all causes it;
        // beside an ordinary allow-list it follows the rules that allow the flow.
        let trap = policytypes_omitted(ix, t);
        let trap_leads = trapped_policies(ix, t).iter().any(|p| shaped_as_deny_all(p));
        if trap_leads {
            out.extend(trap.clone());
        }
        out.extend(allowed_causes(ix, t));
        if !trap_leads {
            out.extend(trap);
        }
        front.append(&mut out);
        out = front;
    }
    out
}

/// Both sides block for certain: a fix of one alone leaves the flow blocked, so the first
/// suggestion says the second change is needed too.
fn both_sides_block(first: &mut RootCause, second: &RootCause) {
    first.suggestion.push_str(&format!(
        " The other side blocks too ({}, the next cause): the flow needs both changes.",
        serde_json::to_value(second.code)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    ));
}

fn always_allowed_cause(a: &AlwaysAllowed) -> RootCause {
    RootCause {
        code: RootCauseCode::AlwaysAllowed,
        summary: match a {
            AlwaysAllowed::SamePod => "A pod talking to itself is never restricted by NetworkPolicy.".into(),
            AlwaysAllowed::NodeToLocalPod { node } => {
                format!(
                    "Traffic from node {node} to a pod on that node (kubelet probes, hostNetwork pods) is always allowed."
                )
            }
        },
        policies: Vec::new(),
        evidence: Vec::new(),
        suggestion: "Nothing to change: policy is not involved.".into(),
    }
}

/// Why an allowed flow passes NetworkPolicy: no side is isolated, or the rules that allow it
/// (with a misplaced '-' that allows a whole namespace). A side an AdminNetworkPolicy Allow
/// decided is explained by that rule instead.
fn allowed_causes(ix: &ClusterIndex, t: &FlowTrace) -> Vec<RootCause> {
    let admin_allowed = |s: &SideTrace| {
        let accepts = |h: &crate::engine::AdminHit| h.action == Action::Allow;
        s.admin.as_ref().is_some_and(accepts)
            || calico_decided_allow(s)
            || (!s.isolated()
                && s.baseline
                    .as_ref()
                    .is_some_and(|b| accepts(b) && b.kind == AdminKind::Cluster))
    };
    let isolated: Vec<&SideTrace> = [&t.egress, &t.ingress]
        .into_iter()
        .filter(|s| s.isolated() && !admin_allowed(s))
        .collect();
    if isolated.is_empty() && (admin_allowed(&t.egress) || admin_allowed(&t.ingress)) {
        // Explained by ADMIN_NETWORK_POLICY_ALLOW.
        return Vec::new();
    }
    if isolated.is_empty() {
        return vec![RootCause {
            code: RootCauseCode::AllowedNoPolicy,
            summary:
                "No NetworkPolicy isolates the source's egress or the destination's ingress, so the traffic is allowed."
                    .into(),
            policies: Vec::new(),
            evidence: [&t.egress, &t.ingress]
                .iter()
                .filter_map(|s| s.not_applicable.clone())
                .chain([&t.egress, &t.ingress].into_iter().flat_map(pass_notes))
                .collect(),
            suggestion: format!(
                "If it should not pass: a NetworkPolicy that selects the destination's pods isolates their ingress, and its rules then name who may connect. {NOT_POLICY}"
            ),
        }];
    }
    let mut policies = Vec::new();
    let mut evidence = Vec::new();
    let mut rules = Vec::new();
    for s in &isolated {
        for r in s.rules.iter().filter(|r| r.allows()) {
            let pol = &ix.policies[r.policy];
            let d = s.direction.as_str();
            let quoted = pol.rule(s.direction, r.rule_index).map(|x| x.quote(s.direction));
            evidence.push(format!(
                "{} spec.{d}[{}]: {} allows it",
                pol.key(),
                r.rule_index,
                quoted.unwrap_or_default()
            ));
            rules.push(format!("{} spec.{d}[{}]", pol.key(), r.rule_index));
            policies.push(pol.key());
        }
        for (policy, short, line) in cilium::allowing(ix, s) {
            evidence.push(format!("{line}: allows it"));
            rules.push(short);
            policies.push(policy);
        }
        evidence.extend(pass_notes(s));
    }
    policies.sort();
    policies.dedup();
    let allowed = RootCause {
        code: RootCauseCode::AllowedByPolicy,
        summary: format!(
            "It passes because every isolated side has a rule that allows it: {}.",
            rules.join(", ")
        ),
        policies,
        evidence,
        suggestion: format!(
            "If it should not pass: narrow the rules named (their peers or ports, quoted in the evidence). {NOT_POLICY}"
        ),
    };
    // A separate namespaceSelector element that let a whole namespace in leads: the rule
    // allows this flow by mistake.
    let mut out: Vec<RootCause> = or_confusion_when_allowed(ix, t).into_iter().collect();
    out.push(allowed);
    out
}

/// What to look at when policy allows and the traffic still fails.
const NOT_POLICY: &str = "If it still fails, the cause is not NetworkPolicy: check the Service and its endpoints, DNS, the application, or CNI-specific policies.";

/// An allowed flow whose name lookup NetworkPolicy blocks (a `DNS_EGRESS_BLOCKED` after it):
/// "it still fails" points at that cause, not away from NetworkPolicy.
pub fn still_fails_on_dns(causes: &mut [RootCause]) {
    if !causes.iter().any(|rc| rc.code == RootCauseCode::DnsEgressBlocked) {
        return;
    }
    let allowed = [RootCauseCode::AllowedByPolicy, RootCauseCode::AllowedNoPolicy];
    for rc in causes.iter_mut().filter(|rc| allowed.contains(&rc.code)) {
        rc.suggestion = rc.suggestion.replace(
            NOT_POLICY,
            "If it still fails, NetworkPolicy blocks the name lookup before the connection starts: see DNS_EGRESS_BLOCKED.",
        );
    }
}

/// The policies that make `side` uncertain for the doubts `which` accepts, as the engine named them.
fn uncertain_policies(side: &SideTrace, which: impl Fn(Doubt) -> bool) -> Vec<String> {
    let mut out: Vec<String> = side
        .uncertain
        .iter()
        .filter(|u| which(u.doubt))
        .map(|u| u.policy.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What makes `side` uncertain: one cause for fields the API server does not know
/// (`POLICY_FIELD_UNKNOWN`), one for the other doubts (parts that could not be read, orders
/// Kubernetes leaves undefined, domain names), each present only when it applies.
pub fn uncertain_causes(ix: &ClusterIndex, side: &SideTrace) -> Vec<RootCause> {
    let subject = side.subject.map(|id| ix.pod(id).key()).unwrap_or_default();
    let field_unknown = |d: Doubt| d == Doubt::FieldUnknown;
    let dataplane = |d: Doubt| d == Doubt::DataplaneDependent;
    let mut out = Vec::new();
    if side.uncertain.iter().any(|u| dataplane(u.doubt)) {
        out.push(dataplane_cause(side, &subject));
    }
    if side.uncertain.is_empty()
        || side
            .uncertain
            .iter()
            .any(|u| !field_unknown(u.doubt) && !dataplane(u.doubt))
    {
        out.push(unreadable_cause(side, &subject));
    }
    if side.uncertain.iter().any(|u| field_unknown(u.doubt)) {
        out.push(field_unknown_cause(
            side,
            uncertain_policies(side, field_unknown),
            &subject,
        ));
    }
    out
}

/// Rules whose outcome depends on the dataplane or the agent's configuration (Cilium FQDNs,
/// groups, Services, entities such as host or kube-apiserver, L7 rules): `DATAPLANE_DEPENDENT`.
fn dataplane_cause(side: &SideTrace, subject: &str) -> RootCause {
    let dir = side.direction.as_str();
    let dataplane = |d: Doubt| d == Doubt::DataplaneDependent;
    let policies = uncertain_policies(side, dataplane);
    let summary = if side.allowed {
        format!(
            "{subject}'s {dir} is allowed at L3/L4 as far as the snapshot shows, but {} decide{} part of it in the dataplane (named in the evidence), which may still refuse it: the verdict is inconclusive.",
            policies.join(", "),
            if policies.len() == 1 { "s" } else { "" }
        )
    } else {
        format!(
            "{subject}'s {dir} is not allowed by any rule decided offline, and {} may allow it through a rule decided in the dataplane (named in the evidence): the verdict is inconclusive.",
            policies.join(", ")
        )
    };
    let evidence: Vec<String> = side
        .uncertain
        .iter()
        .filter(|u| dataplane(u.doubt))
        .map(|u| u.reason.clone())
        .collect();
    let mut suggestion = String::from(
        "Check on the cluster what the named rule resolves to (cilium policy selectors, hubble observe --verdict DROPPED for the flow), or make it L3/L4 only (endpoints, entities world/cluster, CIDRs, ports).",
    );
    if evidence.iter().any(|e| e.contains("the L7 proxy may still refuse")) {
        suggestion = "If requests are refused: `hubble observe --protocol http` shows what the L7 proxy dropped; add an L7 rule for that request (its method and path) beside the others rather than removing the L7 part, which would admit every request.".into();
    }
    if evidence
        .iter()
        .any(|e| e.contains("the agent's version is not in the snapshot"))
    {
        suggestion.push_str(" `cilium version` tells which reading holds (1.17 or later: toServices matches a Service's pods), or include the cilium DaemonSet in the snapshot.");
    }
    RootCause {
        code: RootCauseCode::DataplaneDependent,
        summary,
        policies,
        evidence,
        suggestion,
    }
}

/// Parts that could not be read, or (when those are all there is) an undefined order or domain
/// names: `POLICY_UNREADABLE`.
fn unreadable_cause(side: &SideTrace, subject: &str) -> RootCause {
    let dir = side.direction.as_str();
    let other = |d: Doubt| d != Doubt::FieldUnknown && d != Doubt::DataplaneDependent;
    let policies = uncertain_policies(side, other);
    let doubts: Vec<Doubt> = side.uncertain.iter().map(|u| u.doubt).filter(|d| other(*d)).collect();
    let all = |d: Doubt| doubts.iter().all(|x| *x == d);
    if !doubts.is_empty() && (all(Doubt::OrderUndefined) || all(Doubt::Unresolved)) {
        return undecidable_cause(side, policies, subject);
    }
    let named = if policies.is_empty() {
        "a policy that could not be read".to_string()
    } else {
        policies.join(", ")
    };
    let summary = if side.allowed {
        format!(
            "{subject}'s {dir} looks allowed, but {named} could not be read and may select it and change that, so the verdict is not certain."
        )
    } else {
        format!(
            "{subject}'s {dir} is not allowed by any readable rule, and {named} could not be read and may allow it: the verdict is inconclusive."
        )
    };
    RootCause {
        code: RootCauseCode::PolicyUnreadable,
        summary,
        policies,
        evidence: side.uncertain.iter().filter(|u| other(u.doubt)).map(|u| u.reason.clone()).collect(),
        suggestion: "Fix or re-export the named policy (kubectl get networkpolicy -n <ns> <name> -o yaml, or kubectl get adminnetworkpolicy <name> -o yaml for an AdminNetworkPolicy; the load warnings name the field that does not parse) and run the diagnosis again.".into(),
    }
}

/// Readable policies that still leave `side` open to doubt: an order Kubernetes leaves undefined
/// (equal priorities, or two kinds in one tier), or domain names not resolved here.
fn undecidable_cause(side: &SideTrace, policies: Vec<String>, subject: &str) -> RootCause {
    let (dir, named) = (side.direction.as_str(), policies.join(", "));
    let (why, suggestion) = match side
        .uncertain
        .iter()
        .map(|u| u.doubt)
        .find(|d| *d != Doubt::FieldUnknown)
    {
        Some(Doubt::OrderUndefined) => (
            format!(
                "the order of {named} against the policy that decides is undefined in Kubernetes, and they decide this traffic differently"
            ),
            "Give the policies distinct priorities (an AdminNetworkPolicy and a ClusterNetworkPolicy of one tier cannot be ordered: keep one kind), then run the diagnosis again.",
        ),
        _ => (
            format!("{named} names domain names, which are not resolved here, and may decide this traffic"),
            "Resolve the domain names by hand (nslookup from the source) and compare with the destination address.",
        ),
    };
    RootCause {
        code: RootCauseCode::PolicyUnreadable,
        summary: format!("{subject}'s {dir} cannot be decided for certain: {why}, so the verdict is inconclusive."),
        policies,
        evidence: side
            .uncertain
            .iter()
            .filter(|u| u.doubt != Doubt::FieldUnknown)
            .map(|u| u.reason.clone())
            .collect(),
        suggestion: suggestion.into(),
    }
}

/// A policy that may change `side` has a field its API type does not define: the object in the
/// file cannot be the object in the cluster (kubectl rejects it, or the field was dropped).
fn field_unknown_cause(side: &SideTrace, policies: Vec<String>, subject: &str) -> RootCause {
    let dir = side.direction.as_str();
    RootCause {
        code: RootCauseCode::PolicyFieldUnknown,
        summary: format!(
            "{} {} a field the API server does not know, and may change {subject}'s {dir}: kubectl apply rejects such an object (strict field validation, the default since 1.27) and an older client drops the field, so the policy in the cluster is not the one in the file and the verdict is inconclusive.",
            policies.join(", "),
            if policies.len() == 1 { "has" } else { "have" },
        ),
        policies,
        evidence: side
            .uncertain
            .iter()
            .filter(|u| u.doubt == Doubt::FieldUnknown)
            .map(|u| u.reason.clone())
            .collect(),
        suggestion: "Correct the field in the file (the load warnings name it: e.g. matchLabels, egress, policyTypes; the pre-v0.1 AdminNetworkPolicy peer `namespaces: {namespaceSelector: …}` is `namespaces: {…}` now), or compare with the object the cluster holds (kubectl get <kind> [-n <ns>] <name> -o yaml), and run the diagnosis again.".into(),
    }
}

/// A policy written as a "deny all": no ingress rule, or "deny" in its name. Only those make
/// the omitted-policyTypes trap worth reporting; an ordinary ingress allow-list without
/// policyTypes is the common, intended way to write a policy.
pub fn looks_like_deny_all(p: &crate::policy::Policy) -> bool {
    p.ingress.as_ref().is_some_and(Vec::is_empty) || p.name.to_ascii_lowercase().contains("deny")
}

/// The omitted-policyTypes trap: a deny-style policy without policyTypes and without an egress
/// section isolates ingress only, so the egress of the pods it selects stays open. So does one
/// with `egress: []` and no policyTypes, deny-style or not: the API server adds Egress only for
/// a non-empty egress list (`SetDefaults_NetworkPolicy`).
pub fn omits_egress_by_default(p: &crate::policy::Policy) -> bool {
    p.egress_defaulted_away() || (!p.policy_types_declared && !p.has_egress_section && looks_like_deny_all(p))
}

/// Why the policies' egress is not isolated, in the API server's words.
fn omitted_egress_evidence(policies: &[&crate::policy::Policy]) -> Vec<String> {
    let mut out = Vec::new();
    if policies.iter().any(|p| !p.egress_defaulted_away()) {
        out.push(
            "policyTypes omitted = [Ingress], plus Egress only when the policy has a non-empty egress list".into(),
        );
    }
    for p in policies.iter().filter(|p| p.egress_defaulted_away()) {
        out.push(format!(
            "{}: policyTypes absent; `egress: []` is empty, so the API server defaults policyTypes to [Ingress] (SetDefaults_NetworkPolicy) and egress is not isolated",
            p.key()
        ));
    }
    out
}

/// The source is selected by a policy without policyTypes and without an egress section,
/// often written as a "deny all" that only denies ingress.
pub fn policytypes_omitted(ix: &ClusterIndex, t: &FlowTrace) -> Option<RootCause> {
    let trapped = trapped_policies(ix, t);
    let Endpoint::Pod(src) = t.flow.src else { return None };
    if trapped.is_empty() {
        return None;
    }
    let pod = ix.pod(src);
    let names: Vec<String> = trapped.iter().map(|p| p.key()).collect();
    Some(RootCause {
        code: RootCauseCode::PolicytypesOmittedEgressOpen,
        summary: format!(
            "{} selects the source but omits policyTypes and has no egress rule (no egress section, or `egress: []`), so it isolates ingress only: the source's egress stays open.",
            names.join(", ")
        ),
        evidence: std::iter::once(format!("source {} is selected by {}", pod.key(), names.join(", ")))
            .chain(omitted_egress_evidence(&trapped))
            .collect(),
        policies: names,
        suggestion: "If egress was meant to be denied, the policy needs policyTypes: [Ingress, Egress] (an egress list that is empty then denies all egress).".into(),
    })
}

/// The policies that select the (not egress-isolated) source and leave its egress open by
/// omitting policyTypes, by name.
fn trapped_policies<'a>(ix: &'a ClusterIndex, t: &FlowTrace) -> Vec<&'a crate::policy::Policy> {
    let Endpoint::Pod(src) = t.flow.src else {
        return Vec::new();
    };
    if t.egress.isolated() || ix.pod(src).host_network {
        return Vec::new();
    }
    let pod = ix.pod(src);
    let mut trapped: Vec<&crate::policy::Policy> = ix
        .policies_in(&pod.namespace)
        .iter()
        .map(|&id| &ix.policies[id])
        .filter(|p| p.target.matches(&pod.labels) && omits_egress_by_default(p))
        .collect();
    trapped.sort_by_key(|p| p.key());
    trapped
}

/// A deny-all by its shape (no ingress rule, or `egress: []` defaulted away), not only by name.
fn shaped_as_deny_all(p: &crate::policy::Policy) -> bool {
    p.ingress.as_ref().is_some_and(Vec::is_empty) || p.egress_defaulted_away()
}

/// `on TCP 8080`, or `on the needed port` when the query named none.
pub(super) fn on_port(t: &FlowTrace) -> String {
    match t.flow.port {
        // DNS answers too large for UDP are retried over TCP: a fix for one needs both.
        Some(53) if matches!(t.flow.protocol, Protocol::Udp | Protocol::Tcp) => "on UDP and TCP 53".into(),
        Some(p) => format!("on {} {p}", t.flow.protocol),
        None => "on the needed port".into(),
    }
}

/// Allowed through a namespaceSelector-only element that has a podSelector-only sibling: a
/// classic misplaced '-' that allows a whole namespace where one AND element was meant.
fn or_confusion_when_allowed(ix: &ClusterIndex, t: &FlowTrace) -> Option<RootCause> {
    for side in [&t.egress, &t.ingress] {
        for r in side.rules.iter().filter(|r| r.allows()) {
            let pol = &ix.policies[r.policy];
            // A rule without peers (all peers) cannot be an AND/OR mix-up: look at the next one.
            let Some(peers) = pol.rule(side.direction, r.rule_index).and_then(|x| x.peers.as_ref()) else {
                continue;
            };
            let peer_ep = if side.direction == Direction::Ingress {
                t.flow.src
            } else {
                t.flow.dst
            };
            let Endpoint::Pod(peer) = peer_ep else { continue };
            let peer_ns_labels = ix.namespace_labels(&ix.pod(peer).namespace);
            // The element that let the peer in: a namespaceSelector alone, matching its namespace.
            let ns_only = peers.iter().enumerate().find_map(|(i, p)| match p {
                Peer::Pods {
                    namespaces: NamespaceScope::Matching(sel),
                    pod_selector_set: false,
                    ..
                } if sel.matches(&peer_ns_labels) => Some((i, sel)),
                _ => None,
            });
            let pod_only = peers.iter().enumerate().find_map(|(j, p)| match p {
                Peer::Pods {
                    namespaces: NamespaceScope::Same(_),
                    pods,
                    pod_selector_set: true,
                } => Some((j, pods)),
                _ => None,
            });
            let (Some((i, ns_sel)), Some((j, pods))) = (ns_only, pod_only) else {
                continue;
            };
            let peer_pod = ix.pod(peer);
            if pods.matches(&peer_pod.labels) {
                continue;
            }
            // By evidence: as ONE element the two would select real pods, so AND was meant;
            // when that selects nothing, the two elements are deliberate.
            let as_one: Vec<String> = blocked::pods_selected(ix, Some(ns_sel), pods, None)
                .into_iter()
                .map(|id| ix.pod(id).key())
                .collect();
            if as_one.is_empty() {
                continue;
            }
            let (d, w) = (side.direction.as_str(), peers_word(side.direction));
            let at = |k: usize| {
                format!(
                    "{} spec.{d}[{}].{w}[{k}]: {}",
                    pol.key(),
                    r.rule_index,
                    peers[k].quote()
                )
            };
            return Some(RootCause {
                code: RootCauseCode::SelectorAndOrConfusion,
                summary: format!(
                    "{} rule spec.{d}[{}] allows this through {w}[{i}], a namespaceSelector with no podSelector, next to a separate podSelector element {w}[{j}]: as separate elements they are OR, so every pod of namespace {} is allowed; as ONE element they would select {} pod(s) ({}), not {}.",
                    pol.key(),
                    r.rule_index,
                    peer_pod.namespace,
                    as_one.len(),
                    as_one.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                    peer_pod.key()
                ),
                policies: vec![pol.key()],
                evidence: vec![
                    at(i),
                    at(j),
                    super::describe::labels_line(ix, Role::deciding(side.direction.opposite()), peer),
                ],
                suggestion: format!(
                    "If only the selected pods of those namespaces were meant, put namespaceSelector and podSelector in ONE element (AND): `- namespaceSelector: {}` with `podSelector: {}` in the same element. If the whole namespace was meant, nothing to change.",
                    ns_sel.quote(),
                    pods.quote()
                ),
            });
        }
    }
    None
}
