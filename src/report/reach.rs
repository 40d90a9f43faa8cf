//! The wire shape of a reachability answer (`check_reachability`, `netpol-debug reach`): the
//! peers of one endpoint grouped by verdict, then by where they are and why, and its text.
//!
//! Invariant: small whatever the cluster: groups and the peers of each are cut at `limit`, with
//! the totals kept.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use super::RootCauseCode;

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
    /// The policies that stop (or may change) the traffic, `ns/name`.
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ReachList {
    /// Peers with this verdict.
    pub peers_total: i64,
    /// Groups in all (`groups` lists the first `limit`).
    pub groups_total: i64,
    pub groups: Vec<ReachGroup>,
}

/// Who can reach one endpoint (`direction: ingress`), or what it can reach (`egress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Reachability {
    /// `ingress`: peers as sources toward the endpoint; `egress`: the endpoint toward peers.
    pub direction: String,
    /// The endpoint as asked.
    pub endpoint: String,
    /// The pod that stands for it (`ns/pod`).
    pub pod: String,
    pub protocol: String,
    /// The port asked (absent: any port of the protocol; allowed groups then list connections).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// The port the destination pods receive on (a Service port or a name resolved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_port: Option<i64>,
    pub allowed: ReachList,
    pub blocked: ReachList,
    pub inconclusive: ReachList,
    /// How peers are represented and what is not evaluated per peer.
    pub note: String,
    pub warnings: Vec<String>,
    pub scope: String,
}

/// The answer as a few grouped lines.
pub fn reachability_text(r: &Reachability) -> String {
    let port = match (&r.port, r.resolved_port) {
        (Some(p), Some(n)) if *p != n.to_string() => format!("{} {p} (pod port {n})", r.protocol),
        (Some(p), _) => format!("{} {p}", r.protocol),
        (None, _) => format!("any {} port", r.protocol),
    };
    let who = if r.pod == r.endpoint {
        r.pod.clone()
    } else {
        format!("{} (pod {})", r.endpoint, r.pod)
    };
    let mut s = match r.direction.as_str() {
        "egress" => format!("What {who} can reach on {port}:"),
        _ => format!("Who can reach {who} on {port}:"),
    };
    for (word, list) in [
        ("can", &r.allowed),
        ("cannot", &r.blocked),
        ("inconclusive", &r.inconclusive),
    ] {
        if list.peers_total == 0 {
            continue;
        }
        let _ = write!(s, "\n\n{} {word} ({} group(s)):", list.peers_total, list.groups_total);
        for g in &list.groups {
            group_text(&mut s, g);
        }
        let hidden = list.groups_total - list.groups.len() as i64;
        if hidden > 0 {
            let _ = write!(s, "\n  … {hidden} more group(s) (raise limit)");
        }
    }
    if r.allowed.peers_total + r.blocked.peers_total + r.inconclusive.peers_total == 0 {
        s.push_str("\n\nNo peer to evaluate.");
    }
    let _ = write!(s, "\n\nNote: {}", r.note);
    for w in &r.warnings {
        let _ = write!(s, "\nwarning: {w}");
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
