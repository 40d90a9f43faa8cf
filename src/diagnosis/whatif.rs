//! What-if: the cluster as if policies were added, replaced or deleted, or labels changed,
//! evaluated on a copy of the objects in memory. Nothing is ever sent to a cluster.
//!
//! The library entry point (what `what-if` and the `what_if` tool call):
//!
//! ```text
//! let edits = Edits { add: vec![Manifest { name: "fix.yaml".into(), text }], ..Edits::default() };
//! let report = what_if(&snapshot, &index, &edits, Some(&query), 50)?;
//! report.flow        // the asked flow before and after, with the deciding cause
//! report.diff.groups // pairs that gained / lost connections, each with the changes responsible
//! ```
//!
//! Edits, applied in this order: `add` (each manifest's policies; one with the kind, namespace
//! and name of an existing object replaces it), `delete` (`NS/NAME` a NetworkPolicy,
//! `NS/KIND/NAME` another namespaced kind, `KIND/NAME` a cluster-scoped one), `label` (`NS/POD`
//! and `k=v,k2-`, as `kubectl label`), `namespace_label` (`NS` and the same changes). The copy is
//! indexed once; the diff covers the pairs with an end in the namespaces the edits touch (all
//! pairs when a cluster-scoped policy changes), see [`diff::changed_namespaces`].

use super::diff::{self, State, changed_namespaces, object_changes};
use super::query::QueryError;
use super::suggest::did_you_mean;
use super::{Query, diagnose};
use crate::index::ClusterIndex;
use crate::policy::kind::api_group;
use crate::report::{Diagnosis, DiffReport, FlowChange, FlowOutcome, WHAT_IF_SCOPE, WhatIfReport};
use crate::snapshot::{ClusterSnapshot, load_str};

/// A manifest given as text, with the name its errors cite (a file path, `add[0]`).
#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub text: String,
}

/// A label change: the target (`NS/POD`, or `NS` for a namespace) and `k=v,k2-`.
#[derive(Debug, Clone)]
pub struct LabelEdit {
    pub target: String,
    pub labels: String,
}

/// The hypothetical changes.
#[derive(Debug, Clone, Default)]
pub struct Edits {
    pub add: Vec<Manifest>,
    pub delete: Vec<String>,
    pub label: Vec<LabelEdit>,
    pub namespace_label: Vec<LabelEdit>,
}

/// The snapshot as if `edits` were applied, and one line per edit.
pub fn apply(snap: &ClusterSnapshot, edits: &Edits) -> Result<(ClusterSnapshot, Vec<String>), QueryError> {
    let mut after = snap.clone();
    let mut words = Vec::new();
    for m in &edits.add {
        words.extend(add(&mut after, m)?);
    }
    for d in &edits.delete {
        words.push(delete(&mut after, d)?);
    }
    for l in &edits.label {
        words.push(label_pod(&mut after, l)?);
    }
    for l in &edits.namespace_label {
        words.push(label_namespace(&mut after, l)?);
    }
    Ok((after, words))
}

/// Evaluates the edits: the asked flow before and after (when given), and the connections that
/// change between the pairs the edits can touch, at most `limit` pairs listed.
pub fn what_if(
    snap: &ClusterSnapshot,
    ix: &ClusterIndex,
    edits: &Edits,
    flow: Option<&Query>,
    limit: usize,
) -> Result<WhatIfReport, QueryError> {
    let (after, words) = apply(snap, edits)?;
    let aix = ClusterIndex::build(&after, ix.semantics);
    let flow = flow.map(|q| flow_change(ix, &aix, q)).transpose()?;
    let changes = object_changes(snap, &after);
    let before_state = State {
        snapshot: snap,
        index: ix,
        name: "before the edits",
    };
    let after_state = State {
        snapshot: &after,
        index: &aix,
        name: "after the edits (not applied to any cluster)",
    };
    let diff = match changes.is_empty() {
        true => unchanged(before_state, after_state),
        false => {
            let namespaces = changed_namespaces(&changes).unwrap_or_default();
            diff::diff_with_changes(before_state, after_state, &namespaces, limit, changes)
        }
    };
    Ok(WhatIfReport {
        edits: words,
        flow,
        diff,
        scope: WHAT_IF_SCOPE.to_string(),
    })
}

/// The diff of edits that change no object (a policy replaced by an identical one).
fn unchanged(before: State, after: State) -> DiffReport {
    DiffReport {
        before: before.name.to_string(),
        after: after.name.to_string(),
        namespaces: Vec::new(),
        changes: Vec::new(),
        gained_pairs: 0,
        lost_pairs: 0,
        groups: Vec::new(),
        inconclusive: Vec::new(),
        truncated: None,
        warnings: vec!["the edits change no object: every connection stays as it is".into()],
        scope: crate::report::DIFF_SCOPE.to_string(),
    }
}

/// The asked flow in both states.
fn flow_change(before: &ClusterIndex, after: &ClusterIndex, q: &Query) -> Result<FlowChange, QueryError> {
    let (b, a) = (diagnose(before, q)?, diagnose(after, q)?);
    let port = b.query.port.as_deref().map_or_else(String::new, |p| format!("/{p}"));
    Ok(FlowChange {
        flow: format!("{} -> {} {}{port}", q.from, q.to, b.query.protocol),
        before: outcome(&b),
        after: outcome(&a),
    })
}

fn outcome(d: &Diagnosis) -> FlowOutcome {
    let first = d.root_causes.first();
    FlowOutcome {
        verdict: d.verdict,
        code: first.map(|c| c.code),
        summary: first.map_or_else(String::new, |c| c.summary.clone()),
        policies: first.map_or_else(Vec::new, |c| c.policies.clone()),
    }
}

/// `kind ns/name` or `kind name`.
fn object_name(kind: &str, ns: Option<&str>, name: &str) -> String {
    match ns {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Adds (or replaces) the policies of one manifest.
fn add(after: &mut ClusterSnapshot, m: &Manifest) -> Result<Vec<String>, QueryError> {
    let new = load_str(&m.name, &m.text).map_err(|e| QueryError::invalid("add", e.to_string()))?;
    let not_policies = new.pods.len()
        + new.namespaces.len()
        + new.services.len()
        + new.endpoints.len()
        + new.endpoint_slices.len()
        + new.nodes.len()
        + new.workloads.len();
    if not_policies > 0 {
        return Err(QueryError::invalid(
            "add",
            format!(
                "{}: holds objects that are not policies (pods, namespaces, workloads, Services, nodes); add takes policies, label changes a pod's or namespace's labels",
                m.name
            ),
        ));
    }
    if new.network_policies.is_empty() && new.unreadable_policies.is_empty() && new.others.is_empty() {
        return Err(QueryError::invalid("add", format!("{}: holds no object", m.name)));
    }
    let mut words = Vec::new();
    let mut np_keys: Vec<(String, String)> = new
        .network_policies
        .iter()
        .map(|p| {
            (
                p.metadata.namespace.clone().unwrap_or_default(),
                p.metadata.name.clone().unwrap_or_default(),
            )
        })
        .chain(
            new.unreadable_policies
                .iter()
                .map(|u| (u.namespace.clone(), u.name.clone())),
        )
        .collect();
    np_keys.sort();
    np_keys.dedup();
    for (ns, name) in &np_keys {
        let existed = remove_network_policy(after, ns, name);
        let verb = if existed { "replaced" } else { "added" };
        words.push(format!(
            "{verb} {} (from {})",
            object_name("NetworkPolicy", Some(ns), name),
            m.name
        ));
    }
    for o in &new.others {
        let before = after.others.len();
        after.others.retain(|x| {
            !(api_group(&x.api_version) == api_group(&o.api_version)
                && x.kind == o.kind
                && x.namespace == o.namespace
                && x.name == o.name)
        });
        let verb = if after.others.len() < before {
            "replaced"
        } else {
            "added"
        };
        words.push(format!(
            "{verb} {} (from {})",
            object_name(&o.kind, o.namespace.as_deref(), &o.name),
            m.name
        ));
    }
    after.network_policies.extend(new.network_policies);
    after.unreadable_policies.extend(new.unreadable_policies);
    after.others.extend(new.others);
    after.warnings.extend(new.warnings);
    after.policy_locations.extend(new.policy_locations);
    Ok(words)
}

/// Removes a NetworkPolicy (and its unreadable copy); whether one was there.
fn remove_network_policy(after: &mut ClusterSnapshot, ns: &str, name: &str) -> bool {
    let count = after.network_policies.len() + after.unreadable_policies.len();
    after
        .network_policies
        .retain(|p| !(p.metadata.namespace.as_deref() == Some(ns) && p.metadata.name.as_deref() == Some(name)));
    after
        .unreadable_policies
        .retain(|u| !(u.namespace == ns && u.name == name));
    after.network_policies.len() + after.unreadable_policies.len() < count
}

/// Whether `kind` names a Kubernetes NetworkPolicy as a user writes it.
fn is_network_policy_kind(kind: &str) -> bool {
    ["networkpolicy", "networkpolicies", "netpol"].contains(&kind.to_ascii_lowercase().as_str())
}

/// Deletes one object: `NS/NAME`, `NS/KIND/NAME` or `KIND/NAME`.
fn delete(after: &mut ClusterSnapshot, spec: &str) -> Result<String, QueryError> {
    let parts: Vec<&str> = spec.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) || !(2..=3).contains(&parts.len()) {
        return Err(QueryError::invalid(
            "delete",
            format!("{spec:?}: expected NS/NAME (a NetworkPolicy), NS/KIND/NAME or KIND/NAME (cluster-scoped)"),
        ));
    }
    let (ns, kind, name) = match parts[..] {
        [a, b] => (Some(a), None, b),
        [ns, kind, name] => (Some(ns), Some(kind), name),
        _ => unreachable!("checked above"),
    };
    let np_asked = kind.is_none_or(is_network_policy_kind);
    if np_asked
        && let Some(ns) = ns
        && remove_network_policy(after, ns, name)
    {
        return Ok(format!("deleted {}", object_name("NetworkPolicy", Some(ns), name)));
    }
    // Another kind: NS/KIND/NAME, or KIND/NAME for a cluster-scoped one.
    let (want_ns, want_kind) = match kind {
        Some(k) => (ns, k),
        None => (None, parts[0]),
    };
    let found = after
        .others
        .iter()
        .position(|o| o.kind.eq_ignore_ascii_case(want_kind) && o.namespace.as_deref() == want_ns && o.name == name);
    match found {
        Some(i) => {
            let o = after.others.remove(i);
            Ok(format!(
                "deleted {}",
                object_name(&o.kind, o.namespace.as_deref(), &o.name)
            ))
        }
        None => Err(unknown_policy(after, spec)),
    }
}

/// `delete` names no object: the closest policy names.
fn unknown_policy(snap: &ClusterSnapshot, spec: &str) -> QueryError {
    let nps = snap.network_policies.iter().map(|p| {
        format!(
            "{}/{}",
            p.metadata.namespace.as_deref().unwrap_or_default(),
            p.metadata.name.as_deref().unwrap_or_default()
        )
    });
    let unreadable = snap.unreadable_policies.iter().map(|u| u.key());
    let others = snap.others.iter().map(|o| match &o.namespace {
        Some(ns) => format!("{ns}/{}/{}", o.kind, o.name),
        None => format!("{}/{}", o.kind, o.name),
    });
    let names: Vec<(String, String)> = nps.chain(unreadable).chain(others).map(|n| (n.clone(), n)).collect();
    let (words, suggestions) = did_you_mean(spec, Vec::new(), names.into_iter());
    QueryError {
        suggestions,
        ..QueryError::new("delete", format!("{spec}: no such policy in the snapshot{words}"))
    }
}

/// Applies `k=v,k2-` to a label map; one word per change.
fn relabel(labels: &mut std::collections::BTreeMap<String, String>, changes: &str) -> Result<Vec<String>, QueryError> {
    let bad = |what: String| QueryError::invalid("label", what);
    let mut words = Vec::new();
    for item in changes.split(',').map(str::trim) {
        if let Some(key) = item.strip_suffix('-').filter(|k| !k.contains('=')) {
            check_label_key(key).map_err(bad)?;
            labels.remove(key);
            words.push(format!("{key}-"));
        } else if let Some((key, value)) = item.split_once('=') {
            check_label_key(key).map_err(bad)?;
            check_label_value(value).map_err(bad)?;
            labels.insert(key.to_string(), value.to_string());
            words.push(format!("{key}={value}"));
        } else {
            return Err(bad(format!(
                "{item:?}: expected KEY=VALUE to set a label or KEY- to remove one (as kubectl label)"
            )));
        }
    }
    Ok(words)
}

/// A label key: `[prefix/]name`, name of 1-63 letters, digits, `-`, `_`, `.`.
fn check_label_key(key: &str) -> Result<(), String> {
    let name = key.rsplit_once('/').map_or(key, |(_, n)| n);
    let ok = !name.is_empty()
        && name.len() <= 63
        && key.len() <= 316
        && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    ok.then_some(()).ok_or_else(|| {
        format!("{key:?} is not a label key (`[prefix/]name`, name of up to 63 letters, digits, '-', '_', '.')")
    })
}

/// A label value: up to 63 letters, digits, `-`, `_`, `.`.
fn check_label_value(value: &str) -> Result<(), String> {
    let ok = value.len() <= 63 && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    ok.then_some(())
        .ok_or_else(|| format!("{value:?} is not a label value (up to 63 letters, digits, '-', '_', '.')"))
}

/// Changes the labels of a pod (`NS/POD`).
fn label_pod(after: &mut ClusterSnapshot, edit: &LabelEdit) -> Result<String, QueryError> {
    let Some((ns, name)) = edit
        .target
        .split_once('/')
        .filter(|(n, p)| !n.is_empty() && !p.is_empty() && !p.contains('/'))
    else {
        return Err(QueryError::invalid(
            "label",
            format!(
                "{:?}: expected NS/POD (a namespace's labels: namespace_label / --ns-label)",
                edit.target
            ),
        ));
    };
    let found = after
        .pods
        .iter_mut()
        .find(|p| p.metadata.namespace.as_deref() == Some(ns) && p.metadata.name.as_deref() == Some(name));
    let Some(pod) = found else {
        let names = after
            .pods
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(ns))
            .map(|p| {
                let n = format!("{ns}/{}", p.metadata.name.as_deref().unwrap_or_default());
                (n.clone(), n)
            });
        let (words, suggestions) = did_you_mean(&edit.target, Vec::new(), names.collect::<Vec<_>>().into_iter());
        return Err(QueryError {
            suggestions,
            ..QueryError::new("label", format!("{}: no such pod in the snapshot{words}", edit.target))
        });
    };
    let words = relabel(pod.metadata.labels.get_or_insert_with(Default::default), &edit.labels)?;
    Ok(format!("labeled Pod {}: {}", edit.target, words.join(", ")))
}

/// Changes the labels of a namespace (`NS`).
fn label_namespace(after: &mut ClusterSnapshot, edit: &LabelEdit) -> Result<String, QueryError> {
    let found = after
        .namespaces
        .iter_mut()
        .find(|n| n.metadata.name.as_deref() == Some(edit.target.as_str()));
    let Some(namespace) = found else {
        let names = after
            .namespaces
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .map(|n| (n.clone(), n));
        let (words, suggestions) = did_you_mean(&edit.target, Vec::new(), names.collect::<Vec<_>>().into_iter());
        return Err(QueryError {
            suggestions,
            ..QueryError::new(
                "namespace_label",
                format!("{}: no Namespace object in the snapshot{words}", edit.target),
            )
        });
    };
    let words = relabel(
        namespace.metadata.labels.get_or_insert_with(Default::default),
        &edit.labels,
    )
    .map_err(|e| QueryError::invalid("namespace_label", e.message))?;
    Ok(format!("labeled Namespace {}: {}", edit.target, words.join(", ")))
}
