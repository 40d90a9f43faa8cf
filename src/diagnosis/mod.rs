//! The composite flow: resolve the query, evaluate, and rank root causes with evidence.
//!
//! Invariant: pure and synchronous. A verdict is `blocked` only when a side blocks for
//! certain, `allowed` only when both sides allow for certain; anything else is `inconclusive`.

pub mod causes;
pub mod checks;
pub mod cluster_policies;
pub mod describe;
pub mod diff;
pub mod map_stream;
pub mod matrix;
pub mod query;
pub mod reach;
pub mod recency;
pub mod steps;
pub mod suggest;
pub mod whatif;

use crate::engine::{self, Endpoint, Flow, FlowTrace, SideTrace};
use crate::index::{ClusterIndex, NAMESPACE_NAME_LABEL, PodInfo};
use crate::policy::Direction;
use crate::report::*;
use causes::{admin_cause, blocked_cause, policytypes_omitted, root_causes, uncertain_causes};
pub use causes::{looks_like_deny_all, verdict_of};
use describe::{Role, endpoint_name, failed_clause};
pub use query::Query;
use query::{PortArg, QueryError, Resolved};

/// How many rules a side lists before truncating.
const MAX_RULES_LISTED: usize = 20;
/// How many pods of a workload or service are compared with the representative one.
const MAX_PAIRS: usize = 64;

/// Runs the whole flow for one query, with the age of the responsible policies.
pub fn diagnose(ix: &ClusterIndex, q: &Query) -> Result<Diagnosis, QueryError> {
    let (mut d, _) = diagnose_traced(ix, q)?;
    recency::annotate(ix, &mut d);
    Ok(d)
}

/// One direction of a query on its own: egress at the source or ingress at the destination,
/// with the root causes that belong to that side.
pub fn check_side(ix: &ClusterIndex, q: &Query, dir: Direction) -> Result<SideCheck, QueryError> {
    let (d, t) = diagnose_traced(ix, q)?;
    let side = match dir {
        Direction::Egress => &t.egress,
        Direction::Ingress => &t.ingress,
    };
    let report = match dir {
        Direction::Egress => d.egress.clone(),
        Direction::Ingress => d.ingress.clone(),
    };
    let role = Role::deciding(dir).as_str();
    // What the whole diagnosis found that bears on this side.
    let extended_here = d.checks.extended_policies.iter().any(|x| x.endpoint == role);
    let (mut verdict, root_causes) = side_verdict(ix, &t, side, &d);
    if d.verdict == Verdict::NotEnforced {
        verdict = Verdict::NotEnforced;
    } else if extended_here && verdict != Verdict::Inconclusive {
        verdict = Verdict::Inconclusive;
    }
    let mut all = side_global_causes(&d, side, extended_here);
    all.extend(root_causes);
    all.dedup_by(|a, b| a.code == b.code && a.summary == b.summary);
    checks::unenforced_suggestions(verdict, &mut all);
    let endpoint = match dir {
        Direction::Egress => &d.query.source.name,
        Direction::Ingress => &d.query.destination.name,
    };
    let explanation = side_explanation(verdict, &t, &report, endpoint, dir, &all);
    Ok(SideCheck {
        direction: dir.as_str().to_string(),
        verdict,
        explanation,
        query: d.query,
        side: report,
        root_causes: all,
        warnings: d.warnings,
        scope: SCOPE.to_string(),
    })
}

/// The causes the whole diagnosis found that bear on one side.
fn side_global_causes(d: &Diagnosis, side: &SideTrace, extended_here: bool) -> Vec<RootCause> {
    d.root_causes
        .iter()
        .filter(|rc| match rc.code {
            RootCauseCode::CniNoNetpolSupport | RootCauseCode::SecondaryInterface | RootCauseCode::NodeportSnat => true,
            RootCauseCode::HostnetworkExempt => true,
            RootCauseCode::ServicePortVsTargetPort => !side.allowed,
            RootCauseCode::ExtendedPolicyPresent => extended_here,
            _ => false,
        })
        .cloned()
        .collect()
}

/// One side's verdict from its trace, with the causes of that side.
fn side_verdict(ix: &ClusterIndex, t: &FlowTrace, side: &SideTrace, d: &Diagnosis) -> (Verdict, Vec<RootCause>) {
    if t.always_allowed.is_some() {
        return (Verdict::Allowed, d.root_causes.clone());
    }
    match (side.allowed, side.certain()) {
        (false, true) => (Verdict::Blocked, vec![blocked_cause(ix, t, side)]),
        (false, false) => {
            let mut causes = uncertain_causes(ix, side);
            causes.push(blocked_cause(ix, t, side));
            (Verdict::Inconclusive, causes)
        }
        (true, false) => (Verdict::Inconclusive, uncertain_causes(ix, side)),
        (true, true) => {
            let mut causes: Vec<RootCause> = admin_cause(ix, t, side)
                .or_else(|| causes::calico_allow(ix, t, side))
                .into_iter()
                .collect();
            if side.direction == Direction::Egress {
                causes.extend(policytypes_omitted(ix, t));
            }
            (Verdict::Allowed, causes)
        }
    }
}

/// One sentence: why the side answers as it does.
fn side_explanation(
    verdict: Verdict,
    t: &FlowTrace,
    report: &SideReport,
    endpoint: &str,
    dir: Direction,
    causes: &[RootCause],
) -> String {
    let d = dir.as_str();
    match verdict {
        Verdict::Allowed if t.always_allowed.is_some() => "NetworkPolicy never restricts this traffic.".to_string(),
        Verdict::Allowed if report.admin_rule.is_some() && report.allowed_by.is_empty() => format!(
            "{d} of {endpoint} is allowed by {}.",
            report.admin_rule.clone().unwrap_or_default()
        ),
        Verdict::Allowed if !report.isolated => {
            format!("No NetworkPolicy isolates {d} of {endpoint}: every {d} connection is allowed on this side.")
        }
        Verdict::Allowed => format!(
            "{d} of {endpoint} is isolated and allowed by {}.",
            report
                .allowed_by
                .iter()
                .map(|r| format!("{} spec.{d}[{}]", r.policy, r.rule))
                .chain(report.cilium_rule.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => causes.first().map(|rc| rc.summary.clone()).unwrap_or_default(),
    }
}

/// The resolved ends of a query, the representative pair and the port it is asked on.
struct Asked {
    src: Resolved,
    dst: Resolved,
    flow: Flow,
    /// A note about how the port was resolved.
    port_note: Option<String>,
}

fn asked(ix: &ClusterIndex, q: &Query) -> Result<Asked, QueryError> {
    let (src, dst) = (query::resolve(ix, "from", &q.from), query::resolve(ix, "to", &q.to));
    QueryError::gather([src.as_ref().err(), dst.as_ref().err()].into_iter().flatten().cloned())?;
    let (src, dst) = (src?, dst?);
    let outside = |r: &Resolved| r.endpoints.iter().all(|e| matches!(e, Endpoint::Ip(_)));
    if outside(&src) && outside(&dst) {
        return Err(QueryError::new(
            "to",
            "neither endpoint is a pod of the snapshot: NetworkPolicy only governs traffic to or from pods".into(),
        ));
    }
    // Representatives: a pod calling its own Service is represented by another backing pod
    // when there is one (a pod talking to itself says nothing about policy).
    let rep_src = src.endpoints[0];
    let rep_dst = dst
        .endpoints
        .iter()
        .copied()
        .find(|&d| d != rep_src)
        .unwrap_or(dst.endpoints[0]);
    let (port, port_note) = match &q.port {
        Some(p) => {
            let (n, note) = query::port_for(ix, &dst, rep_dst, p, q.protocol)?;
            (Some(n), note)
        }
        None => (None, None),
    };
    Ok(Asked {
        flow: Flow {
            src: rep_src,
            dst: rep_dst,
            protocol: q.protocol,
            port,
        },
        src,
        dst,
        port_note,
    })
}

/// A workload or Service stands for several pods: they must agree with the representative
/// pair. Returns the pairs that differ (at most five) and warnings about ports that do not
/// resolve on some pods.
fn disagreeing_pairs(ix: &ClusterIndex, q: &Query, a: &Asked, verdict: Verdict) -> (Vec<String>, Vec<String>) {
    let (mut differing, mut warnings) = (Vec::new(), Vec::new());
    for &s in a.src.endpoints.iter().take(MAX_PAIRS) {
        for &d in a.dst.endpoints.iter().take(MAX_PAIRS) {
            if (s, d) == (a.flow.src, a.flow.dst) {
                continue;
            }
            let port = match &q.port {
                Some(p) => match query::port_for(ix, &a.dst, d, p, q.protocol) {
                    Ok((n, _)) => Some(n),
                    Err(e) => {
                        warnings.push(format!("{}: {}", endpoint_name(ix, d), e.message));
                        continue;
                    }
                },
                None => None,
            };
            let flow = Flow {
                src: s,
                dst: d,
                port,
                ..a.flow
            };
            let v = verdict_of(&engine::evaluate(ix, flow));
            if v != verdict {
                differing.push(format!(
                    "{} -> {}: {}",
                    endpoint_name(ix, s),
                    endpoint_name(ix, d),
                    v.as_str()
                ));
                if differing.len() >= 5 {
                    return (differing, warnings);
                }
            }
        }
    }
    (differing, warnings)
}

/// What the trace shows that a reader should know besides the causes.
fn trace_warnings(ix: &ClusterIndex, trace: &FlowTrace) -> Vec<String> {
    let mut warnings = endpoint_warnings(ix, trace);
    warnings.extend(policy_warnings(ix, trace));
    for side in [&trace.egress, &trace.ingress] {
        for r in side.rules.iter().filter(|r| r.allows() && r.matched_pod_ip_by_ipblock) {
            warnings.push(format!(
                "{} rule {} matches a pod IP through ipBlock; whether ipBlock applies to pod IPs is implementation-defined (this run assumes it does; --ipblock-matches-pods=false assumes it does not)",
                ix.policies[r.policy].key(),
                r.rule_index
            ));
        }
    }
    let doubts = || trace.egress.uncertain.iter().chain(&trace.ingress.uncertain);
    if doubts().any(|u| u.doubt == crate::engine::Doubt::DataplaneDependent) {
        warnings.push(
            "allowed_connections counts what is decided at L3/L4; rules decided in the dataplane (named in DATAPLANE_DEPENDENT) may change it".into(),
        );
    }
    if doubts().any(|u| u.doubt != crate::engine::Doubt::DataplaneDependent) {
        warnings.push(
            "allowed_connections counts only the policies that could be read; the unreadable ones may change it".into(),
        );
    }
    warnings
}

/// Which side blocks, when the verdict is not `allowed`.
fn blocked_direction(trace: &FlowTrace, verdict: Verdict) -> Option<BlockedDirection> {
    if verdict == Verdict::Allowed || trace.always_allowed.is_some() {
        return None;
    }
    match (trace.egress.allowed, trace.ingress.allowed) {
        (true, true) => None,
        (false, true) => Some(BlockedDirection::Egress),
        (true, false) => Some(BlockedDirection::Ingress),
        (false, false) => Some(BlockedDirection::Both),
    }
}

/// [`diagnose`], also returning the engine's trace of the representative pair.
pub fn diagnose_traced(ix: &ClusterIndex, q: &Query) -> Result<(Diagnosis, FlowTrace), QueryError> {
    let a = asked(ix, q)?;
    let trace = engine::evaluate(ix, a.flow);
    let mut verdict = verdict_of(&trace);
    let mut warnings: Vec<String> = a.port_note.iter().cloned().collect();
    let (differing, pair_warnings) = disagreeing_pairs(ix, q, &a, verdict);
    warnings.extend(pair_warnings);
    if !differing.is_empty() {
        warnings.push(format!(
            "the pods behind {} / {} do not all get the same verdict ({}); pods of one workload normally share labels: check them",
            q.from,
            q.to,
            differing.join("; ")
        ));
        verdict = Verdict::Inconclusive;
    }
    let sel = engine::Selection::for_pair(ix, a.flow.src, a.flow.dst);
    let conns = engine::allowed_conns(ix, &sel, a.flow.src, a.flow.dst);
    warnings.extend(trace_warnings(ix, &trace));
    warnings.sort();
    warnings.dedup();
    let mut diagnosis = Diagnosis {
        query: QueryReport {
            from: q.from.clone(),
            to: q.to.clone(),
            protocol: q.protocol.to_string(),
            port: q.port.as_ref().map(|p| match p {
                PortArg::Number(n) => n.to_string(),
                PortArg::Name(s) => s.clone(),
            }),
            resolved_port: a.flow.port.map(i64::from),
            source: endpoint_report(ix, &a.src, a.flow.src),
            destination: endpoint_report(ix, &a.dst, a.flow.dst),
        },
        verdict,
        blocked_direction: blocked_direction(&trace, verdict),
        root_causes: root_causes(ix, &trace),
        policy_ages: Vec::new(),
        allowed_connections: conns.to_string(),
        allowed_via_service: checks::service_ports(ix, &a.dst, a.flow.dst, &conns),
        egress: side_report(ix, &trace.egress),
        ingress: side_report(ix, &trace.ingress),
        checks: Checks::default(),
        confidence: "high".into(),
        warnings,
        scope: SCOPE.to_string(),
    };
    let ends = checks::Ends {
        query: q,
        src: &a.src,
        dst: &a.dst,
        trace: &trace,
        port: a.flow.port,
    };
    let replaced = checks::assess(ix, &ends, &mut diagnosis, &|q| diagnose_traced(ix, q));
    Ok((diagnosis, replaced.unwrap_or(trace)))
}

pub fn endpoint_report(ix: &ClusterIndex, r: &Resolved, e: Endpoint) -> EndpointReport {
    match e {
        Endpoint::Ip(ip) => EndpointReport {
            kind: "external".into(),
            name: ip.to_string(),
            workload: None,
            ips: vec![ip.to_string()],
            labels: Vec::new(),
            namespace_labels: Vec::new(),
            pods_total: 0,
        },
        Endpoint::Pod(id) => {
            let p = ix.pod(id);
            EndpointReport {
                kind: "pod".into(),
                name: p.key(),
                workload: Some(p.top_workload_name()),
                ips: p.ips.iter().map(|i| i.to_string()).collect(),
                labels: p.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                namespace_labels: ix
                    .namespace_labels(&p.namespace)
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
                pods_total: r.endpoints.len() as i64,
            }
        }
    }
}

/// Parts of the isolating policies that could not be read: they match nothing.
fn policy_warnings(ix: &ClusterIndex, t: &FlowTrace) -> Vec<String> {
    let mut out = Vec::new();
    for side in [&t.egress, &t.ingress] {
        for &pid in &side.isolating {
            let pol = &ix.policies[pid];
            for issue in &pol.issues {
                out.push(format!(
                    "NetworkPolicy {}: {}: {} (this part matches nothing)",
                    pol.key(),
                    issue.field,
                    issue.message
                ));
            }
        }
    }
    out
}

/// What a reader should know about the two ends, one line per fact: a fact true of both ends
/// (no IP yet, an undeclared namespace) names both in one line.
fn endpoint_warnings(ix: &ClusterIndex, trace: &FlowTrace) -> Vec<String> {
    let pods: Vec<(&str, &PodInfo)> = [(trace.flow.src, Role::Source), (trace.flow.dst, Role::Destination)]
        .into_iter()
        .filter_map(|(e, role)| match e {
            Endpoint::Pod(id) => Some((role.as_str(), ix.pod(id))),
            Endpoint::Ip(_) => None,
        })
        .collect();
    let ends = |keep: &dyn Fn(&PodInfo) -> bool, name: &dyn Fn(&str, &PodInfo) -> String| -> Option<(String, bool)> {
        let named: Vec<String> = pods.iter().filter(|(_, p)| keep(p)).map(|(r, p)| name(r, p)).collect();
        (!named.is_empty()).then(|| (named.join(" and "), named.len() > 1))
    };
    let mut w = Vec::new();
    if let Some((who, both)) = ends(&|p| p.from_template, &|r, p| format!("{r} {}", p.top_workload_name())) {
        let (is, template, pods) = if both {
            ("are", "their pod templates", "their workloads' pods")
        } else {
            ("is", "its pod template", "the workload's pods")
        };
        w.push(format!(
            "{who} {is} built from {template} (no running pod in the snapshot), standing for {pods}"
        ));
    }
    if let Some((who, both)) = ends(&|p| !p.from_template && p.ips.is_empty(), &|r, p| {
        format!("{r} pod {}", p.key())
    }) {
        let (has, they) = if both { ("have", "they run") } else { ("has", "it runs") };
        w.push(format!(
            "{who} {has} no IP yet: the verdict is what policy does once {they}"
        ));
    }
    for (role, p) in &pods {
        if let Some(phase) = p.phase.as_deref().filter(|ph| *ph != "Running" && !p.from_template) {
            w.push(format!(
                "{role} pod {} is {phase}, not Running: no traffic flows until it runs",
                p.key()
            ));
        }
    }
    let mut undeclared: Vec<(String, Vec<&str>)> = Vec::new();
    for (role, p) in pods
        .iter()
        .filter(|(_, p)| ix.namespace(&p.namespace).is_some_and(|n| !n.declared))
    {
        match undeclared.iter_mut().find(|(ns, _)| *ns == p.namespace) {
            Some((_, roles)) => roles.push(role),
            None => undeclared.push((p.namespace.clone(), vec![role])),
        }
    }
    if !undeclared.is_empty() {
        let named: Vec<String> = undeclared
            .iter()
            .map(|(ns, roles)| format!("{ns} (the {})", roles.join(" and ")))
            .collect();
        let (are, their) = if named.len() > 1 {
            ("namespaces", "are")
        } else {
            ("namespace", "is")
        };
        w.push(format!(
            "{are} {} {their} not in the snapshot: labels assumed to be only {NAMESPACE_NAME_LABEL}=<namespace name>; namespaceSelectors on other labels cannot match here",
            named.join(" and ")
        ));
    }
    for (role, p) in pods.iter().filter(|(_, p)| p.host_network) {
        w.push(format!(
            "{role} pod {} uses the host network: NetworkPolicy does not select it; its traffic carries the node's IP",
            p.key()
        ));
    }
    w
}

fn side_report(ix: &ClusterIndex, s: &SideTrace) -> SideReport {
    let rules: Vec<RuleReport> = s
        .rules
        .iter()
        .take(MAX_RULES_LISTED)
        .map(|r| RuleReport {
            policy: ix.policies[r.policy].key(),
            rule: r.rule_index as i64,
            outcome: if r.allows() { "allows".into() } else { "no-match".into() },
            failed_clause: failed_clause(s.direction, r),
        })
        .collect();
    SideReport {
        isolated: s.isolated(),
        allowed: s.allowed,
        note: s.not_applicable.clone().or_else(|| {
            let calico_quiet = s.calico.as_ref().is_none_or(|w| w.steps.is_empty());
            (!s.isolated() && s.admin.is_none() && s.baseline.is_none() && calico_quiet).then(|| {
                format!(
                    "no NetworkPolicy selects this pod for {}: {} is not isolated",
                    s.direction.as_str(),
                    s.direction.as_str()
                )
            })
        }),
        isolating_policies: s
            .isolating
            .iter()
            .map(|&p| ix.policies[p].key())
            .chain(causes::cilium::isolating(ix, s))
            .collect(),
        allowed_by: s
            .rules
            .iter()
            .filter(|r| r.allows())
            .map(|r| RuleRef {
                policy: ix.policies[r.policy].key(),
                rule: r.rule_index as i64,
            })
            .collect(),
        rules_total: s.rules.len() as i64,
        rules,
        uncertain: s.uncertain.iter().map(|u| u.reason.clone()).collect(),
        admin_rule: causes::deciding_admin_rule(ix, s).or_else(|| causes::calico_deciding_rule(ix, s)),
        calico_walk: causes::walk_lines(s),
        cilium_rule: causes::cilium::deciding_rule(ix, s),
        cilium_rules: s
            .cilium_rules
            .iter()
            .map(|t| causes::cilium::outcome_line(ix, t))
            .collect(),
    }
}
