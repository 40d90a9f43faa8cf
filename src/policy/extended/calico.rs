//! Calico: `NetworkPolicy` and `GlobalNetworkPolicy` (`projectcalico.org/v3` and the
//! `crd.projectcalico.org/v1` storage form), selected by Calico selector expressions.
//!
//! Invariant: a selector that is not a string or does not parse, or that reads a label we cannot
//! know (a service account's labels), makes the answer "may select", naming the object and column.

use std::collections::BTreeSet;

use serde_json::Value;

use super::calico_selector::parse_calico_selector;
use super::common::{LabelView, Outcome, Tri, all_of, namespace_labels_of, non_null, present, readable_spec, rules_of};
use super::{PodRef, display_name};
use crate::policy::Labels;
use crate::snapshot::OtherObject;

/// Labels Calico gives a pod's workload endpoint: the pod's labels, `projectcalico.org/namespace`,
/// `projectcalico.org/orchestrator: k8s`, `projectcalico.org/serviceaccount`, and the profile
/// labels `pcns.<namespace label>` and `pcsa.<service account label>` (the latter unknown here).
pub(super) fn calico_pod_view(pod: &PodRef) -> LabelView {
    let mut labels = pod.labels.clone();
    labels.insert("projectcalico.org/namespace".into(), pod.namespace.into());
    labels.insert("projectcalico.org/orchestrator".into(), "k8s".into());
    for (k, v) in namespace_labels_of(pod) {
        labels.insert(format!("pcns.{k}"), v);
    }
    labels.insert("pcns.projectcalico.org/name".into(), pod.namespace.into());
    let mut unknown_keys = BTreeSet::new();
    match pod.service_account {
        Some(sa) => {
            labels.insert("projectcalico.org/serviceaccount".into(), sa.into());
            labels.insert("pcsa.projectcalico.org/name".into(), sa.into());
        }
        None => {
            unknown_keys.insert("projectcalico.org/serviceaccount".into());
        }
    }
    LabelView {
        labels,
        unknown_keys,
        unknown_prefixes: vec!["pcsa."],
        present_keys: BTreeSet::new(),
    }
}

/// A namespace as a GlobalNetworkPolicy's `namespaceSelector` sees it: its labels, plain and
/// `pcns.`-prefixed, and `projectcalico.org/name`.
fn calico_namespace_view(pod: &PodRef) -> LabelView {
    let mut labels = Labels::new();
    for (k, v) in namespace_labels_of(pod) {
        labels.insert(format!("pcns.{k}"), v.clone());
        labels.insert(k, v);
    }
    labels.insert("projectcalico.org/name".into(), pod.namespace.into());
    labels.insert("pcns.projectcalico.org/name".into(), pod.namespace.into());
    LabelView {
        labels,
        ..LabelView::default()
    }
}

/// A service account as `serviceAccountSelector` sees it: `projectcalico.org/name` is known (when
/// the pod's service account is); its other labels are not in the snapshot.
fn calico_sa_view(pod: &PodRef) -> LabelView {
    let mut labels = Labels::new();
    if let Some(sa) = pod.service_account {
        labels.insert("projectcalico.org/name".into(), sa.into());
    }
    LabelView {
        labels,
        unknown_keys: BTreeSet::new(),
        unknown_prefixes: vec![""],
        present_keys: BTreeSet::new(),
    }
}

/// The verdict of one selector field of `spec` (`selector`, `namespaceSelector`,
/// `serviceAccountSelector`) over `view`; a missing field is `all()`.
fn calico_selector_part(o: &OtherObject, field: &str, spec: &Value, view: &LabelView) -> (Tri, String) {
    let whose = || format!("{}/{} {}", o.api_version, o.kind, display_name(o));
    let text = match non_null(spec, field) {
        None => return (Tri::Yes, format!("no spec.{field} (all())")),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return (
                Tri::Maybe,
                format!("{}: spec.{field} is not a string; it may select the pod", whose()),
            );
        }
    };
    match parse_calico_selector(text) {
        Err(e) => (
            Tri::Maybe,
            format!(
                "{}: spec.{field} {text:?} does not parse at {e}; it may select the pod",
                whose()
            ),
        ),
        Ok(sel) => {
            let tri = sel.evaluate(view);
            let verdict = match tri {
                Tri::Yes => "matches".to_string(),
                Tri::No => "does not match".to_string(),
                Tri::Maybe => {
                    let unknown: Vec<&str> = sel.keys().into_iter().filter(|k| view.is_unknown(k)).collect();
                    format!("may match: depends on {}, unknown here", unknown.join(", "))
                }
            };
            (tri, format!("spec.{field} {sel} {verdict}"))
        }
    }
}

/// A Calico policy selects the pod when every selector it has matches: `selector` on the pod,
/// `namespaceSelector` (GlobalNetworkPolicy only) on its namespace, `serviceAccountSelector` on
/// its service account. A NetworkPolicy of another namespace never gets here: the dispatcher
/// answers for it.
pub(super) fn calico(o: &OtherObject, pod: &PodRef, namespaced: bool) -> Outcome {
    let spec = match readable_spec(o) {
        Ok(spec) => spec,
        Err(unreadable) => return unreadable,
    };
    let (tri, why) = calico_selection(o, pod, spec, namespaced);
    let mut read = Vec::new();
    let (ingress, egress) = calico_directions(spec, &mut read);
    calico_order_hints(spec, &mut read);
    calico_rule_hints(spec, &mut read);
    if !namespaced {
        for key in ["doNotTrack", "preDNAT", "applyOnForward"] {
            if spec.get(key).and_then(Value::as_bool) == Some(true) {
                read.push(format!("spec.{key}: true: meaningful for host endpoints only"));
            }
        }
    }
    Outcome::decided(tri, ingress, egress, why, read)
}

fn calico_selection(o: &OtherObject, pod: &PodRef, spec: &Value, namespaced: bool) -> (Tri, String) {
    let mut parts = vec![calico_selector_part(o, "selector", spec, &calico_pod_view(pod))];
    if !namespaced && non_null(spec, "namespaceSelector").is_some() {
        parts.push(calico_selector_part(
            o,
            "namespaceSelector",
            spec,
            &calico_namespace_view(pod),
        ));
    }
    if non_null(spec, "serviceAccountSelector").is_some() {
        parts.push(calico_selector_part(
            o,
            "serviceAccountSelector",
            spec,
            &calico_sa_view(pod),
        ));
    }
    all_of(parts)
}

/// Directions: `spec.types`, else Ingress unless only egress rules exist (Calico's defaulting);
/// a direction that applies without a rule denies at the end of the tier, which `read` says.
fn calico_directions(spec: &Value, read: &mut Vec<String>) -> (bool, bool) {
    let has_in = present(spec, "ingress");
    let has_out = present(spec, "egress");
    let explicit_types = non_null(spec, "types")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty());
    let (ingress, egress) = match explicit_types {
        Some(types) => {
            let has = |t: &str| {
                types
                    .iter()
                    .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(t)))
            };
            (has("Ingress"), has("Egress"))
        }
        _ => (has_in || !has_out, has_out),
    };
    for (dir, applies, rules) in [("ingress", ingress, has_in), ("egress", egress, has_out)] {
        if applies && !rules {
            let types = if explicit_types.is_some() {
                "spec.types includes"
            } else {
                "types default to"
            };
            let t = if dir == "ingress" { "Ingress" } else { "Egress" };
            read.push(format!(
                "{types} {t} and there is no {dir} rule: {dir} traffic reaching the end of the tier is denied"
            ));
        }
    }
    (ingress, egress)
}

/// Where the policy stands among the others: `spec.order` and a non-default `spec.tier`.
fn calico_order_hints(spec: &Value, read: &mut Vec<String>) {
    match non_null(spec, "order") {
        Some(order) => read.push(format!("spec.order {order}: lower orders apply first")),
        None => read.push("no spec.order: applied after every policy of its tier that has one".into()),
    }
    if let Some(tier) = non_null(spec, "tier")
        .and_then(Value::as_str)
        .filter(|t| *t != "default")
    {
        read.push(format!(
            "spec.tier {tier}: tiers apply in their order; Pass moves to the next tier"
        ));
    }
}

/// Per rule: its action (unless Allow), DNS-name destinations and L7 HTTP matches.
fn calico_rule_hints(spec: &Value, read: &mut Vec<String>) {
    for (_, p, r) in rules_of(spec, "spec", &["ingress", "egress"]) {
        match r.get("action").and_then(Value::as_str) {
            Some("Allow") => {}
            Some("Deny") => read.push(format!(
                "{p}.action Deny: the first matching rule decides; Deny is final"
            )),
            Some("Pass") => read.push(format!(
                "{p}.action Pass: skips the rest of this tier (next tier, or the namespace/service account profiles)"
            )),
            Some("Log") => read.push(format!("{p}.action Log: logs, then continues with the next rule")),
            other => read.push(format!("{p}.action {other:?}: not one of Allow, Deny, Log, Pass")),
        }
        if r.get("destination").is_some_and(|d| present(d, "domains")) {
            read.push(format!("{p}.destination.domains: DNS-name based egress"));
        }
        if present(r, "http") {
            read.push(format!("{p}.http: L7 HTTP match (application layer policy)"));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{Pod, obj, one};
    use crate::snapshot::OtherObject;
    use serde_json::Value;

    fn calico_np(group: &str, ns: &str, spec: Value) -> OtherObject {
        obj(group, "NetworkPolicy", Some(ns), "c", json!({ "spec": spec }))
    }

    fn gnp(spec: Value) -> OtherObject {
        obj(
            "projectcalico.org/v3",
            "GlobalNetworkPolicy",
            None,
            "g",
            json!({ "spec": spec }),
        )
    }

    /// Calico rows: (name, object, selects, certain, directions) for the pod `shop/web`.
    #[test]
    fn calico_selection_table() {
        let v3 = "projectcalico.org/v3";
        let crd = "crd.projectcalico.org/v1";
        #[rustfmt::skip]
        let rows: Vec<(&str, OtherObject, bool, bool, &[&str])> = vec![
            ("v3 namespaced match", calico_np(v3, "shop", json!({"selector": "app == 'web'"})), true, true, &["ingress"]),
            ("crd namespaced match", calico_np(crd, "shop", json!({"selector": "app == 'web'"})), true, true, &["ingress"]),
            ("namespaced other ns", calico_np(v3, "bank", json!({"selector": "all()"})), false, true, &[]),
            ("no selector = all()", calico_np(v3, "shop", json!({})), true, true, &["ingress"]),
            ("no match", calico_np(v3, "shop", json!({"selector": "app == 'db'"})), false, true, &[]),
            ("calico namespace label", calico_np(v3, "shop", json!({"selector": "projectcalico.org/namespace == 'shop'"})), true, true, &["ingress"]),
            ("orchestrator label", gnp(json!({"selector": "projectcalico.org/orchestrator == 'k8s' && app == 'web'"})), true, true, &["ingress"]),
            ("pcns label on pod", gnp(json!({"selector": "pcns.team == 'blue'"})), true, true, &["ingress"]),
            ("service account label", gnp(json!({"selector": "projectcalico.org/serviceaccount == 'web-sa'"})), true, true, &["ingress"]),
            ("sa labels unknown", gnp(json!({"selector": "pcsa.role == 'x'"})), true, false, &["ingress"]),
            ("global() never a pod", gnp(json!({"selector": "global()"})), false, true, &[]),
            ("gnp every namespace", gnp(json!({"selector": "app == 'web'", "types": ["Egress"]})), true, true, &["egress"]),
            ("gnp nsSelector plain", gnp(json!({"selector": "all()", "namespaceSelector": "team == 'blue'"})), true, true, &["ingress"]),
            ("gnp nsSelector pcns", gnp(json!({"selector": "all()", "namespaceSelector": "pcns.team == 'blue'"})), true, true, &["ingress"]),
            ("gnp nsSelector name", gnp(json!({"namespaceSelector": "projectcalico.org/name == 'shop'"})), true, true, &["ingress"]),
            ("gnp nsSelector metadata.name", gnp(json!({"namespaceSelector": "kubernetes.io/metadata.name in {'shop', 'bank'}"})), true, true, &["ingress"]),
            ("gnp nsSelector mismatch", gnp(json!({"selector": "all()", "namespaceSelector": "team == 'red'"})), false, true, &[]),
            ("nsSelector mismatch beats bad selector", gnp(json!({"selector": "app ==", "namespaceSelector": "team == 'red'"})), false, true, &[]),
            ("sa selector by name", gnp(json!({"serviceAccountSelector": "projectcalico.org/name == 'web-sa'"})), true, true, &["ingress"]),
            ("sa selector other name", gnp(json!({"serviceAccountSelector": "projectcalico.org/name == 'db-sa'"})), false, true, &[]),
            ("sa selector by label", gnp(json!({"serviceAccountSelector": "role == 'frontend'"})), true, false, &["ingress"]),
            ("unparseable selector", calico_np(v3, "shop", json!({"selector": "app = 'web'"})), true, false, &["ingress"]),
            ("selector not a string", calico_np(v3, "shop", json!({"selector": {"app": "web"}})), true, false, &["ingress"]),
            ("default types: egress only", gnp(json!({"egress": [{"action": "Allow"}]})), true, true, &["egress"]),
            ("default types: both", gnp(json!({"ingress": [{"action": "Allow"}], "egress": [{"action": "Allow"}]})), true, true, &["ingress", "egress"]),
            ("explicit types", gnp(json!({"types": ["Ingress", "Egress"]})), true, true, &["ingress", "egress"]),
        ];
        let pod = Pod::web();
        for (name, o, selects, certain, dirs) in rows {
            let hit = one(&[o], &pod);
            assert_eq!((hit.selects, hit.certain), (selects, certain), "{name}: {hit:#?}");
            assert_eq!(hit.direction_names(), dirs.to_vec(), "{name}: {hit:#?}");
        }
    }

    #[test]
    fn calico_parse_error_names_object_and_position() {
        let o = calico_np("projectcalico.org/v3", "shop", json!({"selector": "app == web"}));
        let hit = one(&[o], &Pod::web());
        assert!(hit.selects && !hit.certain);
        assert!(
            hit.why.contains("projectcalico.org/v3/NetworkPolicy shop/c"),
            "{}",
            hit.why
        );
        assert!(hit.why.contains("column 8"), "{}", hit.why);
        assert!(hit.why.contains("may select"), "{}", hit.why);
    }

    #[test]
    fn calico_hints() {
        let o = gnp(json!({
            "selector": "app == 'web'",
            "order": 100,
            "tier": "security",
            "types": ["Ingress", "Egress"],
            "ingress": [{"action": "Deny"}, {"action": "Pass"}, {"action": "Log"}, {"action": "Allow"}],
            "preDNAT": true
        }));
        let hit = one(&[o], &Pod::web());
        for w in [
            "spec.types includes Egress and there is no egress rule",
            "spec.order 100: lower orders apply first",
            "spec.tier security",
            "spec.ingress[0].action Deny",
            "spec.ingress[1].action Pass",
            "spec.ingress[2].action Log",
            "spec.preDNAT: true",
        ] {
            assert!(
                hit.read.iter().any(|r| r.starts_with(w)),
                "missing {w:?} in {:#?}",
                hit.read
            );
        }
        assert!(
            !hit.read.iter().any(|r| r.starts_with("spec.ingress[3]")),
            "{:#?}",
            hit.read
        );
        assert!(hit.why.contains("spec.selector app == \"web\" matches"), "{}", hit.why);
        let hit = one(&[gnp(json!({}))], &Pod::web());
        let default_types = "types default to Ingress and there is no ingress rule";
        assert!(hit.read.iter().any(|r| r.starts_with(default_types)), "{:#?}", hit.read);
        assert!(
            hit.read.iter().any(|r| r.starts_with("no spec.order")),
            "{:#?}",
            hit.read
        );
    }
}
