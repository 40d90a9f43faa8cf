//! The step tools on small clusters: each test names the rule it checks. The cluster is
//! `common::BASE` (namespaces `app` team=app and `other` team=other) plus policies.

use netpol_debug::diagnosis::Query;
use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::diagnosis::steps;
use netpol_debug::policy::Protocol;
use netpol_debug::report::Verdict;
use netpol_debug::snapshot;

use crate::common::{BASE, index};

fn with(policies: &str) -> netpol_debug::index::ClusterIndex {
    index(&format!("{BASE}\n---\n{policies}"))
}

fn flow(from: &str, to: &str, port: u16) -> Query {
    Query {
        from: from.into(),
        to: to.into(),
        protocol: Protocol::Tcp,
        port: Some(PortArg::Number(port)),
    }
}

fn codes(ix: &netpol_debug::index::ClusterIndex, policy: &str) -> Vec<String> {
    let r = steps::check_policy_types(ix, None, Some(policy), 50).expect("policy exists");
    r.policies[0].findings.iter().map(|f| f.code.clone()).collect()
}

/// Table: (rule, policy spec, expected finding codes, expected effective types).
#[test]
fn policy_types_findings_table() {
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "omitted policyTypes with no egress section isolates ingress only (deny-style policy)",
            "podSelector: {}",
            &["POLICYTYPES_OMITTED_EGRESS_OPEN", "DENY_ALL_INGRESS"],
            &["Ingress"],
        ),
        (
            "omitted policyTypes with an ordinary allow rule is not a trap",
            "podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]",
            &[],
            &["Ingress"],
        ),
        (
            "omitted policyTypes with an egress section isolates both",
            "podSelector: {}\n  ingress: [{}]\n  egress: [{}]",
            &[],
            &["Ingress", "Egress"],
        ),
        (
            "omitted policyTypes with `egress: []` isolates ingress only (SetDefaults_NetworkPolicy: Egress only for a non-empty list)",
            "podSelector: {}\n  ingress: [{}]\n  egress: []",
            &["POLICYTYPES_OMITTED_EGRESS_OPEN"],
            &["Ingress"],
        ),
        (
            "egress rules under policyTypes [Ingress] are ignored",
            "podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]\n  egress: [{to: [{podSelector: {}}]}]",
            &["EGRESS_RULES_IGNORED"],
            &["Ingress"],
        ),
        (
            "ingress rules under policyTypes [Egress] are ignored",
            "podSelector: {}\n  policyTypes: [Egress]\n  ingress: [{}]\n  egress: [{}]",
            &["INGRESS_RULES_IGNORED"],
            &["Egress"],
        ),
        (
            "Egress listed with no egress rule denies all egress",
            "podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress: [{}]",
            &["DENY_ALL_EGRESS"],
            &["Ingress", "Egress"],
        ),
        (
            "an unknown policy type is reported and ignored",
            "podSelector: {}\n  policyTypes: [Ingress, Sideways]\n  ingress: [{}]",
            &["UNKNOWN_POLICY_TYPE"],
            &["Ingress"],
        ),
    ];
    for (rule, spec, want, types) in cases {
        let ix = with(&format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: app}}\nspec:\n  {spec}\n"
        ));
        assert_eq!(codes(&ix, "app/p"), *want, "{rule}");
        let r = steps::check_policy_types(&ix, Some("app"), None, 50).unwrap();
        assert_eq!(r.policies[0].effective, *types, "{rule}");
    }
}

#[test]
fn unknown_policy_gets_suggestions_and_malformed_name_is_invalid() {
    let ix = with(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-web, namespace: app}\nspec: {podSelector: {}}\n",
    );
    let e = steps::check_policy_types(&ix, None, Some("app/allow-wbe"), 50).unwrap_err();
    assert!(e.not_found);
    assert_eq!(e.suggestions, vec!["app/allow-web"]);
    let e = steps::check_policy_types(&ix, None, Some("allow-web"), 50).unwrap_err();
    assert!(!e.not_found, "no namespace: a malformed argument");
}

#[test]
fn default_deny_counts_isolated_pods_and_names_deny_all_policies() {
    let ix = with(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: app}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-only, namespace: other}\nspec: {podSelector: {matchLabels: {app: db}}, ingress: [{}]}\n",
    );
    let r = steps::check_default_deny(&ix, "app", Some("app/web")).unwrap();
    assert_eq!(r.ingress.deny_all_policies, ["app/deny-all"]);
    assert_eq!(r.egress.deny_all_policies, ["app/deny-all"]);
    // hostNetwork pods are never selected, so they do not count.
    assert_eq!((r.ingress.pods_isolated, r.ingress.pods_total), (2, 2));
    assert!(
        r.notes.iter().any(|n| n.contains("DNS")),
        "egress deny-all warns about DNS: {:?}",
        r.notes
    );
    let pod = r.pod.unwrap();
    assert_eq!(pod.denied_by_empty_policies, ["app/deny-all"]);

    let r = steps::check_default_deny(&ix, "other", None).unwrap();
    assert!(
        r.ingress.deny_all_policies.is_empty(),
        "a policy selecting some pods is no default deny"
    );
    assert_eq!((r.ingress.pods_isolated, r.ingress.pods_total), (1, 2));
    assert_eq!(r.egress.pods_isolated, 0);

    let e = steps::check_default_deny(&ix, "ap", None).unwrap_err();
    assert!(e.not_found && e.suggestions.contains(&"app".to_string()));
    let e = steps::check_default_deny(&ix, "app", Some("other/db")).unwrap_err();
    assert!(!e.not_found, "a pod of another namespace is a bad argument");
}

#[test]
fn match_selectors_names_the_failing_requirement_and_the_pods_label() {
    let ix = with(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: app}\nspec: {podSelector: {matchLabels: {app: api}}, ingress: [{}]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: fronts, namespace: app}\nspec:\n  podSelector: {matchExpressions: [{key: tier, operator: In, values: [front]}]}\n  policyTypes: [Egress]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: envs, namespace: app}\nspec: {podSelector: {matchLabels: {env: prod}}}\n",
    );
    let r = steps::match_selectors(&ix, "app/web", 50).unwrap();
    assert_eq!(r.egress_isolated_by, ["app/fronts"]);
    assert!(r.ingress_isolated_by.is_empty());
    let by = |name: &str| r.policies.iter().find(|m| m.policy == name).unwrap();
    assert!(by("app/fronts").selects, "selecting policies first");
    assert_eq!(r.policies[0].policy, "app/fronts");
    assert_eq!(by("app/fronts").isolates, ["Egress"]);
    assert_eq!(by("app/api").reason, "app=api fails: the pod has app=web");
    assert_eq!(by("app/envs").reason, "env=prod fails: the pod has no label env");

    let r = steps::match_selectors(&ix, "app/web", 1).unwrap();
    assert_eq!(r.policies.len(), 1);
    assert_eq!(r.truncated.unwrap().total, 3);

    let r = steps::match_selectors(&ix, "app/hostagent", 50).unwrap();
    assert!(
        r.policies.iter().all(|m| !m.selects),
        "hostNetwork pods are never selected"
    );
    assert!(r.warnings.iter().any(|w| w.contains("host network")));
}

#[test]
fn list_policies_truncates_and_lists_other_policy_kinds() {
    let yaml = format!(
        "{BASE}\n---\n{}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: l7, namespace: app}}\nspec: {{endpointSelector: {{}}}}\n---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: cluster-guard}}\nspec: {{priority: 10, subject: {{namespaces: {{}}}}}}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: elsewhere, namespace: other}}\nspec: {{endpointSelector: {{}}}}\n",
        (0..5)
            .map(|i| format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{i}, namespace: app}}\nspec: {{podSelector: {{matchLabels: {{app: web}}}}, ingress: [{{}}]}}"))
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
    let snap = snapshot::load_str("t.yaml", &yaml).unwrap();
    let ix = netpol_debug::index::ClusterIndex::build(&snap, Default::default());
    let r = steps::list_policies(&ix, Some("app"), 2).unwrap();
    assert_eq!(r.policies.len(), 2);
    let t = r.truncated.unwrap();
    assert_eq!((t.total, t.shown), (5, 2));
    assert_eq!(r.policies[0].selects_pods, 1);
    let names: Vec<&str> = r.other_policies.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["app/l7", "cluster-guard"],
        "namespaced ones of this namespace plus cluster-scoped ones"
    );
    let r = steps::list_policies(&ix, None, 50).unwrap();
    assert_eq!(r.other_policies.len(), 3);
    assert!(r.truncated.is_none());
}

/// Antrea serves its policies under `crd.antrea.io` and, in older releases,
/// `security.antrea.tanzu.vmware.com`. The second group was once missing from the list of policy
/// kinds, so those objects were neither listed nor seen selecting a pod.
#[test]
fn antrea_policies_of_the_older_api_group_are_listed_and_select_pods() {
    let ix = with(
        "apiVersion: security.antrea.tanzu.vmware.com/v1alpha1\nkind: NetworkPolicy\nmetadata: {name: legacy, namespace: app}\nspec:\n  appliedTo: [{podSelector: {matchLabels: {app: web}}}]\n  ingress: [{action: Drop}]\n",
    );
    let r = steps::list_policies(&ix, Some("app"), 50).unwrap();
    let listed: Vec<(&str, &str)> = r
        .other_policies
        .iter()
        .map(|o| (o.kind.as_str(), o.name.as_str()))
        .collect();
    assert_eq!(
        listed,
        [("security.antrea.tanzu.vmware.com/v1alpha1/NetworkPolicy", "app/legacy")]
    );
    let m = steps::match_selectors(&ix, "app/web", 50).unwrap();
    let kinds: Vec<(&str, &str)> = m
        .other_kinds
        .iter()
        .map(|h| (h.kind.as_str(), h.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [("security.antrea.tanzu.vmware.com/v1alpha1/NetworkPolicy", "app/legacy")]
    );
}

#[test]
fn cross_namespace_reports_the_nearest_namespace_label_miss() {
    let ix = with(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-ingress, namespace: other}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: ops}}, podSelector: {matchLabels: {app: web}}}]\n  - from: [{namespaceSelector: {matchLabels: {team: ops, env: prod}}}]\n",
    );
    let r = steps::check_cross_namespace(&ix, &flow("app/web", "other/db", 5432), 50).unwrap();
    assert!(!r.same_namespace);
    assert_eq!(
        (r.egress, r.ingress, r.verdict),
        (Verdict::Allowed, Verdict::Blocked, Verdict::Blocked)
    );
    assert_eq!(r.peer_checks.len(), 2);
    assert_eq!(
        r.nearest_miss.as_deref(),
        Some("other/db-ingress spec.ingress[0].from[0] would match if namespace app had team=ops")
    );
    assert_eq!(
        r.source_namespace.labels,
        ["kubernetes.io/metadata.name=app", "team=app"]
    );
}

#[test]
fn cross_namespace_explains_a_pod_selector_without_namespace_selector() {
    let ix = with(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-ingress, namespace: other}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]\n",
    );
    let r = steps::check_cross_namespace(&ix, &flow("app/client", "other/db", 5432), 50).unwrap();
    assert_eq!(r.ingress, Verdict::Blocked);
    let c = &r.peer_checks[0];
    assert_eq!(c.namespace_selector, "(none: other only)");
    assert!(!c.namespace_matches && c.pod_matches == Some(true));
    assert!(
        r.nearest_miss
            .unwrap()
            .contains("only matches pods of other's own namespace")
    );
}
