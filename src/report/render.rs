//! Human text from the same result types the JSON output serializes.
//!
//! Invariant: short (a screen for a typical diagnosis), deterministic, and never a different
//! answer than the JSON: it only reads a `Diagnosis`.

use std::fmt::Write;

use crate::report::{Diagnosis, QueryErrorReport, RootCause, ServicePorts, SideReport, Verdict};

pub fn diagnosis_text(d: &Diagnosis) -> String {
    let mut s = String::new();
    let q = &d.query;
    let port = match (&q.port, q.resolved_port) {
        (Some(p), Some(r)) if *p != r.to_string() => format!("{} {p} (pod port {r})", q.protocol),
        (Some(p), _) => format!("{} {p}", q.protocol),
        (None, _) => no_port(d),
    };
    let verdict = match d.verdict {
        Verdict::Allowed => "ALLOWED".to_string(),
        Verdict::Blocked => format!(
            "BLOCKED ({})",
            match d.blocked_direction {
                Some(crate::report::BlockedDirection::Egress) => "egress at the source",
                Some(crate::report::BlockedDirection::Ingress) => "ingress at the destination",
                Some(crate::report::BlockedDirection::Both) => "egress at the source and ingress at the destination",
                None => "?",
            }
        ),
        Verdict::NotEnforced => "NOT ENFORCED".to_string(),
        Verdict::Inconclusive => "INCONCLUSIVE".to_string(),
    };
    let _ = writeln!(
        s,
        "{verdict}: {} -> {} on {port}",
        endpoint(&q.source),
        endpoint(&q.destination)
    );
    root_causes_text(&mut s, &d.root_causes);
    let _ = writeln!(s, "egress at source:        {}", side(&d.egress));
    let _ = writeln!(s, "ingress at destination:  {}", side(&d.ingress));
    match &d.allowed_via_service {
        Some(sp) => {
            let _ = writeln!(s, "allowed via Service:     {}", service_ports_text(sp));
            let _ = writeln!(s, "allowed to the pods:     {}", d.allowed_connections);
        }
        None => {
            let _ = writeln!(s, "allowed between them:    {}", d.allowed_connections);
        }
    }
    let _ = writeln!(s, "confidence:              {}", confidence(d));
    for w in d.warnings.iter().take(8) {
        let _ = writeln!(s, "warning: {w}");
    }
    if d.warnings.len() > 8 {
        let _ = writeln!(s, "warning: ... {} more (see --output json)", d.warnings.len() - 8);
    }
    let _ = writeln!(s, "{}", d.scope);
    s
}

/// `cause CODE: summary` for the first root cause, `also  CODE: summary` for the others.
pub fn cause_head(i: usize, rc: &RootCause) -> String {
    format!(
        "{} {}: {}",
        if i == 0 { "cause" } else { "also " },
        rc.code_str(),
        rc.summary
    )
}

/// The root causes, first one `cause`, the others `also`: summary, policies, up to six pieces of
/// evidence and the suggestion, one line each.
pub fn root_causes_text(s: &mut String, causes: &[RootCause]) {
    for (i, rc) in causes.iter().enumerate() {
        let _ = writeln!(s, "{}", cause_head(i, rc));
        if !rc.policies.is_empty() {
            let _ = writeln!(s, "      policies: {}", rc.policies.join(", "));
        }
        for e in rc.evidence.iter().take(6) {
            let _ = writeln!(s, "      - {e}");
        }
        if rc.evidence.len() > 6 {
            let _ = writeln!(s, "      - ... {} more (see --output json)", rc.evidence.len() - 6);
        }
        let _ = writeln!(s, "      suggestion: {}", rc.suggestion);
    }
}

/// `shop/api: TCP 80 -> 8080 (not TCP 9090 -> 9090)`, or which ports are blocked when none passes.
fn service_ports_text(sp: &ServicePorts) -> String {
    match (sp.allowed.is_empty(), sp.blocked.is_empty()) {
        (true, _) => format!("{}: none of its ports ({} blocked)", sp.service, sp.blocked.join(", ")),
        (false, true) => format!("{}: {}", sp.service, sp.allowed.join(", ")),
        (false, false) => format!(
            "{}: {} (not {})",
            sp.service,
            sp.allowed.join(", "),
            sp.blocked.join(", ")
        ),
    }
}

/// The header's ports when no port was asked of a Service: which of its ports of the asked
/// protocol pass, and which do not.
fn no_port_via_service(proto: &str, sp: &ServicePorts) -> String {
    let of = |v: &[String]| -> Vec<String> { v.iter().filter(|p| p.starts_with(proto)).cloned().collect() };
    let (open, shut) = (of(&sp.allowed), of(&sp.blocked));
    match (open.is_empty(), shut.is_empty()) {
        (true, _) => format!(
            "{proto} (no port asked; no {proto} port of Service {} passes)",
            sp.service
        ),
        (false, true) => format!(
            "{} (no port asked; every {proto} port of Service {})",
            open.join(", "),
            sp.service
        ),
        (false, false) => format!("{} (no port asked; not {})", open.join(", "), shut.join(", ")),
    }
}

/// The header's protocol and ports when no port was asked: which ports pass (from
/// `allowed_connections`), and that the others do not — never "any port", which reads as every.
fn no_port(d: &Diagnosis) -> String {
    let proto = &d.query.protocol;
    if let Some(sp) = &d.allowed_via_service {
        return no_port_via_service(proto, sp);
    }
    let ports = ports_of(&d.allowed_connections, proto);
    let every = ports.as_deref() == Some("1-65535");
    match (d.verdict, ports) {
        (Verdict::Allowed, _) if every => format!("every {proto} port (no port asked)"),
        (Verdict::Allowed, Some(p)) => format!("{proto} {p} (no port asked; other {proto} ports are blocked)"),
        (Verdict::Allowed, None) => {
            format!("{proto} (no port asked; each side allows some {proto} port, but no port passes both)")
        }
        (Verdict::Blocked, None) => format!("{proto} (no port asked; no {proto} port passes)"),
        // A check decided against what the rules allow (e.g. traffic as a node IP sends it).
        (Verdict::Blocked, Some(p)) => format!("{proto} (no port asked; blocked although the rules allow {proto} {p})"),
        (v, ports) => {
            let rules = match v {
                Verdict::NotEnforced => "as written, the policies allow",
                _ => "the rules that could be evaluated allow",
            };
            match ports {
                _ if every => format!("{proto} (no port asked; {rules} every {proto} port)"),
                Some(p) => format!("{proto} (no port asked; {rules} {proto} {p} only)"),
                None => format!("{proto} (no port asked; {rules} no {proto} port)"),
            }
        }
    }
}

/// The ports of `proto` in a connection set as `allowed_connections` prints it (`SCTP 9003,TCP
/// 80,8000-8100,UDP 53`, `All Connections`, `No Connections`): `80,8000-8100`, `1-65535` for
/// all, `None` for none.
fn ports_of(conns: &str, proto: &str) -> Option<String> {
    if conns == "All Connections" {
        return Some("1-65535".into());
    }
    let mut current = "";
    let mut ports = Vec::new();
    for token in conns.split(',') {
        let port = match token.split_once(' ') {
            Some((p, port)) => {
                current = p;
                port
            }
            None => token,
        };
        if current == proto {
            ports.push(port);
        }
    }
    (!ports.is_empty()).then(|| ports.join(","))
}

/// `medium (CNI unknown: the verdict assumes NetworkPolicy is enforced)`.
fn confidence(d: &Diagnosis) -> String {
    let why = match d.checks.cni.enforcement.as_str() {
        "enforced" => "the CNI enforces NetworkPolicy",
        "not-enforced" => "nothing in the cluster enforces NetworkPolicy",
        "conditional" => "enforcement depends on the CNI's configuration",
        "unknown" => "CNI unknown: the verdict assumes NetworkPolicy is enforced",
        _ => return d.confidence.clone(),
    };
    format!("{} ({why})", d.confidence)
}

fn endpoint(e: &crate::report::EndpointReport) -> String {
    match (&e.workload, e.pods_total) {
        (Some(w), n) if n > 1 => format!("{} ({w}, 1 of {n} pods)", e.name),
        (Some(w), _) if !w.ends_with("[Pod]") => format!("{} ({w})", e.name),
        _ => e.name.clone(),
    }
}

/// One side in a line: the Admin-tier rule that decided it, why it is open, or the policies
/// isolating it and the rules that allow (or that none does).
pub fn side(s: &SideReport) -> String {
    if let Some(rule) = &s.admin_rule {
        let decided = if s.allowed { "allowed" } else { "denied" };
        return format!("{decided} by {rule}");
    }
    if let Some(note) = &s.note
        && !s.isolated
    {
        return format!("open ({note})");
    }
    let by = match (&s.cilium_rule, s.allowed) {
        (Some(rule), false) => format!("denied by {rule}"),
        (_, true) => format!(
            "allowed by {}",
            s.allowed_by
                .iter()
                .map(|r| format!("{} rule {}", r.policy, r.rule))
                .chain(s.cilium_rule.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (None, false) => "no rule matches".to_string(),
    };
    format!("isolated by {}; {by}", s.isolating_policies.join(", "))
}

pub fn query_error_text(e: &QueryErrorReport) -> String {
    let mut s = String::new();
    for line in e.error.lines() {
        let _ = writeln!(s, "error: {line}");
    }
    if !e.suggestions.is_empty() && !e.error.contains("did you mean") {
        let _ = writeln!(s, "did you mean: {}", e.suggestions.join(", "));
    }
    s
}

impl crate::report::RootCause {
    /// The code as it appears in JSON (`DEFAULT_DENY_INGRESS`).
    pub fn code_str(&self) -> String {
        serde_json::to_value(self.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}
