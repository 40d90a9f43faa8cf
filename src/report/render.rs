//! Human text from the same result types the JSON output serializes.
//!
//! Invariant: short (a screen for a typical diagnosis), deterministic, and never a different
//! answer than the JSON: it only reads a `Diagnosis`.

use std::fmt::Write;

use crate::report::{Diagnosis, QueryErrorReport, RootCause, SideReport, Verdict};

pub fn diagnosis_text(d: &Diagnosis) -> String {
    let mut s = String::new();
    let q = &d.query;
    let port = match (&q.port, q.resolved_port) {
        (Some(p), Some(r)) if *p != r.to_string() => format!("{} {p} (pod port {r})", q.protocol),
        (Some(p), _) => format!("{} {p}", q.protocol),
        (None, _) => format!("{} (any port)", q.protocol),
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
    let _ = writeln!(s, "allowed between them:    {}", d.allowed_connections);
    for w in d.warnings.iter().take(8) {
        let _ = writeln!(s, "warning: {w}");
    }
    if d.warnings.len() > 8 {
        let _ = writeln!(s, "warning: ... {} more (see --output json)", d.warnings.len() - 8);
    }
    let _ = writeln!(s, "{}", d.scope);
    s
}

/// The root causes, first one `cause`, the others `also`: summary, policies, up to six pieces of
/// evidence and the suggestion, one line each.
pub fn root_causes_text(s: &mut String, causes: &[RootCause]) {
    for (i, rc) in causes.iter().enumerate() {
        let _ = writeln!(
            s,
            "{} {}: {}",
            if i == 0 { "cause" } else { "also " },
            rc.code_str(),
            rc.summary
        );
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
    let by = if s.allowed {
        format!(
            "allowed by {}",
            s.allowed_by
                .iter()
                .map(|r| format!("{} rule {}", r.policy, r.rule))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        "no rule matches".to_string()
    };
    format!("isolated by {}; {by}", s.isolating_policies.join(", "))
}

pub fn query_error_text(e: &QueryErrorReport) -> String {
    let mut s = format!("error: {}\n", e.error);
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
