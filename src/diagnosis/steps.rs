//! The diagnostic steps that are not a whole diagnosis: list policies, match selectors,
//! default deny, policyTypes, cross-namespace. Each is one tool of the MCP server and one
//! function here.
//!
//! Invariant: pure and synchronous, like the engine; results are the `report` types, sorted,
//! and long lists are cut at a limit with a [`Truncation`] saying how to narrow.

use crate::diagnosis::query::{self, QueryError};
use crate::diagnosis::{self, Query};
use crate::engine::Endpoint;
use crate::index::cni::{CniDetection, Support};
use crate::index::{ClusterIndex, PodId, PodInfo};
use crate::policy::{Direction, Labels, NamespaceScope, Peer, Policy, Section, Selector};
use crate::report::*;

/// `check_cni`: which CNIs run and whether NetworkPolicy is enforced.
pub fn check_cni(ix: &ClusterIndex) -> CniReport {
    cni_report(&ix.facts.cni)
}

/// The CNI detection in its wire shape.
pub fn cni_report(d: &CniDetection) -> CniReport {
    CniReport {
        enforcement: d.enforcement.as_str().to_string(),
        cnis: d
            .cnis
            .iter()
            .map(|c| CniFinding {
                name: c.name.clone(),
                support: match c.support {
                    Support::Supported => CniSupport::Supported,
                    Support::Conditional => CniSupport::Conditional,
                    Support::NotSupported => CniSupport::NotSupported,
                    Support::Unknown => CniSupport::Unknown,
                },
                evidence: c.evidence.clone(),
                note: c.note.clone(),
            })
            .collect(),
        summary: d.summary.clone(),
        missing: d.missing.clone(),
        evaluates: evaluated_dialects(true),
        named_only: evaluated_dialects(false),
        scope: SCOPE.to_string(),
    }
}

/// The dialects evaluated (`true`) or only named (`false`).
fn evaluated_dialects(evaluated: bool) -> Vec<String> {
    let core = [
        "NetworkPolicy (networking.k8s.io/v1)",
        "AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1)",
        "ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2)",
    ];
    let cni = crate::policy::extended::dialects();
    let extended = cni.iter().filter(|(_, e)| *e == evaluated).map(|(n, _)| n.to_string());
    match evaluated {
        true => core.iter().map(|s| s.to_string()).chain(extended).collect(),
        false => extended.collect(),
    }
}

fn truncation(total: usize, shown: usize, hint: &str) -> Option<Truncation> {
    (total > shown).then(|| Truncation {
        total: total as i64,
        shown: shown as i64,
        hint: hint.to_string(),
    })
}

fn policy_types(p: &Policy) -> Vec<String> {
    [Direction::Ingress, Direction::Egress]
        .into_iter()
        .filter(|d| p.rules(*d).is_some())
        .map(|d| if d == Direction::Ingress { "Ingress" } else { "Egress" }.to_string())
        .collect()
}

/// `list_policies`: the NetworkPolicies of a namespace (or all), with the other policy kinds.
pub fn list_policies(ix: &ClusterIndex, namespace: Option<&str>, limit: usize) -> Result<PolicyList, QueryError> {
    if let Some(ns) = namespace {
        query::check_namespace(ix, "namespace", ns)?;
    }
    let mut ids: Vec<usize> = match namespace {
        Some(ns) => ix.policies_in(ns).to_vec(),
        None => (0..ix.policies.len()).collect(),
    };
    ids.sort_by(|a, b| {
        let (a, b) = (&ix.policies[*a], &ix.policies[*b]);
        (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name))
    });
    let total = ids.len();
    let policies = ids
        .iter()
        .take(limit)
        .map(|&id| {
            let p = &ix.policies[id];
            let selects = ix
                .pods_in(&p.namespace)
                .iter()
                .filter(|&&pod| ix.policy_selects(id, pod))
                .count();
            PolicySummary {
                policy: p.key(),
                pod_selector: p.target.to_string(),
                selects_pods: selects as i64,
                policy_types: policy_types(p),
                policy_types_declared: p.policy_types_declared,
                ingress_rules: p.ingress.as_ref().map(|r| r.len() as i64),
                egress_rules: p.egress.as_ref().map(|r| r.len() as i64),
                issues: p.issues.iter().map(|i| format!("{}: {}", i.field, i.message)).collect(),
            }
        })
        .collect();
    let other_policies = ix
        .facts
        .other_policies
        .iter()
        .filter(|o| namespace.is_none() || o.namespace.is_none() || o.namespace.as_deref() == namespace)
        .map(|o| OtherPolicy {
            kind: o.kind.clone(),
            name: o.name.clone(),
            summary: calico_summary(ix, &o.kind, &o.name),
        })
        .collect();
    let unreadable = ix
        .unreadable_policies
        .iter()
        .filter(|(ns, _)| namespace.is_none_or(|n| n == ns.as_str()))
        .flat_map(|(_, v)| v.iter().map(|u| u.key.clone()))
        .collect();
    Ok(PolicyList {
        namespace: namespace.map(str::to_string),
        policies,
        truncated: truncation(
            total,
            limit.min(total),
            "give a namespace, or raise limit, to see the rest",
        ),
        other_policies,
        cluster_policies: super::cluster_policies::selecting_namespace(ix, namespace)
            .into_iter()
            .chain(super::cluster_policies::cilium_selecting_namespace(ix, namespace))
            .collect(),
        unreadable,
        scope: SCOPE.to_string(),
    })
}

/// Resolves a pod argument to its representative pod.
fn resolve_pod(ix: &ClusterIndex, argument: &str, input: &str) -> Result<(query::Resolved, PodId), QueryError> {
    let r = query::resolve(ix, argument, input)?;
    match r.endpoints[0] {
        Endpoint::Pod(id) => Ok((r, id)),
        Endpoint::Ip(ip) => Err(QueryError::new(
            argument,
            format!("{ip} is no pod of the snapshot: policies select pods; give NAMESPACE/POD"),
        )),
    }
}

fn selector_reason(sel: &Selector, labels: &crate::policy::Labels) -> (bool, String) {
    if let Some(why) = &sel.invalid {
        return (false, format!("the podSelector is invalid ({why}) and matches nothing"));
    }
    if sel.is_everything() {
        return (true, "podSelector {} selects every pod of the namespace".into());
    }
    let failed = sel.failures(labels);
    if failed.is_empty() {
        return (true, format!("the pod satisfies {sel}"));
    }
    let parts: Vec<String> = failed
        .iter()
        .map(|r| match labels.get(&r.key) {
            Some(v) => format!("{r} fails: the pod has {}={v}", r.key),
            None => format!("{r} fails: the pod has no label {}", r.key),
        })
        .collect();
    (false, parts.join("; "))
}

/// `match_selectors`: which policies of the pod's namespace select it, per direction, and why.
pub fn match_selectors(ix: &ClusterIndex, pod: &str, limit: usize) -> Result<SelectorReport, QueryError> {
    let (resolved, id) = resolve_pod(ix, "pod", pod)?;
    let p = ix.pod(id);
    let warnings = selector_warnings(&resolved, p);
    let mut matches = selector_matches(ix, p);
    let total = matches.len();
    matches.truncate(limit);
    let mut unreadable: Vec<String> = [Direction::Ingress, Direction::Egress]
        .into_iter()
        .flat_map(|d| ix.possibly_selecting_unreadable(id, d))
        .map(|m| m.policy)
        .collect();
    unreadable.sort();
    unreadable.dedup();
    Ok(SelectorReport {
        other_kinds: other_kinds_selecting(ix, p),
        cluster_policies: super::cluster_policies::selecting_pod(ix, id)
            .into_iter()
            .chain(super::cluster_policies::cilium_selecting_pod(ix, id))
            .collect(),
        pod: crate::diagnosis::endpoint_report(ix, &resolved, Endpoint::Pod(id)),
        ingress_isolated_by: isolating_keys(ix, id, Direction::Ingress),
        egress_isolated_by: isolating_keys(ix, id, Direction::Egress),
        truncated: truncation(
            total,
            matches.len(),
            "selecting policies come first; raise limit to see more non-selecting ones",
        ),
        policies: matches,
        unreadable,
        warnings,
        scope: SCOPE.to_string(),
    })
}

/// What to know before reading the matches: a host-network pod, a name standing for many pods.
fn selector_warnings(resolved: &query::Resolved, p: &PodInfo) -> Vec<String> {
    let mut warnings = Vec::new();
    if p.host_network {
        warnings.push(format!(
            "{} uses the host network: NetworkPolicy never selects it, whatever its labels",
            p.key()
        ));
    }
    if resolved.endpoints.len() > 1 {
        warnings.push(format!(
            "{} stands for {} pods; {} represents them",
            resolved.input,
            resolved.endpoints.len(),
            p.key()
        ));
    }
    warnings
}

/// Every policy of the pod's namespace, whether its podSelector selects the pod and why;
/// selecting ones first, then by name.
fn selector_matches(ix: &ClusterIndex, p: &PodInfo) -> Vec<SelectorMatch> {
    let mut matches: Vec<SelectorMatch> = ix
        .policies_in(&p.namespace)
        .iter()
        .map(|&pid| {
            let pol = &ix.policies[pid];
            let (selects, reason) = selector_reason(&pol.target, &p.labels);
            let selects = selects && !p.host_network;
            SelectorMatch {
                policy: pol.key(),
                pod_selector: pol.target.to_string(),
                selects,
                reason,
                isolates: if selects { policy_types(pol) } else { Vec::new() },
            }
        })
        .collect();
    matches.sort_by(|a, b| b.selects.cmp(&a.selects).then_with(|| a.policy.cmp(&b.policy)));
    matches
}

/// The policies that isolate pod `id` in direction `dir`, by key.
fn isolating_keys(ix: &ClusterIndex, id: PodId, dir: Direction) -> Vec<String> {
    let mut cilium: Vec<String> = ix
        .cilium_selecting(id, dir)
        .into_iter()
        .filter(|s| s.certain && ix.cilium[s.policy].rules[s.rule].isolates(dir))
        .map(|s| ix.cilium[s.policy].key())
        .collect();
    cilium.dedup();
    ix.isolating_policies(id, dir)
        .into_iter()
        .map(|pid| ix.policies[pid].key())
        .chain(cilium)
        .collect()
}

/// Policies of other kinds (Calico, Cilium, Antrea...) that select the pod; none for a
/// host-network pod.
fn other_kinds_selecting(ix: &ClusterIndex, p: &PodInfo) -> Vec<ExtendedPolicyCheck> {
    if p.host_network {
        return Vec::new();
    }
    let ns_labels = ix.namespace_labels(&p.namespace);
    crate::policy::extended::selecting(&ix.facts.extended_objects, &p.pod_ref(&ns_labels))
        .into_iter()
        .map(|h| super::checks::extended::record(h, "pod"))
        .collect()
}

/// `check_default_deny`: deny-all and isolate-all policies of a namespace, and a pod's isolation.
pub fn check_default_deny(
    ix: &ClusterIndex,
    namespace: &str,
    pod: Option<&str>,
) -> Result<DefaultDenyReport, QueryError> {
    query::check_namespace(ix, "namespace", namespace)?;
    let pods: Vec<PodId> = ix
        .pods_in(namespace)
        .iter()
        .copied()
        .filter(|&id| !ix.pod(id).host_network)
        .collect();
    let ingress = deny_state(ix, namespace, &pods, Direction::Ingress);
    let egress = deny_state(ix, namespace, &pods, Direction::Egress);
    let notes = default_deny_notes(ix, namespace, &ingress, &egress);
    let pod = pod.map(|input| pod_isolation(ix, namespace, input)).transpose()?;
    Ok(DefaultDenyReport {
        namespace: namespace.to_string(),
        ingress,
        egress,
        pod,
        notes,
        cluster_policies: super::cluster_policies::selecting_namespace(ix, Some(namespace))
            .into_iter()
            .chain(super::cluster_policies::cilium_selecting_namespace(ix, Some(namespace)))
            .collect(),
        scope: SCOPE.to_string(),
    })
}

/// In direction `dir`: the namespace's policies that select every pod (and those of them with no
/// rule: deny-all), and how many of `pods` are isolated.
fn deny_state(ix: &ClusterIndex, namespace: &str, pods: &[PodId], dir: Direction) -> DenyState {
    let mut deny_all = Vec::new();
    let mut all = Vec::new();
    for &pid in ix.policies_in(namespace) {
        let pol = &ix.policies[pid];
        if let Some(rules) = pol.rules(dir)
            && pol.target.is_everything()
        {
            all.push(pol.key());
            if rules.is_empty() {
                deny_all.push(pol.key());
            }
        }
    }
    deny_all.sort();
    all.sort();
    let isolated = pods
        .iter()
        .filter(|&&id| !ix.isolating_policies(id, dir).is_empty())
        .count();
    DenyState {
        deny_all_policies: deny_all,
        isolating_all_pods: all,
        pods_isolated: isolated as i64,
        pods_total: pods.len() as i64,
    }
}

/// What the namespace's isolation means: DNS to allow, only allowed ingress, unreadable
/// policies, or nothing isolated.
/// Per direction, the pods of `namespace` that Cilium rules put into default deny, and by which
/// policies (NetworkPolicy's counts above do not include them).
fn cilium_isolation_notes(ix: &ClusterIndex, namespace: &str) -> Vec<String> {
    let pods: Vec<PodId> = ix
        .pods_in(namespace)
        .iter()
        .copied()
        .filter(|&id| !ix.pod(id).host_network)
        .collect();
    let mut notes = Vec::new();
    for dir in [Direction::Ingress, Direction::Egress] {
        let mut policies: Vec<String> = Vec::new();
        let mut isolated = 0;
        for &id in &pods {
            let by: Vec<String> = ix
                .cilium_selecting(id, dir)
                .into_iter()
                .filter(|s| s.certain && ix.cilium[s.policy].rules[s.rule].isolates(dir))
                .map(|s| ix.cilium[s.policy].key())
                .collect();
            isolated += usize::from(!by.is_empty());
            policies.extend(by);
        }
        policies.sort();
        policies.dedup();
        if isolated > 0 {
            notes.push(format!(
                "Cilium's default deny: {isolated} of {} pods of {namespace} are {}-isolated by {} (not in the NetworkPolicy counts above).",
                pods.len(),
                dir.as_str(),
                policies.join(", ")
            ));
        }
    }
    notes
}

fn default_deny_notes(ix: &ClusterIndex, namespace: &str, ingress: &DenyState, egress: &DenyState) -> Vec<String> {
    let mut notes = Vec::new();
    if !egress.isolating_all_pods.is_empty() {
        notes.push(format!(
            "Every pod of {namespace} is egress-isolated: DNS (UDP and TCP 53 to kube-dns in kube-system) and the API server must be allowed explicitly, or lookups time out."
        ));
    }
    if !ingress.isolating_all_pods.is_empty() {
        notes.push(format!(
            "Every pod of {namespace} is ingress-isolated: only what an ingress rule allows gets in (kubelet probes from the pod's own node still do)."
        ));
    }
    let cilium = cilium_isolation_notes(ix, namespace);
    let cilium_isolates = !cilium.is_empty();
    notes.extend(cilium);
    let unreadable: Vec<&str> = ix
        .unreadable_policies
        .get(namespace)
        .into_iter()
        .flatten()
        .map(|u| u.key.as_str())
        .collect();
    if !unreadable.is_empty() {
        notes.push(format!(
            "{} could not be read and may isolate pods of {namespace}: the counts above cover only the policies that could be read.",
            unreadable.join(", ")
        ));
    } else if ingress.pods_isolated == 0 && egress.pods_isolated == 0 && !cilium_isolates {
        notes.push(format!(
            "No pod of {namespace} is isolated in either direction: NetworkPolicy allows all traffic here."
        ));
    }
    notes
}

/// The isolation of one pod of the namespace: the policies isolating it per direction, and
/// those that deny everything (no rule).
fn pod_isolation(ix: &ClusterIndex, namespace: &str, input: &str) -> Result<PodIsolation, QueryError> {
    let (_, id) = resolve_pod(ix, "pod", input)?;
    if ix.pod(id).namespace != namespace {
        return Err(QueryError::invalid(
            "pod",
            format!("pod {input} is not in namespace {namespace}"),
        ));
    }
    let mut empty: Vec<String> = [Direction::Ingress, Direction::Egress]
        .into_iter()
        .flat_map(|d| {
            ix.isolating_policies(id, d)
                .into_iter()
                .filter(move |&p| ix.policies[p].rules(d).is_some_and(<[_]>::is_empty))
        })
        .map(|p| ix.policies[p].key())
        .collect();
    empty.sort();
    empty.dedup();
    Ok(PodIsolation {
        pod: ix.pod(id).key(),
        ingress_isolated_by: isolating_keys(ix, id, Direction::Ingress),
        egress_isolated_by: isolating_keys(ix, id, Direction::Egress),
        denied_by_empty_policies: empty,
    })
}

fn finding(code: &str, message: String) -> PolicyTypesFinding {
    PolicyTypesFinding {
        code: code.to_string(),
        message,
    }
}

fn policy_types_entry(p: &Policy) -> PolicyTypesEntry {
    let effective = policy_types(p);
    let [in_rules, eg_rules] = p.section_rules;
    let mut findings = Vec::new();
    for i in p.issues.iter().filter(|i| i.section() == Section::PolicyTypes) {
        findings.push(finding("UNKNOWN_POLICY_TYPE", format!("{}: {}", i.field, i.message)));
    }
    if p.egress_defaulted_away() {
        findings.push(finding(
            "POLICYTYPES_OMITTED_EGRESS_OPEN",
            "policyTypes absent; `egress: []` is empty, so the API server defaults policyTypes to [Ingress] (SetDefaults_NetworkPolicy adds Egress only for a non-empty egress list) and egress is not isolated: egress of the selected pods stays open. If egress was meant to be denied, policyTypes must list Egress.".into(),
        ));
    } else if super::causes::omits_egress_by_default(p) {
        findings.push(finding(
            "POLICYTYPES_OMITTED_EGRESS_OPEN",
            "policyTypes is omitted and there is no egress section, so this deny-style policy isolates ingress only: egress of the selected pods stays open. If egress was meant to be denied too, policyTypes must list Egress.".into(),
        ));
    }
    if p.policy_types_declared && p.ingress.is_none() && in_rules > 0 {
        findings.push(finding(
            "INGRESS_RULES_IGNORED",
            format!(
                "spec.ingress lists {in_rules} rule(s) but policyTypes does not include Ingress: they are ignored."
            ),
        ));
    }
    if p.policy_types_declared && p.egress.is_none() && eg_rules > 0 {
        findings.push(finding(
            "EGRESS_RULES_IGNORED",
            format!("spec.egress lists {eg_rules} rule(s) but policyTypes does not include Egress: they are ignored."),
        ));
    }
    if p.ingress.as_ref().is_some_and(Vec::is_empty) {
        findings.push(finding(
            "DENY_ALL_INGRESS",
            format!(
                "Ingress is isolated with no rule: all ingress to the pods it selects ({}) is denied unless another policy allows it.",
                p.target
            ),
        ));
    }
    if p.egress.as_ref().is_some_and(Vec::is_empty) {
        findings.push(finding(
            "DENY_ALL_EGRESS",
            format!(
                "Egress is isolated with no rule: all egress from the pods it selects ({}), DNS included, is denied unless another policy allows it.",
                p.target
            ),
        ));
    }
    PolicyTypesEntry {
        policy: p.key(),
        declared: p.policy_types_declared.then(|| effective.clone()),
        effective,
        ingress_section_rules: in_rules as i64,
        egress_section_rules: eg_rules as i64,
        has_egress_section: p.has_egress_section,
        findings,
    }
}

/// `check_policy_types`: declared and effective policyTypes of the policies of a namespace (or
/// one policy, `ns/name`), with the traps they set.
pub fn check_policy_types(
    ix: &ClusterIndex,
    namespace: Option<&str>,
    policy: Option<&str>,
    limit: usize,
) -> Result<PolicyTypesReport, QueryError> {
    let mut ids: Vec<usize> = match (namespace, policy) {
        (_, Some(key)) => {
            let Some((ns, name)) = key.split_once('/') else {
                return Err(QueryError::invalid(
                    "policy",
                    format!("policy {key:?}: expected NAMESPACE/NAME"),
                ));
            };
            query::check_namespace(ix, "policy", ns)?;
            let found: Vec<usize> = ix
                .policies_in(ns)
                .iter()
                .copied()
                .filter(|&id| ix.policies[id].name == name)
                .collect();
            if found.is_empty() {
                let candidates = ix.policies_in(ns).iter().map(|&id| {
                    let p = &ix.policies[id];
                    (p.name.clone(), p.key())
                });
                return Err(query::not_found(
                    "policy",
                    &format!("NetworkPolicy {key}"),
                    name,
                    candidates,
                ));
            }
            found
        }
        (Some(ns), None) => {
            query::check_namespace(ix, "namespace", ns)?;
            ix.policies_in(ns).to_vec()
        }
        (None, None) => (0..ix.policies.len()).collect(),
    };
    ids.sort_by(|a, b| ix.policies[*a].key().cmp(&ix.policies[*b].key()));
    // Policies with findings first: they are what the caller is looking for.
    let mut entries: Vec<PolicyTypesEntry> = ids.iter().map(|&id| policy_types_entry(&ix.policies[id])).collect();
    entries.sort_by_key(|e| e.findings.is_empty());
    let total = entries.len();
    entries.truncate(limit);
    Ok(PolicyTypesReport {
        truncated: truncation(
            total,
            entries.len(),
            "policies with findings come first; give a namespace or a policy to narrow",
        ),
        policies: entries,
        scope: SCOPE.to_string(),
    })
}

/// A namespace with its labels.
pub fn namespace_report(ix: &ClusterIndex, ns: &str) -> NamespaceReport {
    NamespaceReport {
        name: ns.to_string(),
        labels: ix
            .namespace_labels(ns)
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        declared: ix.namespace(ns).is_some_and(|n| n.declared),
    }
}

/// Every pod peer of every rule of the isolating policies of a flow, checked against the other
/// end's namespace, failing ones first; and the nearest miss in words.
pub fn namespace_peer_checks(
    ix: &ClusterIndex,
    t: &crate::engine::FlowTrace,
) -> (Vec<NamespacePeerCheck>, Option<String>) {
    let mut checks = Vec::new();
    for side in [&t.egress, &t.ingress] {
        let other = match side.direction {
            Direction::Egress => t.flow.dst,
            Direction::Ingress => t.flow.src,
        };
        let Endpoint::Pod(other_id) = other else { continue };
        side_peer_checks(ix, side, ix.pod(other_id), &mut checks);
    }
    let nearest_miss = nearest_miss(&checks);
    checks.sort_by_key(|c| {
        (
            c.namespace_matches && c.pod_matches != Some(false),
            c.policy.clone(),
            c.field.clone(),
        )
    });
    (checks, nearest_miss)
}

/// The pod peers of the rules of one side's isolating policies, checked against the pod at the
/// other end, appended to `checks`.
fn side_peer_checks(
    ix: &ClusterIndex,
    side: &crate::engine::SideTrace,
    other_pod: &PodInfo,
    checks: &mut Vec<NamespacePeerCheck>,
) {
    let other_labels = ix.namespace_labels(&other_pod.namespace);
    let peers_field = if side.direction == Direction::Egress {
        "to"
    } else {
        "from"
    };
    for &pid in &side.isolating {
        let pol = &ix.policies[pid];
        for rule in pol.rules(side.direction).into_iter().flatten() {
            for (i, peer) in rule.peers.iter().flatten().enumerate() {
                let field = format!("spec.{}[{}].{peers_field}[{i}]", side.direction.as_str(), rule.index);
                checks.extend(peer_check(pol.key(), field, peer, other_pod, &other_labels));
            }
        }
    }
}

/// A pod peer (at `field` of `policy`) checked against a pod and its namespace's labels; None
/// for a peer of another kind (ipBlock).
fn peer_check(
    policy: String,
    field: String,
    peer: &Peer,
    other_pod: &PodInfo,
    other_labels: &Labels,
) -> Option<NamespacePeerCheck> {
    let Peer::Pods {
        namespaces,
        pods,
        pod_selector_set,
    } = peer
    else {
        return None;
    };
    let (ns_sel, ns_matches, failed) = match namespaces {
        NamespaceScope::Same(ns) => (format!("(none: {ns} only)"), *ns == other_pod.namespace, Vec::new()),
        NamespaceScope::Matching(sel) => (
            sel.to_string(),
            sel.matches(other_labels),
            sel.failures(other_labels).iter().map(|r| r.to_string()).collect(),
        ),
    };
    Some(NamespacePeerCheck {
        policy,
        field,
        namespace_selector: ns_sel,
        pod_selector: pod_selector_set.then(|| pods.to_string()),
        namespace: other_pod.namespace.clone(),
        namespace_matches: ns_matches,
        pod_matches: pod_selector_set.then(|| pods.matches(&other_pod.labels)),
        failed_requirements: failed,
    })
}

/// The nearest miss: a peer whose podSelector matches and whose namespaceSelector fails by the
/// fewest requirements that a label would satisfy; else a podSelector without
/// namespaceSelector that would match with one.
fn nearest_miss(checks: &[NamespacePeerCheck]) -> Option<String> {
    checks
        .iter()
        .filter(|c| !c.namespace_matches && c.pod_matches != Some(false) && !c.failed_requirements.is_empty())
        .min_by_key(|c| c.failed_requirements.len())
        .map(|c| {
            format!(
                "{} {} would match if namespace {} had {}",
                c.policy,
                c.field,
                c.namespace,
                c.failed_requirements.join(" and ")
            )
        })
        .or_else(|| {
            checks
                .iter()
                .find(|c| !c.namespace_matches && c.namespace_selector.starts_with("(none") && c.pod_matches != Some(false))
                .map(|c| {
                    format!(
                        "{} {} has a podSelector without namespaceSelector, so it only matches pods of {}'s own namespace; it would match {} with a namespaceSelector for {}",
                        c.policy,
                        c.field,
                        c.policy.split('/').next().unwrap_or_default(),
                        c.namespace,
                        c.namespace
                    )
                })
        })
}

/// `check_cross_namespace`: both sides of a flow and the namespace selectors their rules use.
pub fn check_cross_namespace(ix: &ClusterIndex, q: &Query, limit: usize) -> Result<CrossNamespaceReport, QueryError> {
    let (d, t) = diagnosis::diagnose_traced(ix, q)?;
    let ns_of = |e: Endpoint| match e {
        Endpoint::Pod(id) => Some(ix.pod(id).namespace.clone()),
        Endpoint::Ip(_) => None,
    };
    let (src_ns, dst_ns) = (ns_of(t.flow.src), ns_of(t.flow.dst));
    let external = |e: Endpoint| NamespaceReport {
        name: match e {
            Endpoint::Ip(ip) => format!("(external {ip})"),
            Endpoint::Pod(_) => String::new(),
        },
        labels: Vec::new(),
        declared: false,
    };
    let side_verdict = |allowed: bool, certain: bool| match (allowed, certain) {
        (_, _) if t.always_allowed.is_some() => Verdict::Allowed,
        (true, true) => Verdict::Allowed,
        (false, true) => Verdict::Blocked,
        _ => Verdict::Inconclusive,
    };

    let (mut checks, nearest_miss) = namespace_peer_checks(ix, &t);
    let total = checks.len();
    checks.sort_by_key(|c| {
        (
            c.namespace_matches && c.pod_matches != Some(false),
            c.policy.clone(),
            c.field.clone(),
        )
    });
    checks.truncate(limit);
    Ok(CrossNamespaceReport {
        source_namespace: src_ns
            .as_deref()
            .map_or_else(|| external(t.flow.src), |n| namespace_report(ix, n)),
        destination_namespace: dst_ns
            .as_deref()
            .map_or_else(|| external(t.flow.dst), |n| namespace_report(ix, n)),
        same_namespace: src_ns.is_some() && src_ns == dst_ns,
        verdict: d.verdict,
        egress: side_verdict(t.egress.allowed, t.egress.certain()),
        ingress: side_verdict(t.ingress.allowed, t.ingress.certain()),
        truncated: truncation(total, checks.len(), "failing peers come first; raise limit to see more"),
        peer_checks: checks,
        nearest_miss,
        root_causes: d.root_causes,
        warnings: d.warnings,
        scope: SCOPE.to_string(),
    })
}

/// The summary of a Calico policy the engine evaluates (`kind`: `apiVersion/kind`), if it is one.
fn calico_summary(ix: &ClusterIndex, kind: &str, name: &str) -> Vec<String> {
    let key = format!("{} {name}", kind.rsplit('/').next().unwrap_or_default());
    let evaluated = crate::policy::extended::calico_evaluated(kind);
    ix.calico
        .policies
        .iter()
        .find(|p| evaluated && p.key == key)
        .map(|p| p.summary())
        .unwrap_or_default()
}
