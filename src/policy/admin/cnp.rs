//! What only ClusterNetworkPolicy (`policy.networking.k8s.io/v1alpha2`, network-policy-api
//! v0.2.0: `apis/v1alpha2/clusternetworkpolicy_types.go` and
//! `config/crd/experimental/policy.networking.k8s.io_clusternetworkpolicies.yaml`) has: `spec.tier`
//! and the `protocols` list that replaced v1alpha1's `ports` (the shape changed in February 2026,
//! "option #3 for the port matching").
//!
//! `protocols` entries: exactly one of `tcp`, `udp`, `sctp` (each `{destinationPort: {number} |
//! {range: {start, end}}}`, MinProperties=1 so `tcp: {}` is rejected) or `destinationNamedPort`.
//! The v1alpha2 CRD has no defaults at all (no `+kubebuilder:default` marker in the package): the
//! protocol is the key, never defaulted.

use serde_json::{Map, Value};

use super::strict::{PORT, PORT_RANGE, PROTOCOL, PROTOCOL_MATCH, unknown_keys};
use super::{AdminPort, AdminTier, exactly_one, issue, lower_port_number};
use crate::policy::{Issue, Protocol};

/// `spec.tier`: `Admin` or `Baseline` (required, `+kubebuilder:validation:Enum`).
pub(super) fn lower_tier(spec: &Map<String, Value>, issues: &mut Vec<Issue>) -> Option<AdminTier> {
    match spec.get("tier").filter(|x| !x.is_null()) {
        Some(Value::String(s)) if s == "Admin" => Some(AdminTier::Admin),
        Some(Value::String(s)) if s == "Baseline" => Some(AdminTier::Baseline),
        None => {
            issues.push(issue("spec.tier", "missing (required: Admin or Baseline)".into()));
            None
        }
        Some(x) => {
            issues.push(issue(
                "spec.tier",
                format!("{x} is not a tier (accepted: Admin, Baseline)"),
            ));
            None
        }
    }
}

/// A rule's `protocols`: absent means every port of every protocol; an empty list is rejected.
pub(super) fn lower_protocols(v: Option<&Value>, field: &str, issues: &mut Vec<Issue>) -> Option<Vec<AdminPort>> {
    match v {
        None => None,
        Some(Value::Array(items)) if !items.is_empty() => Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, p)| lower_protocol_entry(p, &format!("{field}[{i}]"), issues))
                .collect(),
        ),
        Some(Value::Array(_)) => {
            issues.push(issue(
                field,
                "empty: list at least one protocol, or leave protocols out for every port".into(),
            ));
            None
        }
        Some(_) => {
            issues.push(issue(field, "not a list of protocols".into()));
            None
        }
    }
}

/// One `protocols` entry: exactly one of `tcp`, `udp`, `sctp`, `destinationNamedPort`.
fn lower_protocol_entry(v: &Value, field: &str, issues: &mut Vec<Issue>) -> Option<AdminPort> {
    let Some(m) = v.as_object() else {
        issues.push(issue(field, "not an object".into()));
        return None;
    };
    unknown_keys(m, PROTOCOL, field, issues);
    let key = exactly_one(m, PROTOCOL, field, issues)?;
    let sub = format!("{field}.{key}");
    let protocol = match key {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        _ => {
            return match m[key].as_str() {
                Some(n) if !n.is_empty() => Some(AdminPort::Named(n.to_string())),
                _ => {
                    issues.push(issue(&sub, "not a port name".into()));
                    None
                }
            };
        }
    };
    lower_destination_port(protocol, &m[key], &sub, issues)
}

/// `{destinationPort: {number: N} | {range: {start, end}}}` of one protocol.
fn lower_destination_port(protocol: Protocol, v: &Value, field: &str, issues: &mut Vec<Issue>) -> Option<AdminPort> {
    let Some(m) = v.as_object() else {
        issues.push(issue(field, "not an object".into()));
        return None;
    };
    unknown_keys(m, PROTOCOL_MATCH, field, issues);
    let sub = format!("{field}.destinationPort");
    let Some(port) = m.get("destinationPort").and_then(Value::as_object) else {
        issues.push(issue(
            &sub,
            "missing or not an object (the CRD requires it: MinProperties=1)".into(),
        ));
        return None;
    };
    unknown_keys(port, PORT, &sub, issues);
    match exactly_one(port, PORT, &sub, issues)? {
        "number" => lower_port_number(port.get("number"), &format!("{sub}.number"), issues)
            .map(|port| AdminPort::Number { protocol, port }),
        _ => lower_range(protocol, &port["range"], &format!("{sub}.range"), issues),
    }
}

/// `range: {start, end}` with `start < end` (the CRD's CEL rule `self.start < self.end`).
fn lower_range(protocol: Protocol, v: &Value, field: &str, issues: &mut Vec<Issue>) -> Option<AdminPort> {
    let Some(m) = v.as_object() else {
        issues.push(issue(field, "not an object".into()));
        return None;
    };
    unknown_keys(m, PORT_RANGE, field, issues);
    let start = lower_port_number(m.get("start"), &format!("{field}.start"), issues);
    let end = lower_port_number(m.get("end"), &format!("{field}.end"), issues);
    let (start, end) = (start?, end?);
    if start >= end {
        issues.push(issue(
            field,
            format!("start {start} is not below end {end} (the CRD requires start < end)"),
        ));
        return None;
    }
    Some(AdminPort::Range { protocol, start, end })
}
