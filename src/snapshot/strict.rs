//! NetworkPolicy read as the API server reads it: every field it does not know is named.
//!
//! k8s-openapi's decoders skip unknown keys (through `IgnoredAny`); `serde_ignored` reports the
//! path of each one. The API server does not skip them: with strict server-side field
//! validation (the default of `kubectl apply` since 1.27) the object is rejected with "strict
//! decoding error: unknown field …"; older clients drop the field silently, which may widen
//! the policy (`podSelector: {matchLabel: …}` reads as `{}`, every pod). So a policy from a file
//! with an unknown field cannot be both the object in the file and the object in the cluster:
//! the directions the field may touch are held back as unreadable ([`UnreadableReason::UnknownField`]).
//!
//! Invariant: only objects from files are decoded strictly; the live source's objects come from
//! the API server, which has no unknown fields to report.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{UnreadablePolicy, UnreadableReason};

/// Decodes `value` as `T`, returning with it the paths of the fields `T` does not know
/// (`spec.podSelector.matchLabel`, `spec.ingress[0].fromm`, `specs`), in the order of the decoded
/// value's keys. A failure
/// is `(field path, message)`.
pub(super) fn decode<T: DeserializeOwned>(value: &Value) -> Result<(T, Vec<String>), (String, String)> {
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(value, &mut track);
    match serde_ignored::deserialize(de, |path| unknown.push(render(&path))) {
        Ok(v) => Ok((v, unknown.into_iter().filter(|f| reported(f)).collect())),
        Err(e) => Err((track.path().to_string(), e.to_string())),
    }
}

/// `status` and everything under it is the server's to write, never an input error (k8s-openapi
/// knows `apiVersion`, `kind`, `metadata` and `spec`; every other top-level key is reported).
fn reported(field: &str) -> bool {
    field.split(['.', '[']).next() != Some("status")
}

/// `spec.ingress[0].from[1].podSelector.matchLabel`: map keys joined by dots, indexes in brackets.
fn render(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", render(parent)),
        Path::Map { parent, key } => {
            let p = render(parent);
            if p.is_empty() {
                key.clone()
            } else {
                format!("{p}.{key}")
            }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => render(parent),
    }
}

/// What an unknown field may change in a NetworkPolicy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reach {
    /// The podSelector may differ from the one read: the policy may select any pod.
    pub selector: bool,
    pub ingress: bool,
    pub egress: bool,
}

/// Where an unknown field of a NetworkPolicy reaches: a typo under `spec.ingress` touches ingress
/// only, under `spec.podSelector` which pods are selected (in the directions the policy
/// isolates); an unknown key of `spec` the direction it looks like (`egres`) or everything
/// (`policyType`: both directions); an unknown top-level key (`specs`) the whole policy.
pub(super) fn reach(field: &str, isolates: (bool, bool)) -> Reach {
    let both = Reach {
        selector: false,
        ingress: true,
        egress: true,
    };
    let Some(rest) = field.strip_prefix("spec.") else {
        // `metadata.…` leaves the spec as read; any other top-level key may be the spec itself.
        let selector = !field.starts_with("metadata.");
        return Reach { selector, ..both };
    };
    let key = rest.split(['.', '[']).next().unwrap_or_default();
    match key {
        "podSelector" => Reach {
            selector: true,
            ingress: isolates.0,
            egress: isolates.1,
        },
        // Rules of a direction policyTypes leaves out are ignored: a typo in them changes nothing.
        "ingress" => Reach {
            ingress: isolates.0,
            egress: false,
            ..both
        },
        "egress" => Reach {
            ingress: false,
            egress: isolates.1,
            ..both
        },
        _ => reach_of_unknown_spec_key(key),
    }
}

/// An unknown key directly under `spec`: the known key it is closest to (a typo), or all.
fn reach_of_unknown_spec_key(key: &str) -> Reach {
    let k = key.to_ascii_lowercase();
    let known = ["podselector", "policytypes", "ingress", "egress"];
    let best = known
        .iter()
        .map(|n| (strsim::normalized_damerau_levenshtein(&k, n), *n))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score >= 0.6)
        .map(|(_, n)| n);
    let all = Reach {
        selector: true,
        ingress: true,
        egress: true,
    };
    match best {
        Some("ingress") => Reach {
            selector: false,
            egress: false,
            ..all
        },
        Some("egress") => Reach {
            selector: false,
            ingress: false,
            ..all
        },
        Some("policytypes") => Reach { selector: false, ..all },
        _ => all,
    }
}

/// The unreadable part standing for what an unknown field may change: `read` is the policy as
/// far as it reads (its podSelector, the directions it isolates).
pub(super) fn held_back(read: &UnreadablePolicy, field: &str) -> UnreadablePolicy {
    let r = reach(field, (read.may_isolate_ingress, read.may_isolate_egress));
    UnreadablePolicy {
        reason: UnreadableReason::UnknownField {
            field: field.to_string(),
        },
        pod_selector: if r.selector { None } else { read.pod_selector.clone() },
        may_isolate_ingress: r.ingress,
        may_isolate_egress: r.egress,
        ..read.clone()
    }
}

/// The load warning for an unknown field: what `kubectl apply` does with it, and what it changes
/// here.
pub(super) fn message(field: &str, held: &UnreadablePolicy) -> String {
    let leaf = field.rsplit(['.', '[']).next().unwrap_or(field);
    let rejected = format!(
        "{field}: unknown field {leaf:?}: kubectl apply (strict server-side field validation, the default since kubectl 1.27) rejects the object (\"strict decoding error: unknown field \\\"{field}\\\"\")"
    );
    let dirs = match (held.may_isolate_ingress, held.may_isolate_egress) {
        (true, true) => "ingress and egress",
        (true, false) => "ingress",
        (false, true) => "egress",
        (false, false) => {
            return format!(
                "{rejected}; it is in rules of a direction policyTypes leaves out, so no verdict depends on it"
            );
        }
    };
    let older = if field.starts_with("spec.podSelector") {
        "which here would widen or change podSelector (a misspelt matchLabels reads as {}, every pod of the namespace)"
            .to_string()
    } else {
        format!("which here would leave the policy without it ({dirs} as read)")
    };
    let whom = match &held.pod_selector {
        Some(_) => "the pods it selects",
        None => "any pod of its namespace",
    };
    format!(
        "{rejected}; older clients drop the field silently, {older}. It cannot be both the object in this file and the object in the cluster, so a verdict on the {dirs} of {whom} is inconclusive (POLICY_FIELD_UNKNOWN)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    use serde_json::json;

    fn unknown(v: Value) -> Vec<String> {
        decode::<NetworkPolicy>(&v).expect("decodes").1
    }

    #[test]
    fn unknown_fields_are_named_by_path_and_status_is_not() {
        let v = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "a"}, "status": {"x": 1}, "specs": {},
            "spec": {"podSelector": {"matchLabel": {"app": "f"}}, "egres": [],
                     "ingress": [{"from": [{"podSelector": {}, "ipblock": {}}]}]}});
        assert_eq!(
            unknown(v),
            vec![
                "spec.egres",
                "spec.ingress[0].from[0].ipblock",
                "spec.podSelector.matchLabel",
                "specs"
            ]
        );
    }

    #[test]
    fn reach_table() {
        let both = (true, true);
        let r = |selector, ingress, egress| Reach {
            selector,
            ingress,
            egress,
        };
        let rows = [
            ("spec.podSelector.matchLabel", (true, false), r(true, true, false)),
            (
                "spec.ingress[0].from[0].podSelector.matchLabel",
                both,
                r(false, true, false),
            ),
            ("spec.egress[0].tooo", both, r(false, false, true)),
            (
                "spec.egress[0].tooo under policyTypes [Ingress]",
                (true, false),
                r(false, false, false),
            ),
            ("spec.egres", both, r(false, false, true)),
            ("spec.ingres", both, r(false, true, false)),
            ("spec.policyType", both, r(false, true, true)),
            ("spec.podselectr", both, r(true, true, true)),
            ("spec.whatever", both, r(true, true, true)),
            ("specs", both, r(true, true, true)),
            ("metadata.label", both, r(false, true, true)),
        ];
        for (field, isolates, want) in rows {
            assert_eq!(reach(field, isolates), want, "{field}");
        }
    }
}
