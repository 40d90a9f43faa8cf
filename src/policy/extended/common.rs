//! Machinery the vendor modules share: three-valued answers, label views with unknown keys,
//! JSON field helpers and the evaluation of Kubernetes label selectors over such views.
//!
//! Invariant: a label we cannot know makes an answer `Maybe`, never `Yes` or `No`; reading a
//! field never panics (a malformed value reads as absent, present or `Err`, as documented).

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use super::PodRef;
use crate::policy::Labels;
use crate::policy::selector::{Op, Requirement, Selector};
use crate::snapshot::OtherObject;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tri {
    Yes,
    No,
    Maybe,
}

impl Tri {
    pub(super) fn of(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }
    pub(super) fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Maybe,
        }
    }
    pub(super) fn or(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Maybe,
        }
    }
    pub(super) fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
        }
    }
}

/// What a label lookup says: the value (or its absence), or that we cannot know.
pub(super) enum Lookup<'a> {
    Known(Option<&'a str>),
    Unknown,
}

pub(super) trait LabelSource {
    fn lookup(&self, key: &str) -> Lookup<'_>;
}

impl LabelSource for Labels {
    fn lookup(&self, key: &str) -> Lookup<'_> {
        Lookup::Known(self.get(key).map(String::as_str))
    }
}

/// Labels we know, plus keys (or key prefixes) whose values we cannot know.
#[derive(Debug, Default)]
pub(super) struct LabelView {
    pub(super) labels: Labels,
    pub(super) unknown_keys: BTreeSet<String>,
    pub(super) unknown_prefixes: Vec<&'static str>,
    /// Unknown keys that are certainly present (only their value is unknown), e.g. the cluster
    /// name Cilium puts on every endpoint it manages: `Exists` holds, `DoesNotExist` fails.
    pub(super) present_keys: BTreeSet<String>,
}

impl LabelView {
    pub(super) fn is_unknown(&self, key: &str) -> bool {
        !self.labels.contains_key(key)
            && (self.unknown_keys.contains(key) || self.unknown_prefixes.iter().any(|p| key.starts_with(p)))
    }
}

impl LabelSource for LabelView {
    fn lookup(&self, key: &str) -> Lookup<'_> {
        if self.is_unknown(key) {
            Lookup::Unknown
        } else {
            Lookup::Known(self.labels.get(key).map(String::as_str))
        }
    }
}

pub(super) fn namespace_labels_of(pod: &PodRef) -> Labels {
    let mut l = pod.namespace_labels.clone();
    l.entry("kubernetes.io/metadata.name".into())
        .or_insert_with(|| pod.namespace.to_string());
    l
}

/// Combines the parts of a decision that must all hold: the first failing part(s) explain a
/// `No`; otherwise every part is listed.
pub(super) fn all_of(parts: Vec<(Tri, String)>) -> (Tri, String) {
    let tri = parts.iter().fold(Tri::Yes, |acc, (t, _)| acc.and(*t));
    let reasons: Vec<&str> = match tri {
        Tri::No => parts
            .iter()
            .filter(|(t, _)| *t == Tri::No)
            .map(|(_, r)| r.as_str())
            .collect(),
        _ => parts.iter().map(|(_, r)| r.as_str()).collect(),
    };
    (tri, reasons.join("; "))
}

/// What one object's examination found.
pub(super) struct Outcome {
    pub(super) tri: Tri,
    /// Some part is uncertain even though the whole selects (e.g. one of several Cilium rules).
    pub(super) partly_uncertain: bool,
    pub(super) ingress: bool,
    pub(super) egress: bool,
    pub(super) why: String,
    pub(super) read: Vec<String>,
}

impl Outcome {
    /// A whole answer (no part of it uncertain beyond `tri`).
    pub(super) fn decided(tri: Tri, ingress: bool, egress: bool, why: String, read: Vec<String>) -> Outcome {
        Outcome {
            tri,
            partly_uncertain: false,
            ingress,
            egress,
            why,
            read,
        }
    }

    pub(super) fn unreadable(why: String) -> Outcome {
        Outcome {
            tri: Tri::Maybe,
            partly_uncertain: true,
            ingress: true,
            egress: true,
            why,
            read: Vec::new(),
        }
    }

    /// A certain "does not select", explained by `why`.
    pub(super) fn not_selecting(why: String) -> Outcome {
        Outcome {
            tri: Tri::No,
            partly_uncertain: false,
            ingress: false,
            egress: false,
            why,
            read: Vec::new(),
        }
    }
}

/// The object's `spec` when it is an object; otherwise the "may select" outcome that says so.
pub(super) fn readable_spec(o: &OtherObject) -> Result<&Value, Outcome> {
    non_null(&o.value, "spec")
        .filter(|s| s.is_object())
        .ok_or_else(|| Outcome::unreadable("no readable spec; it may select the pod".into()))
}

// ---------------------------------------------------------------------------------------------
// JSON helpers
// ---------------------------------------------------------------------------------------------

pub(super) fn items(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A rule section that is present and not an empty list (a malformed non-list counts as present).
pub(super) fn present(v: &Value, key: &str) -> bool {
    match v.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

pub(super) fn non_null<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// The rules of the listed sections of `v`, in order, each with its section and its path
/// (`{path}.{section}[{i}]`).
pub(super) fn rules_of<'v>(
    v: &'v Value,
    path: &'v str,
    sections: &'v [&'static str],
) -> impl Iterator<Item = (&'static str, String, &'v Value)> + 'v {
    sections.iter().flat_map(move |&section| {
        items(v.get(section))
            .iter()
            .enumerate()
            .map(move |(i, r)| (section, format!("{path}.{section}[{i}]"), r))
    })
}

/// A Kubernetes LabelSelector field, lowered; `Err` when it cannot be read or is invalid.
pub(super) fn label_selector(v: &Value) -> Result<(LabelSelector, Selector), String> {
    let ls: LabelSelector = serde_json::from_value(v.clone()).map_err(|e| format!("cannot be read: {e}"))?;
    let sel = Selector::lower(Some(&ls));
    match &sel.invalid {
        Some(reason) => Err(format!("is invalid: {reason}")),
        None => Ok((ls, sel)),
    }
}

/// How a selector key is looked up in a view.
pub(super) enum KeyRef {
    /// Look this key up.
    Key(String),
    /// A label pods never carry.
    Absent,
    /// A label we cannot know.
    Unknown,
}

/// Evaluates a lowered Kubernetes selector over labels with possibly unknown keys; `key_of`
/// maps a written key to the key to look up.
pub(super) fn eval_requirements(
    sel: &Selector,
    view: &LabelView,
    key_of: &dyn Fn(&str) -> KeyRef,
) -> (Tri, Vec<String>, Vec<String>) {
    let mut tri = Tri::Yes;
    let mut failed = Vec::new();
    let mut unknown = Vec::new();
    for r in &sel.requirements {
        let t = match key_of(&r.key) {
            KeyRef::Absent => Tri::of(r.matches(&Labels::new())),
            KeyRef::Unknown => Tri::Maybe,
            KeyRef::Key(k) if view.is_unknown(&k) => match (&r.op, view.present_keys.contains(&k)) {
                (Op::Exists, true) => Tri::Yes,
                (Op::DoesNotExist, true) => Tri::No,
                _ => Tri::Maybe,
            },
            KeyRef::Key(k) => Tri::of(
                Requirement {
                    key: k,
                    op: r.op.clone(),
                }
                .matches(&view.labels),
            ),
        };
        match t {
            Tri::No => failed.push(r.to_string()),
            Tri::Maybe => unknown.push(r.key.clone()),
            Tri::Yes => {}
        }
        tri = tri.and(t);
    }
    (tri, failed, unknown)
}

pub(super) fn selector_verdict(what: &str, sel: &Selector, tri: Tri, failed: &[String], unknown: &[String]) -> String {
    match tri {
        Tri::Yes => format!("{what} {sel} matches"),
        Tri::No => format!("{what} {sel} does not match (fails {})", failed.join(", ")),
        Tri::Maybe => format!(
            "{what} {sel} may match: depends on {}, unknown here",
            unknown.join(", ")
        ),
    }
}

/// A lowered selector over labels we know in full: its verdict, naming the requirements that fail.
pub(super) fn known_selector_verdict(what: &str, sel: &Selector, labels: &Labels) -> (Tri, String) {
    let tri = Tri::of(sel.matches(labels));
    let failed: Vec<String> = sel.failures(labels).iter().map(|r| r.to_string()).collect();
    (tri, selector_verdict(what, sel, tri, &failed, &[]))
}
