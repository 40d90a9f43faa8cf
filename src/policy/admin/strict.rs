//! Reading the admin kinds as the API server does: a field the API type does not define is an
//! issue, never ignored in silence.
//!
//! Why: the CRDs' structural schemas make the API server prune unknown fields, and `kubectl
//! apply` (strict field validation, the default since kubectl 1.27) rejects an object that has
//! one. So an object with an unknown field in a file is not the object in the cluster: a newer
//! client refused it, an older one dropped the field. The classic case is the pre-v0.1 ANP peer
//! shape `namespaces: {namespaceSelector: …}`: read loosely it is a label selector with an ignored
//! key, i.e. one that selects every namespace. The directions such a field touches are not
//! evaluated (the policy's ordinary issue mechanism), and the verdicts they could change say
//! `POLICY_FIELD_UNKNOWN`.
//!
//! The field lists follow the Go types (`json` tags) of sigs.k8s.io/network-policy-api:
//! `apis/v1alpha1/*.go` at v0.1.7 for AdminNetworkPolicy / BaselineAdminNetworkPolicy and
//! `apis/v1alpha2/clusternetworkpolicy_types.go` at v0.2.0 for ClusterNetworkPolicy.

use serde_json::{Map, Value};

use super::AdminKind;
use crate::policy::{Direction, Issue};

/// How an unknown-field issue's message begins (see [`is_unknown_field`]).
const UNKNOWN: &str = "unknown field";

/// Top-level fields of every kind (TypeMeta, ObjectMeta, spec, status).
pub(super) const OBJECT: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
/// `spec.subject` (all kinds): exactly one of these.
pub(super) const SUBJECT: &[&str] = &["namespaces", "pods"];
/// `NamespacedPod` (subjects and peers of all kinds).
pub(super) const NAMESPACED_POD: &[&str] = &["namespaceSelector", "podSelector"];
/// `metav1.LabelSelector` and its requirements.
pub(super) const SELECTOR: &[&str] = &["matchLabels", "matchExpressions"];
pub(super) const REQUIREMENT: &[&str] = &["key", "operator", "values"];
/// v1alpha1 `AdminNetworkPolicyPort` and its `Port` / `PortRange`.
pub(super) const V1ALPHA1_PORT: &[&str] = &["portNumber", "namedPort", "portRange"];
pub(super) const V1ALPHA1_PORT_NUMBER: &[&str] = &["protocol", "port"];
pub(super) const V1ALPHA1_PORT_RANGE: &[&str] = &["protocol", "start", "end"];
/// v1alpha2 `ClusterNetworkPolicyProtocol`, its per-protocol match, `Port` and `PortRange`.
pub(super) const PROTOCOL: &[&str] = &["tcp", "udp", "sctp", "destinationNamedPort"];
pub(super) const PROTOCOL_MATCH: &[&str] = &["destinationPort"];
pub(super) const PORT: &[&str] = &["number", "range"];
pub(super) const PORT_RANGE: &[&str] = &["start", "end"];

/// The fields of a kind's `spec`.
pub(super) fn spec_fields(kind: AdminKind) -> &'static [&'static str] {
    match kind {
        AdminKind::Admin => &["priority", "subject", "ingress", "egress"],
        AdminKind::Baseline => &["subject", "ingress", "egress"],
        AdminKind::Cluster => &["tier", "priority", "subject", "ingress", "egress"],
    }
}

/// The fields of a kind's rule of a direction.
pub(super) fn rule_fields(kind: AdminKind, dir: Direction) -> &'static [&'static str] {
    match (kind, dir) {
        (AdminKind::Cluster, Direction::Ingress) => &["name", "action", "from", "protocols"],
        (AdminKind::Cluster, Direction::Egress) => &["name", "action", "to", "protocols"],
        (_, Direction::Ingress) => &["name", "action", "from", "ports"],
        (_, Direction::Egress) => &["name", "action", "to", "ports"],
    }
}

/// The fields of a kind's peer of a direction (exactly one is set).
pub(super) fn peer_fields(kind: AdminKind, dir: Direction) -> &'static [&'static str] {
    match (dir, kind) {
        (Direction::Ingress, _) => &["namespaces", "pods"],
        (Direction::Egress, AdminKind::Baseline) => &["namespaces", "pods", "nodes", "networks"],
        (Direction::Egress, _) => &["namespaces", "pods", "nodes", "networks", "domainNames"],
    }
}

/// An issue for each key of `m` that `known` does not list, at `field.key`.
pub(super) fn unknown_keys(m: &Map<String, Value>, known: &[&str], field: &str, issues: &mut Vec<Issue>) {
    for key in m.keys().filter(|k| !known.contains(&k.as_str())) {
        let at = if field.is_empty() {
            key.clone()
        } else {
            format!("{field}.{key}")
        };
        issues.push(Issue {
            affects_target: at.starts_with("spec.subject") || !at.starts_with("spec."),
            field: at,
            message: format!("{UNKNOWN} (the API type defines {})", known.join(", ")),
        });
    }
}

/// The issue is a field the API type does not define.
pub fn is_unknown_field(i: &Issue) -> bool {
    i.message.starts_with(UNKNOWN)
}

/// What `kubectl apply` and the API server do with an unknown field, for a load warning.
pub(super) const APPLY_NOTE: &str = "kubectl apply rejects the object (strict field validation, the default since \
     kubectl 1.27); an older client or the API server's pruning drops the field, which changes the object (a \
     selector that loses a key selects more)";
