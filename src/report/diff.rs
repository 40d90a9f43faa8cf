//! The wire shape of `diff` / `diff_snapshots` and `what-if` / `what_if`: the connections two
//! states of a cluster allow differently, grouped by the object changes that explain them.

use schemars::JsonSchema;
use serde::Serialize;

use super::{RootCauseCode, Truncation, Verdict};

/// What `what_if` did and did not do.
pub const WHAT_IF_SCOPE: &str =
    "Hypothetical: the edits were applied to a copy of the objects in memory; nothing was applied to any cluster.";

/// What `diff_snapshots` did and did not do.
pub const DIFF_SCOPE: &str = "Comparison of two read states: netpol-debug changed nothing in any cluster.";

/// How an object differs between two states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Added,
    Removed,
    /// Its spec (or what policy reads of it) changed.
    Edited,
    /// Only its labels changed.
    Labels,
}

/// One object that differs between the two states.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct ObjectChange {
    pub kind: String,
    /// Absent for a cluster-scoped object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub change: ChangeKind,
    /// Label changes (`app: web -> api`, `tier: (none) -> db`) or the fields edited.
    pub details: Vec<String>,
}

impl ObjectChange {
    /// `NetworkPolicy shop/allow-web edited (spec.ingress)`, `Pod shop/web-1 labels app: web -> api`.
    pub fn describe(&self) -> String {
        let name = match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        };
        let change = match self.change {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Edited => "edited",
            ChangeKind::Labels => "labels",
        };
        match self.details.is_empty() {
            true => format!("{} {name} {change}", self.kind),
            false if self.change == ChangeKind::Labels => {
                format!("{} {name} {change} {}", self.kind, self.details.join(", "))
            }
            false => format!("{} {name} {change} ({})", self.kind, self.details.join(", ")),
        }
    }
}

/// The connections of one workload pair (or workload and external range) that differ.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct PairChange {
    pub src: String,
    pub dst: String,
    /// Allowed after and not before, e.g. `TCP 8080`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gained: Option<String>,
    /// Allowed before and not after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
    /// For an inconclusive pair: why its verdict is not certain (before or after).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doubt: Option<String>,
}

/// Pairs that changed for the same reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DiffGroup {
    /// The object changes that touch these pairs (a changed policy selecting an end, a label or
    /// pod change of an end or its namespace), as [`ObjectChange::describe`] words them.
    pub because: Vec<String>,
    /// How many pairs of the group gained / lost connections.
    pub gained_pairs: i64,
    pub lost_pairs: i64,
    pub pairs: Vec<PairChange>,
}

/// Result of `diff_snapshots` (and the `diff` part of `what_if`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DiffReport {
    /// The two states, e.g. `snapshot a.yaml` and `snapshot b.yaml`.
    pub before: String,
    pub after: String,
    /// The namespaces compared (pairs with an end in one of them); empty: the whole cluster.
    pub namespaces: Vec<String>,
    /// Every object that differs, sorted by kind, namespace and name.
    pub changes: Vec<ObjectChange>,
    /// Pairs whose connections changed (inconclusive ones not counted).
    pub gained_pairs: i64,
    pub lost_pairs: i64,
    /// Changed pairs grouped by the changes that explain them, most pairs first.
    pub groups: Vec<DiffGroup>,
    /// Pairs whose connections differ but whose verdict is inconclusive before or after: neither
    /// gained nor lost for certain.
    pub inconclusive: Vec<PairChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    pub warnings: Vec<String>,
    pub scope: String,
}

/// The asked flow in one state: its verdict and the first root cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FlowOutcome {
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<RootCauseCode>,
    /// The first root cause in one sentence (the deciding policy and rule).
    pub summary: String,
    pub policies: Vec<String>,
}

/// The asked flow before and after the edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FlowChange {
    /// `FROM -> TO PROTOCOL/PORT`.
    pub flow: String,
    pub before: FlowOutcome,
    pub after: FlowOutcome,
}

/// Result of `what_if`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct WhatIfReport {
    /// The edits as applied to the in-memory copy: `added …`, `replaced …`, `deleted …`, `labeled …`.
    pub edits: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowChange>,
    /// The connections the edits change.
    pub diff: DiffReport,
    pub scope: String,
}
