//! The text beside each tool's structured result: a few grouped lines that name the deciding
//! policies, rules and reasons, so a client that shows only text loses nothing essential.
//!
//! Invariant: each function reads only the result it summarizes (never a different answer than
//! the JSON); a long list shows [`MAX_ITEMS`] items and counts the rest, which stay in the
//! structured result.

use std::fmt::Write;

use crate::report::render;
use crate::report::*;

/// The most items of one list a text shows.
pub const MAX_ITEMS: usize = 10;

/// `- item` lines for the first [`MAX_ITEMS`] items, then a count of the rest.
fn items<T>(s: &mut String, list: &[T], line: impl Fn(&T) -> String) {
    for it in list.iter().take(MAX_ITEMS) {
        let _ = write!(s, "\n- {}", line(it));
    }
    if list.len() > MAX_ITEMS {
        let _ = write!(s, "\n- ... {} more in the structured result", list.len() - MAX_ITEMS);
    }
}

/// Names joined by commas, or `none`.
fn names(v: &[String]) -> String {
    if v.is_empty() { "none".to_string() } else { v.join(", ") }
}

/// `(showing N of M: hint)` when a list was cut.
fn truncated(s: &mut String, t: &Option<Truncation>) {
    if let Some(t) = t {
        let _ = write!(s, "\n(showing {} of {}: {})", t.shown, t.total, t.hint);
    }
}

/// One line per warning, the first [`MAX_ITEMS`] of them.
fn warnings(s: &mut String, v: &[String]) {
    for w in v.iter().take(MAX_ITEMS) {
        let _ = write!(s, "\nwarning: {w}");
    }
    if v.len() > MAX_ITEMS {
        let _ = write!(
            s,
            "\nwarning: ... {} more in the structured result",
            v.len() - MAX_ITEMS
        );
    }
}

/// A value as its JSON string (`not-supported`).
fn wire<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The first sentence of a message.
fn first_sentence(m: &str) -> &str {
    m.split_once(". ").map_or(m, |(first, _)| first)
}

pub fn check_cni(r: &CniReport) -> String {
    let mut s = format!("NetworkPolicy enforcement: {}. {}", r.enforcement, r.summary);
    items(&mut s, &r.cnis, |c| {
        let evidence = match c.evidence.as_slice() {
            [] => String::new(),
            [one] => format!(" Evidence: {one}."),
            [first, rest @ ..] => format!(" Evidence: {first} (+{} more).", rest.len()),
        };
        format!("{} ({}): {}{evidence}", c.name, wire(&c.support), c.note)
    });
    if !r.missing.is_empty() {
        let _ = write!(s, "\nTo tell for sure, the snapshot lacks: {}", r.missing.join("; "));
    }
    let _ = write!(s, "\nEvaluated: {}.", r.evaluates.join("; "));
    if !r.named_only.is_empty() {
        let _ = write!(
            s,
            "\nNamed only (a verdict they may change is inconclusive): {}.",
            r.named_only.join("; ")
        );
    }
    s
}

/// The directions a listed policy isolates, with its rule counts (0 rules: deny all).
fn isolation(p: &PolicySummary) -> String {
    let dir = |name: &str, rules: Option<i64>| {
        rules.map(|n| match n {
            0 => format!("{name} (deny all)"),
            1 => format!("{name} (1 rule)"),
            n => format!("{name} ({n} rules)"),
        })
    };
    let parts: Vec<String> = [dir("ingress", p.ingress_rules), dir("egress", p.egress_rules)]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "isolates nothing".to_string()
    } else {
        format!("isolates {}", parts.join(", "))
    }
}

pub fn list_policies(r: &PolicyList) -> String {
    let total = r.truncated.as_ref().map_or(r.policies.len() as i64, |t| t.total);
    let mut s = format!(
        "{} NetworkPolic{} in {}:",
        total,
        if total == 1 { "y" } else { "ies" },
        r.namespace.as_deref().unwrap_or("all namespaces")
    );
    items(&mut s, &r.policies, |p| {
        let mut line = format!(
            "{}: podSelector {} selects {} pod(s), {}{}",
            p.policy,
            p.pod_selector,
            p.selects_pods,
            isolation(p),
            if p.policy_types_declared {
                ""
            } else {
                " (policyTypes omitted)"
            }
        );
        if !p.issues.is_empty() {
            let _ = write!(line, "; unreadable parts: {}", p.issues.join("; "));
        }
        line
    });
    truncated(&mut s, &r.truncated);
    if !r.unreadable.is_empty() {
        let _ = write!(s, "\nUnreadable (may select any pod): {}", r.unreadable.join(", "));
    }
    if !r.other_policies.is_empty() {
        let _ = write!(s, "\n{} policy object(s) of other kinds:", r.other_policies.len());
        items(&mut s, &r.other_policies, |o| {
            let mut line = format!("{} {}", o.kind, o.name);
            for l in &o.summary {
                line.push_str(&format!("\n    {l}"));
            }
            line
        });
    }
    cluster_policies(&mut s, &r.cluster_policies);
    s
}

/// One line per Admin- or Baseline-tier (or Cilium) policy: name, tier, priority, subject, rules.
fn cluster_policies(s: &mut String, v: &[ClusterPolicyEntry]) {
    if v.is_empty() {
        return;
    }
    let _ = write!(s, "\nAdmin/Baseline-tier and Cilium policies:");
    items(s, v, |c| {
        format!(
            "{} (tier {}, priority {}) subject {}: {}{}",
            c.policy,
            c.tier.as_deref().unwrap_or("unreadable"),
            c.priority.map_or("none".to_string(), |p| p.to_string()),
            c.subject.as_deref().unwrap_or("unreadable"),
            names(&c.rules),
            if c.issues.is_empty() {
                String::new()
            } else {
                format!(" [not evaluated: {}]", c.issues.join("; "))
            }
        )
    });
}

pub fn match_selectors(r: &SelectorReport) -> String {
    let mut s = format!(
        "{} (labels {}): ingress isolated by {}; egress isolated by {}.",
        r.pod.name,
        names(&r.pod.labels),
        names(&r.ingress_isolated_by),
        names(&r.egress_isolated_by)
    );
    items(&mut s, &r.policies, |m| {
        if m.selects {
            format!("{} selects it ({}): {}", m.policy, m.isolates.join(", "), m.reason)
        } else {
            format!("{} does not select it: {}", m.policy, m.reason)
        }
    });
    truncated(&mut s, &r.truncated);
    if !r.unreadable.is_empty() {
        let _ = write!(s, "\nUnreadable, may select it: {}", r.unreadable.join(", "));
    }
    extended(&mut s, &r.other_kinds);
    cluster_policies(&mut s, &r.cluster_policies);
    warnings(&mut s, &r.warnings);
    s
}

/// CNI-specific policies that select an endpoint (not evaluated: they may filter too).
fn extended(s: &mut String, v: &[ExtendedPolicyCheck]) {
    if v.is_empty() {
        return;
    }
    let _ = write!(s, "\nPolicies of other kinds select it (not evaluated):");
    items(s, v, |x| {
        format!("{} {} ({}): {}", x.kind, x.name, x.directions.join(", "), x.why)
    });
}

/// One direction of a namespace: isolated pods, deny-all policies, others isolating every pod.
fn deny_state(name: &str, d: &DenyState) -> String {
    let mut line = format!("{name}: {} of {} pod(s) isolated", d.pods_isolated, d.pods_total);
    if !d.deny_all_policies.is_empty() {
        let _ = write!(line, "; deny-all by {}", d.deny_all_policies.join(", "));
    }
    let others: Vec<String> = d
        .isolating_all_pods
        .iter()
        .filter(|p| !d.deny_all_policies.contains(p))
        .cloned()
        .collect();
    if !others.is_empty() {
        let _ = write!(line, "; every pod isolated (with rules) by {}", others.join(", "));
    }
    line
}

pub fn check_default_deny(r: &DefaultDenyReport) -> String {
    let mut s = format!(
        "Namespace {}:\n- {}\n- {}",
        r.namespace,
        deny_state("ingress", &r.ingress),
        deny_state("egress", &r.egress)
    );
    if let Some(p) = &r.pod {
        let _ = write!(
            s,
            "\nPod {}: ingress isolated by {}; egress isolated by {}",
            p.pod,
            names(&p.ingress_isolated_by),
            names(&p.egress_isolated_by)
        );
        if !p.denied_by_empty_policies.is_empty() {
            let _ = write!(
                s,
                "; with no rule (deny all): {}",
                p.denied_by_empty_policies.join(", ")
            );
        }
        s.push('.');
    }
    for n in &r.notes {
        let _ = write!(s, "\nnote: {n}");
    }
    cluster_policies(&mut s, &r.cluster_policies);
    s
}

pub fn check_policy_types(r: &PolicyTypesReport) -> String {
    let with: Vec<&PolicyTypesEntry> = r.policies.iter().filter(|p| !p.findings.is_empty()).collect();
    let mut s = format!(
        "{} policies checked, {} with findings{}",
        r.truncated.as_ref().map_or(r.policies.len() as i64, |t| t.total),
        with.len(),
        if with.is_empty() { "." } else { ":" }
    );
    items(&mut s, &with, |p| {
        let declared = p
            .declared
            .as_ref()
            .map_or("omitted".to_string(), |d| format!("[{}]", d.join(", ")));
        let mut line = format!(
            "{} (policyTypes {declared}, isolates [{}]):",
            p.policy,
            p.effective.join(", ")
        );
        for f in &p.findings {
            let _ = write!(line, "\n  {}: {}", f.code, first_sentence(&f.message));
        }
        line
    });
    truncated(&mut s, &r.truncated);
    s
}

/// The rules of a side that did not match, with why, unless a root cause already quotes them.
fn unmatched_rules(s: &mut String, side: &SideReport, causes: &[RootCause]) {
    let quoted = |p: &str, f: &str| {
        let key = format!("{p} {f}");
        causes
            .iter()
            .any(|c| c.summary.contains(&key) || c.evidence.iter().any(|e| e.contains(&key)))
    };
    let lines: Vec<String> = side
        .rules
        .iter()
        .filter_map(|r| r.failed_clause.as_ref().map(|c| (r, c)))
        .filter(|(r, c)| !quoted(&r.policy, &c.field))
        .map(|(r, c)| format!("{} {}: {}", r.policy, c.field, c.reasons.join("; ")))
        .collect();
    if !lines.is_empty() {
        let _ = write!(s, "\nRules that do not match:");
        items(s, &lines, String::clone);
    }
}

pub fn side_check(r: &SideCheck) -> String {
    let at = match r.direction.as_str() {
        "egress" => &r.query.source.name,
        _ => &r.query.destination.name,
    };
    let mut s = format!("{} at {at}: {}.", r.direction, r.verdict.as_str());
    if r.root_causes.first().is_none_or(|c| c.summary != r.explanation) {
        let _ = write!(s, " {}", r.explanation);
    }
    if !r.side.allowed {
        // The explanation of an allowed side names its rules; a blocked one needs the policies.
        let _ = write!(s, "\n{}: {}", r.direction, render::side(&r.side));
        if r.side.rules_total > r.side.rules.len() as i64 {
            let _ = write!(s, " ({} rules in all)", r.side.rules_total);
        }
        unmatched_rules(&mut s, &r.side, &r.root_causes);
    }
    for u in &r.side.uncertain {
        let _ = write!(s, "\nuncertain: {u}");
    }
    if !r.root_causes.is_empty() {
        s.push('\n');
        render::root_causes_text(&mut s, &r.root_causes);
        s.truncate(s.trim_end().len());
    }
    warnings(&mut s, &r.warnings);
    s
}

/// A namespace and its labels, noting when the snapshot has no Namespace object for it.
fn namespace(n: &NamespaceReport) -> String {
    format!(
        "namespace {} labels: {}{}",
        n.name,
        names(&n.labels),
        if n.declared {
            ""
        } else {
            " (no Namespace object: labels assumed)"
        }
    )
}

/// A pod peer checked against the other end: which half fails, and the requirements it lacks.
fn peer(c: &NamespacePeerCheck) -> String {
    let mut line = format!(
        "{} {}: namespaceSelector {} {} {}",
        c.policy,
        c.field,
        c.namespace_selector,
        if c.namespace_matches {
            "matches"
        } else {
            "does not match"
        },
        c.namespace
    );
    if !c.failed_requirements.is_empty() {
        let _ = write!(line, " (fails {})", c.failed_requirements.join(", "));
    }
    if let (Some(sel), Some(m)) = (&c.pod_selector, c.pod_matches) {
        let _ = write!(
            line,
            "; podSelector {sel} {} the pod",
            if m { "matches" } else { "does not match" }
        );
    }
    line
}

pub fn check_cross_namespace(r: &CrossNamespaceReport) -> String {
    let mut s = format!(
        "{} -> {}: egress {}, ingress {}, overall {}.",
        r.source_namespace.name,
        r.destination_namespace.name,
        r.egress.as_str(),
        r.ingress.as_str(),
        r.verdict.as_str()
    );
    let _ = write!(s, "\n{}", namespace(&r.source_namespace));
    if !r.same_namespace {
        let _ = write!(s, "\n{}", namespace(&r.destination_namespace));
    }
    if let Some(m) = &r.nearest_miss {
        let _ = write!(s, "\nNearest miss: {m}.");
    }
    let failing: Vec<&NamespacePeerCheck> = r
        .peer_checks
        .iter()
        .filter(|c| !c.namespace_matches || c.pod_matches == Some(false))
        .collect();
    let total = r.truncated.as_ref().map_or(r.peer_checks.len() as i64, |t| t.total);
    let _ = write!(
        s,
        "\n{total} pod peer(s) of the isolating rules checked, {} failing{}",
        failing.len(),
        if failing.is_empty() { "." } else { ":" }
    );
    items(&mut s, &failing, |c| peer(c));
    truncated(&mut s, &r.truncated);
    for (i, c) in r.root_causes.iter().enumerate() {
        let _ = write!(s, "\n{}", render::cause_head(i, c));
        if !c.policies.is_empty() {
            let _ = write!(s, " (policies: {})", c.policies.join(", "));
        }
    }
    warnings(&mut s, &r.warnings);
    s
}

pub fn connectivity_map(m: &MapReport) -> String {
    let mut s = format!(
        "{} allowed connection(s) touching {}:",
        m.truncated.as_ref().map_or(m.connections.len() as i64, |t| t.total),
        m.namespaces.join(", ")
    );
    for c in &m.connections {
        let _ = write!(s, "\n{} => {} : {}", c.src, c.dst, c.conn);
    }
    truncated(&mut s, &m.truncated);
    warnings(&mut s, &m.warnings);
    if let Some(chart) = &m.mermaid {
        let _ = write!(s, "\n```mermaid\n{}\n```", chart.trim_end());
    }
    s
}

/// `+gained -lost` of a changed pair.
fn pair_change(p: &PairChange) -> String {
    let mut s = format!("{} => {}:", p.src, p.dst);
    if let Some(g) = &p.gained {
        let _ = write!(s, " +{g}");
    }
    if let Some(l) = &p.lost {
        let _ = write!(s, " -{l}");
    }
    if let Some(d) = &p.doubt {
        let _ = write!(s, " (inconclusive: {d})");
    }
    s
}

/// `diff_snapshots`: what changed, then the changed pairs grouped by the changes that explain them.
pub fn diff(d: &DiffReport) -> String {
    let mut s = format!(
        "From {} to {}: {} object change(s); {} pair(s) gained connections, {} lost",
        d.before,
        d.after,
        d.changes.len(),
        d.gained_pairs,
        d.lost_pairs
    );
    if !d.namespaces.is_empty() {
        let _ = write!(s, " (pairs with an end in {})", d.namespaces.join(", "));
    }
    s.push_str("\nchanges:");
    items(&mut s, &d.changes, ObjectChange::describe);
    for g in d.groups.iter().take(MAX_ITEMS) {
        let _ = write!(s, "\nbecause {}:", g.because.join("; "));
        items(&mut s, &g.pairs, pair_change);
    }
    if d.groups.len() > MAX_ITEMS {
        let _ = write!(
            s,
            "\n... {} more groups in the structured result",
            d.groups.len() - MAX_ITEMS
        );
    }
    if !d.inconclusive.is_empty() {
        s.push_str("\ninconclusive, neither gained nor lost for certain:");
        items(&mut s, &d.inconclusive, pair_change);
    }
    truncated(&mut s, &d.truncated);
    warnings(&mut s, &d.warnings);
    s
}

/// A flow's verdict and first cause, `blocked (NO_MATCHING_RULE: …)`.
fn flow_outcome(o: &FlowOutcome) -> String {
    match o.code {
        Some(code) => format!("{} ({}: {})", wire(&o.verdict), wire(&code), o.summary),
        None => wire(&o.verdict),
    }
}

/// `what_if`: the edits, the asked flow before and after, then the diff.
pub fn what_if(w: &WhatIfReport) -> String {
    let mut s = String::from("What if (evaluated on a copy; nothing was applied to any cluster):");
    items(&mut s, &w.edits, Clone::clone);
    if let Some(f) = &w.flow {
        let _ = write!(
            s,
            "\nflow {}:\n  before: {}\n  after:  {}",
            f.flow,
            flow_outcome(&f.before),
            flow_outcome(&f.after)
        );
    }
    let _ = write!(s, "\n{}", diff(&w.diff));
    s
}
