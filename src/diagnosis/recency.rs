//! How recent the responsible policies are: for "it broke after a change", the policy created
//! last among those touching the flow is the first suspect.
//!
//! Invariant: only metadata the snapshot carries is reported; "now" is the live read's time, or
//! offline the newest `creationTimestamp` in the snapshot (a file has no clock we can trust).

use std::collections::BTreeSet;

use k8s_openapi::jiff::Timestamp;

use crate::index::ClusterIndex;
use crate::index::times::{PolicyTime, span};
use crate::report::{Diagnosis, PolicyAge};

/// Where the recency line goes among a cause's evidence: within the lines the text shows.
const EVIDENCE_SLOT: usize = 5;

/// Adds to `d` the age of each policy its root causes name (`policy_ages`), and one evidence
/// line per such policy on the first cause that names it (a fact is said once).
pub fn annotate(ix: &ClusterIndex, d: &mut Diagnosis) {
    let times = &ix.times;
    if times.policies.is_empty() {
        return;
    }
    let newest = touching(ix, d).iter().filter_map(|p| times.policy(p)?.created).max();
    let mut seen = BTreeSet::new();
    for rc in &mut d.root_causes {
        for policy in &rc.policies {
            let Some(t) = times.policy(policy) else { continue };
            if !seen.insert(policy.clone()) {
                continue;
            }
            let age = policy_age(ix, policy, t, newest);
            let at = rc.evidence.len().min(EVIDENCE_SLOT);
            rc.evidence.insert(at, evidence_line(&age));
            d.policy_ages.push(age);
        }
    }
}

/// The policies touching the flow: those the causes name, those isolating either side, and
/// every NetworkPolicy that selects either end pod (in any direction).
fn touching(ix: &ClusterIndex, d: &Diagnosis) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = d
        .root_causes
        .iter()
        .flat_map(|rc| rc.policies.iter().cloned())
        .collect();
    out.extend(d.egress.isolating_policies.iter().cloned());
    out.extend(d.ingress.isolating_policies.iter().cloned());
    for end in [&d.query.source, &d.query.destination] {
        let Some((ns, name)) = end.name.split_once('/') else {
            continue;
        };
        let Some(pod) = ix.pod_by_name(ns, name) else { continue };
        for &pid in ix.policies_in(ns) {
            if ix.policy_selects(pid, pod) {
                out.insert(ix.policies[pid].key());
            }
        }
    }
    out
}

fn policy_age(ix: &ClusterIndex, policy: &str, t: PolicyTime, newest: Option<Timestamp>) -> PolicyAge {
    let age = t.created.and_then(|c| match (ix.times.read_at, ix.times.newest) {
        (Some(now), _) => Some(format!("{} ago", span(c, now))),
        (None, Some(now)) => Some(format!("{} before the newest object in the snapshot", span(c, now))),
        (None, None) => None,
    });
    PolicyAge {
        policy: policy.to_string(),
        created: t.created.map(|c| c.to_string()),
        generation: t.generation,
        age,
        newest_touching_flow: t.created.is_some() && t.created == newest,
    }
}

/// `shop/p: created 2026-12-05T10:00:00Z (2 h before the newest object in the snapshot),
/// generation 3; the most recently created policy touching this flow`.
fn evidence_line(a: &PolicyAge) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &a.created {
        parts.push(match &a.age {
            Some(age) => format!("created {c} ({age})"),
            None => format!("created {c}"),
        });
    }
    if let Some(g) = a.generation {
        parts.push(format!("generation {g}"));
    }
    let newest = match a.newest_touching_flow {
        true => "; the most recently created policy touching this flow",
        false => "",
    };
    format!("{}: {}{newest}", a.policy, parts.join(", "))
}
