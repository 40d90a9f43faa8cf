//! One row per NetworkPolicy semantic rule, each naming the rule it checks. Every row is also
//! run with the policies in reverse order (order never matters) and checked against the
//! connection-set computation (`diagnose` and `matrix` must agree).

use netpol_debug::engine::{self, Endpoint, Flow, Selection};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::Protocol;

use crate::common;

struct Row {
    rule: &'static str,
    policies: &'static str,
    from: &'static str,
    to: &'static str,
    proto: Protocol,
    port: u16,
    allowed: bool,
    ipblock_matches_pods: bool,
}

const fn row(
    rule: &'static str,
    policies: &'static str,
    from: &'static str,
    to: &'static str,
    port: u16,
    allowed: bool,
) -> Row {
    Row {
        rule,
        policies,
        from,
        to,
        proto: Protocol::Tcp,
        port,
        allowed,
        ipblock_matches_pods: true,
    }
}

const DENY_IN_APP: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-in, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
";

fn rows() -> Vec<Row> {
    use Protocol::*;
    vec![
        row("a pod selected by no policy is not isolated: everything is allowed", "", "app/client", "app/web", 8080, true),
        row("a policy selecting the pod for ingress with no rules denies all ingress", DENY_IN_APP, "app/client", "app/web", 8080, false),
        row("policies are additive: a second policy's allow is a union, not an override", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: b, namespace: app}
spec: {podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: 8080}]}]}
", "app/client", "app/web", 8080, true),
        row("empty podSelector {} selects every pod of the namespace", DENY_IN_APP, "other/client", "app/web", 8080, false),
        row("absent podSelector selects every pod of the namespace", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {policyTypes: [Ingress]}
", "app/client", "app/web", 8080, false),
        row("a policy only selects pods of its own namespace", DENY_IN_APP, "app/client", "other/db", 5432, true),
        row("matchExpressions NotIn selects pods whose value is not listed", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [client]}]}, policyTypes: [Ingress]}
", "app/client", "app/web", 8080, false),
        row("a podSelector that does not match the pod does not isolate it", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {matchLabels: {app: other}}, policyTypes: [Ingress]}
", "app/client", "app/web", 8080, true),
        row("policyTypes [Ingress] does not isolate egress", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress], egress: []}
", "app/client", "other/db", 5432, true),
        row("policyTypes omitted with no egress section: egress stays open (the deny-all trap)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: deny-all, namespace: app}
spec: {podSelector: {}, ingress: []}
", "app/client", "other/db", 5432, true),
        row("policyTypes omitted with an egress rule: egress is isolated", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 192.0.2.0/24}}]}]}
", "app/client", "other/db", 5432, false),
        row("policyTypes omitted with `egress: []`: the API server adds Egress only for a non-empty list, egress stays open", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, egress: []}
", "app/client", "other/db", 5432, true),
        row("policyTypes [Egress] with egress absent denies all egress", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Egress]}
", "app/client", "other/db", 5432, false),
        row("an empty rule {} allows everything", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{}]}
", "other/client", "app/web", 8080, true),
        row("from: [] and ports: [] mean all peers and all ports", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{from: [], ports: []}]}
", "other/client", "app/web", 1234, true),
        row("podSelector alone in a peer means the policy's own namespace (same namespace allowed)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]}
", "app/client", "app/web", 8080, true),
        row("podSelector alone in a peer means the policy's own namespace (other namespace blocked)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]}
", "other/client", "app/web", 8080, false),
        row("namespaceSelector alone means all pods of matching namespaces", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: other}}}]}]}
", "other/db", "app/web", 8080, true),
        row("namespaceSelector {} means every namespace", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: other}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {}}]}]}
", "app/client", "other/db", 5432, true),
        row("every namespace carries kubernetes.io/metadata.name", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: other}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: app}}}]}]}
", "app/client", "other/db", 5432, true),
        row("namespaceSelector and podSelector in ONE element are ANDed (pod fails)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: other}}, podSelector: {matchLabels: {app: client}}}]}]}
", "other/db", "app/web", 8080, false),
        row("namespaceSelector and podSelector in ONE element are ANDed (both hold)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: other}}, podSelector: {matchLabels: {app: client}}}]}]}
", "other/client", "app/web", 8080, true),
        row("separate peer elements are ORed", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: other}}}, {podSelector: {matchLabels: {app: client}}}]}]}
", "other/db", "app/web", 8080, true),
        row("ipBlock matches an external address inside the CIDR", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 203.0.113.0/24}}]}]}
", "app/client", "203.0.113.7", 443, true),
        row("ipBlock does not match an address outside the CIDR", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 203.0.113.0/24}}]}]}
", "app/client", "198.51.100.7", 443, false),
        row("ipBlock except removes addresses from the CIDR", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.0/28]}}]}]}
", "app/client", "203.0.113.7", 443, false),
        row("ipBlock matches a pod IP inside the CIDR by default (upstream e2e semantics)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.0.2.0/24}}]}]}
", "app/client", "other/db", 5432, true),
        Row { ipblock_matches_pods: false, ..row("with --ipblock-matches-pods=false an ipBlock never matches a pod", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.0.2.0/24}}]}]}
", "app/client", "other/db", 5432, false) },
        row("a port without protocol is TCP (TCP allowed)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: 53}]}]}
", "app/client", "app/web", 53, true),
        Row { proto: Udp, ..row("a port without protocol is TCP (UDP not allowed)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: 53}]}]}
", "app/client", "app/web", 53, false) },
        Row { proto: Udp, ..row("UDP ports are matched with protocol UDP", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: 53, protocol: UDP}]}]}
", "app/client", "app/web", 53, true) },
        Row { proto: Sctp, ..row("SCTP ports are matched with protocol SCTP", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: 9000, protocol: SCTP}]}]}
", "app/client", "app/web", 9000, true) },
        row("a protocol without a port allows every port of that protocol", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{protocol: TCP}]}]}
", "app/client", "app/web", 31337, true),
        row("a numeric port admits only that port", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: 80}]}]}
", "app/client", "app/web", 8080, false),
        row("endPort makes an inclusive range (upper bound allowed)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: 8000, endPort: 8100}]}]}
", "app/client", "app/web", 8100, true),
        row("endPort makes an inclusive range (above it blocked)", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: 8000, endPort: 8100}]}]}
", "app/client", "app/web", 8101, false),
        row("endPort below port is invalid: the port matches nothing", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: 8100, endPort: 8000}]}]}
", "app/client", "app/web", 8050, false),
        row("a named port on ingress resolves against the selected pod's containerPorts", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: http}]}]}
", "app/client", "app/web", 8080, true),
        row("a named port on egress resolves against the destination peer's containerPorts", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: pg}]}]}
", "app/client", "other/db", 5432, true),
        row("a named port must match the container port's protocol too", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: dns, protocol: TCP}]}]}
", "app/client", "app/web", 53, false),
        row("a named port that no container declares matches nothing", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: metrics}]}]}
", "app/client", "app/web", 8080, false),
        row("traffic from a pod to itself is always allowed", DENY_IN_APP, "app/web", "app/web", 8080, true),
        row("traffic from a node to the pods on that node is always allowed", DENY_IN_APP, "192.168.0.10", "app/web", 8080, true),
        row("traffic from another node is subject to policy", DENY_IN_APP, "192.168.0.11", "app/web", 8080, false),
        row("hostNetwork pods are never selected as a policy target", DENY_IN_APP, "other/client", "app/hostagent", 8080, true),
        row("hostNetwork pods are never matched by a podSelector peer", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {}}]}]}
", "app/hostagent", "app/web", 8080, false),
        row("egress at the source and ingress at the destination must both allow", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Egress]}
---
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: b, namespace: other}
spec: {podSelector: {}, ingress: [{}]}
", "app/client", "other/db", 5432, false),
        row("an unknown selector operator makes the peer match nothing", "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: Equals, values: [client]}]}}]}]}
", "app/client", "app/web", 8080, false),
    ]
}

fn split_docs(policies: &str) -> Vec<String> {
    policies
        .split("\n---\n")
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

fn build(docs: &[String], semantics: Semantics) -> ClusterIndex {
    common::build_on_base("rules", docs, semantics)
}

fn endpoint(ix: &ClusterIndex, s: &str) -> Endpoint {
    if let Ok(ip) = s.parse() {
        return ix
            .pods_by_ip(ip)
            .iter()
            .copied()
            .find(|&id| !ix.pod(id).host_network)
            .map(Endpoint::Pod)
            .unwrap_or(Endpoint::Ip(ip));
    }
    let (ns, name) = s.split_once('/').expect("ns/name");
    Endpoint::Pod(ix.pod_by_name(ns, name).unwrap_or_else(|| panic!("no pod {s}")))
}

#[test]
fn networkpolicy_rules_table() {
    let mut failures = Vec::new();
    let rows = rows();
    for r in &rows {
        let docs = split_docs(r.policies);
        let mut reversed = docs.clone();
        reversed.reverse();
        let semantics = Semantics {
            ipblock_matches_pods: r.ipblock_matches_pods,
        };
        for (order, docs) in [("as written", docs), ("reversed", reversed)] {
            let ix = build(&docs, semantics);
            let (src, dst) = (endpoint(&ix, r.from), endpoint(&ix, r.to));
            let trace = engine::evaluate(
                &ix,
                Flow {
                    src,
                    dst,
                    protocol: r.proto,
                    port: Some(r.port),
                },
            );
            if trace.allowed() != r.allowed {
                failures.push(format!(
                    "{} ({order}): {} -> {} {} {}: expected allowed={}, got {}",
                    r.rule,
                    r.from,
                    r.to,
                    r.proto,
                    r.port,
                    r.allowed,
                    trace.allowed()
                ));
            }
            let conns = engine::allowed_conns(&ix, &Selection::compute(&ix), src, dst);
            if conns.contains(r.proto, r.port) != trace.allowed() {
                failures.push(format!(
                    "{} ({order}): evaluate says {} but the connection set {conns} disagrees",
                    r.rule,
                    trace.allowed()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rules failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    eprintln!(
        "networkpolicy rules: {} rules checked, each in two policy orders",
        rows.len()
    );
}

/// One row per defaulting the API server applies to a NetworkPolicy that our engine depends on
/// (files never went through it, so we apply the same defaults): the upstream function, the rule,
/// and a flow whose verdict the default decides. ipBlock and endPort have no defaulting upstream.
#[test]
fn api_server_defaulting_table() {
    const UP: &str = "k8s.io/kubernetes pkg/apis/networking/v1/defaults.go";
    let rows: Vec<(&str, Row)> = vec![
        (
            "SetDefaults_NetworkPolicy",
            row(
                "policyTypes absent, no egress: [Ingress], egress open",
                "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: []}
",
                "app/client",
                "other/db",
                5432,
                true,
            ),
        ),
        (
            "SetDefaults_NetworkPolicy",
            row(
                "policyTypes absent, no egress: [Ingress], ingress isolated",
                "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, egress: [{}]}
",
                "other/db",
                "app/web",
                8080,
                false,
            ),
        ),
        (
            "SetDefaults_NetworkPolicy",
            row(
                "policyTypes absent, `ingress: [{}]` and `egress: []`: len(egress) == 0, so [Ingress] and egress open",
                "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{}], egress: []}
",
                "app/client",
                "other/db",
                5432,
                true,
            ),
        ),
        (
            "SetDefaults_NetworkPolicy",
            row(
                "policyTypes absent, a non-empty egress list: [Ingress, Egress]",
                "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 192.0.2.0/24}}]}]}
",
                "app/client",
                "other/db",
                5432,
                false,
            ),
        ),
        (
            "SetDefaults_NetworkPolicy",
            row(
                "`policyTypes: []` is len 0: defaulted like an absent list",
                "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [], egress: []}
",
                "app/client",
                "other/db",
                5432,
                true,
            ),
        ),
        (
            "SetDefaults_NetworkPolicyPort",
            row(
                "a port without protocol is TCP: TCP allowed",
                "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{ports: [{port: 8080}]}]}
",
                "app/client",
                "app/web",
                8080,
                true,
            ),
        ),
        (
            "SetDefaults_NetworkPolicyPort",
            Row {
                proto: Protocol::Udp,
                ..row(
                    "a port without protocol is TCP: UDP on that port is not allowed",
                    "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{ports: [{port: 8080}]}]}
",
                    "app/client",
                    "app/web",
                    8080,
                    false,
                )
            },
        ),
        (
            "(Go zero value: NetworkPolicySpec.PodSelector is not a pointer)",
            row(
                "podSelector absent is {}: every pod of the namespace",
                "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {policyTypes: [Ingress]}
",
                "app/client",
                "app/web",
                8080,
                false,
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (upstream, r) in &rows {
        let ix = build(&split_docs(r.policies), Semantics::default());
        let (src, dst) = (endpoint(&ix, r.from), endpoint(&ix, r.to));
        let flow = Flow {
            src,
            dst,
            protocol: r.proto,
            port: Some(r.port),
        };
        let allowed = engine::evaluate(&ix, flow).allowed();
        if allowed != r.allowed {
            failures.push(format!(
                "{upstream} ({UP}): {}: expected allowed={}, got {allowed}",
                r.rule, r.allowed
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
