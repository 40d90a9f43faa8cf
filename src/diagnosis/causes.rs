//! Root causes and their ranking: from the engine's trace of the asked flow to the causes a
//! diagnosis reports, most important first.
//!
//! Invariant: pure. The first cause is the one that decides the asked flow on the side that
//! blocks it (a side that blocks for certain, then what makes a blocking side uncertain, then
//! doubts about open sides); allowed flows name the rules or the tier that allowed them. The
//! checks around the rules (`checks/`) rank their own causes around these.

use super::describe::{endpoint_name, failed_clause, label_list, peers_word, port_failure_text};
use crate::engine::{AlwaysAllowed, Endpoint, FlowTrace, PeerFailure, RuleTrace, SideTrace};
use crate::index::{ClusterIndex, NAMESPACE_NAME_LABEL, TargetPort};
use crate::policy::{Direction, NamespaceScope, Peer, PortValue};
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

pub fn root_causes(ix: &ClusterIndex, t: &FlowTrace) -> Vec<RootCause> {
    let mut out = Vec::new();
    if let Some(a) = &t.always_allowed {
        out.push(RootCause {
            code: RootCauseCode::AlwaysAllowed,
            summary: match a {
                AlwaysAllowed::SamePod => "A pod talking to itself is never restricted by NetworkPolicy.".into(),
                AlwaysAllowed::NodeToLocalPod { node } => {
                    format!("Traffic from node {node} to a pod on that node (kubelet probes, hostNetwork pods) is always allowed.")
                }
            },
            policies: Vec::new(),
            evidence: Vec::new(),
            suggestion: "Nothing to change: policy is not involved.".into(),
        });
        return out;
    }
    // Most important first: a side that blocks for certain (that is the verdict), then what makes
    // a blocking side uncertain (that is why the verdict is inconclusive) followed by what that
    // side would be without the unreadable policy, then doubts about sides that look open.
    let (mut certain_blocks, mut unsure_blocks, mut unsure_open) = (Vec::new(), Vec::new(), Vec::new());
    for side in [&t.egress, &t.ingress] {
        match (side.allowed, side.certain()) {
            (false, true) => certain_blocks.push(blocked_cause(ix, t, side)),
            (false, false) => {
                unsure_blocks.push(unreadable_cause(ix, side));
                unsure_blocks.push(blocked_cause(ix, t, side));
            }
            (true, false) => unsure_open.push(unreadable_cause(ix, side)),
            (true, true) => {}
        }
    }
    out.extend(certain_blocks);
    out.extend(unsure_blocks);
    out.extend(unsure_open);
    if t.egress.allowed && t.ingress.allowed {
        if let Some(rc) = policytypes_omitted(ix, t) {
            out.push(rc);
        }
        // A side an AdminNetworkPolicy Allow decided is explained by that rule, not by NetworkPolicy.
        let admin_allowed = |s: &SideTrace| {
            s.admin
                .as_ref()
                .is_some_and(|a| a.action == crate::policy::admin::AdminAction::Allow)
        };
        let isolated: Vec<&SideTrace> = [&t.egress, &t.ingress]
            .into_iter()
            .filter(|s| s.isolated() && !admin_allowed(s))
            .collect();
        if isolated.is_empty() && (admin_allowed(&t.egress) || admin_allowed(&t.ingress)) {
            // Explained below by ADMIN_NETWORK_POLICY_ALLOW.
        } else if isolated.is_empty() {
            out.push(RootCause {
                code: RootCauseCode::AllowedNoPolicy,
                summary: "No NetworkPolicy isolates the source's egress or the destination's ingress, so the traffic is allowed.".into(),
                policies: Vec::new(),
                evidence: [&t.egress, &t.ingress].iter().filter_map(|s| s.not_applicable.clone()).collect(),
                suggestion: "If the traffic still fails, the cause is not NetworkPolicy: check the Service and its endpoints, DNS, the application, or CNI-specific policies.".into(),
            });
        } else {
            let mut policies = Vec::new();
            let mut evidence = Vec::new();
            for s in &isolated {
                let allowing: Vec<&RuleTrace> = s.rules.iter().filter(|r| r.allows()).collect();
                for r in &allowing {
                    let key = ix.policies[r.policy].key();
                    evidence.push(format!(
                        "{} rule spec.{}[{}] of {key} allows it",
                        s.direction.as_str(),
                        s.direction.as_str(),
                        r.rule_index
                    ));
                    policies.push(key);
                }
            }
            policies.sort();
            policies.dedup();
            out.push(RootCause {
                code: RootCauseCode::AllowedByPolicy,
                summary: "Every isolated side has a rule that allows this traffic.".into(),
                policies,
                evidence,
                suggestion: "If the traffic still fails, the cause is not NetworkPolicy: check the Service and its endpoints, DNS, the application, or CNI-specific policies.".into(),
            });
            out.extend(or_confusion_when_allowed(ix, t));
        }
        // An AdminNetworkPolicy Allow decided before any NetworkPolicy: that is the reason.
        let admin: Vec<RootCause> = [&t.egress, &t.ingress]
            .into_iter()
            .filter_map(|side| admin_cause(ix, t, side))
            .collect();
        let mut front = admin;
        front.append(&mut out);
        out = front;
    }
    out
}

/// The policies that make `side` uncertain, as the engine named them.
fn unreadable_policies(side: &SideTrace) -> Vec<String> {
    let mut out: Vec<String> = side.uncertain.iter().map(|u| u.policy.clone()).collect();
    out.sort();
    out.dedup();
    out
}

pub fn unreadable_cause(ix: &ClusterIndex, side: &SideTrace) -> RootCause {
    let dir = side.direction.as_str();
    let policies = unreadable_policies(side);
    let named = if policies.is_empty() {
        "a policy that could not be read".to_string()
    } else {
        policies.join(", ")
    };
    let subject = side.subject.map(|id| ix.pod(id).key()).unwrap_or_default();
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
        evidence: side.uncertain.iter().map(|u| u.reason.clone()).collect(),
        suggestion: "Fix or re-export the named policy (kubectl get networkpolicy -n <ns> <name> -o yaml, or kubectl get adminnetworkpolicy <name> -o yaml for an AdminNetworkPolicy; the load warnings name the field that does not parse) and run the diagnosis again.".into(),
    }
}

/// A policy written as a "deny all": no ingress rule, or "deny" in its name. Only those make
/// the omitted-policyTypes trap worth reporting; an ordinary ingress allow-list without
/// policyTypes is the common, intended way to write a policy.
pub fn looks_like_deny_all(p: &crate::policy::Policy) -> bool {
    p.ingress.as_ref().is_some_and(Vec::is_empty) || p.name.to_ascii_lowercase().contains("deny")
}

/// The source is selected by a policy without policyTypes and without an egress section,
/// often written as a "deny all" that only denies ingress.
pub fn policytypes_omitted(ix: &ClusterIndex, t: &FlowTrace) -> Option<RootCause> {
    let Endpoint::Pod(src) = t.flow.src else { return None };
    if t.egress.isolated() || ix.pod(src).host_network {
        return None;
    }
    let pod = ix.pod(src);
    let mut names: Vec<String> = ix
        .policies_in(&pod.namespace)
        .iter()
        .map(|&id| &ix.policies[id])
        .filter(|p| {
            !p.policy_types_declared && !p.has_egress_section && p.target.matches(&pod.labels) && looks_like_deny_all(p)
        })
        .map(|p| p.key())
        .collect();
    if names.is_empty() {
        return None;
    }
    names.sort();
    Some(RootCause {
        code: RootCauseCode::PolicytypesOmittedEgressOpen,
        summary: format!(
            "{} selects the source but omits policyTypes and has no egress section, so it isolates ingress only: the source's egress stays open.",
            names.join(", ")
        ),
        evidence: vec![
            format!("source {} is selected by {}", pod.key(), names.join(", ")),
            "policyTypes omitted = [Ingress], plus Egress only when the policy has an egress section".into(),
        ],
        policies: names,
        suggestion: "If egress was meant to be denied, the policy needs policyTypes: [Ingress, Egress] (an egress list that is empty then denies all egress).".into(),
    })
}

/// The admin-tier rule that decided a side, as a root cause (Deny, or Allow on an allowed side).
pub fn admin_cause(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace) -> Option<RootCause> {
    use crate::policy::admin::{AdminAction, AdminKind};
    let dir = side.direction;
    let subject = side.subject.map(|id| ix.pod(id).key()).unwrap_or_default();
    let peer = endpoint_name(
        ix,
        match dir {
            Direction::Egress => t.flow.dst,
            Direction::Ingress => t.flow.src,
        },
    );
    let describe = |hit: &crate::engine::AdminHit| {
        format!(
            "rule {}{} of {}{}",
            hit.field(dir),
            if hit.rule_name.is_empty() {
                String::new()
            } else {
                format!(" ({})", hit.rule_name)
            },
            hit.policy_key(),
            hit.priority.map(|p| format!(" (priority {p})")).unwrap_or_default()
        )
    };
    let port = on_port(t);
    if let Some(hit) = &side.admin {
        match (hit.action, side.allowed) {
            (AdminAction::Deny, false) => {
                return Some(RootCause {
                    code: RootCauseCode::AdminNetworkPolicyDeny,
                    summary: format!(
                        "{} denies {} from {} to {} {port} before any NetworkPolicy is consulted.",
                        describe(hit),
                        dir.as_str(),
                        if dir == Direction::Ingress { &peer } else { &subject },
                        if dir == Direction::Ingress { &subject } else { &peer },
                    ),
                    policies: vec![hit.policy_key()],
                    evidence: vec![format!(
                        "{} selects {subject} and its {} peers match {peer}",
                        hit.policy_key(),
                        hit.field(dir)
                    )],
                    suggestion: format!(
                        "No NetworkPolicy can override an AdminNetworkPolicy Deny. The cluster admins would change {} or add an AdminNetworkPolicy with a lower priority number that Allows or Passes this traffic (kubectl get adminnetworkpolicy {} -o yaml).",
                        hit.policy_key(),
                        hit.policy
                    ),
                });
            }
            (AdminAction::Allow, true) => {
                return Some(RootCause {
                    code: RootCauseCode::AdminNetworkPolicyAllow,
                    summary: format!(
                        "{} allows this {} traffic; NetworkPolicies are not consulted for it.",
                        describe(hit),
                        dir.as_str()
                    ),
                    policies: vec![hit.policy_key()],
                    evidence: vec![format!("{} selects {subject}", hit.policy_key())],
                    suggestion: "If the traffic still fails, NetworkPolicy is not the cause on this side.".into(),
                });
            }
            _ => {}
        }
    }
    if let Some(hit) = &side.baseline
        && hit.kind == AdminKind::Baseline
        && hit.action == AdminAction::Deny
        && !side.allowed
        && !side.isolated()
    {
        return Some(RootCause {
            code: RootCauseCode::BaselineAdminNetworkPolicyDeny,
            summary: format!(
                "No NetworkPolicy isolates {} of {subject}, so the BaselineAdminNetworkPolicy decides: {} denies it{}.",
                dir.as_str(),
                describe(hit),
                if side.admin.as_ref().is_some_and(|a| a.action == AdminAction::Pass) {
                    " (an AdminNetworkPolicy passed it on)"
                } else {
                    ""
                }
            ),
            policies: vec![hit.policy_key()],
            evidence: vec![format!("{} selects {subject} and matches {peer}", hit.policy_key())],
            suggestion: format!(
                "A NetworkPolicy that selects {subject} and allows this traffic takes precedence over the baseline (it also isolates the pod for {}, so list everything else it needs).",
                dir.as_str()
            ),
        });
    }
    None
}

pub fn blocked_cause(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace) -> RootCause {
    if let Some(rc) = admin_cause(ix, t, side) {
        return rc;
    }
    let dir = side.direction;
    let policies: Vec<String> = side.isolating.iter().map(|&p| ix.policies[p].key()).collect();
    let subject = side.subject.map(|id| ix.pod(id).key()).unwrap_or_default();
    let peer_ep = match dir {
        Direction::Egress => t.flow.dst,
        Direction::Ingress => t.flow.src,
    };
    let peer_name = endpoint_name(ix, peer_ep);
    let (code_default, code_nomatch) = match dir {
        Direction::Ingress => (RootCauseCode::DefaultDenyIngress, RootCauseCode::IngressNoMatchingRule),
        Direction::Egress => (RootCauseCode::DefaultDenyEgress, RootCauseCode::EgressNoMatchingRule),
    };
    let mut evidence: Vec<String> = side
        .isolating
        .iter()
        .map(|&p| {
            let pol = &ix.policies[p];
            format!(
                "{} selects {subject} (podSelector {}) and isolates {} with {} rule(s)",
                pol.key(),
                pol.target,
                dir.as_str(),
                pol.rules(dir).map(<[_]>::len).unwrap_or(0)
            )
        })
        .collect();
    let rule_lines = |evidence: &mut Vec<String>| {
        for r in side.rules.iter().take(8) {
            if let Some(c) = failed_clause(dir, r) {
                evidence.push(format!(
                    "{} {}: {}",
                    ix.policies[r.policy].key(),
                    c.field,
                    c.reasons.join("; ")
                ));
            }
        }
    };
    let what = match dir {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    };

    if side.rules.is_empty() {
        return RootCause {
            code: code_default,
            summary: format!(
                "{subject} is selected by {} that isolate{} {what} and allow{} nothing: default deny.",
                policies.join(", "),
                if policies.len() == 1 { "s" } else { "" },
                if policies.len() == 1 { "s" } else { "" }
            ),
            policies,
            evidence,
            suggestion: format!(
                "Add a NetworkPolicy that selects {subject} and allows {what} {} {peer_name} {} (policies are additive; the default deny stays).",
                if dir == Direction::Ingress { "from" } else { "to" },
                on_port(t)
            ),
        };
    }
    rule_lines(&mut evidence);

    // Nearest misses, most specific first.
    let peers_ok_ports_fail: Vec<&RuleTrace> = side
        .rules
        .iter()
        .filter(|r| r.peer_failures.is_empty() && r.port_failure.is_some())
        .collect();
    if let Some(r) = peers_ok_ports_fail
        .iter()
        .find(|r| r.port_failure.as_ref().is_some_and(|p| !p.unresolved_named.is_empty()))
    {
        let pf = r.port_failure.as_ref().expect("filtered on port failure");
        evidence.push(format!(
            "destination {} declares container ports: {}",
            endpoint_name(ix, t.flow.dst),
            match t.flow.dst {
                Endpoint::Pod(id) => ix.pod(id).declared_ports(),
                Endpoint::Ip(_) => "none (it is not a pod)".into(),
            }
        ));
        return RootCause {
            code: RootCauseCode::NamedPortUnresolved,
            summary: format!(
                "{} rule spec.{what}[{}] allows the named port {}, which the destination pod does not declare, so that port matches nothing.",
                ix.policies[r.policy].key(),
                r.rule_index,
                pf.unresolved_named.join(", ")
            ),
            policies: vec![ix.policies[r.policy].key()],
            evidence,
            suggestion: format!(
                "Name the container port {:?} in the destination pod's spec (containers[].ports[].name), or use the numeric port in the policy.",
                pf.unresolved_named[0]
            ),
        };
    }
    if let Some(r) = peers_ok_ports_fail.first() {
        let pf = r.port_failure.as_ref().expect("filtered on port failure");
        if let Endpoint::Pod(id) = t.flow.dst {
            let p = ix.pod(id);
            if !p.ports.is_empty() {
                evidence.push(format!(
                    "destination {} declares container ports: {}",
                    p.key(),
                    p.declared_ports()
                ));
            }
        }
        if let (Endpoint::Pod(id), Some(wanted)) = (t.flow.dst, t.flow.port) {
            let p = ix.pod(id);
            let rule = ix.policies[r.policy].rule(dir, r.rule_index);
            let rule_allows = |port: u16| {
                rule.and_then(|x| x.ports.as_ref()).is_some_and(|ps| {
                    ps.iter().any(|ps| {
                        ps.protocol == t.flow.protocol
                            && matches!(ps.value, PortValue::Range(lo, hi) if lo <= port && port <= hi)
                    })
                })
            };
            for svc in ix.services.iter().filter(|s| s.selects(p)) {
                for sp in svc
                    .ports
                    .iter()
                    .filter(|sp| sp.protocol == t.flow.protocol && sp.port != wanted && rule_allows(sp.port))
                {
                    let target = match &sp.target {
                        TargetPort::Number(n) => Some(*n),
                        TargetPort::Named(name) => p.resolve_named_port(name, sp.protocol),
                    };
                    if target == Some(wanted) {
                        evidence.push(format!(
                            "the rule allows {} {}, the port of Service {}/{}, but a Service port is translated to the pod's targetPort {wanted} before NetworkPolicy applies: policies must name the pod port",
                            sp.protocol, sp.port, svc.namespace, svc.name
                        ));
                    }
                }
            }
        }
        return RootCause {
            code: RootCauseCode::PortNotAllowed,
            summary: format!(
                "{} rule spec.{what}[{}] matches {peer_name} but not the port: {}.",
                ix.policies[r.policy].key(),
                r.rule_index,
                port_failure_text(pf)
            ),
            policies: vec![ix.policies[r.policy].key()],
            evidence,
            suggestion: format!(
                "Allow {} in that rule's ports (or send the traffic to a port the rule allows).",
                super::describe::wanted_text(&pf.wanted)
            ),
        };
    }
    let all_failures = || {
        side.rules
            .iter()
            .flat_map(|r| r.peer_failures.iter().map(move |(i, f)| (r, *i, f)))
    };
    if let Some((r, i, PeerFailure::Excepted { cidr, except, ip })) =
        all_failures().find(|(_, _, f)| matches!(f, PeerFailure::Excepted { .. }))
    {
        return RootCause {
            code: RootCauseCode::IpblockExcept,
            summary: format!(
                "{} rule spec.{what}[{}].{}[{i}] allows {cidr} but its except {except} removes {ip}.",
                ix.policies[r.policy].key(),
                r.rule_index,
                peers_word(dir)
            ),
            policies: vec![ix.policies[r.policy].key()],
            evidence,
            suggestion: format!(
                "Narrow or remove the except block {except}, or add a rule that allows {ip} explicitly."
            ),
        };
    }
    let ns_miss = all_failures().find_map(|(r, i, f)| match f {
        PeerFailure::NamespaceLabels {
            namespace,
            missing_labels,
            pod_selector_matches,
            and_element,
            ..
        } => {
            let useful: Vec<&(String, String)> = missing_labels
                .iter()
                .filter(|(k, _)| k != NAMESPACE_NAME_LABEL)
                .collect();
            (!useful.is_empty() && (*pod_selector_matches || !*and_element) && r.port_failure.is_none()).then(|| {
                (
                    r,
                    i,
                    namespace.clone(),
                    useful
                        .iter()
                        .map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") })
                        .collect::<Vec<_>>(),
                )
            })
        }
        _ => None,
    });
    if let Some((r, i, namespace, labels)) = ns_miss {
        return RootCause {
            code: RootCauseCode::NamespaceLabelMissing,
            summary: format!(
                "{} rule spec.{what}[{}].{}[{i}] would match if namespace {namespace} had the label {}.",
                ix.policies[r.policy].key(),
                r.rule_index,
                peers_word(dir),
                labels.join(",")
            ),
            policies: vec![ix.policies[r.policy].key()],
            evidence: {
                evidence.push(format!(
                    "namespace {namespace} has labels: {}",
                    label_list(&ix.namespace_labels(&namespace))
                ));
                evidence
            },
            suggestion: format!(
                "Either namespace {namespace} gets the label {} or the namespaceSelector changes; a person who owns them decides which is right.",
                labels
                    .iter()
                    .map(|l| if l.contains('=') {
                        l.clone()
                    } else {
                        format!("{l}=<value>")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
    }
    if let Some((r, i, f)) = all_failures().find(|(r, _, f)| {
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
    }) {
        let half = match f {
            PeerFailure::PodLabels { .. } => "its namespaceSelector matches but its podSelector does not",
            _ => "its podSelector matches but its namespaceSelector does not",
        };
        return RootCause {
            code: RootCauseCode::SelectorAndOrConfusion,
            summary: format!(
                "{} rule spec.{what}[{}].{}[{i}] puts namespaceSelector and podSelector in ONE element (AND): {half}. As two separate elements (OR) it would match.",
                ix.policies[r.policy].key(),
                r.rule_index,
                peers_word(dir)
            ),
            policies: vec![ix.policies[r.policy].key()],
            evidence,
            suggestion: "Check the intent: in one list element both selectors must match (AND); as two elements (a second '-') either one suffices (OR).".into(),
        };
    }
    if dir == Direction::Egress
        && let (Endpoint::Pod(s), Endpoint::Pod(d)) = (t.flow.src, t.flow.dst)
        && ix.pod(s).namespace != ix.pod(d).namespace
        && side.rules.iter().any(|r| r.port_failure.is_none())
    {
        let dst_ns = &ix.pod(d).namespace;
        evidence.push(if !t.ingress.isolated() {
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
        });
        return RootCause {
            code: RootCauseCode::CrossNamespaceEgressBlocked,
            summary: format!(
                "The source's egress policies ({}) allow no traffic to namespace {dst_ns}: the connection is blocked at the source, before the destination's ingress is considered.",
                policies.join(", ")
            ),
            policies,
            evidence,
            suggestion: format!(
                "Allow egress from {subject} to namespace {dst_ns} (a `to` element with a namespaceSelector matching kubernetes.io/metadata.name={dst_ns}, plus a podSelector for the destination) {}; both sides must allow cross-namespace traffic.",
                on_port(t)
            ),
        };
    }
    if let Endpoint::Pod(peer) = peer_ep {
        let p = ix.pod(peer);
        evidence.push(format!(
            "{} {peer_name} has labels: {}; its namespace {} has labels: {}",
            if dir == Direction::Ingress {
                "source"
            } else {
                "destination"
            },
            if p.labels.is_empty() {
                "none".into()
            } else {
                label_list(&p.labels)
            },
            p.namespace,
            label_list(&ix.namespace_labels(&p.namespace))
        ));
    }
    let same_ns_only = all_failures().find_map(|(r, i, f)| match f {
        PeerFailure::OtherNamespace {
            policy_namespace,
            peer_namespace,
        } if r.port_failure.is_none() => {
            let Endpoint::Pod(peer) = peer_ep else { return None };
            let rule = ix.policies[r.policy].rule(dir, r.rule_index)?;
            match rule.peers.as_ref()?.get(i)? {
                Peer::Pods { pods, .. } if pods.matches(&ix.pod(peer).labels) => {
                    Some((r, i, policy_namespace.clone(), peer_namespace.clone()))
                }
                _ => None,
            }
        }
        _ => None,
    });
    let suggestion = match &same_ns_only {
        Some((r, i, policy_ns, peer_ns)) => format!(
            "{} spec.{what}[{}].{}[{i}] has a podSelector that matches {peer_name} but no namespaceSelector, so it only selects pods of {policy_ns}: to admit pods of {peer_ns}, add a namespaceSelector (e.g. {NAMESPACE_NAME_LABEL}={peer_ns}) in the SAME element as the podSelector.",
            ix.policies[r.policy].key(),
            r.rule_index,
            peers_word(dir)
        ),
        None => format!(
            "Add a rule (or a policy) allowing {what} {} {peer_name}; the evidence names the clause of each rule that fails.",
            if dir == Direction::Ingress { "from" } else { "to" }
        ),
    };
    RootCause {
        code: code_nomatch,
        summary: format!(
            "{subject} is isolated for {what} by {}, and no rule matches {peer_name}{}.",
            policies.join(", "),
            t.flow
                .port
                .map(|p| format!(" on {} {p}", t.flow.protocol))
                .unwrap_or_default()
        ),
        policies,
        evidence,
        suggestion,
    }
}

/// `on TCP 8080`, or `on the needed port` when the query named none.
fn on_port(t: &FlowTrace) -> String {
    match t.flow.port {
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
            let ns_only = peers.iter().position(|p| match p {
                Peer::Pods {
                    namespaces: NamespaceScope::Matching(sel),
                    pod_selector_set: false,
                    ..
                } => sel.matches(&peer_ns_labels),
                _ => false,
            });
            let pod_only = peers.iter().find_map(|p| match p {
                Peer::Pods {
                    namespaces: NamespaceScope::Same(_),
                    pods,
                    pod_selector_set: true,
                } => Some(pods),
                _ => None,
            });
            let (Some(i), Some(pods)) = (ns_only, pod_only) else {
                continue;
            };
            let peer_pod = ix.pod(peer);
            if pods.matches(&peer_pod.labels) {
                continue;
            }
            return Some(RootCause {
                code: RootCauseCode::SelectorAndOrConfusion,
                summary: format!(
                    "{} rule spec.{}[{}] allows this through {}[{i}], a namespaceSelector with no podSelector, next to a separate podSelector element ({pods}): as separate elements they are OR, so every pod of the namespace is allowed.",
                    pol.key(),
                    side.direction.as_str(),
                    r.rule_index,
                    peers_word(side.direction)
                ),
                policies: vec![pol.key()],
                evidence: vec![format!("{} does not match podSelector {pods}, but its namespace matches the separate namespaceSelector", peer_pod.key())],
                suggestion: "If only the selected pods of those namespaces were meant, put namespaceSelector and podSelector in ONE element (AND).".into(),
            });
        }
    }
    None
}
