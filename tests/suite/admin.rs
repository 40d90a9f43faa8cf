//! One row per AdminNetworkPolicy / BaselineAdminNetworkPolicy semantic rule, each naming the
//! rule it checks, on the `common::BASE` cluster. Every row checks the verdict, which admin rule
//! decided on each side, whether the verdict is certain, and that the connection-set computation
//! (`matrix`) agrees with `evaluate` (`diagnose`).

use netpol_debug::engine::{self, Flow, FlowTrace, Selection, SideTrace};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::Protocol;

use crate::common::{self, endpoint};

struct Row {
    rule: &'static str,
    policies: &'static str,
    from: &'static str,
    to: &'static str,
    proto: Protocol,
    port: u16,
    allowed: bool,
    /// The admin rules that decided, `egress: ANP name[i] Action; ingress: BANP default[i] Action`
    /// (empty: none).
    decided_by: &'static str,
    /// Some side is uncertain.
    uncertain: bool,
    /// A load warning must contain this.
    warning: &'static str,
    ipblock_matches_pods: bool,
}

#[allow(clippy::too_many_arguments)]
const fn row(
    rule: &'static str,
    policies: &'static str,
    from: &'static str,
    to: &'static str,
    proto: Protocol,
    port: u16,
    allowed: bool,
    decided_by: &'static str,
) -> Row {
    Row {
        rule,
        policies,
        from,
        to,
        proto,
        port,
        allowed,
        decided_by,
        uncertain: false,
        warning: "",
        ipblock_matches_pods: true,
    }
}

impl Row {
    const fn uncertain(mut self, warning: &'static str) -> Row {
        self.uncertain = true;
        self.warning = warning;
        self
    }

    const fn warns(mut self, warning: &'static str) -> Row {
        self.warning = warning;
        self
    }

    const fn ipblock_ignores_pods(mut self) -> Row {
        self.ipblock_matches_pods = false;
        self
    }
}

/// ANP `deny-from-app` (priority 10): ingress of pods in `app` from namespace team=app denied.
const ANP_DENY_FROM_APP: &str = "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-from-app}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: deny-app, action: Deny, from: [{namespaces: {matchLabels: {team: app}}}]}]
";

/// ANP `allow-from-app` (priority 10): ingress of pods in `app` from namespace team=app allowed.
const ANP_ALLOW_FROM_APP: &str = "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: allow-from-app}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: allow-app, action: Allow, from: [{namespaces: {matchLabels: {team: app}}}]}]
";

/// ANP `pass-from-app` (priority 10): ingress of pods in `app` from namespace team=app passed.
const ANP_PASS_FROM_APP: &str = "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: pass-from-app}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: pass-app, action: Pass, from: [{namespaces: {matchLabels: {team: app}}}]}]
";

/// NetworkPolicy: deny all ingress in `app`.
const NP_DENY_IN_APP: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-in, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
";

/// NetworkPolicy: allow all ingress in `app`.
const NP_ALLOW_IN_APP: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-in, namespace: app}
spec: {podSelector: {}, ingress: [{}]}
";

/// BANP: ingress of pods in `app` from every namespace denied.
const BANP_DENY_IN_APP: &str = "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: deny-all, action: Deny, from: [{namespaces: {}}]}]
";

fn rows() -> Vec<Row> {
    use Protocol::*;
    vec![
        // Tiers and precedence.
        row("priority order: the policy with the lower priority number decides first", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: a-deny}
spec:
  priority: 20
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: b-allow}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{name: allow-all, action: Allow, from: [{namespaces: {}}]}]
", "app/client", "app/web", Tcp, 8080, true, "ingress: ANP b-allow[0] Allow"),
        row("rules of one policy: the first matching rule wins", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: first-wins}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress:
  - {name: deny-app, action: Deny, from: [{namespaces: {matchLabels: {team: app}}}]}
  - {name: allow-all, action: Allow, from: [{namespaces: {}}]}
", "app/client", "app/web", Tcp, 8080, false, "ingress: ANP first-wins[0] Deny"),
        row("Allow overrides a NetworkPolicy deny", concat(ANP_ALLOW_FROM_APP, NP_DENY_IN_APP), "app/client", "app/web", Tcp, 8080, true, "ingress: ANP allow-from-app[0] Allow"),
        row("Deny overrides a NetworkPolicy allow", concat(ANP_DENY_FROM_APP, NP_ALLOW_IN_APP), "app/client", "app/web", Tcp, 8080, false, "ingress: ANP deny-from-app[0] Deny"),
        row("Pass defers to NetworkPolicy, which denies", concat(ANP_PASS_FROM_APP, NP_DENY_IN_APP), "app/client", "app/web", Tcp, 8080, false, "ingress: ANP pass-from-app[0] Pass"),
        row("Pass defers to NetworkPolicy, which allows; the baseline is not consulted", concat3(ANP_PASS_FROM_APP, NP_ALLOW_IN_APP, BANP_DENY_IN_APP), "app/client", "app/web", Tcp, 8080, true, "ingress: ANP pass-from-app[0] Pass"),
        row("Pass with no NetworkPolicy falls to the baseline", concat(ANP_PASS_FROM_APP, BANP_DENY_IN_APP), "app/client", "app/web", Tcp, 8080, false, "ingress: ANP pass-from-app[0] Pass; ingress: BANP default[0] Deny"),
        row("Pass skips the lower-priority AdminNetworkPolicies", concat(ANP_PASS_FROM_APP, "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: later-deny}
spec:
  priority: 20
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
"), "app/client", "app/web", Tcp, 8080, true, "ingress: ANP pass-from-app[0] Pass"),
        row("no AdminNetworkPolicy rule matches: NetworkPolicy decides", concat(ANP_DENY_FROM_APP, NP_DENY_IN_APP), "other/client", "app/web", Tcp, 8080, false, ""),
        row("the baseline applies only when no NetworkPolicy isolates the pod", concat(NP_ALLOW_IN_APP, BANP_DENY_IN_APP), "other/client", "app/web", Tcp, 8080, true, ""),
        row("the baseline denies when nothing isolates the pod", BANP_DENY_IN_APP, "other/client", "app/web", Tcp, 8080, false, "ingress: BANP default[0] Deny"),
        row("the baseline's first matching rule wins", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress:
  - {name: allow-app, action: Allow, from: [{namespaces: {matchLabels: {team: app}}}]}
  - {name: deny-all, action: Deny, from: [{namespaces: {}}]}
", "app/client", "app/web", Tcp, 8080, true, "ingress: BANP default[0] Allow"),
        row("nothing matches in any tier: allowed by default", concat(ANP_DENY_FROM_APP, BANP_DENY_IN_APP), "app/client", "other/db", Tcp, 5432, true, ""),
        // Ports.
        row("port-granular: a rule that names other ports does not decide this one", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-8080}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 8080}}]}]
", "app/client", "app/web", Tcp, 9090, true, ""),
        row("port-granular: the rule decides the ports it names", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-8080}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 8080}}]}]
", "app/client", "app/web", Tcp, 8080, false, "ingress: ANP deny-8080[0] Deny"),
        row("port-granular: ports an Allow rule does not name go on to NetworkPolicy", concat("
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: allow-8080}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Allow, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 8080}}]}]
", NP_DENY_IN_APP), "app/client", "app/web", Tcp, 9090, false, ""),
        row("portNumber protocol is part of the match (UDP 8080 is not TCP 8080)", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-8080}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 8080}}]}]
", "app/client", "app/web", Udp, 8080, true, ""),
        row("portRange covers start to end inclusive", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-range}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portRange: {protocol: TCP, start: 8000, end: 8080}}]}]
", "app/client", "app/web", Tcp, 8080, false, "ingress: ANP deny-range[0] Deny"),
        row("namedPort resolves on the destination pod, with the protocol it declares", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-dns}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{namedPort: dns}]}]
", "app/client", "app/web", Udp, 53, false, "ingress: ANP deny-dns[0] Deny"),
        row("namedPort matches only the declared protocol (TCP 53 is not the UDP dns port)", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-dns}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{namedPort: dns}]}]
", "app/client", "app/web", Tcp, 53, true, ""),
        row("a namedPort the destination pod does not declare matches nothing", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-nope}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{namedPort: nope}]}]
", "app/client", "app/web", Tcp, 8080, true, ""),
        // Peers.
        row("networks egress peer matches an address inside a CIDR", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-dns-servers}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress: [{action: Deny, to: [{networks: [8.8.8.0/24, 'fd00::/8']}]}]
", "app/client", "8.8.8.8", Udp, 53, false, "egress: ANP deny-dns-servers[0] Deny"),
        row("networks egress peer does not match an address outside its CIDRs", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-dns-servers}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress: [{action: Deny, to: [{networks: [8.8.8.0/24]}]}]
", "app/client", "1.1.1.1", Udp, 53, true, ""),
        row("networks matches pod IPs too (the API says so; the ipBlock semantics switch applies)", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-pod-cidr}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress: [{action: Deny, to: [{networks: [10.0.0.0/16]}]}]
", "app/client", "other/db", Tcp, 5432, false, "egress: ANP deny-pod-cidr[0] Deny"),
        row("networks never matches pod IPs with --ipblock-matches-pods=false", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-pod-cidr}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress: [{action: Deny, to: [{networks: [10.0.0.0/16]}]}]
", "app/client", "other/db", Tcp, 5432, true, "").ipblock_ignores_pods(),
        row("nodes egress peer matches the address of a Node whose labels match", "
apiVersion: v1
kind: Node
metadata: {name: n3, labels: {role: infra}}
status: {addresses: [{type: InternalIP, address: 192.168.0.12}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-infra-nodes}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress: [{action: Deny, to: [{nodes: {matchLabels: {role: infra}}}]}]
", "app/client", "192.168.0.12", Tcp, 10250, false, "egress: ANP deny-infra-nodes[0] Deny"),
        row("nodes egress peer does not match a Node whose labels do not match", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-infra-nodes}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress: [{action: Deny, to: [{nodes: {matchLabels: {role: infra}}}]}]
", "app/client", "192.168.0.10", Tcp, 10250, true, ""),
        row("pods peer: namespaceSelector AND podSelector", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-db}
spec:
  priority: 1
  subject: {namespaces: {}}
  egress: [{action: Deny, to: [{pods: {namespaceSelector: {matchLabels: {team: other}}, podSelector: {matchLabels: {app: db}}}}]}]
", "app/client", "other/db", Tcp, 5432, false, "egress: ANP deny-db[0] Deny"),
        row("pods peer: a pod whose labels fail podSelector is not matched", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-db}
spec:
  priority: 1
  subject: {namespaces: {}}
  egress: [{action: Deny, to: [{pods: {namespaceSelector: {matchLabels: {team: other}}, podSelector: {matchLabels: {app: db}}}}]}]
", "app/client", "other/client", Tcp, 80, true, ""),
        row("ingress peers never match an address outside the pods", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-all-in}
spec:
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
", "8.8.8.8", "app/web", Tcp, 8080, true, ""),
        row("hostNetwork pods are not matched by namespaces/pods peers", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-all-in}
spec:
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
", "app/hostagent", "app/web", Tcp, 8080, true, ""),
        // Subjects and directions.
        row("namespaces subject selects every pod of the matching namespaces", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: app-no-egress-to-other}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress: [{action: Deny, to: [{namespaces: {matchLabels: {team: other}}}]}]
", "app/client", "other/db", Tcp, 5432, false, "egress: ANP app-no-egress-to-other[0] Deny"),
        row("pods subject selects only the matching pods", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: web-no-egress-to-other}
spec:
  priority: 1
  subject: {pods: {namespaceSelector: {matchLabels: {team: app}}, podSelector: {matchLabels: {app: web}}}}
  egress: [{action: Deny, to: [{namespaces: {matchLabels: {team: other}}}]}]
", "app/client", "other/db", Tcp, 5432, true, ""),
        row("hostNetwork pods are never a subject", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-all-out}
spec:
  priority: 1
  subject: {namespaces: {}}
  egress: [{action: Deny, to: [{namespaces: {}}]}]
", "app/hostagent", "app/web", Tcp, 8080, true, ""),
        row("ingress rules apply at the destination", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: other-in}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: other}}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {team: app}}}]}]
", "app/client", "other/db", Tcp, 5432, false, "ingress: ANP other-in[0] Deny"),
        row("egress rules apply at the source only: the destination's egress rules do not", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: other-out}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: other}}}
  egress: [{action: Deny, to: [{namespaces: {matchLabels: {team: app}}}]}]
", "app/client", "other/db", Tcp, 5432, true, ""),
        row("egress and ingress both decide: an egress Allow does not override an ingress Deny", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: app-out}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress: [{action: Allow, to: [{namespaces: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: other-in}
spec:
  priority: 2
  subject: {namespaces: {matchLabels: {team: other}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
", "app/client", "other/db", Tcp, 5432, false, "egress: ANP app-out[0] Allow; ingress: ANP other-in[0] Deny"),
        // Same priority and malformed objects.
        row("same priority: a warning, evaluated by name, and a verdict their order decides is inconclusive", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: b-allow}
spec:
  priority: 7
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Allow, from: [{namespaces: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: a-deny}
spec:
  priority: 7
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
", "app/client", "app/web", Tcp, 8080, false, "ingress: ANP a-deny[0] Deny").uncertain("share priority 7"),
        row("same priority with the same verdict: a warning, but the verdict is certain", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: b-deny}
spec:
  priority: 7
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: a-deny}
spec:
  priority: 7
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
", "app/client", "app/web", Tcp, 8080, false, "ingress: ANP a-deny[0] Deny").warns("share priority 7"),
        row("malformed: an unknown action makes the policy unreadable and the verdict inconclusive", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bad-action}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Ok, from: [{namespaces: {}}]}]
", "app/client", "app/web", Tcp, 8080, true, "").uncertain("spec.ingress[0].action"),
        row("malformed: a subject with both namespaces and pods may select any pod", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: two-subjects}
spec:
  priority: 1
  subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}
  egress: [{action: Deny, to: [{namespaces: {}}]}]
", "other/client", "other/db", Tcp, 5432, true, "").uncertain("spec.subject"),
        row("malformed: a missing priority makes the policy unreadable", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: no-priority}
spec:
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
", "app/client", "app/web", Tcp, 8080, true, "").uncertain("spec.priority"),
        row("malformed: a bad CIDR makes the egress rules unreadable", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bad-cidr}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress: [{action: Deny, to: [{networks: [zc00::/8]}]}]
", "app/client", "8.8.8.8", Tcp, 443, true, "").uncertain("spec.egress[0].to[0].networks[0]"),
        row("malformed egress rules leave the readable ingress rules in force", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bad-cidr}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {team: other}}}]}]
  egress: [{action: Deny, to: [{networks: [zc00::/8]}]}]
", "other/client", "app/web", Tcp, 8080, false, "ingress: ANP bad-cidr[0] Deny").warns("spec.egress[0].to[0].networks[0]"),
        row("malformed: a port out of range makes the policy unreadable", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bad-port}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 70000}}]}]
", "app/client", "app/web", Tcp, 8080, true, "").uncertain("spec.ingress[0].ports[0].portNumber.port"),
        row("malformed: a baseline not named default is not evaluated", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: baseline}
spec:
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
", "app/client", "app/web", Tcp, 8080, true, "").uncertain("must be named \"default\""),
        row("malformed: a baseline rule cannot Pass", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Pass, from: [{namespaces: {}}]}]
", "app/client", "app/web", Tcp, 8080, true, "").uncertain("accepted: Allow, Deny"),
        row("an unreadable policy whose subject does not select the pod changes nothing", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bad-action}
spec:
  priority: 1
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}}
  ingress: [{action: Ok, from: [{namespaces: {}}]}]
", "app/client", "app/web", Tcp, 8080, true, "").warns("spec.ingress[0].action"),
        row("an unreadable lower-priority policy is not reached when a higher one decides", concat(ANP_DENY_FROM_APP, "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: bad-action}
spec:
  priority: 50
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Ok, from: [{namespaces: {}}]}]
"), "app/client", "app/web", Tcp, 8080, false, "ingress: ANP deny-from-app[0] Deny").warns("spec.ingress[0].action"),
        row("an unreadable baseline is not reached when a NetworkPolicy isolates the pod", concat(NP_ALLOW_IN_APP, "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {team: app}}}
  ingress: [{action: Deny, from: [{namespaces: {}, pods: {podSelector: {}}}]}]
"), "app/client", "app/web", Tcp, 8080, true, "").warns("spec.ingress[0].from[0]"),
        row("domainNames are not resolved: a verdict toward an address they may name is inconclusive", "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: allow-example}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: app}}}
  egress:
  - {name: allow-example, action: Allow, to: [{domainNames: [example.com]}]}
  - {name: deny-internet, action: Deny, to: [{networks: [0.0.0.0/0]}]}
", "app/client", "93.184.216.34", Tcp, 443, false, "egress: ANP allow-example[1] Deny").uncertain(""),
    ]
}

fn concat(a: &str, b: &str) -> &'static str {
    Box::leak(format!("{a}\n---\n{b}").into_boxed_str())
}

fn concat3(a: &str, b: &str, c: &str) -> &'static str {
    concat(concat(a, b), c)
}

fn build(policies: &str, semantics: Semantics) -> ClusterIndex {
    common::build_on_base("admin", &[policies.to_string()], semantics)
}

fn side_hits(s: &SideTrace) -> Vec<String> {
    let dir = s.direction.as_str();
    [(&s.admin, "ANP"), (&s.baseline, "BANP")]
        .into_iter()
        .filter_map(|(h, k)| {
            h.as_ref()
                .map(|h| format!("{dir}: {k} {}[{}] {}", h.policy, h.rule_index, h.action))
        })
        .collect()
}

fn decided_by(t: &FlowTrace) -> String {
    let mut v = side_hits(&t.egress);
    v.extend(side_hits(&t.ingress));
    v.join("; ")
}

#[test]
fn admin_network_policy_rules_table() {
    let mut failures = Vec::new();
    let rows = rows();
    for r in &rows {
        let ix = build(
            r.policies,
            Semantics {
                ipblock_matches_pods: r.ipblock_matches_pods,
            },
        );
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
        let what = format!("{}: {} -> {} {} {}", r.rule, r.from, r.to, r.proto, r.port);
        if t.allowed() != r.allowed {
            failures.push(format!("{what}: expected allowed={}, got {}", r.allowed, t.allowed()));
        }
        let by = decided_by(&t);
        if by != r.decided_by {
            failures.push(format!("{what}: expected decided by {:?}, got {by:?}", r.decided_by));
        }
        let uncertain: Vec<&str> = [&t.egress, &t.ingress]
            .iter()
            .flat_map(|s| s.uncertain.iter().map(|u| u.reason.as_str()))
            .collect();
        if uncertain.is_empty() == r.uncertain {
            failures.push(format!("{what}: expected uncertain={}, got {uncertain:?}", r.uncertain));
        }
        if !r.warning.is_empty() && !ix.warnings.iter().any(|w| w.to_string().contains(r.warning)) {
            failures.push(format!(
                "{what}: no warning contains {:?}; warnings: {:?}",
                r.warning,
                ix.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>()
            ));
        }
        let conns = engine::allowed_conns(&ix, &Selection::compute(&ix), src, dst);
        if conns.contains(r.proto, r.port) != t.allowed() {
            failures.push(format!(
                "{what}: evaluate says {} but the connection set {conns} disagrees",
                t.allowed()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures over {} rules:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    eprintln!("admin network policy rules: {} rules checked", rows.len());
}

/// Connection sets across the tiers: each tier decides only what the tiers before it left.
#[test]
fn connection_sets_follow_the_tiers() {
    const ANP: &str = "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: web-in}
spec:
  priority: 1
  subject: {pods: {namespaceSelector: {matchLabels: {team: app}}, podSelector: {matchLabels: {app: web}}}}
  ingress:
  - {name: allow-http, action: Allow, from: [{namespaces: {}}], ports: [{namedPort: http}]}
  - {name: pass-udp, action: Pass, from: [{namespaces: {}}], ports: [{portRange: {protocol: UDP, start: 1, end: 65535}}]}
  - {name: deny-rest, action: Deny, from: [{namespaces: {}}]}
";
    const NP_UDP_53: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns-only, namespace: app}
spec: {podSelector: {}, ingress: [{ports: [{protocol: UDP, port: 53}]}]}
";
    const BANP_UDP: &str = "
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{portRange: {protocol: UDP, start: 5000, end: 6000}}]}]
";
    for (case, policies, want) in [
        (
            "ANP alone: Allow http, the rest of TCP and SCTP denied, UDP passed to the default allow",
            ANP.to_string(),
            "TCP 8080,UDP 1-65535",
        ),
        (
            "passed UDP decided by the NetworkPolicy",
            format!("{ANP}\n---\n{NP_UDP_53}"),
            "TCP 8080,UDP 53",
        ),
        (
            "passed UDP decided by the baseline",
            format!("{ANP}\n---\n{BANP_UDP}"),
            "TCP 8080,UDP 1-4999,6001-65535",
        ),
        (
            "no ANP: the baseline denies its range, every other connection is allowed",
            BANP_UDP.to_string(),
            "SCTP 1-65535,TCP 1-65535,UDP 1-4999,6001-65535",
        ),
    ] {
        let ix = build(&policies, Semantics::default());
        let (src, dst) = (endpoint(&ix, "other/client"), endpoint(&ix, "app/web"));
        let conns = engine::allowed_conns(&ix, &Selection::compute(&ix), src, dst);
        assert_eq!(conns.to_string(), want, "{case}");
        for (proto, port) in [
            (Protocol::Tcp, 8080),
            (Protocol::Tcp, 80),
            (Protocol::Udp, 53),
            (Protocol::Udp, 5353),
            (Protocol::Sctp, 9000),
        ] {
            let t = engine::evaluate(
                &ix,
                Flow {
                    src,
                    dst,
                    protocol: proto,
                    port: Some(port),
                },
            );
            assert_eq!(t.allowed(), conns.contains(proto, port), "{case}: {proto} {port}");
        }
    }
}

/// Without AdminNetworkPolicy objects nothing changes: no admin hit anywhere.
#[test]
fn no_admin_policy_no_admin_hit() {
    let ix = build(NP_DENY_IN_APP, Semantics::default());
    assert!(ix.admin.is_empty());
    let t = engine::evaluate(
        &ix,
        Flow {
            src: endpoint(&ix, "app/client"),
            dst: endpoint(&ix, "app/web"),
            protocol: Protocol::Tcp,
            port: Some(8080),
        },
    );
    assert!(!t.allowed());
    assert!(t.egress.admin.is_none() && t.egress.baseline.is_none());
    assert!(t.ingress.admin.is_none() && t.ingress.baseline.is_none());
}
