//! Which root causes `diagnose` reports, and in which order, for situations the examples do
//! not cover. Each row names the behaviour it checks.

use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::diagnosis::{Query, diagnose};
use netpol_debug::policy::Protocol;
use netpol_debug::report::Verdict;

use crate::common;

struct Row {
    name: &'static str,
    policies: &'static str,
    from: &'static str,
    to: &'static str,
    port: u16,
    verdict: Verdict,
    /// The codes of `root_causes`, in order.
    codes: &'static [&'static str],
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "an AdminNetworkPolicy Allow overrides a NetworkPolicy default deny and is the reason",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: deny, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: allow-other}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: from-other, action: Allow, from: [{namespaces: {matchLabels: {team: other}}}]}]
",
            from: "other/db",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Allowed,
            codes: &["ADMIN_NETWORK_POLICY_ALLOW"],
        },
        Row {
            name: "an AdminNetworkPolicy Pass defers to NetworkPolicy, whose default deny then blocks",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: deny, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: pass-other}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: from-other, action: Pass, from: [{namespaces: {matchLabels: {team: other}}}]}]
",
            from: "other/db",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Blocked,
            codes: &["DEFAULT_DENY_INGRESS"],
        },
        Row {
            name: "the BaselineAdminNetworkPolicy denies when no NetworkPolicy isolates the pod",
            policies: "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{name: deny-cross-ns, action: Deny, from: [{namespaces: {matchLabels: {team: other}}}]}]
",
            from: "other/db",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Blocked,
            codes: &["BASELINE_ADMIN_NETWORK_POLICY_DENY"],
        },
        Row {
            name: "a NetworkPolicy that isolates the pod takes precedence over the BaselineAdminNetworkPolicy",
            policies: "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{name: deny-cross-ns, action: Deny, from: [{namespaces: {matchLabels: {team: other}}}]}]
---
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: allow-db, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: other}}}]}]}
",
            from: "other/db",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Allowed,
            codes: &["ALLOWED_BY_POLICY"],
        },
        Row {
            name: "a namespaceSelector-only element next to a podSelector-only element allows a whole namespace while as ONE element they select real pods: SELECTOR_AND_OR_CONFUSION leads (issue 14, point 2)",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: other}}}, {podSelector: {matchLabels: {app: client}}}]}]}
",
            from: "other/db",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Allowed,
            codes: &["SELECTOR_AND_OR_CONFUSION", "ALLOWED_BY_POLICY"],
        },
        Row {
            name: "an allow-all egress rule at the source does not hide an AND/OR mix-up at the destination",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: out, namespace: other}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 8080}]}]}
---
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: other}}}, {podSelector: {matchLabels: {app: client}}}]}]}
",
            from: "other/db",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Allowed,
            codes: &["SELECTOR_AND_OR_CONFUSION", "ALLOWED_BY_POLICY"],
        },
        Row {
            name: "a pod allowed through its own labels is no AND/OR mix-up",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: other}}}, {podSelector: {matchLabels: {app: client}}}]}]}
",
            from: "app/client",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Allowed,
            codes: &["ALLOWED_BY_POLICY"],
        },
        Row {
            name: "a deny-all without policyTypes leaves the source's egress open: reported first",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: deny-all, namespace: app}
spec: {podSelector: {}, ingress: []}
",
            from: "app/client",
            to: "other/db",
            port: 5432,
            verdict: Verdict::Allowed,
            codes: &["POLICYTYPES_OMITTED_EGRESS_OPEN", "ALLOWED_NO_POLICY"],
        },
        Row {
            name: "an ordinary ingress allow-list without policyTypes is not the deny-all trap",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: web-from-clients, namespace: app}
spec: {podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]}
",
            from: "app/client",
            to: "other/db",
            port: 5432,
            verdict: Verdict::Allowed,
            codes: &["ALLOWED_NO_POLICY"],
        },
        Row {
            name: "an unreadable policy whose podSelector does not select the pod changes nothing",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: broken, namespace: app}
spec: {podSelector: {matchLabels: {app: nothing-like-this}}, ingress: [{ports: [{port: [80, 443]}]}]}
",
            from: "app/client",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Allowed,
            codes: &["ALLOWED_NO_POLICY"],
        },
        Row {
            name: "an unreadable policy that selects the pod makes an open side inconclusive",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: broken, namespace: app}
spec: {podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: [80, 443]}]}]}
",
            from: "app/client",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Inconclusive,
            codes: &["POLICY_UNREADABLE", "ALLOWED_NO_POLICY"],
        },
        Row {
            name: "an unreadable ingress-only policy does not make the source's egress uncertain",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: broken, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{ports: [{port: [80, 443]}]}]}
",
            from: "app/client",
            to: "other/db",
            port: 5432,
            verdict: Verdict::Allowed,
            codes: &["ALLOWED_NO_POLICY"],
        },
        Row {
            name: "a side that certainly blocks wins over an unreadable policy on the other side",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: broken, namespace: app}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: [80, 443]}]}]}
---
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: deny, namespace: other}
spec: {podSelector: {}, policyTypes: [Ingress]}
",
            from: "app/client",
            to: "other/db",
            port: 5432,
            verdict: Verdict::Blocked,
            codes: &["DEFAULT_DENY_INGRESS", "POLICY_UNREADABLE"],
        },
        Row {
            name: "a node reaching a pod on that node is always allowed",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: deny, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
",
            from: "192.168.0.10",
            to: "app/web",
            port: 8080,
            verdict: Verdict::Allowed,
            codes: &["ALWAYS_ALLOWED"],
        },
        Row {
            name: "an invalid rule part on a blocking side makes the verdict inconclusive, naming the policy",
            policies: "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{port: 8100, endPort: 8000}]}]}
",
            from: "app/client",
            to: "app/web",
            port: 8050,
            verdict: Verdict::Inconclusive,
            codes: &["POLICY_UNREADABLE", "PORT_NOT_ALLOWED"],
        },
    ]
}

#[test]
fn diagnose_root_cause_choices() {
    let mut failures = Vec::new();
    for r in rows() {
        let ix = common::index(&format!("{}\n---\n{}", common::BASE, r.policies));
        let q = Query {
            from: r.from.into(),
            to: r.to.into(),
            protocol: Protocol::Tcp,
            port: Some(PortArg::Number(r.port)),
        };
        let d = match diagnose(&ix, &q) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: query error {e}", r.name));
                continue;
            }
        };
        let codes: Vec<String> = d.root_causes.iter().map(|c| c.code_str()).collect();
        if d.verdict != r.verdict || codes != r.codes {
            failures.push(format!(
                "{}:\n  expected {:?} {:?}\n  got      {:?} {:?}",
                r.name, r.verdict, r.codes, d.verdict, codes
            ));
        }
        if d.verdict == Verdict::Inconclusive {
            let named = d.root_causes.iter().find(|c| c.code_str() == "POLICY_UNREADABLE");
            if named.is_none_or(|c| c.policies.is_empty()) {
                failures.push(format!("{}: POLICY_UNREADABLE must name the policy", r.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The API server's defaulting decides this verdict (`SetDefaults_NetworkPolicy` adds Egress
/// only for a non-empty egress list): the evidence says so, with the file's own policyTypes absent.
#[test]
fn an_empty_egress_list_without_policy_types_leaves_egress_open_and_says_why() {
    let policy = "
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: a, namespace: app}
spec: {podSelector: {}, ingress: [{}], egress: []}
";
    let ix = common::index(&format!("{}\n---\n{policy}", common::BASE));
    let q = Query {
        from: "app/client".into(),
        to: "other/db".into(),
        protocol: Protocol::Tcp,
        port: Some(PortArg::Number(5432)),
    };
    let d = diagnose(&ix, &q).expect("diagnoses");
    assert_eq!(d.verdict, Verdict::Allowed);
    let cause = d
        .root_causes
        .iter()
        .find(|c| c.code_str() == "POLICYTYPES_OMITTED_EGRESS_OPEN")
        .expect("the policyTypes trap is named");
    assert!(
        cause.evidence.iter().any(|e| e.contains(
            "app/a: policyTypes absent; `egress: []` is empty, so the API server defaults policyTypes to [Ingress]"
        ) && e.contains("egress is not isolated")),
        "{:?}",
        cause.evidence
    );
}
