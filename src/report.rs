//! The wire shape of results: the only types that are `Serialize` + `JsonSchema`. The CLI's
//! `--output json` and (later) MCP structured content are these values.
//!
//! Invariant: deterministic (sorted, no timestamps); integers are i64; root-cause codes are a
//! public, stable contract: add codes, never rename or repurpose one.

use schemars::JsonSchema;
use serde::Serialize;

/// The answer of a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Policy allows the traffic (or no policy applies).
    Allowed,
    /// Policy blocks the traffic.
    Blocked,
    /// Policies exist but nothing enforces them for this traffic.
    NotEnforced,
    /// We cannot tell for certain; `warnings` and `root_causes` say why.
    Inconclusive,
}

impl Verdict {
    /// The CLI exit code: 0 allowed / not-enforced, 1 blocked, 3 inconclusive (2 is bad input).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Allowed | Verdict::NotEnforced => 0,
            Verdict::Blocked => 1,
            Verdict::Inconclusive => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Blocked => "blocked",
            Verdict::NotEnforced => "not-enforced",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Which side blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BlockedDirection {
    Ingress,
    Egress,
    Both,
}

/// Stable root-cause codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RootCauseCode {
    /// No policy isolates either side: everything is allowed.
    AllowedNoPolicy,
    /// Both sides are isolated or open, and a rule allows the traffic on each isolated side.
    AllowedByPolicy,
    /// Traffic NetworkPolicy never restricts: a pod to itself, a node to its own pods.
    AlwaysAllowed,
    /// The destination is selected by a policy isolating ingress that has no ingress rule.
    DefaultDenyIngress,
    /// The source is selected by a policy isolating egress that has no egress rule.
    DefaultDenyEgress,
    /// Ingress rules exist at the destination, none matches the source.
    IngressNoMatchingRule,
    /// Egress rules exist at the source, none matches the destination.
    EgressNoMatchingRule,
    /// A rule matches the peer but not the protocol/port.
    PortNotAllowed,
    /// A rule allows a named port that the destination pod does not declare.
    NamedPortUnresolved,
    /// A namespaceSelector would match if the namespace had a label.
    NamespaceLabelMissing,
    /// A rule would match if its peers were combined differently (AND in one element vs OR in several).
    SelectorAndOrConfusion,
    /// An ipBlock contains the address but its `except` removes it.
    IpblockExcept,
    /// The source omits policyTypes and has no egress section: egress is not isolated.
    PolicytypesOmittedEgressOpen,
    /// The source's egress policies do not allow the other namespace.
    CrossNamespaceEgressBlocked,
    /// A policy that matters could not be read: the verdict is inconclusive.
    PolicyUnreadable,
}

/// One root cause, most important first in a diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RootCause {
    pub code: RootCauseCode,
    /// One sentence.
    pub summary: String,
    /// Responsible policies, `ns/name`.
    pub policies: Vec<String>,
    /// Facts from the snapshot that show it.
    pub evidence: Vec<String>,
    /// What would change the outcome, in words. Nothing is ever applied.
    pub suggestion: String,
}

/// A rule of a policy: `{policy: "ns/name", rule: 0}` is `spec.ingress[0]` or `spec.egress[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RuleRef {
    pub policy: String,
    pub rule: i64,
}

/// The clause of a rule that failed first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FailedClause {
    /// e.g. `spec.ingress[0].from` or `spec.egress[1].ports`.
    pub field: String,
    /// Why, one line per peer element (for from/to) or one line (for ports).
    pub reasons: Vec<String>,
}

/// The outcome of one rule of an isolating policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RuleReport {
    pub policy: String,
    pub rule: i64,
    /// `allows` or `no-match`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_clause: Option<FailedClause>,
}

/// One side of the flow: egress at the source or ingress at the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SideReport {
    /// Some policy selects the pod for this direction.
    pub isolated: bool,
    /// This side lets the traffic through.
    pub allowed: bool,
    /// Why no policy can apply here (external endpoint, hostNetwork pod), when so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub isolating_policies: Vec<String>,
    pub allowed_by: Vec<RuleRef>,
    /// Every rule of every isolating policy (truncated to `rules_total` when long).
    pub rules: Vec<RuleReport>,
    pub rules_total: i64,
    /// Why this side's answer may be wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uncertain: Vec<String>,
}

/// One end of the query, as resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct EndpointReport {
    /// `pod` or `external`.
    pub kind: String,
    /// `ns/pod` or the IP.
    pub name: String,
    /// `ns/name[Kind]` for pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    /// `key=value` labels of a pod.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// `key=value` labels of the pod's namespace.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespace_labels: Vec<String>,
    /// How many pods the user's endpoint stands for (a workload or service); this one represents them.
    pub pods_total: i64,
}

/// The query as given and as resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct QueryReport {
    pub from: String,
    pub to: String,
    pub protocol: String,
    /// The port as given (number or name); absent: any port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// The port the destination pod receives on (after service/named-port mapping).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_port: Option<i64>,
    pub source: EndpointReport,
    pub destination: EndpointReport,
}

/// The result of `diagnose`: the contract every tool and test relies on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Diagnosis {
    pub query: QueryReport,
    pub verdict: Verdict,
    /// The blocking side; null when nothing blocks. For an `inconclusive` verdict: the side that
    /// blocks by the readable policies.
    pub blocked_direction: Option<BlockedDirection>,
    pub root_causes: Vec<RootCause>,
    /// Everything policy allows from source to destination, e.g. `TCP 8080,UDP 53`.
    pub allowed_connections: String,
    pub egress: SideReport,
    pub ingress: SideReport,
    pub warnings: Vec<String>,
    /// What this tool did and did not do.
    pub scope: String,
}

/// The scope note carried by every result.
pub const SCOPE: &str = "Diagnosis only: netpol-debug read objects and changed nothing in any cluster. Suggestions are words for a person to weigh, never applied.";

/// A query that could not be answered (bad argument, unknown pod): CLI exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct QueryErrorReport {
    pub error: String,
    pub argument: String,
    pub suggestions: Vec<String>,
}

/// One allowed connection of the map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct Connection {
    pub src: String,
    pub dst: String,
    pub conn: String,
}

/// The connectivity map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ConnectivityMap {
    pub connections: Vec<Connection>,
    pub warnings: Vec<String>,
}
