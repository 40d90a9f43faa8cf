//! CNI-specific policies (Cilium, Calico, Antrea, MultiNetworkPolicy) that select an end of the
//! flow in the direction that matters there (egress at the source, ingress at the destination).
//!
//! Kinds the engine evaluates (`ExtendedHit::evaluated`: Cilium) are not named here; their rules
//! are in the sides' traces.
//!
//! Invariant: they are named, never ignored; they can allow as well as deny, so only a block on
//! a side none of them selects stays certain: every other verdict they touch is `inconclusive`.
//! Calico policies whose selection is certain are the exception: the engine evaluates them
//! (Calico's tier walk), so they are left to it.

use super::{Effect, Ends, Finding, Rank, Record, pod_of};
use crate::diagnosis::describe::Role;
use crate::index::ClusterIndex;
use crate::policy::Direction;
use crate::policy::extended::{self, ExtendedHit};
use crate::report::*;

/// The CNI-specific policies that select an end for the direction that matters there.
fn selecting(ix: &ClusterIndex, e: &Ends<'_>) -> Vec<ExtendedPolicyCheck> {
    let t = e.trace;
    let mut out = Vec::new();
    for (role, id, dir) in [
        (Role::Source, pod_of(t.flow.src), Direction::Egress),
        (Role::Destination, pod_of(t.flow.dst), Direction::Ingress),
    ] {
        let Some(id) = id else { continue };
        out.extend(
            unevaluated(ix, id, dir)
                .into_iter()
                .map(|hit| record(hit, role.as_str())),
        );
    }
    out
}

/// The CNI-specific policies the engine does not evaluate that select pod `id` for `dir` (none
/// for a hostNetwork pod, which no policy selects).
pub(crate) fn unevaluated(ix: &ClusterIndex, id: crate::index::PodId, dir: Direction) -> Vec<ExtendedHit> {
    let p = ix.pod(id);
    if p.host_network || ix.facts.extended_objects.is_empty() {
        return Vec::new();
    }
    let ns_labels = ix.namespace_labels(&p.namespace);
    let pod_ref = p.pod_ref(&ns_labels);
    extended::selecting(&ix.facts.extended_objects, &pod_ref)
        .into_iter()
        // Evaluated kinds are decided by the engine, not named as present.
        .filter(|hit| !hit.evaluated && hit.directions.contains(&dir))
        .collect()
}

/// A CNI-specific policy that selects an end (`endpoint`: source, destination or pod), as reported.
pub fn record(hit: ExtendedHit, endpoint: &str) -> ExtendedPolicyCheck {
    ExtendedPolicyCheck {
        directions: hit.direction_names().into_iter().map(str::to_string).collect(),
        kind: hit.kind,
        name: hit.name,
        endpoint: endpoint.to_string(),
        certain: hit.certain,
        why: hit.why,
        read: hit.read,
    }
}

pub fn check(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Finding {
    let found = selecting(ix, e);
    if found.is_empty() {
        return Finding::none();
    }
    let rc = cause(&found);
    // CNI-specific policies can allow as well as deny (Cilium adds its allows to
    // NetworkPolicy's; a Calico policy ordered before the Kubernetes ones, or an Antrea tier
    // above them, decides first). Only a block on a side none of them selects is certain.
    let blocking_side_selected = found.iter().any(|x| {
        if x.endpoint == Role::Source.as_str() {
            !d.egress.allowed
        } else {
            !d.ingress.allowed
        }
    });
    let (rank, effect) = if d.verdict == Verdict::Blocked && !blocking_side_selected {
        (Rank::Last, Effect::Keep)
    } else if matches!(d.verdict, Verdict::Allowed | Verdict::Inconclusive | Verdict::Blocked) {
        (Rank::First, Effect::Inconclusive)
    } else {
        (Rank::Last, Effect::Keep)
    };
    Finding {
        records: vec![Record::ExtendedPolicies(found)],
        causes: vec![(rank, rc)],
        effect,
        ..Finding::none()
    }
}

pub(crate) fn cause(found: &[ExtendedPolicyCheck]) -> RootCause {
    // A policy that selects both endpoints is named once.
    let mut once: Vec<&ExtendedPolicyCheck> = Vec::new();
    for x in found {
        if !once.iter().any(|y| y.kind == x.kind && y.name == x.name) {
            once.push(x);
        }
    }
    let names: Vec<String> = once
        .iter()
        .map(|x| format!("{} {}", x.kind.rsplit('/').next().unwrap_or_default(), x.name))
        .collect();
    RootCause {
        code: RootCauseCode::ExtendedPolicyPresent,
        summary: format!(
            "{} also select{} the endpoints; netpol-debug does not evaluate CNI-specific policies, and they can deny what NetworkPolicy allows.",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" }
        ),
        policies: once.iter().map(|x| x.name.clone()).collect(),
        evidence: found
            .iter()
            .map(|x| format!("{} {} selects the {} ({})", x.kind, x.name, x.endpoint, x.why))
            .collect(),
        suggestion: format!(
            "Read them ({}) and the CNI's own tools (cilium policy trace, calicoctl) to see whether they allow this traffic.",
            once.iter()
                .flat_map(|x| x.read.iter().take(2).map(move |r| format!("{}: {r}", x.name)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}
