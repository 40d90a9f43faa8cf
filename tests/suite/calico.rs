//! One row per Calico semantic rule we evaluate (`projectcalico.org/v3` and
//! `crd.projectcalico.org/v1` NetworkPolicy, GlobalNetworkPolicy, Tier; Calico v3.29–v3.31),
//! each naming the rule, on the `common::BASE` cluster. Every row checks the verdict, the first
//! root cause's code, the step of Calico's tier walk that decided each side, and, when the
//! verdict is certain, that `matrix` (connection sets) agrees with `diagnose`. Every row runs
//! with its objects in both document orders: the order of objects never matters to Calico.

use netpol_debug::diagnosis::Query;
use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::engine::{self, CalicoStepAction, Flow, FlowTrace, Selection, SideTrace};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::Protocol;
use netpol_debug::report::Verdict;

use crate::common::{self, endpoint};

struct Row {
    rule: &'static str,
    objects: Vec<String>,
    from: &'static str,
    to: &'static str,
    proto: Protocol,
    port: u16,
    verdict: Verdict,
    /// The first root cause's code, as the wire spells it.
    code: &'static str,
    /// The deciding steps: `ingress: default GlobalNetworkPolicy x[0] Deny` (empty: none).
    decided_by: &'static str,
}

#[allow(clippy::too_many_arguments)]
fn row(
    rule: &'static str,
    objects: &[&str],
    (from, to): (&'static str, &'static str),
    (proto, port): (Protocol, u16),
    verdict: Verdict,
    code: &'static str,
    decided_by: &'static str,
) -> Row {
    Row {
        rule,
        objects: objects.iter().map(|s| s.to_string()).collect(),
        from,
        to,
        proto,
        port,
        verdict,
        code,
        decided_by,
    }
}

fn gnp(name: &str, spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: {name}}}\nspec: {spec}\n")
}

fn calico_np(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n"
    )
}

fn tier(name: &str, spec: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: {name}}}\nspec: {spec}\n")
}

/// Ingress of app/web: one rule with `action` from anyone.
fn web_in(name: &str, extra: &str, action: &str) -> String {
    gnp(
        name,
        &format!("{{selector: \"app == 'web'\", {extra} ingress: [{{action: {action}}}]}}"),
    )
}

const NP_ALLOW_IN_APP: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-in, namespace: app}
spec: {podSelector: {}, ingress: [{}]}
";

const NP_DENY_IN_APP: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-in, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
";

/// A pod with a known service account, and a Service in front of other/db.
const EXTRA_PODS: &str = "apiVersion: v1
kind: Pod
metadata: {name: robot, namespace: other, labels: {app: robot}}
spec: {nodeName: n2, serviceAccountName: robot-sa, containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.2.3}
---
apiVersion: v1
kind: Service
metadata: {name: db-svc, namespace: other}
spec: {selector: {app: db}, ports: [{port: 5432}]}
";

const IN: (&str, &str) = ("other/client", "app/web");
const TCP_8080: (Protocol, u16) = (Protocol::Tcp, 8080);

fn order_rows() -> Vec<Row> {
    use Verdict::*;
    let security = tier("security", "{order: 100}");
    vec![
        row(
            "a GlobalNetworkPolicy Deny ordered before the Kubernetes policies (order 100 < 1000) decides first",
            &[&web_in("deny-web", "order: 100,", "Deny"), NP_ALLOW_IN_APP],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy deny-web[0] Deny",
        ),
        row(
            "Kubernetes NetworkPolicies are knp.default.<name> at order 1000: they decide before order 2000",
            &[&web_in("deny-web", "order: 2000,", "Deny"), NP_ALLOW_IN_APP],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default NetworkPolicy app/knp.default.allow-in[0] Allow",
        ),
        row(
            "no order: last in its tier",
            &[
                &web_in("deny-web", "", "Deny"),
                &web_in("allow-web", "order: 5000,", "Allow"),
            ],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy allow-web[0] Allow",
        ),
        row(
            "equal orders: by name (a-deny before b-allow)",
            &[
                &web_in("a-deny", "order: 10,", "Deny"),
                &web_in("b-allow", "order: 10,", "Allow"),
            ],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy a-deny[0] Deny",
        ),
        row(
            "equal orders: by name (a-allow before b-deny)",
            &[
                &web_in("a-allow", "order: 10,", "Allow"),
                &web_in("b-deny", "order: 10,", "Deny"),
            ],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy a-allow[0] Allow",
        ),
        row(
            "tiers by order: a tier ordered before default (100 < 1,000,000) decides first",
            &[
                &security,
                &web_in("sec-deny", "tier: security,", "Deny"),
                &web_in("allow-web", "order: 1,", "Allow"),
            ],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: security GlobalNetworkPolicy sec-deny[0] Deny",
        ),
        row(
            "tiers by order: a tier ordered after default comes after it",
            &[
                &tier("late", "{order: 2000000}"),
                &web_in("late-deny", "tier: late,", "Deny"),
                &web_in("allow-web", "", "Allow"),
            ],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy allow-web[0] Allow",
        ),
        row(
            "tiers without order: last, ties by name",
            &[
                &tier("aaa", "{}"),
                &tier("zzz", "{}"),
                &web_in("z-allow", "tier: zzz,", "Allow"),
                &web_in("a-deny", "tier: aaa,", "Deny"),
            ],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: aaa GlobalNetworkPolicy a-deny[0] Deny",
        ),
    ]
}

fn action_rows() -> Vec<Row> {
    use Verdict::*;
    let security = tier("security", "{order: 100}");
    let pass_web = web_in("sec-pass", "tier: security,", "Pass");
    vec![
        row(
            "Log continues with the next rule",
            &[&gnp(
                "log-then-deny",
                "{selector: \"app == 'web'\", ingress: [{action: Log}, {action: Deny}]}",
            )],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy log-then-deny[1] Deny",
        ),
        row(
            "Pass skips to the next tier that applies",
            &[&security, &pass_web, &web_in("deny-web", "", "Deny")],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy deny-web[0] Deny",
        ),
        row(
            "Pass out of the last tier that applies: the namespace profile allows",
            &[&security, &pass_web],
            IN,
            TCP_8080,
            Allowed,
            "CALICO_PASS_TO_PROFILE",
            "",
        ),
        row(
            "a Pass skips the rest of its tier (a later Deny of that tier does not apply)",
            &[
                &security,
                &gnp(
                    "sec",
                    "{tier: security, selector: \"app == 'web'\", ingress: [{action: Pass}, {action: Deny}]}",
                ),
            ],
            IN,
            TCP_8080,
            Allowed,
            "CALICO_PASS_TO_PROFILE",
            "",
        ),
        row(
            "end of tier: a policy applies, no rule decides: Deny",
            &[&gnp(
                "from-db",
                "{selector: \"app == 'web'\", ingress: [{action: Allow, source: {selector: \"app == 'db'\"}}]}",
            )],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_NO_MATCHING_RULE",
            "ingress: default end Deny",
        ),
        row(
            "a tier none of whose policies applies is skipped",
            &[
                &security,
                &gnp(
                    "db-only",
                    "{tier: security, selector: \"app == 'db'\", ingress: [{action: Deny}]}",
                ),
            ],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "defaultAction: Pass: the end of the tier passes on",
            &[
                &tier("security", "{order: 100, defaultAction: Pass}"),
                &gnp(
                    "from-db",
                    "{tier: security, selector: \"app == 'web'\", ingress: [{action: Allow, source: {selector: \"app == 'db'\"}}]}",
                ),
            ],
            IN,
            TCP_8080,
            Allowed,
            "CALICO_PASS_TO_PROFILE",
            "",
        ),
        row(
            "a Kubernetes deny-all in the default tier after a Pass: NetworkPolicy's isolation denies",
            &[&security, &pass_web, NP_DENY_IN_APP],
            IN,
            TCP_8080,
            Blocked,
            "DEFAULT_DENY_INGRESS",
            "ingress: default end Deny",
        ),
    ]
}

fn types_and_selector_rows() -> Vec<Row> {
    use Verdict::*;
    let no_rules = gnp("no-rules", "{selector: \"app == 'web'\"}");
    let only_egress = gnp(
        "only-egress",
        "{selector: \"app == 'web'\", egress: [{action: Deny, destination: {selector: \"app == 'db'\"}}]}",
    );
    let sel = |s: &str| gnp("sel", &format!("{{selector: \"{s}\", ingress: [{{action: Deny}}]}}"));
    vec![
        row(
            "types default: no rules means Ingress (end-of-tier deny)",
            &[&no_rules],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_NO_MATCHING_RULE",
            "ingress: default end Deny",
        ),
        row(
            "types default: no rules means Ingress only (egress open)",
            &[&no_rules],
            ("app/web", "other/db"),
            (Protocol::Tcp, 5432),
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "types default: only egress rules means Egress only (ingress open)",
            &[&only_egress],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "types default: only egress rules means Egress",
            &[&only_egress],
            ("app/web", "other/db"),
            (Protocol::Tcp, 5432),
            Blocked,
            "CALICO_POLICY_DENY",
            "egress: default GlobalNetworkPolicy only-egress[0] Deny",
        ),
        row(
            "explicit types [Ingress]: egress rules are ignored",
            &[&gnp(
                "typed",
                "{selector: \"app == 'web'\", types: [Ingress], ingress: [{action: Allow}], egress: [{action: Deny}]}",
            )],
            ("app/web", "other/db"),
            (Protocol::Tcp, 5432),
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "selector != matches an absent label",
            &[&sel("role != 'x'")],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy sel[0] Deny",
        ),
        row(
            "selector not in matches an absent label",
            &[&sel("role not in {'x', 'y'}")],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy sel[0] Deny",
        ),
        row(
            "selector has() and && and starts with",
            &[&sel("has(tier) && app starts with 'we'")],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy sel[0] Deny",
        ),
        row(
            "selector that does not match: the policy does not apply",
            &[&sel("app == 'web' && !has(tier)")],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "policy namespaceSelector (GlobalNetworkPolicy) selects by the namespace's labels",
            &[&gnp(
                "ns-app",
                "{namespaceSelector: \"team == 'app'\", ingress: [{action: Deny}]}",
            )],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy ns-app[0] Deny",
        ),
        row(
            "a namespaced Calico NetworkPolicy applies only in its namespace",
            &[&calico_np("other", "deny", "{ingress: [{action: Deny}]}")],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "crd.projectcalico.org/v1 is read as projectcalico.org/v3",
            &[&web_in("deny-web", "", "Deny").replace("projectcalico.org/v3", "crd.projectcalico.org/v1")],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy deny-web[0] Deny",
        ),
    ]
}

fn entity_rows() -> Vec<Row> {
    use Verdict::*;
    let from_client_ns = calico_np(
        "app",
        "from-client",
        "{selector: \"app == 'web'\", ingress: [{action: Allow, source: {selector: \"app == 'client'\"}}]}",
    );
    let web_rule = |name: &str, rule: &str| {
        gnp(
            name,
            &format!("{{selector: \"app == 'web'\", ingress: [{rule}, {{action: Allow}}]}}"),
        )
    };
    let client_out = |name: &str, rule: &str| {
        gnp(
            name,
            &format!("{{selector: \"app == 'client'\", egress: [{rule}, {{action: Allow}}]}}"),
        )
    };
    vec![
        row(
            "rule selector of a namespaced policy stays in its namespace",
            &[&from_client_ns],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_NO_MATCHING_RULE",
            "ingress: default end Deny",
        ),
        row(
            "rule selector of a namespaced policy: same namespace matches",
            &[&from_client_ns],
            ("app/client", "app/web"),
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default NetworkPolicy app/from-client[0] Allow",
        ),
        row(
            "rule selector of a GlobalNetworkPolicy: every namespace",
            &[&gnp(
                "from-client",
                "{selector: \"app == 'web'\", ingress: [{action: Allow, source: {selector: \"app == 'client'\"}}]}",
            )],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy from-client[0] Allow",
        ),
        row(
            "rule namespaceSelector",
            &[&web_rule(
                "ns",
                "{action: Deny, source: {namespaceSelector: \"team == 'other'\"}}",
            )],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy ns[0] Deny",
        ),
        row(
            "rule namespaceSelector on projectcalico.org/name",
            &[&web_rule(
                "ns",
                "{action: Deny, source: {namespaceSelector: \"projectcalico.org/name == 'other'\"}}",
            )],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy ns[0] Deny",
        ),
        row(
            "notSelector excludes the peer",
            &[&web_rule(
                "notsel",
                "{action: Deny, source: {notSelector: \"app == 'client'\"}}",
            )],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy notsel[1] Allow",
        ),
        row(
            "nets: an external address in the CIDR",
            &[&client_out(
                "nets",
                "{action: Deny, destination: {nets: [93.184.216.0/24]}}",
            )],
            ("app/client", "93.184.216.34"),
            (Protocol::Tcp, 443),
            Blocked,
            "CALICO_POLICY_DENY",
            "egress: default GlobalNetworkPolicy nets[0] Deny",
        ),
        row(
            "nets match pod IPs too",
            &[&web_rule("nets", "{action: Deny, source: {nets: [10.0.2.0/24]}}")],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy nets[0] Deny",
        ),
        row(
            "notNets: an address outside them matches",
            &[&client_out(
                "notnets",
                "{action: Deny, destination: {notNets: [10.0.0.0/8]}}",
            )],
            ("app/client", "93.184.216.34"),
            (Protocol::Tcp, 443),
            Blocked,
            "CALICO_POLICY_DENY",
            "egress: default GlobalNetworkPolicy notnets[0] Deny",
        ),
        row(
            "notNets: an address inside them does not match",
            &[&client_out(
                "notnets",
                "{action: Deny, destination: {notNets: [10.0.0.0/8]}}",
            )],
            ("app/client", "other/db"),
            (Protocol::Tcp, 5432),
            Allowed,
            "ALLOWED_BY_POLICY",
            "egress: default GlobalNetworkPolicy notnets[1] Allow",
        ),
        row(
            "ports: a number",
            &[&web_rule(
                "p",
                "{action: Deny, protocol: TCP, destination: {ports: [8080]}}",
            )],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy p[0] Deny",
        ),
        row(
            "ports: a range \"a:b\" is inclusive",
            &[&web_rule(
                "p",
                "{action: Deny, protocol: TCP, destination: {ports: [\"8000:8080\"]}}",
            )],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy p[0] Deny",
        ),
        row(
            "ports: a name resolves on the destination pod",
            &[&web_rule(
                "p",
                "{action: Deny, protocol: TCP, destination: {ports: [http]}}",
            )],
            IN,
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy p[0] Deny",
        ),
        row(
            "ports: another port does not match",
            &[&web_rule(
                "p",
                "{action: Deny, protocol: TCP, destination: {ports: [9090]}}",
            )],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy p[1] Allow",
        ),
        row(
            "notPorts: the port is excluded",
            &[&web_rule(
                "p",
                "{action: Deny, protocol: TCP, destination: {notPorts: [8080]}}",
            )],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy p[1] Allow",
        ),
        row(
            "protocol: a UDP rule does not match TCP",
            &[&web_rule("p", "{action: Deny, protocol: UDP}")],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy p[1] Allow",
        ),
        row(
            "serviceAccounts: names match the pod's serviceAccountName",
            &[
                EXTRA_PODS,
                &web_rule("sa", "{action: Deny, source: {serviceAccounts: {names: [robot-sa]}}}"),
            ],
            ("other/robot", "app/web"),
            TCP_8080,
            Blocked,
            "CALICO_POLICY_DENY",
            "ingress: default GlobalNetworkPolicy sa[0] Deny",
        ),
        row(
            "serviceAccounts: a pod without a known service account: inconclusive",
            &[&web_rule(
                "sa",
                "{action: Deny, source: {serviceAccounts: {names: [robot-sa]}}}",
            )],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "ingress: default GlobalNetworkPolicy sa[1] Allow",
        ),
        row(
            "services: the endpoints of the Service",
            &[
                EXTRA_PODS,
                &client_out(
                    "svc",
                    "{action: Deny, destination: {services: {name: db-svc, namespace: other}}}",
                ),
            ],
            ("app/client", "other/db"),
            (Protocol::Tcp, 5432),
            Blocked,
            "CALICO_POLICY_DENY",
            "egress: default GlobalNetworkPolicy svc[0] Deny",
        ),
        row(
            "source ports (the client's ephemeral port): inconclusive",
            &[&web_rule(
                "sp",
                "{action: Deny, protocol: TCP, source: {ports: [1024]}}",
            )],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "ingress: default GlobalNetworkPolicy sp[1] Allow",
        ),
    ]
}

fn scope_rows() -> Vec<Row> {
    use Verdict::*;
    vec![
        row(
            "staged policies never filter",
            &[&web_in("deny-web", "", "Deny").replace("kind: GlobalNetworkPolicy", "kind: StagedGlobalNetworkPolicy")],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "preDNAT / doNotTrack policies apply to host endpoints, not pods",
            &[&web_in("pre", "preDNAT: true, applyOnForward: true,", "Deny")],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "an L7 http match is not evaluated: inconclusive",
            &[&web_rule_http()],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "ingress: default GlobalNetworkPolicy http[1] Allow",
        ),
    ]
}

fn mix_rows() -> Vec<Row> {
    use Verdict::*;
    let anp_deny = "apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: anp-deny}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: deny, action: Deny, from: [{namespaces: {}}]}]
";
    vec![
        row(
            "a Calico Allow ordered before a Kubernetes deny-all decides (same default tier)",
            &[&web_in("allow-web", "order: 500,", "Allow"), NP_DENY_IN_APP],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy allow-web[0] Allow",
        ),
        row(
            "a Kubernetes deny-all decides nothing itself: a Calico Allow later in the default tier still allows",
            &[&web_in("allow-web", "order: 1500,", "Allow"), NP_DENY_IN_APP],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_BY_POLICY",
            "ingress: default GlobalNetworkPolicy allow-web[0] Allow",
        ),
        row(
            "the Admin tier (AdminNetworkPolicy, Calico order 1,000) before the Calico default tier",
            &[anp_deny, &web_in("allow-web", "", "Allow")],
            IN,
            TCP_8080,
            Blocked,
            "ADMIN_NETWORK_POLICY_DENY",
            "",
        ),
        row(
            "a namespace whose labels could not be read: a rule namespaceSelector is inconclusive",
            &[
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: third, labels: {team: [x]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: third}\nspec: {nodeName: n2, containers: [{name: c}]}\nstatus: {phase: Running, podIP: 10.0.3.1}\n",
                &web_in_rule("ns", "{action: Deny, source: {namespaceSelector: \"team == 'other'\"}}"),
            ],
            ("third/x", "app/web"),
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "ingress: default GlobalNetworkPolicy ns[1] Allow",
        ),
        row(
            "a Calico tier ordered below 1,000 beside an AdminNetworkPolicy: that order is not modelled, inconclusive",
            &[
                anp_deny,
                &tier("early", "{order: 10}"),
                &web_in("early-allow", "tier: early,", "Allow"),
            ],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "",
        ),
        row(
            "global() never selects a pod",
            &[&gnp("glob", "{selector: global(), ingress: [{action: Deny}]}")],
            IN,
            TCP_8080,
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "an unreadable Calico policy (the live source's placeholder) stays named, not evaluated",
            &[
                "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: \"(unreadable: needs list)\"}\n",
            ],
            IN,
            TCP_8080,
            Inconclusive,
            "EXTENDED_POLICY_PRESENT",
            "",
        ),
        row(
            "Tier objects unreadable: a verdict a tier other than default decides is inconclusive",
            &[
                "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\n",
                &web_in("sec-deny", "tier: security,", "Deny"),
            ],
            IN,
            TCP_8080,
            Inconclusive,
            "POLICY_UNREADABLE",
            "ingress: security GlobalNetworkPolicy sec-deny[0] Deny",
        ),
        row(
            "a selector rule toward an address with NetworkSets present: inconclusive",
            &[
                "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata: {name: ext, labels: {zone: ext}}\nspec: {nets: [93.184.216.0/24]}\n",
                &gnp(
                    "ext",
                    "{selector: \"app == 'client'\", egress: [{action: Deny, destination: {selector: \"zone == 'ext'\"}}, {action: Allow}]}",
                ),
            ],
            ("app/client", "93.184.216.34"),
            (Protocol::Tcp, 443),
            Inconclusive,
            "POLICY_UNREADABLE",
            "egress: default GlobalNetworkPolicy ext[1] Allow",
        ),
    ]
}

/// Ingress of app/web: `rule`, then Allow.
fn web_in_rule(name: &str, rule: &str) -> String {
    gnp(
        name,
        &format!("{{selector: \"app == 'web'\", ingress: [{rule}, {{action: Allow}}]}}"),
    )
}

fn web_rule_http() -> String {
    gnp(
        "http",
        "{selector: \"app == 'web'\", ingress: [{action: Deny, http: {methods: [POST]}}, {action: Allow}]}",
    )
}

fn build(objects: &[String]) -> ClusterIndex {
    common::build_on_base("calico", objects, Semantics::default())
}

/// The deciding step of a side's Calico walk, if one decided.
fn side_decision(s: &SideTrace) -> Option<String> {
    let step = s.calico.as_ref()?.decision()?;
    let dir = s.direction.as_str();
    Some(match step.action {
        CalicoStepAction::EndDeny => format!("{dir}: {} end Deny", step.tier),
        a => format!(
            "{dir}: {} {}[{}] {a:?}",
            step.tier,
            step.policy.as_deref().unwrap_or_default(),
            step.rule_index.unwrap_or_default()
        ),
    })
}

fn decided_by(t: &FlowTrace) -> String {
    [&t.egress, &t.ingress]
        .into_iter()
        .filter_map(side_decision)
        .collect::<Vec<_>>()
        .join("; ")
}

fn check(r: &Row, objects: &[String]) -> Vec<String> {
    let ix = build(objects);
    let what = format!("{}: {} -> {} {} {}", r.rule, r.from, r.to, r.proto, r.port);
    let mut out = Vec::new();
    common::diagnose_row(&ix, &what, (r.from, r.to), r.proto, r.port, r.verdict, r.code, &mut out);
    let (src, dst) = (endpoint(&ix, r.from), endpoint(&ix, r.to));
    let t = engine::evaluate(
        &ix,
        Flow {
            src,
            dst,
            protocol: r.proto,
            port: Some(r.port),
        },
    );
    if decided_by(&t) != r.decided_by {
        out.push(format!(
            "{what}: decided by {:?}, expected {:?}",
            decided_by(&t),
            r.decided_by
        ));
    }
    if r.verdict != Verdict::Inconclusive {
        common::matrix_agrees(&ix, &what, (src, dst), (r.proto, r.port), t.allowed(), &mut out);
    }
    out
}

#[test]
fn calico_rules_table() {
    let rows: Vec<Row> = [
        order_rows(),
        action_rows(),
        types_and_selector_rows(),
        entity_rows(),
        scope_rows(),
        mix_rows(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut failures = Vec::new();
    for r in &rows {
        failures.extend(check(r, &r.objects));
        let reversed: Vec<String> = r.objects.iter().rev().cloned().collect();
        failures.extend(
            check(r, &reversed)
                .into_iter()
                .map(|f| format!("(objects reversed) {f}")),
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures over {} rules:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    eprintln!("calico rules: {} rules checked, in both object orders", rows.len());
}

/// The step tools know Calico: `list_policies` summarises a Calico policy (tier, order, selector,
/// rules quoted), `match_selectors` names it with its selector, `check_ingress` names the rule that
/// decided and shows the tier walk, and `matrix` follows the walk.
#[test]
fn step_tools_know_calico_policies() {
    use netpol_debug::diagnosis::{check_side, steps};
    use netpol_debug::policy::Direction;
    let objects = vec![
        tier("security", "{order: 100}"),
        gnp(
            "sec",
            "{tier: security, order: 5, selector: \"app == 'web'\", ingress: [{action: Deny, protocol: TCP, source: {namespaceSelector: \"team == 'other'\"}, destination: {ports: [8080]}}, {action: Pass}]}",
        ),
    ];
    let ix = build(&objects);
    let list = steps::list_policies(&ix, None, 50).unwrap();
    let sec = list.other_policies.iter().find(|o| o.name == "sec").expect("listed");
    assert_eq!(
        sec.summary,
        [
            "tier security, order 5; selector app == \"web\"; types Ingress",
            "spec.ingress[0] {action: Deny, protocol: TCP, source: {namespaceSelector: 'team == \"other\"'}, destination: {ports: [8080]}}",
            "spec.ingress[1] {action: Pass}",
        ]
    );
    let web = steps::match_selectors(&ix, "app/web", 50).unwrap();
    assert!(
        web.other_kinds
            .iter()
            .any(|o| o.name == "sec" && o.why.contains("app == \"web\"")),
        "{:?}",
        web.other_kinds
    );
    let q = Query {
        from: "other/client".into(),
        to: "app/web".into(),
        protocol: Protocol::Tcp,
        port: Some(PortArg::Number(8080)),
    };
    let side = check_side(&ix, &q, Direction::Ingress).unwrap();
    assert_eq!(side.verdict, Verdict::Blocked);
    assert_eq!(
        side.side.admin_rule.as_deref(),
        Some("GlobalNetworkPolicy sec spec.ingress[0]: Deny (tier security)")
    );
    assert_eq!(side.side.calico_walk.len(), 1, "{:?}", side.side.calico_walk);
    assert_eq!(
        serde_json::to_value(side.root_causes[0].code).unwrap(),
        "CALICO_POLICY_DENY"
    );
    // Matrix: TCP 8080 denied, the rest passed to the profile (allowed).
    let (src, dst) = (endpoint(&ix, "other/client"), endpoint(&ix, "app/web"));
    let conns = engine::allowed_conns(&ix, &Selection::compute(&ix), src, dst);
    assert!(
        !conns.contains(Protocol::Tcp, 8080) && conns.contains(Protocol::Tcp, 8081),
        "{conns}"
    );
    assert!(conns.contains(Protocol::Udp, 8080), "{conns}");
}

/// Staged policies exist but never filter: a load warning names them, the verdict ignores them.
#[test]
fn staged_policies_are_named_and_never_filter() {
    let staged = web_in("deny-web", "", "Deny").replace("kind: GlobalNetworkPolicy", "kind: StagedGlobalNetworkPolicy");
    let ix = build(&[staged]);
    assert!(
        ix.warnings
            .iter()
            .any(|w| w.message.contains("staged policies are not enforced") && w.message.contains("deny-web")),
        "{:?}",
        ix.warnings
    );
    assert!(ix.calico.is_empty());
}
