//! `MultiNetworkPolicy` (k8s.cni.cncf.io): a NetworkPolicy for the secondary networks named by
//! its `k8s.v1.cni.cncf.io/policy-for` annotation.
//!
//! Invariant: a selector that cannot be read makes the answer "may select"; the hint always says
//! which networks it applies on (or that, naming none, it is ignored).

use serde_json::Value;

use super::common::{Outcome, Tri, known_selector_verdict, label_selector, non_null, present, readable_spec};
use super::{PodRef, object_namespace};
use crate::snapshot::OtherObject;

const POLICY_FOR: &str = "k8s.v1.cni.cncf.io/policy-for";

/// A MultiNetworkPolicy selects pods like a NetworkPolicy, by `spec.podSelector`, but only on the
/// networks its annotation names. One of another namespace never gets here: the dispatcher
/// answers for it.
pub(super) fn multi(o: &OtherObject, pod: &PodRef) -> Outcome {
    let spec = match readable_spec(o) {
        Ok(spec) => spec,
        Err(unreadable) => return unreadable,
    };
    let (tri, why) = multi_selection(spec, pod, object_namespace(o));
    let has_out = present(spec, "egress");
    let (ingress, egress) = match non_null(spec, "policyTypes").and_then(Value::as_array) {
        Some(types) if !types.is_empty() => {
            let has = |t: &str| types.iter().any(|x| x.as_str() == Some(t));
            (has("Ingress"), has("Egress"))
        }
        _ => (true, has_out),
    };
    Outcome::decided(tri, ingress, egress, why, vec![networks_hint(o)])
}

/// `spec.podSelector` over the pod's labels; missing or empty, it selects every pod of `ns`.
fn multi_selection(spec: &Value, pod: &PodRef, ns: &str) -> (Tri, String) {
    match non_null(spec, "podSelector").map(label_selector) {
        None => (
            Tri::Yes,
            format!("no spec.podSelector: selects every pod of namespace {ns}"),
        ),
        Some(Err(e)) => (Tri::Maybe, format!("spec.podSelector {e}; it may select the pod")),
        Some(Ok((_, s))) if s.is_everything() => (
            Tri::Yes,
            format!("spec.podSelector {{}} selects every pod of namespace {ns}"),
        ),
        Some(Ok((_, s))) => known_selector_verdict("spec.podSelector", &s, pod.labels),
    }
}

/// The networks the policy applies on, from its `policy-for` annotation.
fn networks_hint(o: &OtherObject) -> String {
    let networks = o
        .value
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(POLICY_FOR))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty());
    match networks {
        Some(n) => format!(
            "metadata.annotations[{POLICY_FOR}] {n}: applies only on these secondary networks (check the pod's k8s.v1.cni.cncf.io/networks annotation), never on the pod's primary network"
        ),
        None => {
            format!("no {POLICY_FOR} annotation: it names no network, so multi-networkpolicy implementations ignore it")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::tests::{Pod, obj, one};
    use super::POLICY_FOR;
    use crate::snapshot::OtherObject;

    /// MultiNetworkPolicy rows: (name, object, selects, certain, directions).
    #[test]
    fn multi_network_policy() {
        let mk = |ns: &str, spec: Value, annotated: bool| {
            let mut o = obj(
                "k8s.cni.cncf.io/v1beta1",
                "MultiNetworkPolicy",
                Some(ns),
                "m",
                json!({ "spec": spec }),
            );
            if annotated {
                o.value["metadata"]["annotations"] = json!({ POLICY_FOR: "shop/macvlan1" });
            }
            o
        };
        #[rustfmt::skip]
        let rows: Vec<(&str, OtherObject, bool, bool, &[&str])> = vec![
            ("match", mk("shop", json!({"podSelector": {"matchLabels": {"app": "web"}}}), true), true, true, &["ingress"]),
            ("no match", mk("shop", json!({"podSelector": {"matchLabels": {"app": "db"}}}), true), false, true, &[]),
            ("empty", mk("shop", json!({"podSelector": {}, "policyTypes": ["Egress"]}), true), true, true, &["egress"]),
            ("other ns", mk("bank", json!({"podSelector": {}}), true), false, true, &[]),
            ("egress default", mk("shop", json!({"podSelector": {}, "egress": [{}]}), true), true, true, &["ingress", "egress"]),
            ("bad selector", mk("shop", json!({"podSelector": {"matchLabels": 3}}), true), true, false, &["ingress"]),
        ];
        let pod = Pod::web();
        for (name, o, selects, certain, dirs) in rows {
            let hit = one(&[o], &pod);
            assert_eq!((hit.selects, hit.certain), (selects, certain), "{name}: {hit:#?}");
            assert_eq!(hit.direction_names(), dirs.to_vec(), "{name}");
            if selects {
                assert!(hit.read[0].contains("shop/macvlan1"), "{name}: {:#?}", hit.read);
            }
        }
        let hit = one(&[mk("shop", json!({"podSelector": {}}), false)], &pod);
        assert!(hit.read[0].contains("ignore it"), "{:#?}", hit.read);
    }
}
