//! Antrea: `ClusterNetworkPolicy` and namespaced `NetworkPolicy`, selected by `appliedTo`
//! (policy-level, else rule-level).
//!
//! Invariant: a group, an unreadable selector or a `namespaceSelector` in a namespaced policy
//! makes the answer "may select"; node, Service and external-entity targets never select a pod.

use serde_json::Value;

use super::PodRef;
use super::common::{
    Outcome, Tri, all_of, items, known_selector_verdict, label_selector, namespace_labels_of, non_null, present,
    readable_spec, rules_of,
};
use crate::policy::Labels;
use crate::snapshot::OtherObject;

/// An Antrea policy applies to the pod when one of its `appliedTo` entries selects it: the
/// policy-level `spec.appliedTo`, else those of its rules. A namespaced NetworkPolicy of another
/// namespace never gets here: the dispatcher answers for it.
pub(super) fn antrea(o: &OtherObject, pod: &PodRef, namespaced: bool) -> Outcome {
    let spec = match readable_spec(o) {
        Ok(spec) => spec,
        Err(unreadable) => return unreadable,
    };
    let workload = Workload {
        pod,
        ns_labels: namespace_labels_of(pod),
        namespaced,
    };
    let (tri, why, ingress, egress) = if present(spec, "appliedTo") {
        let (tri, why) = workload.applied("spec.appliedTo", items(spec.get("appliedTo")));
        (tri, why, present(spec, "ingress"), present(spec, "egress"))
    } else {
        workload.rule_level(spec)
    };
    let mut read = Vec::new();
    antrea_order_hints(spec, &mut read);
    antrea_rule_hints(spec, &mut read);
    read.push(
        "Antrea-native rules have explicit actions and no implicit default deny; unmatched traffic falls through"
            .into(),
    );
    Outcome::decided(tri, ingress, egress, why, read)
}

/// Where the policy stands among the others: `spec.tier` and `spec.priority`.
fn antrea_order_hints(spec: &Value, read: &mut Vec<String>) {
    if let Some(tier) = non_null(spec, "tier").and_then(Value::as_str) {
        let when = if tier.eq_ignore_ascii_case("baseline") {
            "after K8s NetworkPolicy"
        } else {
            "before K8s NetworkPolicy"
        };
        read.push(format!("spec.tier {tier}: evaluated {when}"));
    } else {
        read.push("no spec.tier: application tier, evaluated before K8s NetworkPolicy".into());
    }
    if let Some(p) = non_null(spec, "priority") {
        read.push(format!("spec.priority {p}: lower numbers apply first within the tier"));
    }
}

/// Per rule: its action (unless Allow), FQDN peers, L7 protocols and Service destinations.
fn antrea_rule_hints(spec: &Value, read: &mut Vec<String>) {
    for (_, p, r) in rules_of(spec, "spec", &["ingress", "egress"]) {
        match r.get("action").and_then(Value::as_str) {
            Some("Allow") => {}
            Some("Drop") => read.push(format!("{p}.action Drop: matching traffic is dropped")),
            Some("Reject") => read.push(format!("{p}.action Reject: matching traffic is rejected (the client is told)")),
            Some("Pass") => read.push(format!(
                "{p}.action Pass: skips the remaining Antrea-native rules; K8s NetworkPolicy (then the baseline tier) decides"
            )),
            other => read.push(format!("{p}.action {other:?}: not one of Allow, Drop, Reject, Pass")),
        }
        if items(r.get("to")).iter().any(|peer| present(peer, "fqdn")) {
            read.push(format!("{p}.to[].fqdn: DNS-name based egress"));
        }
        if present(r, "l7Protocols") {
            read.push(format!("{p}.l7Protocols: L7 (HTTP/TLS) rule"));
        }
        if present(r, "toServices") {
            read.push(format!("{p}.toServices: matches traffic to a Service's ClusterIP"));
        }
    }
}

/// The pod as an Antrea `appliedTo` sees it.
struct Workload<'a> {
    pod: &'a PodRef<'a>,
    ns_labels: Labels,
    /// The policy is a namespaced NetworkPolicy (of the pod's namespace).
    namespaced: bool,
}

impl Workload<'_> {
    /// A list of `appliedTo` entries selects the pod when one of them does.
    fn applied(&self, path: &str, entries: &[Value]) -> (Tri, String) {
        let mut tri = Tri::No;
        let mut yes = Vec::new();
        let mut no = Vec::new();
        for (i, a) in entries.iter().enumerate() {
            let (t, why) = self.applied_to(&format!("{path}[{i}]"), a);
            tri = tri.or(t);
            if t == Tri::No { no.push(why) } else { yes.push(why) }
        }
        if entries.is_empty() {
            no.push(format!("{path} is empty"));
        }
        (tri, if tri == Tri::No { no.join("; ") } else { yes.join("; ") })
    }

    /// Rule-level `appliedTo`: each rule says which workloads it applies to; the directions are
    /// those of the rules that (may) select the pod.
    fn rule_level(&self, spec: &Value) -> (Tri, String, bool, bool) {
        let (mut tri, mut whys, mut ingress, mut egress) = (Tri::No, Vec::new(), false, false);
        for (section, p, r) in rules_of(spec, "spec", &["ingress", "egress"]) {
            let (t, why) = self.applied(&format!("{p}.appliedTo"), items(r.get("appliedTo")));
            tri = tri.or(t);
            if t != Tri::No {
                ingress |= section == "ingress";
                egress |= section == "egress";
            }
            whys.push((t, why));
        }
        let why: Vec<String> = whys
            .into_iter()
            .filter(|(t, _)| (*t == Tri::No) == (tri == Tri::No))
            .map(|(_, w)| w)
            .collect();
        let why = if why.is_empty() {
            "no spec.appliedTo and no rule-level appliedTo".to_string()
        } else {
            why.join("; ")
        };
        (tri, why, ingress, egress)
    }

    /// One `appliedTo` entry: a group, a service account, a non-pod target, or pod and
    /// namespace selectors.
    fn applied_to(&self, path: &str, a: &Value) -> (Tri, String) {
        if let Some(g) = non_null(a, "group") {
            return (
                Tri::Maybe,
                format!("{path}.group {g}: group membership is not evaluated here; it may select the pod"),
            );
        }
        if let Some(sa) = non_null(a, "serviceAccount") {
            return self.service_account(path, sa);
        }
        for (key, what) in [
            ("nodeSelector", "applies to nodes"),
            ("service", "applies to a NodePort Service's traffic"),
        ] {
            if non_null(a, key).is_some() {
                return (Tri::No, format!("{path}.{key}: {what}, never to a pod"));
            }
        }
        let pod_sel = non_null(a, "podSelector");
        let ns_sel = non_null(a, "namespaceSelector");
        if pod_sel.is_none() && ns_sel.is_none() {
            return if non_null(a, "externalEntitySelector").is_some() {
                (
                    Tri::No,
                    format!("{path}.externalEntitySelector: applies to external entities, never to a pod"),
                )
            } else {
                (
                    Tri::Maybe,
                    format!("{path} names no workload: could not be read; it may select the pod"),
                )
            };
        }
        self.selectors(path, pod_sel, ns_sel)
    }

    /// `serviceAccount: {name, namespace}`: the pod's service account, by name and namespace.
    fn service_account(&self, path: &str, sa: &Value) -> (Tri, String) {
        let name = sa.get("name").and_then(Value::as_str).unwrap_or("");
        let ns = sa.get("namespace").and_then(Value::as_str).unwrap_or("");
        let sa_ns = format!("{ns}/{name}");
        if ns != self.pod.namespace {
            return (
                Tri::No,
                format!(
                    "{path}.serviceAccount {sa_ns}: the pod is in namespace {}",
                    self.pod.namespace
                ),
            );
        }
        match self.pod.service_account {
            None => (
                Tri::Maybe,
                format!("{path}.serviceAccount {sa_ns}: the pod's service account is unknown"),
            ),
            Some(s) => (
                Tri::of(s == name),
                format!(
                    "{path}.serviceAccount {sa_ns} {}",
                    if s == name { "matches" } else { "does not match" }
                ),
            ),
        }
    }

    /// `podSelector` and/or `namespaceSelector` (at least one is set); both must match.
    fn selectors(&self, path: &str, pod_sel: Option<&Value>, ns_sel: Option<&Value>) -> (Tri, String) {
        if self.namespaced && ns_sel.is_some() {
            return (
                Tri::Maybe,
                format!("{path}.namespaceSelector in a namespaced policy: not evaluated; it may select the pod"),
            );
        }
        let mut parts = Vec::new();
        for (field, sel, labels) in [
            ("podSelector", pod_sel, self.pod.labels),
            ("namespaceSelector", ns_sel, &self.ns_labels),
        ] {
            let Some(v) = sel else { continue };
            parts.push(match label_selector(v) {
                Err(e) => (Tri::Maybe, format!("{path}.{field} {e}; it may select the pod")),
                Ok((_, s)) => known_selector_verdict(&format!("{path}.{field}"), &s, labels),
            });
        }
        if !self.namespaced && ns_sel.is_none() {
            parts.push((Tri::Yes, "in every namespace".to_string()));
        }
        all_of(parts)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::tests::{Pod, obj, one};
    use crate::snapshot::OtherObject;

    /// Antrea rows: (name, object, selects, certain, directions).
    #[test]
    fn antrea_applied_to_table() {
        let acnp = |spec: Value| {
            obj(
                "crd.antrea.io/v1beta1",
                "ClusterNetworkPolicy",
                None,
                "a",
                json!({ "spec": spec }),
            )
        };
        let annp = |ns: &str, spec: Value| {
            obj(
                "crd.antrea.io/v1beta1",
                "NetworkPolicy",
                Some(ns),
                "a",
                json!({ "spec": spec }),
            )
        };
        let ing = json!([{"action": "Drop", "from": [{"namespaceSelector": {}}]}]);
        #[rustfmt::skip]
        let rows: Vec<(&str, OtherObject, bool, bool, &[&str])> = vec![
            ("acnp podSelector, all namespaces", acnp(json!({"appliedTo": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ingress": ing})), true, true, &["ingress"]),
            ("acnp podSelector mismatch", acnp(json!({"appliedTo": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ingress": ing})), false, true, &[]),
            ("acnp namespaceSelector", acnp(json!({"appliedTo": [{"namespaceSelector": {"matchLabels": {"team": "blue"}}}], "ingress": ing})), true, true, &["ingress"]),
            ("acnp both, ns mismatch", acnp(json!({"appliedTo": [{"podSelector": {}, "namespaceSelector": {"matchLabels": {"team": "red"}}}], "ingress": ing})), false, true, &[]),
            ("acnp second entry matches", acnp(json!({"appliedTo": [{"podSelector": {"matchLabels": {"app": "db"}}}, {"podSelector": {"matchLabels": {"tier": "front"}}}], "egress": ing})), true, true, &["egress"]),
            ("acnp group", acnp(json!({"appliedTo": [{"group": "g1"}], "ingress": ing})), true, false, &["ingress"]),
            ("acnp serviceAccount", acnp(json!({"appliedTo": [{"serviceAccount": {"name": "web-sa", "namespace": "shop"}}], "ingress": ing})), true, true, &["ingress"]),
            ("acnp serviceAccount other ns", acnp(json!({"appliedTo": [{"serviceAccount": {"name": "web-sa", "namespace": "bank"}}], "ingress": ing})), false, true, &[]),
            ("acnp nodeSelector", acnp(json!({"appliedTo": [{"nodeSelector": {}}], "ingress": ing})), false, true, &[]),
            ("acnp rule-level appliedTo", acnp(json!({"ingress": [{"action": "Allow", "appliedTo": [{"podSelector": {"matchLabels": {"app": "db"}}}]}], "egress": [{"action": "Drop", "appliedTo": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]})), true, true, &["egress"]),
            ("annp own namespace", annp("shop", json!({"appliedTo": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ingress": ing})), true, true, &["ingress"]),
            ("annp other namespace", annp("bank", json!({"appliedTo": [{"podSelector": {}}], "ingress": ing})), false, true, &[]),
            ("annp bad selector", annp("shop", json!({"appliedTo": [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}}], "ingress": ing})), true, false, &["ingress"]),
        ];
        let pod = Pod::web();
        for (name, o, selects, certain, dirs) in rows {
            let hit = one(&[o], &pod);
            assert_eq!((hit.selects, hit.certain), (selects, certain), "{name}: {hit:#?}");
            assert_eq!(hit.direction_names(), dirs.to_vec(), "{name}");
        }
        let o = acnp(json!({"appliedTo": [{"podSelector": {}}], "tier": "baseline", "priority": 5, "ingress": ing}));
        let hit = one(&[o], &pod);
        assert!(
            hit.read
                .iter()
                .any(|r| r == "spec.tier baseline: evaluated after K8s NetworkPolicy"),
            "{:#?}",
            hit.read
        );
        assert!(
            hit.read.iter().any(|r| r.starts_with("spec.ingress[0].action Drop")),
            "{:#?}",
            hit.read
        );
    }
}
