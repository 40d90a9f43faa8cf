//! One row per ClusterNetworkPolicy (`policy.networking.k8s.io/v1alpha2`, network-policy-api
//! v0.2.0) semantic rule we implement, each naming the rule, on the `common::BASE` cluster; plus
//! the strict reading of the admin kinds (a field the API type does not define). Every row
//! checks the verdict, the first root cause's code, which tier's rule decided on each side, a
//! load warning where the rule has one, and that `matrix` (connection sets) agrees with
//! `diagnose` (`evaluate`) whenever the verdict is certain.

use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::diagnosis::{Query, diagnose};
use netpol_debug::engine::{self, Flow, FlowTrace, Selection, SideTrace};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::Protocol;
use netpol_debug::report::Verdict;

use crate::common::{self, endpoint};

struct Row {
    rule: &'static str,
    policies: String,
    from: &'static str,
    to: &'static str,
    proto: Protocol,
    port: u16,
    verdict: Verdict,
    /// The first root cause's code, as the wire spells it.
    code: &'static str,
    /// `egress: Admin CNP name[i] Accept; ingress: Baseline BANP default[0] Deny` (empty: none).
    decided_by: &'static str,
    /// A load warning, or the first root cause's evidence, must contain this ("" for none).
    says: &'static str,
}

#[allow(clippy::too_many_arguments)]
fn row(
    rule: &'static str,
    policies: &[&str],
    (from, to): (&'static str, &'static str),
    (proto, port): (Protocol, u16),
    verdict: Verdict,
    code: &'static str,
    decided_by: &'static str,
    says: &'static str,
) -> Row {
    Row {
        rule,
        policies: policies.join("\n---\n"),
        from,
        to,
        proto,
        port,
        verdict,
        code,
        decided_by,
        says,
    }
}

/// A ClusterNetworkPolicy with a name, tier, priority, subject and the rest of its spec.
fn cnp(name: &str, tier: &str, priority: i32, subject: &str, rules: &str) -> String {
    format!(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n  tier: {tier}\n  priority: {priority}\n  subject: {subject}\n{rules}"
    )
}

const APP_NS: &str = "{namespaces: {matchLabels: {team: app}}}";
const INGRESS_FROM_ALL: &str = "from: [{namespaces: {}}]";

fn ingress(action: &str, rest: &str) -> String {
    format!("  ingress: [{{name: r, action: {action}, {rest}}}]\n")
}

/// Admin-tier `name` at `priority`: ingress of pods in `app` from every namespace gets `action`.
fn admin(name: &str, priority: i32, action: &str) -> String {
    cnp(name, "Admin", priority, APP_NS, &ingress(action, INGRESS_FROM_ALL))
}

/// Baseline-tier `name` at `priority`: ingress of pods in `app` from every namespace gets `action`.
fn baseline(name: &str, priority: i32, action: &str) -> String {
    cnp(name, "Baseline", priority, APP_NS, &ingress(action, INGRESS_FROM_ALL))
}

const NP_DENY_IN_APP: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-in, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
";

const NP_ALLOW_IN_APP: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-in, namespace: app}
spec: {podSelector: {}, ingress: [{}]}
";

const ANP_DENY_IN_APP: &str = "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: anp-deny}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: deny, action: Deny, from: [{namespaces: {}}]}]
";

const BANP_DENY_IN_APP: &str = "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: deny, action: Deny, from: [{namespaces: {}}]}]
";

const IN: (&str, &str) = ("other/client", "app/web");
const TCP_8080: (Protocol, u16) = (Protocol::Tcp, 8080);

fn tier_rows() -> Vec<Row> {
    use Verdict::*;
    let (a_deny, a_accept, a_pass) = (
        admin("a-deny", 10, "Deny"),
        admin("a-accept", 10, "Accept"),
        admin("a-pass", 10, "Pass"),
    );
    let (b_deny, b_accept, b_pass) = (
        baseline("b-deny", 10, "Deny"),
        baseline("b-accept", 10, "Accept"),
        baseline("b-pass", 5, "Pass"),
    );
    vec![
        row(
            "Admin tier: Deny overrides a NetworkPolicy allow",
            &[&a_deny, NP_ALLOW_IN_APP],
            IN,
            TCP_8080,
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "ingress: Admin CNP a-deny[0] Deny",
            "",
        ),
        row(
            "Admin tier: Accept overrides a NetworkPolicy deny, and names the rule",
            &[&a_accept, NP_DENY_IN_APP],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: Admin CNP a-accept[0] Accept",
            "ClusterNetworkPolicy a-accept selects",
        ),
        row(
            "Admin tier: Pass hands over to the NetworkPolicy tier, which denies",
            &[&a_pass, NP_DENY_IN_APP],
            IN,
            TCP_8080,
            Blocked,
            "DEFAULT_DENY_INGRESS",
            "ingress: Admin CNP a-pass[0] Pass",
            "from the Admin tier to the NetworkPolicy tier",
        ),
        row(
            "Admin tier: Pass with no NetworkPolicy falls to the Baseline tier",
            &[&a_pass, &b_deny],
            IN,
            TCP_8080,
            Blocked,
            "BASELINE_CLUSTER_NETWORK_POLICY_DENY",
            "ingress: Admin CNP a-pass[0] Pass; ingress: Baseline CNP b-deny[0] Deny",
            "",
        ),
        row(
            "Baseline tier: not consulted for a pod a NetworkPolicy isolates",
            &[NP_ALLOW_IN_APP, &b_deny],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
            "",
        ),
        row(
            "Baseline tier: Accept on a pod no NetworkPolicy isolates",
            &[&b_accept],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: Baseline CNP b-accept[0] Accept",
            "",
        ),
        row(
            "Baseline tier: Pass skips the rest of the tier to the default allow",
            &[&b_pass, &b_deny],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "ingress: Baseline CNP b-pass[0] Pass",
            "from the Baseline tier to the default allow",
        ),
        row(
            "priority: the lower number decides first (Admin tier)",
            &[&admin("late-deny", 20, "Deny"), &admin("early-accept", 5, "Accept")],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: Admin CNP early-accept[0] Accept",
            "",
        ),
        row(
            "priority: the lower number decides first (Baseline tier)",
            &[
                &baseline("late-accept", 20, "Accept"),
                &baseline("early-deny", 5, "Deny"),
            ],
            IN,
            TCP_8080,
            Blocked,
            "BASELINE_CLUSTER_NETWORK_POLICY_DENY",
            "ingress: Baseline CNP early-deny[0] Deny",
            "",
        ),
        row(
            "equal priority, different decisions: undefined order, inconclusive",
            &[&admin("x-deny", 7, "Deny"), &admin("y-accept", 7, "Accept")],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "ingress: Admin CNP x-deny[0] Deny",
            "share priority 7",
        ),
        row(
            "equal priority, same decision: the order does not matter",
            &[&admin("x-deny", 7, "Deny"), &admin("y-deny", 7, "Deny")],
            IN,
            TCP_8080,
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "ingress: Admin CNP x-deny[0] Deny",
            "share priority 7",
        ),
        row(
            "an AdminNetworkPolicy beside an Admin-tier CNP: no API orders them",
            &[ANP_DENY_IN_APP, &a_accept],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "ingress: Admin ANP anp-deny[0] Deny",
            "both exist",
        ),
        row(
            "the BaselineAdminNetworkPolicy beside a Baseline-tier CNP: no API orders them",
            &[BANP_DENY_IN_APP, &b_accept],
            IN,
            TCP_8080,
            Inconclusive,
            "ALLOWED_BY_POLICY",
            "ingress: Baseline CNP b-accept[0] Accept",
            "both exist",
        ),
    ]
}

fn selection_rows() -> Vec<Row> {
    use Verdict::*;
    let web_only = "{pods: {namespaceSelector: {matchLabels: {team: app}}, podSelector: {matchLabels: {app: web}}}}";
    let deny_web = cnp("deny-web", "Admin", 1, web_only, &ingress("Deny", INGRESS_FROM_ALL));
    let from_pods = cnp(
        "from-db",
        "Admin",
        1,
        APP_NS,
        &ingress(
            "Deny",
            "from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}}]",
        ),
    );
    let egress = |name: &str, to: &str| {
        cnp(
            name,
            "Admin",
            1,
            APP_NS,
            &format!("  egress: [{{name: e, action: Deny, to: [{to}]}}]\n"),
        )
    };
    vec![
        row(
            "subject pods: namespaceSelector AND podSelector select web",
            &[&deny_web],
            IN,
            TCP_8080,
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "ingress: Admin CNP deny-web[0] Deny",
            "",
        ),
        row(
            "subject pods: another pod of the namespace is no subject",
            &[&deny_web],
            ("other/client", "app/client"),
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
            "",
        ),
        row(
            "subject: a hostNetwork pod is never selected",
            &[&a_deny_all_ns()],
            ("other/client", "app/hostagent"),
            TCP_8080,
            Allowed,
            "HOSTNETWORK_EXEMPT",
            "",
            "",
        ),
        row(
            "ingress peer pods: the other pod does not match",
            &[&from_pods],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
            "",
        ),
        row(
            "ingress peer pods: the pod matches",
            &[&from_pods],
            ("other/db", "app/web"),
            TCP_8080,
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "ingress: Admin CNP from-db[0] Deny",
            "",
        ),
        row(
            "egress peer networks",
            &[&egress("no-net", "{networks: [93.184.216.0/24]}")],
            ("app/client", "93.184.216.34"),
            (Protocol::Tcp, 443),
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "egress: Admin CNP no-net[0] Deny",
            "",
        ),
        row(
            "egress peer nodes",
            &[&egress("no-nodes", "{nodes: {}}")],
            ("app/client", "192.168.0.10"),
            (Protocol::Tcp, 10250),
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "egress: Admin CNP no-nodes[0] Deny",
            "",
        ),
        row(
            "egress peer namespaces",
            &[&egress("no-other", "{namespaces: {matchLabels: {team: other}}}")],
            ("app/client", "other/db"),
            (Protocol::Tcp, 5432),
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "egress: Admin CNP no-other[0] Deny",
            "",
        ),
        row(
            "egress peer domainNames: not resolved, inconclusive",
            &[&cnp(
                "fqdn",
                "Admin",
                1,
                APP_NS,
                "  egress:\n  - {name: ok, action: Accept, to: [{domainNames: [example.com]}]}\n  - {name: rest, action: Deny, to: [{networks: [0.0.0.0/0]}]}\n",
            )],
            ("app/client", "93.184.216.34"),
            (Protocol::Tcp, 443),
            Inconclusive,
            "POLICY_UNREADABLE",
            "egress: Admin CNP fqdn[1] Deny",
            "names domain names",
        ),
    ]
}

/// Admin-tier Deny of all ingress of every pod of `app` (hostNetwork pods excepted by the API).
fn a_deny_all_ns() -> String {
    admin("deny-all", 1, "Deny")
}

fn protocol_rows() -> Vec<Row> {
    use Verdict::*;
    let with = |name: &str, protocols: &str| {
        cnp(
            name,
            "Admin",
            1,
            APP_NS,
            &ingress("Deny", &format!("{INGRESS_FROM_ALL}, protocols: [{protocols}]")),
        )
    };
    let tcp_8080 = with("tcp-8080", "{tcp: {destinationPort: {number: 8080}}}");
    let udp_range = with("udp-range", "{udp: {destinationPort: {range: {start: 50, end: 60}}}}");
    let named = with("named", "{destinationNamedPort: http}");
    vec![
        row(
            "protocols: tcp destinationPort number matches that port",
            &[&tcp_8080],
            IN,
            TCP_8080,
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "ingress: Admin CNP tcp-8080[0] Deny",
            "",
        ),
        row(
            "protocols: tcp destinationPort number, another port",
            &[&tcp_8080],
            IN,
            (Protocol::Tcp, 9090),
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
            "",
        ),
        row(
            "protocols: the protocol is the key (tcp is not udp)",
            &[&tcp_8080],
            IN,
            (Protocol::Udp, 8080),
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
            "",
        ),
        row(
            "protocols: udp range is inclusive",
            &[&udp_range],
            IN,
            (Protocol::Udp, 60),
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "ingress: Admin CNP udp-range[0] Deny",
            "",
        ),
        row(
            "protocols: destinationNamedPort resolves on the destination pod",
            &[&named],
            IN,
            TCP_8080,
            Blocked,
            "CLUSTER_NETWORK_POLICY_DENY",
            "ingress: Admin CNP named[0] Deny",
            "",
        ),
        row(
            "protocols: a range with start = end is rejected (CEL start < end)",
            &[&with("flat", "{tcp: {destinationPort: {range: {start: 80, end: 80}}}}")],
            IN,
            (Protocol::Tcp, 80),
            Inconclusive,
            "POLICY_UNREADABLE",
            "",
            "is not below end",
        ),
        row(
            "protocols: tcp without destinationPort is rejected (MinProperties=1)",
            &[&with("bare", "{tcp: {}}")],
            IN,
            (Protocol::Tcp, 80),
            Inconclusive,
            "POLICY_UNREADABLE",
            "",
            "destinationPort",
        ),
    ]
}

fn strict_rows() -> Vec<Row> {
    use Verdict::*;
    let old_peer = cnp(
        "old-peer",
        "Admin",
        1,
        APP_NS,
        &ingress(
            "Deny",
            "from: [{namespaces: {namespaceSelector: {matchLabels: {team: app}}}}]",
        ),
    );
    let v1alpha1_ports = cnp(
        "old-ports",
        "Admin",
        1,
        APP_NS,
        &ingress(
            "Deny",
            &format!("{INGRESS_FROM_ALL}, ports: [{{portNumber: {{port: 8080}}}}]"),
        ),
    );
    let anp_old_peer = "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: anp-old-peer}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {namespaceSelector: {matchLabels: {team: app}}}}]}]
";
    let no_tier = "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: no-tier}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n";
    let v1alpha1_cnp = admin("wrong-version", 1, "Deny").replace("v1alpha2", "v1alpha1");
    let no_pod_selector = cnp(
        "no-pod-selector",
        "Admin",
        1,
        "{pods: {namespaceSelector: {}}}",
        &ingress("Deny", INGRESS_FROM_ALL),
    );
    vec![
        row(
            "unknown field: the pre-v0.1 peer shape namespaces.namespaceSelector (CNP)",
            &[&old_peer],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_FIELD_UNKNOWN",
            "",
            "spec.ingress[0].from[0].namespaces.namespaceSelector: unknown field",
        ),
        row(
            "unknown field: the same peer shape in an AdminNetworkPolicy",
            &[anp_old_peer],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_FIELD_UNKNOWN",
            "",
            "kubectl apply rejects the object",
        ),
        row(
            "unknown field: v1alpha1 ports in a v1alpha2 ClusterNetworkPolicy",
            &[&v1alpha1_ports],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_FIELD_UNKNOWN",
            "",
            "spec.ingress[0].ports: unknown field",
        ),
        row(
            "unknown field: only the direction it touches is not evaluated",
            &[&old_peer],
            ("app/web", "other/db"),
            (Protocol::Tcp, 5432),
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
            "",
        ),
        row(
            "v1alpha1 action words are not v1alpha2's (Allow is not Accept)",
            &[&admin("allow-word", 1, "Allow")],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "",
            "accepted: Accept, Deny, Pass",
        ),
        row(
            "spec.tier is required",
            &[no_tier],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "",
            "spec.tier: missing",
        ),
        row(
            "podSelector is required in a v1alpha2 pods subject or peer",
            &[&no_pod_selector],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "",
            "spec.subject.pods.podSelector: missing",
        ),
        row(
            "a ClusterNetworkPolicy of another version is not evaluated as v1alpha2: it may select any pod, inconclusive",
            &[&v1alpha1_cnp],
            IN,
            TCP_8080,
            Inconclusive,
            "EXTENDED_POLICY_PRESENT",
            "",
            "is a policy kind or version netpol-debug does not evaluate",
        ),
    ]
}

fn build(policies: &str) -> ClusterIndex {
    common::build_on_base("cnp", &[policies.to_string()], Semantics::default())
}

fn side_hits(s: &SideTrace) -> Vec<String> {
    let dir = s.direction.as_str();
    [&s.admin, &s.baseline]
        .into_iter()
        .flatten()
        .map(|h| {
            let kind = match h.kind {
                engine::AdminKind::Admin => "ANP",
                engine::AdminKind::Baseline => "BANP",
                engine::AdminKind::Cluster => "CNP",
            };
            let tier = h.tier.as_str();
            format!(
                "{dir}: {tier} {kind} {}[{}] {}",
                h.policy,
                h.rule_index,
                h.action_word()
            )
        })
        .collect()
}

fn decided_by(t: &FlowTrace) -> String {
    let mut v = side_hits(&t.egress);
    v.extend(side_hits(&t.ingress));
    v.join("; ")
}

/// Everything one row checks, as failures.
fn check(r: &Row) -> Vec<String> {
    let ix = build(&r.policies);
    let what = format!("{}: {} -> {} {} {}", r.rule, r.from, r.to, r.proto, r.port);
    let mut out = Vec::new();
    let d = common::diagnose_row(&ix, &what, (r.from, r.to), r.proto, r.port, r.verdict, r.code, &mut out);
    let (src, dst) = (endpoint(&ix, r.from), endpoint(&ix, r.to));
    let flow = Flow {
        src,
        dst,
        protocol: r.proto,
        port: Some(r.port),
    };
    let t = engine::evaluate(&ix, flow);
    if decided_by(&t) != r.decided_by {
        out.push(format!(
            "{what}: decided by {:?}, expected {:?}",
            decided_by(&t),
            r.decided_by
        ));
    }
    let texts: Vec<String> = ix
        .warnings
        .iter()
        .map(|w| w.to_string())
        .chain(d.root_causes.iter().flat_map(|c| c.evidence.clone()))
        .collect();
    if !r.says.is_empty() && !texts.iter().any(|w| w.contains(r.says)) {
        out.push(format!("{what}: nothing says {:?}: {texts:#?}", r.says));
    }
    if r.verdict != Verdict::Inconclusive {
        common::matrix_agrees(&ix, &what, (src, dst), (r.proto, r.port), t.allowed(), &mut out);
    }
    out
}

#[test]
fn cluster_network_policy_rules_table() {
    let rows: Vec<Row> = [tier_rows(), selection_rows(), protocol_rows(), strict_rows()]
        .into_iter()
        .flatten()
        .collect();
    let failures: Vec<String> = rows.iter().flat_map(check).collect();
    assert!(
        failures.is_empty(),
        "{} failures over {} rules:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    eprintln!("cluster network policy rules: {} rules checked", rows.len());
}

/// The step tools know the kind: `list_policies` lists it with tier and priority,
/// `match_selectors` and `check_default_deny` name it where its subject selects, `check_ingress`
/// names the deciding rule, and a Pass names the tier that took over.
#[test]
fn step_tools_know_cluster_network_policies() {
    use netpol_debug::diagnosis::{check_side, steps};
    use netpol_debug::policy::Direction;
    let web_only = "{pods: {namespaceSelector: {matchLabels: {team: app}}, podSelector: {matchLabels: {app: web}}}}";
    let policies = [
        cnp("deny-web", "Admin", 3, web_only, &ingress("Deny", INGRESS_FROM_ALL)),
        baseline("b-accept", 10, "Accept"),
    ]
    .join("\n---\n");
    let ix = build(&policies);
    let list = steps::list_policies(&ix, Some("app"), 50).unwrap();
    let listed: Vec<(&str, Option<&str>, Option<i64>)> = list
        .cluster_policies
        .iter()
        .map(|c| (c.policy.as_str(), c.tier.as_deref(), c.priority))
        .collect();
    assert_eq!(
        listed,
        [
            ("ClusterNetworkPolicy deny-web", Some("Admin"), Some(3)),
            ("ClusterNetworkPolicy b-accept", Some("Baseline"), Some(10))
        ]
    );
    assert!(
        list.other_policies
            .iter()
            .any(|o| o.kind == "policy.networking.k8s.io/v1alpha2/ClusterNetworkPolicy" && o.name == "deny-web"),
        "{:?}",
        list.other_policies
    );
    assert_eq!(list.cluster_policies[0].rules, ["spec.ingress[0] (r): Deny"]);
    let other = steps::list_policies(&ix, Some("other"), 50).unwrap();
    assert!(
        other.cluster_policies.is_empty(),
        "no subject in other: {:?}",
        other.cluster_policies
    );

    let web = steps::match_selectors(&ix, "app/web", 50).unwrap();
    let names: Vec<&str> = web.cluster_policies.iter().map(|c| c.policy.as_str()).collect();
    assert_eq!(
        names,
        ["ClusterNetworkPolicy deny-web", "ClusterNetworkPolicy b-accept"]
    );
    let client = steps::match_selectors(&ix, "app/client", 50).unwrap();
    let names: Vec<&str> = client.cluster_policies.iter().map(|c| c.policy.as_str()).collect();
    assert_eq!(names, ["ClusterNetworkPolicy b-accept"]);

    let deny = steps::check_default_deny(&ix, "app", None).unwrap();
    assert_eq!(deny.cluster_policies.len(), 2);

    let q = Query {
        from: "other/client".into(),
        to: "app/web".into(),
        protocol: Protocol::Tcp,
        port: Some(PortArg::Number(8080)),
    };
    let side = check_side(&ix, &q, Direction::Ingress).unwrap();
    assert_eq!(side.verdict, Verdict::Blocked);
    assert_eq!(
        serde_json::to_value(side.root_causes[0].code).unwrap(),
        "CLUSTER_NETWORK_POLICY_DENY"
    );
    assert!(
        side.side
            .admin_rule
            .as_deref()
            .unwrap_or_default()
            .contains("ClusterNetworkPolicy deny-web spec.ingress[0] (r): Deny"),
        "{:?}",
        side.side.admin_rule
    );
    let q = Query {
        to: "app/client".into(),
        ..q
    };
    let side = check_side(&ix, &q, Direction::Ingress).unwrap();
    assert_eq!(side.verdict, Verdict::Allowed);
    assert_eq!(
        serde_json::to_value(side.root_causes[0].code).unwrap(),
        "ALLOWED_BY_POLICY"
    );
    assert!(
        side.root_causes[0].summary.contains("ClusterNetworkPolicy b-accept"),
        "{:?}",
        side.root_causes
    );
}

/// The matrix runs the same tiers: a Baseline-tier Deny cuts exactly what no NetworkPolicy
/// isolates, and an Admin-tier Pass hands its connections on.
#[test]
fn connection_sets_follow_the_cluster_network_policy_tiers() {
    let pass_udp = cnp(
        "pass-udp",
        "Admin",
        1,
        APP_NS,
        &ingress(
            "Pass",
            &format!(
                "{INGRESS_FROM_ALL}, protocols: [{{udp: {{destinationPort: {{range: {{start: 1, end: 65535}}}}}}}}]"
            ),
        ),
    );
    let deny_rest = cnp("deny-rest", "Admin", 2, APP_NS, &ingress("Deny", INGRESS_FROM_ALL));
    let b_deny_dns = cnp(
        "b-dns",
        "Baseline",
        1,
        APP_NS,
        &ingress(
            "Deny",
            &format!("{INGRESS_FROM_ALL}, protocols: [{{udp: {{destinationPort: {{number: 53}}}}}}]"),
        ),
    );
    let ix = build(&[pass_udp, deny_rest, b_deny_dns].join("\n---\n"));
    let (src, dst) = (endpoint(&ix, "other/client"), endpoint(&ix, "app/web"));
    let conns = engine::allowed_conns(&ix, &Selection::compute(&ix), src, dst);
    assert_eq!(conns.to_string(), "UDP 1-52,54-65535");
}

/// An inconclusive verdict says why in words that fit: an undefined order is not "could not be
/// read", nor are unresolved domain names.
#[test]
fn inconclusive_verdicts_say_why() {
    let fqdn = cnp(
        "fqdn",
        "Admin",
        1,
        APP_NS,
        "  egress:\n  - {name: ok, action: Accept, to: [{domainNames: [example.com]}]}\n  - {name: rest, action: Deny, to: [{networks: [0.0.0.0/0]}]}\n",
    );
    let old_peer = cnp(
        "old-peer",
        "Admin",
        1,
        APP_NS,
        &ingress("Deny", "from: [{namespaces: {namespaceSelector: {}}}]"),
    );
    for (policies, (from, to), port, code, says) in [
        (
            [admin("x-deny", 7, "Deny"), admin("y-accept", 7, "Accept")].join("\n---\n"),
            IN,
            8080,
            "POLICY_UNREADABLE",
            "undefined in Kubernetes",
        ),
        (
            fqdn,
            ("app/client", "93.184.216.34"),
            443,
            "POLICY_UNREADABLE",
            "domain names",
        ),
        (
            old_peer,
            IN,
            8080,
            "POLICY_FIELD_UNKNOWN",
            "a field the API server does not know",
        ),
    ] {
        let ix = build(&policies);
        let q = Query {
            from: from.into(),
            to: to.into(),
            protocol: Protocol::Tcp,
            port: Some(PortArg::Number(port)),
        };
        let d = diagnose(&ix, &q).unwrap();
        assert_eq!(d.verdict, Verdict::Inconclusive, "{says}");
        let first = &d.root_causes[0];
        assert_eq!(serde_json::to_value(first.code).unwrap(), code, "{says}");
        assert!(
            first.summary.contains(says) && !first.summary.contains("could not be read"),
            "{:#?}",
            first
        );
    }
}
