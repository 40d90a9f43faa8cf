//! CNI-specific policy objects that select a pod: Cilium (`CiliumNetworkPolicy`,
//! `CiliumClusterwideNetworkPolicy`), Calico (`NetworkPolicy`, `GlobalNetworkPolicy`), Antrea
//! (`ClusterNetworkPolicy`, `NetworkPolicy`) and `MultiNetworkPolicy`.
//!
//! We say which of them select a pod, for which directions, and what in them deserves reading
//! (deny sections, L7 rules, FQDN peers, ordering, ...). Cilium's rules are lowered for the engine
//! (`cilium_rules`), which evaluates them at L3/L4; Calico's `NetworkPolicy` and
//! `GlobalNetworkPolicy` are lowered for evaluation (`calico_rules`, walked by the engine's Calico
//! tier kind); the other vendors' rules are not evaluated (`ExtendedHit::evaluated` tells which).
//!
//! Invariants: pure (no I/O); never a confident guess. A selector that does not parse, a field
//! that cannot be read, or a label we cannot know (a service account's labels, the Cilium cluster
//! name) makes the answer "may select" (`certain: false`), never "selects" or "does not select".
//!
//! Calico selector expressions have a real parser and evaluator here ([`parse_calico_selector`]),
//! following Calico's own tokenizer and grammar (libcalico-go `selector/tokenizer`, `parser`).
//! AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy are evaluated in the
//! engine (`policy::admin`) and ignored here.
//!
//! The dispatch here answers for a namespaced object of another namespace ("does not select")
//! before any vendor module reads it; the vendor modules rely on that.
//!
//! Submodules:
//! - `common`: three-valued answers, label views with unknown keys, JSON and selector helpers;
//! - `cilium`, `calico`, `antrea`, `multi`: one per vendor, each turning an object and the pod
//!   into an `Outcome`;
//! - `calico_selector`: the Calico selector expression tokenizer, parser and evaluator;
//! - `calico_rules`: Calico policies and tiers lowered for the engine's tier walk.
//! - `cilium_rules`: Cilium policies lowered for evaluation (rules, sections, peers, ports).

mod antrea;
mod calico;
mod calico_rules;
mod calico_selector;
mod cilium;
mod cilium_rules;
mod common;
mod multi;

use std::collections::BTreeMap;

use crate::policy::{Direction, PolicyKind};
use crate::snapshot::OtherObject;

pub use calico_rules::{
    CalicoAction, CalicoEntity, CalicoLabels, CalicoPolicies, CalicoPolicy, CalicoPort, CalicoProto, CalicoRule,
    CalicoSaMatch, CalicoSel, CalicoTier, DEFAULT_TIER_ORDER, KNP_ORDER,
};
pub use calico_selector::{CalicoSelector, SelectorError, parse_calico_selector};
pub use cilium_rules::{
    CiliumIdentity, CiliumPeer, CiliumPolicy, CiliumPort, CiliumPortValue, CiliumRule, CiliumSelector, CiliumSubject,
    PeerRule, ResolvedService, Section, ServiceBackends, ServicePeer, ServiceRef, ServiceResolution,
    lower as lower_cilium,
};
use common::{Outcome, Tri};

/// Whether an `apiVersion/kind` (as [`ExtendedHit::kind`] writes it) is a Calico policy the
/// engine evaluates (`NetworkPolicy`, `GlobalNetworkPolicy`).
pub fn calico_evaluated(kind: &str) -> bool {
    let (api_version, kind) = kind.rsplit_once('/').unwrap_or_default();
    matches!(
        PolicyKind::of(api_version, kind),
        Some(PolicyKind::CalicoNetworkPolicy | PolicyKind::CalicoGlobalNetworkPolicy)
    )
}

/// The pod whose selecting objects we look for.
#[derive(Debug, Clone, Copy)]
pub struct PodRef<'a> {
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    /// The labels of the pod's namespace.
    pub namespace_labels: &'a BTreeMap<String, String>,
    /// `spec.serviceAccountName`; `None` when unknown (selectors on it are then uncertain).
    pub service_account: Option<&'a str>,
}

/// One CNI-specific policy object, examined for one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedHit {
    /// `apiVersion/kind`, e.g. `cilium.io/v2/CiliumNetworkPolicy`.
    pub kind: String,
    /// `namespace/name` for namespaced objects, `name` for cluster-scoped ones.
    pub name: String,
    /// Whether it selects the pod (`true` also when it only *may* select it: see `certain`).
    pub selects: bool,
    /// False when the answer depends on something we could not read or know: a selector that
    /// does not parse, a label of an object not in the snapshot. Then `selects` is true.
    pub certain: bool,
    /// Ingress and/or egress: the directions it applies to the pod (empty when it does not
    /// select the pod).
    pub directions: Vec<Direction>,
    /// Which selector decided, e.g. `spec.endpointSelector k8s:app=web matches`.
    pub why: String,
    /// Short hints of what to read in it, each starting with the field path.
    pub read: Vec<String>,
    /// The engine evaluates this kind (its verdicts are the engine's, not `inconclusive`).
    pub evaluated: bool,
}

impl ExtendedHit {
    /// `ingress` / `egress`, as reports write the directions.
    pub fn direction_names(&self) -> Vec<&'static str> {
        self.directions.iter().map(|d| d.as_str()).collect()
    }
}

/// The CNI-specific dialects: `(dialect, evaluated)`. An evaluated one is decided by the engine
/// (at L3/L4); the others are only named when they select an endpoint (`EXTENDED_POLICY_PRESENT`).
pub fn dialects() -> Vec<(&'static str, bool)> {
    [
        (
            "Cilium (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy): L3/L4; FQDN, group, Service peers, agent-dependent entities and L7 rules are DATAPLANE_DEPENDENT; host policies (nodeSelector) out of scope",
            Vendor::Cilium,
        ),
        (
            "Calico (NetworkPolicy, GlobalNetworkPolicy, Tier): L3/L4 tiers, orders, Allow/Deny/Log/Pass; staged policies never filter; host endpoints, preDNAT and doNotTrack out of scope",
            Vendor::Calico,
        ),
        ("Antrea (NetworkPolicy, ClusterNetworkPolicy)", Vendor::Antrea),
        ("MultiNetworkPolicy", Vendor::Multi),
    ]
    .into_iter()
    .map(|(name, v)| (name, v.evaluated(true)))
    .collect()
}

/// The objects of `objects` that select (or may select) the pod, sorted by kind and name.
pub fn selecting(objects: &[OtherObject], pod: &PodRef) -> Vec<ExtendedHit> {
    examine(objects, pod).into_iter().filter(|h| h.selects).collect()
}

/// Every recognised CNI policy object with the verdict for the pod, selecting or not (a host
/// policy, a policy of another namespace, a selector that does not match), sorted by kind and name.
pub fn examine(objects: &[OtherObject], pod: &PodRef) -> Vec<ExtendedHit> {
    let mut hits: Vec<ExtendedHit> = objects.iter().filter_map(|o| examine_one(o, pod)).collect();
    hits.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    hits
}

/// The vendor module that reads a policy kind, and whether that kind is namespaced.
fn recognise(o: &OtherObject) -> Option<(Vendor, bool)> {
    use PolicyKind::*;
    if crate::policy::kind::unevaluated_policy(&o.api_version, &o.kind) {
        // Namespaced when the object names a namespace; otherwise (none, or the default one put
        // there for it) it may be cluster-scoped.
        return Some((Vendor::Unevaluated, o.namespace.is_some() && !o.namespace_defaulted));
    }
    Some(match PolicyKind::of(&o.api_version, &o.kind)? {
        CiliumNetworkPolicy => (Vendor::Cilium, true),
        CiliumClusterwideNetworkPolicy => (Vendor::Cilium, false),
        CalicoNetworkPolicy => (Vendor::Calico, true),
        CalicoGlobalNetworkPolicy => (Vendor::Calico, false),
        AntreaNetworkPolicy => (Vendor::Antrea, true),
        AntreaClusterNetworkPolicy => (Vendor::Antrea, false),
        MultiNetworkPolicy => (Vendor::Multi, true),
        // Evaluated in the engine's tiers, not here.
        AdminNetworkPolicy | BaselineAdminNetworkPolicy | ClusterNetworkPolicy => return None,
    })
}

/// The CNI whose policy kinds we examine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    Cilium,
    Calico,
    Antrea,
    Multi,
    /// A kind (or version) of a policy group that nothing here reads: it may select any pod.
    Unevaluated,
}

impl Vendor {
    /// The kinds the engine evaluates: a policy of these never makes a verdict inconclusive by
    /// being present (`EXTENDED_POLICY_PRESENT`); the engine decides with it, and says what it
    /// cannot decide (`DATAPLANE_DEPENDENT`). One line per dialect. `certain`: whether the object
    /// was read well enough to say if it selects the pod; the Calico walk does not read an object
    /// that was not (e.g. the live source's placeholder for a list it could not read), so such
    /// an object stays named (`EXTENDED_POLICY_PRESENT`).
    fn evaluated(self, certain: bool) -> bool {
        match self {
            Vendor::Cilium => true,
            Vendor::Calico => certain,
            Vendor::Antrea | Vendor::Multi | Vendor::Unevaluated => false,
        }
    }
}

fn examine_one(o: &OtherObject, pod: &PodRef) -> Option<ExtendedHit> {
    let (vendor, namespaced) = recognise(o)?;
    // A namespaced policy never selects a pod of another namespace, readable or not; the vendor
    // modules rely on this check.
    let outcome = if namespaced && object_namespace(o) != pod.namespace {
        Outcome::not_selecting(format!(
            "a namespaced {} selects only pods of its namespace {}; the pod is in {}",
            o.kind,
            object_namespace(o),
            pod.namespace
        ))
    } else {
        match vendor {
            Vendor::Cilium => cilium::cilium(o, pod, namespaced),
            Vendor::Calico => calico::calico(o, pod, namespaced),
            Vendor::Antrea => antrea::antrea(o, pod, namespaced),
            Vendor::Multi => multi::multi(o, pod),
            Vendor::Unevaluated => unevaluated(o, namespaced),
        }
    };
    let name = display_name(o);
    let selected = outcome.tri != Tri::No;
    let directions: Vec<Direction> = [
        (Direction::Ingress, outcome.ingress),
        (Direction::Egress, outcome.egress),
    ]
    .into_iter()
    .filter(|(_, on)| selected && *on)
    .map(|(d, _)| d)
    .collect();
    let certain = outcome.tri != Tri::Maybe && !outcome.partly_uncertain;
    Some(ExtendedHit {
        kind: format!("{}/{}", o.api_version, o.kind),
        name,
        selects: selected,
        certain,
        directions,
        why: outcome.why,
        read: if !selected { Vec::new() } else { outcome.read },
        evaluated: vendor.evaluated(certain),
    })
}

/// An object of a policy kind (or version) we do not evaluate: it may select the pod, in either
/// direction, and allow or deny.
fn unevaluated(o: &OtherObject, namespaced: bool) -> Outcome {
    let scope = if namespaced {
        "any pod of its namespace"
    } else {
        "any pod (no namespace: it may be cluster-scoped)"
    };
    let mut outcome = Outcome::unreadable(format!(
        "{}/{} is a policy kind or version netpol-debug does not evaluate; it may select {scope}, in either direction",
        o.api_version, o.kind
    ));
    outcome.read = vec![format!(
        "spec: read the whole object (kubectl get {}.{} {} -o yaml)",
        o.kind.to_ascii_lowercase(),
        crate::policy::kind::api_group(&o.api_version),
        o.name
    )];
    outcome
}

/// `namespace/name` for the namespaced kinds we examine, `name` for the cluster-scoped ones.
fn display_name(o: &OtherObject) -> String {
    let unevaluated = crate::policy::kind::unevaluated_policy(&o.api_version, &o.kind) && o.namespace.is_some();
    if unevaluated
        || matches!(
            o.kind.as_str(),
            "CiliumNetworkPolicy" | "NetworkPolicy" | "MultiNetworkPolicy"
        )
    {
        format!("{}/{}", object_namespace(o), o.name)
    } else {
        o.name.clone()
    }
}

/// The namespace of a namespaced object; `default` when the manifest leaves it out (as
/// `kubectl apply` would with the default context).
fn object_namespace(o: &OtherObject) -> &str {
    o.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::policy::Labels;

    // Fixtures the vendor modules' tests share, and the tests of the dispatch.

    pub(super) fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    pub(super) fn obj(api_version: &str, kind: &str, namespace: Option<&str>, name: &str, spec: Value) -> OtherObject {
        let mut value = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
        if let Some(ns) = namespace {
            value["metadata"]["namespace"] = json!(ns);
        }
        if let Value::Object(m) = spec {
            for (k, v) in m {
                value[k] = v;
            }
        }
        OtherObject {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.map(String::from),
            name: name.into(),
            value,
            location: "test".into(),
            namespace_defaulted: false,
        }
    }

    pub(super) struct Pod {
        pub(super) ns: &'static str,
        pub(super) labels: Labels,
        pub(super) ns_labels: Labels,
        pub(super) sa: Option<&'static str>,
    }

    impl Pod {
        /// `shop/web`: app=web, tier=front; namespace team=blue; service account web-sa.
        pub(super) fn web() -> Pod {
            Pod {
                ns: "shop",
                labels: labels(&[("app", "web"), ("tier", "front")]),
                ns_labels: labels(&[("team", "blue"), ("kubernetes.io/metadata.name", "shop")]),
                sa: Some("web-sa"),
            }
        }
        pub(super) fn r(&self) -> PodRef<'_> {
            PodRef {
                namespace: self.ns,
                labels: &self.labels,
                namespace_labels: &self.ns_labels,
                service_account: self.sa,
            }
        }
    }

    pub(super) fn one(objects: &[OtherObject], pod: &Pod) -> ExtendedHit {
        let hits = examine(objects, &pod.r());
        assert_eq!(hits.len(), 1, "{hits:#?}");
        hits.into_iter().next().unwrap()
    }

    #[test]
    fn ignores_other_kinds_and_sorts() {
        let objects = vec![
            obj(
                "projectcalico.org/v3",
                "GlobalNetworkPolicy",
                None,
                "g",
                json!({ "spec": {} }),
            ),
            obj(
                "policy.networking.k8s.io/v1alpha1",
                "AdminNetworkPolicy",
                None,
                "anp",
                json!({"spec": {}}),
            ),
            obj(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                Some("shop"),
                "k8s",
                json!({"spec": {}}),
            ),
            obj("v1", "ConfigMap", Some("shop"), "cm", json!({})),
            obj(
                "cilium.io/v2",
                "CiliumClusterwideNetworkPolicy",
                None,
                "p",
                json!({ "spec": {"endpointSelector": {}} }),
            ),
            obj(
                "cilium.io/v2",
                "CiliumNetworkPolicy",
                Some("shop"),
                "b",
                json!({"spec": {"endpointSelector": {}}}),
            ),
            obj(
                "cilium.io/v2",
                "CiliumNetworkPolicy",
                Some("shop"),
                "a",
                json!({"spec": {"endpointSelector": {}}}),
            ),
            obj(
                "cilium.io/v2",
                "CiliumNetworkPolicy",
                None,
                "nons",
                json!({"spec": {"endpointSelector": {}}}),
            ),
        ];
        let hits = selecting(&objects, &Pod::web().r());
        let names: Vec<(&str, &str)> = hits.iter().map(|h| (h.kind.as_str(), h.name.as_str())).collect();
        assert_eq!(
            names,
            vec![
                ("cilium.io/v2/CiliumClusterwideNetworkPolicy", "p"),
                ("cilium.io/v2/CiliumNetworkPolicy", "shop/a"),
                ("cilium.io/v2/CiliumNetworkPolicy", "shop/b"),
                ("projectcalico.org/v3/GlobalNetworkPolicy", "g"),
            ]
        );
        let all = examine(&objects, &Pod::web().r());
        assert_eq!(all.len(), 5, "{all:#?}");
        assert!(
            all.iter().any(|h| h.name == "default/nons" && !h.selects),
            "a CNP without namespace is in default"
        );
    }
}
