//! When objects were made: each policy's `creationTimestamp` and `generation` (every dialect
//! whose object has metadata), and the newest `creationTimestamp` of the snapshot, which is
//! the "now" of an offline answer ("created 2 h before the newest object in the snapshot").
//!
//! Invariant: read once from the snapshot's metadata; a time that is absent or does not parse
//! is simply unknown (manifests written by hand carry none), never a guess.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;

use crate::policy::kind::is_policy_object;
use crate::snapshot::{ClusterSnapshot, OtherObject};

/// A policy's metadata times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyTime {
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// `metadata.generation`: how many times its spec was written.
    pub generation: Option<i64>,
}

/// The times of a snapshot, built once.
#[derive(Debug, Clone, Default)]
pub struct ObjectTimes {
    /// The newest `creationTimestamp` of any object in the snapshot.
    pub newest: Option<Timestamp>,
    /// When a live source read the objects (set by the live source): ages are then "ago".
    pub read_at: Option<Timestamp>,
    /// By the name reports give the policy: `ns/name` for a NetworkPolicy, `Kind ns/name` or
    /// `Kind name` for the other dialects. Only policies with a time or a generation.
    pub policies: HashMap<String, PolicyTime>,
}

impl ObjectTimes {
    pub fn build(snap: &ClusterSnapshot) -> ObjectTimes {
        let mut t = ObjectTimes {
            read_at: snap.read_at,
            ..ObjectTimes::default()
        };
        for np in &snap.network_policies {
            let m = &np.metadata;
            let key = format!(
                "{}/{}",
                m.namespace.as_deref().unwrap_or_default(),
                m.name.as_deref().unwrap_or_default()
            );
            t.add_policy(key, meta_time(m));
        }
        for o in snap.others.iter().filter(|o| is_policy_object(&o.api_version, &o.kind)) {
            t.add_policy(o.cited(), other_time(o));
        }
        t.newest = typed_metas(snap)
            .filter_map(|m| m.creation_timestamp.as_ref().map(|c| c.0))
            .chain(snap.others.iter().filter_map(|o| other_time(o).created))
            .max();
        t
    }

    fn add_policy(&mut self, key: String, time: PolicyTime) {
        if time != PolicyTime::default() {
            self.policies.insert(key, time);
        }
    }

    /// The times of a policy as a report names it ([`citation_key`]).
    pub fn policy(&self, cited: &str) -> Option<PolicyTime> {
        self.policies.get(citation_key(cited).as_ref()).copied()
    }
}

/// The name of the object a report cites: itself, except a Kubernetes NetworkPolicy in Calico's
/// tier walk (`NetworkPolicy ns/knp.default.NAME`), which is the NetworkPolicy `ns/NAME`.
pub fn citation_key(cited: &str) -> std::borrow::Cow<'_, str> {
    match cited
        .strip_prefix("NetworkPolicy ")
        .and_then(|rest| rest.split_once("/knp.default."))
    {
        Some((ns, name)) => format!("{ns}/{name}").into(),
        None => cited.into(),
    }
}

/// The metadata of every object of the kinds we model.
fn typed_metas(snap: &ClusterSnapshot) -> impl Iterator<Item = &ObjectMeta> {
    snap.namespaces
        .iter()
        .map(|o| &o.metadata)
        .chain(snap.pods.iter().map(|o| &o.metadata))
        .chain(snap.services.iter().map(|o| &o.metadata))
        .chain(snap.endpoints.iter().map(|o| &o.metadata))
        .chain(snap.endpoint_slices.iter().map(|o| &o.metadata))
        .chain(snap.nodes.iter().map(|o| &o.metadata))
        .chain(snap.network_policies.iter().map(|o| &o.metadata))
        .chain(snap.workloads.iter().map(|o| &o.metadata))
}

fn meta_time(m: &ObjectMeta) -> PolicyTime {
    PolicyTime {
        created: m.creation_timestamp.as_ref().map(|c| c.0),
        generation: m.generation,
    }
}

fn other_time(o: &OtherObject) -> PolicyTime {
    let meta = o.value.get("metadata");
    PolicyTime {
        created: meta
            .and_then(|m| m.get("creationTimestamp"))
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.parse().ok()),
        generation: meta
            .and_then(|m| m.get("generation"))
            .and_then(serde_json::Value::as_i64),
    }
}

/// How long before `now`, in the coarsest unit that keeps it readable: `45 min`, `2 h`, `3 days`.
pub fn span(then: Timestamp, now: Timestamp) -> String {
    let secs = now.as_second().saturating_sub(then.as_second()).max(0);
    match secs {
        s if s < 60 => "less than a minute".to_string(),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_in_one_unit() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let now = t("2026-12-05T12:00:00Z");
        assert_eq!(span(t("2026-12-05T11:59:30Z"), now), "less than a minute");
        assert_eq!(span(t("2026-12-05T11:15:00Z"), now), "45 min");
        assert_eq!(span(t("2026-12-05T10:00:00Z"), now), "2 h");
        assert_eq!(span(t("2026-12-01T12:00:00Z"), now), "4 days");
        assert_eq!(span(now, t("2026-12-05T11:00:00Z")), "less than a minute");
    }
}
