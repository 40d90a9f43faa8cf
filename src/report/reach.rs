//! The wire shape of a reachability answer (`check_reachability`, `netpol-debug reach`): the
//! peers of one endpoint grouped by verdict, then by where they are and why, and its text.
//!
//! Invariant: small whatever the cluster: groups and the peers of each are cut at `limit`, with
//! the totals kept.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use super::{RootCauseCode, Verdict};

/// Where a peer is, seen from the endpoint asked about; also the order groups are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// A workload of the endpoint's own namespace ("works from some pods but not others").
    SameNamespace,
    /// A workload of another namespace.
    OtherNamespace,
    /// An address range outside the pods, cut where the policies' ipBlocks cut.
    External,
}

impl Place {
    pub fn as_str(self) -> &'static str {
        match self {
            Place::SameNamespace => "same namespace",
            Place::OtherNamespace => "other namespaces",
            Place::External => "external",
        }
    }
}

/// Peers that get the same answer for the same reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ReachGroup {
    pub place: Place,
    /// Blocked and inconclusive groups: the first root cause, as `diagnose` ranks the rule-level
    /// causes of the trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<RootCauseCode>,
    /// The policies that stop (or may change) the traffic, `ns/name`. When the peers' own side
    /// stops them (a source's egress, a destination's ingress), each peer's, cut at `limit`
    /// (`… N more`): such peers are grouped by code alone.
    pub policies: Vec<String>,
    /// Allowed groups: the rules that allow, quoted (`ns/name spec.ingress[0]: {...}`); empty when
    /// no policy isolates either side.
    pub rules: Vec<String>,
    /// No port asked, allowed groups: every connection NetworkPolicy allows (`TCP 8080`,
    /// `All Connections`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<String>,
    /// Blocked and inconclusive groups: the cause's summary for the first peer listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Peers in the group.
    pub peers_total: i64,
    /// The first peers, by name: workloads `ns/name[Kind]`, `ns/* (all N workloads)` for a whole
    /// namespace, external ranges `A-B[External]`.
    pub peers: Vec<String>,
    /// Peers of the group not in `peers` (cut at `limit`).
    pub peers_omitted: i64,
}

/// The groups of one verdict, largest first within each place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ReachList {
    /// `allowed`, `blocked`, `inconclusive`, or `not-enforced` (nothing enforces NetworkPolicy:
    /// the groups say what the policies would stop).
    pub verdict: Verdict,
    /// Peers with this verdict.
    pub peers_total: i64,
    /// Groups in all (`groups` lists the first `limit`).
    pub groups_total: i64,
    pub groups: Vec<ReachGroup>,
}

/// Who can reach one endpoint (`direction: ingress`), or what it can reach (`egress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Reachability {
    /// What was asked: `who can reach it on TCP 8080`, `what it can reach on any TCP port` (allowed
    /// groups then list their connections), `… on TCP 80 (pod port 8080)` for a Service or a
    /// port name.
    pub asked: String,
    /// The endpoint as asked.
    pub endpoint: String,
    /// The pod that stands for it (`ns/pod`).
    pub pod: String,
    /// Allowed, blocked, inconclusive, not-enforced: each verdict that some peer has.
    pub verdicts: Vec<ReachList>,
    /// How peers are represented and what is not evaluated per peer, warnings, then the scope
    /// (read-only).
    pub notes: Vec<String>,
}

/// The answer as a few grouped lines.
pub fn reachability_text(r: &Reachability) -> String {
    let who = if r.pod == r.endpoint {
        r.pod.clone()
    } else {
        format!("{} (pod {})", r.endpoint, r.pod)
    };
    let mut s = format!("{who}: {}", r.asked);
    for list in &r.verdicts {
        let word = match list.verdict {
            Verdict::Allowed => "can",
            Verdict::Blocked => "cannot",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotEnforced => "pass, not enforced (the policies would stop them; nothing enforces them)",
        };
        let _ = write!(s, "\n\n{} {word} ({} group(s)):", list.peers_total, list.groups_total);
        for g in &list.groups {
            group_text(&mut s, g);
        }
        let hidden = list.groups_total - list.groups.len() as i64;
        if hidden > 0 {
            let _ = write!(s, "\n  … {hidden} more group(s) (raise limit)");
        }
    }
    if r.verdicts.is_empty() {
        s.push_str("\n\nNo peer to evaluate.");
    }
    s.push('\n');
    for n in &r.notes {
        let _ = write!(s, "\nNote: {n}");
    }
    s.push('\n');
    s
}

fn group_text(s: &mut String, g: &ReachGroup) {
    let why = match (&g.code, g.rules.is_empty()) {
        (Some(code), _) => format!(
            "{} ({})",
            serde_json::to_value(code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            g.policies.join(", ")
        ),
        (None, true) => "no policy isolates either side".into(),
        (None, false) => format!("allowed by {}", g.rules.join("; ")),
    };
    let _ = write!(s, "\n- [{}] {} peer(s): {why}", g.place.as_str(), g.peers_total);
    if let Some(c) = &g.connections {
        let _ = write!(s, "\n    connections: {c}");
    }
    if let Some(e) = &g.example {
        let _ = write!(s, "\n    e.g. {e}");
    }
    let more = match g.peers_omitted {
        0 => String::new(),
        n => format!(" … and {n} more"),
    };
    let _ = write!(s, "\n    {}{more}", g.peers.join(", "));
}
