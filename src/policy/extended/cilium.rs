//! Cilium: `CiliumNetworkPolicy` and `CiliumClusterwideNetworkPolicy`, per rule of `spec`/`specs`.
//!
//! Invariant: a key of an unknown label source, the cluster name or an unknown service account
//! makes the rule "may select"; a host policy (`nodeSelector`) never selects a pod.

use std::collections::BTreeSet;

use serde_json::Value;

use super::PodRef;
use super::common::{
    KeyRef, LabelView, Outcome, Tri, eval_requirements, items, label_selector, namespace_labels_of, non_null, present,
    rules_of, selector_verdict,
};
use crate::snapshot::OtherObject;

const CILIUM_NS_KEY: &str = "io.kubernetes.pod.namespace";
const CILIUM_NS_LABELS: &str = "io.cilium.k8s.namespace.labels.";
const CILIUM_SA_KEY: &str = "io.cilium.k8s.policy.serviceaccount";
const CILIUM_CLUSTER_KEY: &str = "io.cilium.k8s.policy.cluster";

/// How a Cilium selector key is looked up in a pod's labels: `k8s:`, `any:` and `container:`
/// sources are stripped (pod labels come from Kubernetes); `reserved:`, `cidr:`, `fqdn:` labels
/// never belong to a pod; any other source is unknown.
pub(super) fn cilium_key(key: &str) -> KeyRef {
    match key.split_once(':') {
        None => KeyRef::Key(key.to_string()),
        Some(("k8s" | "any" | "container", rest)) => KeyRef::Key(rest.to_string()),
        Some(("reserved" | "cidr" | "fqdn", _)) => KeyRef::Absent,
        Some(_) => KeyRef::Unknown,
    }
}

pub(super) fn cilium_view(pod: &PodRef) -> LabelView {
    let mut labels = pod.labels.clone();
    labels.insert(CILIUM_NS_KEY.into(), pod.namespace.into());
    for (k, v) in namespace_labels_of(pod) {
        labels.insert(format!("{CILIUM_NS_LABELS}{k}"), v);
    }
    // The agent labels every endpoint it manages with the cluster's name (pkg/labels
    // `IDNameCluster`, from the agent's `cluster-name`, "default" unless configured): the key is
    // there, its value is configuration we do not read.
    let mut unknown_keys = BTreeSet::from([CILIUM_CLUSTER_KEY.to_string()]);
    match pod.service_account {
        Some(sa) => {
            labels.insert(CILIUM_SA_KEY.into(), sa.into());
        }
        None => {
            unknown_keys.insert(CILIUM_SA_KEY.into());
        }
    }
    LabelView {
        labels,
        unknown_keys,
        unknown_prefixes: Vec::new(),
        present_keys: BTreeSet::from([CILIUM_CLUSTER_KEY.to_string()]),
    }
}

/// Every rule of `spec` and `specs`, with its path; the "may select" outcome when there is none
/// or `specs` is not a list.
fn cilium_rules(o: &OtherObject) -> Result<Vec<(String, &Value)>, Outcome> {
    let mut rules: Vec<(String, &Value)> = Vec::new();
    if let Some(spec) = non_null(&o.value, "spec") {
        rules.push(("spec".into(), spec));
    }
    if let Some(specs) = non_null(&o.value, "specs") {
        let Some(a) = specs.as_array() else {
            return Err(Outcome::unreadable(
                "specs is not a list: could not be read; it may select the pod".into(),
            ));
        };
        rules.extend(a.iter().enumerate().map(|(i, r)| (format!("specs[{i}]"), r)));
    }
    if rules.is_empty() {
        return Err(Outcome::unreadable(
            "neither spec nor specs: could not be read; it may select the pod".into(),
        ));
    }
    Ok(rules)
}

/// A Cilium policy selects the pod when one of its rules does; directions and hints come from the
/// rules that (may) select it. A CiliumNetworkPolicy of another namespace never gets here: the
/// dispatcher answers for it.
pub(super) fn cilium(o: &OtherObject, pod: &PodRef, namespaced: bool) -> Outcome {
    let rules = match cilium_rules(o) {
        Ok(rules) => rules,
        Err(unreadable) => return unreadable,
    };
    let view = cilium_view(pod);
    let namespace = namespaced.then_some(pod.namespace);
    let mut tri = Tri::No;
    let mut any_maybe = false;
    let (mut ingress, mut egress) = (false, false);
    let mut whys_selecting = Vec::new();
    let mut whys_not = Vec::new();
    let mut read = Vec::new();
    for (path, rule) in &rules {
        let (t, why) = cilium_rule_selects(path, rule, &view, namespace);
        tri = tri.or(t);
        if t == Tri::No {
            whys_not.push(why);
            continue;
        }
        any_maybe |= t == Tri::Maybe;
        whys_selecting.push(why);
        let (i, e) = (
            present(rule, "ingress") || present(rule, "ingressDeny"),
            present(rule, "egress") || present(rule, "egressDeny"),
        );
        ingress |= i;
        egress |= e;
        cilium_hints(path, rule, &mut read);
        if !i && !e {
            read.push(format!(
                "{path}: no ingress/egress rules: it enforces nothing on the pod"
            ));
        }
    }
    let why = if tri == Tri::No { whys_not } else { whys_selecting }.join("; ");
    Outcome {
        tri,
        partly_uncertain: any_maybe,
        ingress,
        egress,
        why,
        read,
    }
}

/// Whether one Cilium rule selects the pod. `namespace`: the CNP's namespace (already checked to
/// be the pod's), `None` for a clusterwide policy.
fn cilium_rule_selects(path: &str, rule: &Value, view: &LabelView, namespace: Option<&str>) -> (Tri, String) {
    if !rule.is_object() {
        return (
            Tri::Maybe,
            format!("{path} is not an object: could not be read; it may select the pod"),
        );
    }
    let Some(es) = non_null(rule, "endpointSelector") else {
        return if non_null(rule, "nodeSelector").is_some() {
            (
                Tri::No,
                format!("{path}.nodeSelector: a host policy (applies to nodes), it never selects a pod"),
            )
        } else {
            (
                Tri::Maybe,
                format!(
                    "{path} has neither endpointSelector nor nodeSelector: could not be read; it may select the pod"
                ),
            )
        };
    };
    let sel = match label_selector(es) {
        Ok((_, sel)) => sel,
        Err(e) => {
            return (
                Tri::Maybe,
                format!("{path}.endpointSelector {e}; it may select the pod"),
            );
        }
    };
    if sel.is_everything() {
        let scope = match namespace {
            Some(ns) => format!("every pod of namespace {ns}"),
            None => "every pod in the cluster".into(),
        };
        return (Tri::Yes, format!("{path}.endpointSelector {{}} selects {scope}"));
    }
    let (tri, failed, unknown) = eval_requirements(&sel, view, &cilium_key);
    (
        tri,
        selector_verdict(&format!("{path}.endpointSelector"), &sel, tri, &failed, &unknown),
    )
}

fn cilium_entity(e: &str) -> &'static str {
    match e {
        "world" | "world-ipv4" | "world-ipv6" => "outside the cluster",
        "cluster" => "every endpoint of the cluster (pods, nodes)",
        "host" => "the local node, and hostNetwork pods on it",
        "remote-node" => "the other nodes",
        "kube-apiserver" => "the Kubernetes API server",
        "health" => "Cilium health endpoints",
        "init" => "endpoints whose identity is not resolved yet",
        "ingress" => "Cilium's ingress/Gateway proxy",
        "unmanaged" => "pods Cilium does not manage",
        "all" => "everything (cluster and world)",
        _ => "an entity Cilium may not know",
    }
}

/// What to read in one rule that selects the pod: deny sections, then per peer rule (in section
/// order) its peers and ports, then `enableDefaultDeny`.
fn cilium_hints(path: &str, rule: &Value, read: &mut Vec<String>) {
    for section in ["ingressDeny", "egressDeny"] {
        if present(rule, section) {
            read.push(format!("{path}.{section} present: deny rules override allows"));
        }
    }
    for (section, p, r) in rules_of(rule, path, &["ingress", "ingressDeny", "egress", "egressDeny"]) {
        if r.as_object().is_some_and(|m| m.is_empty()) && !section.ends_with("Deny") {
            read.push(format!(
                "{p} is empty: it matches no peer (default deny in that direction)"
            ));
            continue;
        }
        cilium_peer_hints(&p, r, read);
        cilium_to_ports_hints(&p, r, read);
    }
    cilium_default_deny_hints(path, rule, read);
}

/// Peers of one ingress/egress rule that deserve reading: FQDNs, entities, CIDRs and the rarer
/// peer kinds.
fn cilium_peer_hints(p: &str, r: &Value, read: &mut Vec<String>) {
    if present(r, "toFQDNs") {
        read.push(format!(
            "{p}.toFQDNs: DNS-name based egress; needs a DNS proxy rule (toPorts rules.dns on port 53) so Cilium learns the IPs"
        ));
    }
    for key in ["toEntities", "fromEntities"] {
        let ents: Vec<String> = items(r.get(key))
            .iter()
            .filter_map(Value::as_str)
            .map(|e| format!("{e} = {}", cilium_entity(e)))
            .collect();
        if !ents.is_empty() {
            read.push(format!("{p}.{key}: {}", ents.join("; ")));
        }
    }
    for key in ["toCIDR", "toCIDRSet", "fromCIDR", "fromCIDRSet"] {
        if present(r, key) {
            read.push(format!(
                "{p}.{key}: CIDR peers match addresses outside the cluster; pods are matched by identity, not by IP"
            ));
        }
    }
    for (key, hint) in [
        ("toServices", "egress to the backends of a Service"),
        ("toNodes", "peers are nodes, by node labels"),
        ("fromNodes", "peers are nodes, by node labels"),
        (
            "toGroups",
            "peers from a cloud provider group (e.g. AWS security groups)",
        ),
        ("toRequires", "requirements every peer must also meet (deprecated)"),
        ("fromRequires", "requirements every peer must also meet (deprecated)"),
        ("icmps", "ICMP types only"),
        ("authentication", "mutual authentication required"),
    ] {
        if present(r, key) {
            read.push(format!("{p}.{key}: {hint}"));
        }
    }
}

/// The L7 rules and TLS SNI matches of one rule's `toPorts`.
fn cilium_to_ports_hints(p: &str, r: &Value, read: &mut Vec<String>) {
    for (j, tp) in items(r.get("toPorts")).iter().enumerate() {
        let tpp = format!("{p}.toPorts[{j}]");
        if let Some(rules) = non_null(tp, "rules") {
            for (key, hint) in [
                ("http", "L7 HTTP rules (Envoy proxy); requests no rule allows get 403"),
                ("dns", "DNS proxy rules; names no pattern allows are refused"),
                ("kafka", "L7 Kafka rules"),
                ("l7proto", "generic L7 parser rules"),
            ] {
                if present(rules, key) {
                    read.push(format!("{tpp}.rules.{key}: {hint}"));
                }
            }
        }
        if present(tp, "serverNames") {
            read.push(format!("{tpp}.serverNames: TLS SNI matching"));
        }
    }
}

/// `enableDefaultDeny.<direction>: false`: the rule does not put the pod into default deny.
fn cilium_default_deny_hints(path: &str, rule: &Value, read: &mut Vec<String>) {
    if let Some(dd) = non_null(rule, "enableDefaultDeny") {
        for dir in ["ingress", "egress"] {
            if dd.get(dir).and_then(Value::as_bool) == Some(false) {
                read.push(format!(
                    "{path}.enableDefaultDeny.{dir}: false: this rule does not put the pod into default deny"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{Pod, obj, one};
    use super::*;
    use crate::policy::extended::selecting;

    fn cnp(ns: &str, spec: Value) -> OtherObject {
        obj(
            "cilium.io/v2",
            "CiliumNetworkPolicy",
            Some(ns),
            "p",
            json!({ "spec": spec }),
        )
    }

    fn ccnp(spec: Value) -> OtherObject {
        obj(
            "cilium.io/v2",
            "CiliumClusterwideNetworkPolicy",
            None,
            "p",
            json!({ "spec": spec }),
        )
    }

    fn es(selector: Value) -> Value {
        json!({ "endpointSelector": selector })
    }

    /// Cilium rows: (name, object, selects, certain) for the pod `shop/web`.
    #[test]
    fn cilium_selection_table() {
        let ing = json!([{"fromEndpoints": [{}]}]);
        #[rustfmt::skip]
        let rows: Vec<(&str, OtherObject, bool, bool)> = vec![
            ("plain key", cnp("shop", es(json!({"matchLabels": {"app": "web"}}))), true, true),
            ("k8s: prefix", cnp("shop", es(json!({"matchLabels": {"k8s:app": "web"}}))), true, true),
            ("any: prefix", cnp("shop", es(json!({"matchLabels": {"any:app": "web"}}))), true, true),
            ("container: prefix", cnp("shop", es(json!({"matchLabels": {"container:tier": "front"}}))), true, true),
            ("wrong value", cnp("shop", es(json!({"matchLabels": {"k8s:app": "db"}}))), false, true),
            ("reserved label", cnp("shop", es(json!({"matchLabels": {"reserved:host": ""}}))), false, true),
            ("reserved DoesNotExist", cnp("shop", es(json!({"matchExpressions": [{"key": "reserved:host", "operator": "DoesNotExist"}]}))), true, true),
            ("unknown source", cnp("shop", es(json!({"matchLabels": {"weird:app": "web"}}))), true, false),
            ("expressions", cnp("shop", es(json!({"matchExpressions": [{"key": "k8s:app", "operator": "In", "values": ["web", "api"]}, {"key": "env", "operator": "NotIn", "values": ["prod"]}]}))), true, true),
            ("empty selector, own ns", cnp("shop", es(json!({}))), true, true),
            ("empty selector, other ns", cnp("bank", es(json!({}))), false, true),
            ("CNP other ns, matching labels", cnp("bank", es(json!({"matchLabels": {"app": "web"}}))), false, true),
            ("CNP namespace key", cnp("shop", es(json!({"matchLabels": {"k8s:io.kubernetes.pod.namespace": "shop"}}))), true, true),
            ("CCNP empty selector", ccnp(es(json!({}))), true, true),
            ("CCNP namespace key", ccnp(es(json!({"matchLabels": {"io.kubernetes.pod.namespace": "shop", "app": "web"}}))), true, true),
            ("CCNP other namespace", ccnp(es(json!({"matchLabels": {"k8s:io.kubernetes.pod.namespace": "bank"}}))), false, true),
            ("CCNP namespace labels", ccnp(es(json!({"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "blue"}}))), true, true),
            ("CCNP namespace labels mismatch", ccnp(es(json!({"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "red"}}))), false, true),
            ("service account", ccnp(es(json!({"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "web-sa"}}))), true, true),
            ("service account mismatch", ccnp(es(json!({"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "db-sa"}}))), false, true),
            ("cluster name unknown", ccnp(es(json!({"matchLabels": {"io.cilium.k8s.policy.cluster": "default"}}))), true, false),
            ("cluster key Exists: on every managed endpoint", ccnp(es(json!({"matchExpressions": [{"key": "io.cilium.k8s.policy.cluster", "operator": "Exists"}]}))), true, true),
            ("cluster key DoesNotExist", ccnp(es(json!({"matchExpressions": [{"key": "io.cilium.k8s.policy.cluster", "operator": "DoesNotExist"}]}))), false, true),
            ("cluster unknown, other label fails", ccnp(es(json!({"matchLabels": {"io.cilium.k8s.policy.cluster": "default", "app": "db"}}))), false, true),
            ("host policy", ccnp(json!({"nodeSelector": {}, "ingress": ing})), false, true),
            ("no selector at all", ccnp(json!({"ingress": ing})), true, false),
            ("unreadable selector", ccnp(es(json!({"matchLabels": "app=web"}))), true, false),
            ("invalid operator", ccnp(es(json!({"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["web"]}]}))), true, false),
            ("no spec", obj("cilium.io/v2", "CiliumClusterwideNetworkPolicy", None, "p", json!({})), true, false),
        ];
        let pod = Pod::web();
        for (name, o, selects, certain) in rows {
            let hit = one(&[o], &pod);
            assert_eq!((hit.selects, hit.certain), (selects, certain), "{name}: {hit:#?}");
        }
    }

    #[test]
    fn cilium_unknown_service_account_is_uncertain() {
        let mut pod = Pod::web();
        pod.sa = None;
        let o = ccnp(es(
            json!({"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "web-sa"}}),
        ));
        let hit = one(&[o], &pod);
        assert!(hit.selects && !hit.certain, "{hit:#?}");
        assert!(hit.why.contains("io.cilium.k8s.policy.serviceaccount"), "{}", hit.why);
    }

    #[test]
    fn cilium_host_policy_says_so() {
        let hit = one(
            &[ccnp(
                json!({"nodeSelector": {"matchLabels": {"role": "worker"}}, "ingress": [{}]}),
            )],
            &Pod::web(),
        );
        assert!(!hit.selects && hit.certain);
        assert!(
            hit.why.contains("host policy") && hit.why.contains("never selects a pod"),
            "{}",
            hit.why
        );
        assert!(selecting(&[ccnp(json!({"nodeSelector": {}}))], &Pod::web().r()).is_empty());
    }

    #[test]
    fn cilium_directions_and_hints() {
        let o = cnp(
            "shop",
            json!({
                "endpointSelector": {"matchLabels": {"app": "web"}},
                "ingressDeny": [{"fromEntities": ["world"]}],
                "egress": [
                    {"toFQDNs": [{"matchName": "api.example.com"}]},
                    {"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns"}}],
                     "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [{"matchPattern": "*"}]}}]},
                    {"toEntities": ["world", "kube-apiserver"]},
                    {"toCIDRSet": [{"cidr": "10.0.0.0/8"}]},
                    {"toPorts": [{"ports": [{"port": "80"}], "rules": {"http": [{"method": "GET"}]}}]}
                ],
                "enableDefaultDeny": {"egress": false}
            }),
        );
        let hit = one(&[o], &Pod::web());
        assert!(hit.selects && hit.certain);
        assert_eq!(hit.direction_names(), vec!["ingress", "egress"]);
        assert_eq!(hit.name, "shop/p");
        assert_eq!(hit.kind, "cilium.io/v2/CiliumNetworkPolicy");
        let want = [
            "spec.ingressDeny present: deny rules override allows",
            "spec.ingressDeny[0].fromEntities: world = outside the cluster",
            "spec.egress[0].toFQDNs: DNS-name based egress",
            "spec.egress[1].toPorts[0].rules.dns: DNS proxy rules",
            "spec.egress[2].toEntities: world = outside the cluster; kube-apiserver = the Kubernetes API server",
            "spec.egress[3].toCIDRSet: CIDR peers match addresses outside the cluster",
            "spec.egress[4].toPorts[0].rules.http: L7 HTTP rules",
            "spec.enableDefaultDeny.egress: false",
        ];
        for w in want {
            assert!(
                hit.read.iter().any(|r| r.starts_with(w)),
                "missing {w:?} in {:#?}",
                hit.read
            );
        }
    }

    #[test]
    fn cilium_specs_list() {
        let o = obj(
            "cilium.io/v2",
            "CiliumClusterwideNetworkPolicy",
            None,
            "multi",
            json!({"specs": [
                {"endpointSelector": {"matchLabels": {"app": "db"}}, "ingress": [{}]},
                {"endpointSelector": {"matchLabels": {"app": "web"}}, "egressDeny": [{"toEntities": ["world"]}]},
                {"nodeSelector": {}, "ingress": [{}]}
            ]}),
        );
        let hit = one(&[o], &Pod::web());
        assert!(hit.selects && hit.certain);
        assert_eq!(
            hit.direction_names(),
            vec!["egress"],
            "only the selecting rule's directions"
        );
        assert!(
            hit.why.starts_with("specs[1].endpointSelector app=web matches"),
            "{}",
            hit.why
        );
        assert!(
            hit.read.iter().any(|r| r.starts_with("specs[1].egressDeny present")),
            "{:#?}",
            hit.read
        );
        assert!(!hit.read.iter().any(|r| r.starts_with("specs[0]")), "{:#?}", hit.read);
    }

    #[test]
    fn cilium_empty_sections_enforce_nothing() {
        let hit = one(
            &[cnp(
                "shop",
                json!({"endpointSelector": {}, "ingress": [], "egress": []}),
            )],
            &Pod::web(),
        );
        assert!(hit.directions.is_empty());
        assert!(hit.why.contains("every pod of namespace shop"), "{}", hit.why);
        assert!(
            hit.read.iter().any(|r| r.contains("enforces nothing")),
            "{:#?}",
            hit.read
        );
        let hit = one(&[ccnp(json!({"endpointSelector": {}, "ingress": [{}]}))], &Pod::web());
        assert_eq!(hit.direction_names(), vec!["ingress"]);
        assert!(hit.why.contains("every pod in the cluster"), "{}", hit.why);
        assert!(
            hit.read.iter().any(|r| r.contains("spec.ingress[0] is empty")),
            "{:#?}",
            hit.read
        );
    }
}
