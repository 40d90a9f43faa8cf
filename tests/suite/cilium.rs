//! One row per Cilium (`CiliumNetworkPolicy`, `CiliumClusterwideNetworkPolicy`) semantic rule we
//! evaluate at L3/L4, each naming the rule, on the `common::BASE` cluster. Every row is run in
//! both policy orders (no Cilium verdict depends on the order of objects), checks the verdict, the
//! first root cause's code, a text the causes must contain, and that `matrix` (connection sets)
//! agrees with `diagnose` whenever the verdict is certain.
//!
//! Sources: cilium/cilium `Documentation/security/policy/{language,intro,kubernetes}.rst`,
//! `pkg/policy/api/{rule,ingress,egress,l4,entity}.go` (see ARCHITECTURE.md, "Cilium").

use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::diagnosis::{Query, diagnose};
use netpol_debug::engine::{self, Flow, Selection};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::Protocol;
use netpol_debug::report::Verdict;
use netpol_debug::snapshot;

use crate::common::{self, endpoint};
use Protocol::{Sctp, Tcp, Udp};
use Verdict::{Allowed, Blocked, Inconclusive};

struct Row {
    rule: &'static str,
    docs: Vec<String>,
    from: &'static str,
    to: &'static str,
    proto: Protocol,
    port: u16,
    verdict: Verdict,
    code: &'static str,
    /// The root causes' summaries or evidence must contain this ("" for none).
    says: &'static str,
}

#[allow(clippy::too_many_arguments)]
fn row(
    rule: &'static str,
    docs: &[String],
    (from, to): (&'static str, &'static str),
    (proto, port): (Protocol, u16),
    verdict: Verdict,
    code: &'static str,
    says: &'static str,
) -> Row {
    Row {
        rule,
        docs: docs.to_vec(),
        from,
        to,
        proto,
        port,
        verdict,
        code,
        says,
    }
}

fn cnp(name: &str, ns: &str, spec: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n"
    )
}

fn ccnp(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    )
}

fn np(name: &str, ns: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {spec}\n"
    )
}

/// A CNP in `app` on web's ingress with these rules.
fn web_in(rules: &str) -> String {
    cnp(
        "web-in",
        "app",
        &format!("{{endpointSelector: {{matchLabels: {{app: web}}}}, ingress: {rules}}}"),
    )
}

/// A CNP in `app` on client's egress with these rules.
fn client_out(rules: &str) -> String {
    cnp(
        "client-out",
        "app",
        &format!("{{endpointSelector: {{matchLabels: {{app: client}}}}, egress: {rules}}}"),
    )
}

/// A CNP in `app` denying client's egress with these rules.
fn client_deny(rules: &str) -> String {
    cnp(
        "client-deny",
        "app",
        &format!("{{endpointSelector: {{matchLabels: {{app: client}}}}, egressDeny: {rules}}}"),
    )
}

/// The API server's Service and Endpoints (on node n1's address).
fn apiserver() -> String {
    "apiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, namespace: default}\nspec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443, targetPort: 6443}]}\n---\napiVersion: v1\nkind: Endpoints\nmetadata: {name: kubernetes, namespace: default}\nsubsets: [{addresses: [{ip: 192.168.0.10}], ports: [{name: https, port: 6443}]}]\n".to_string()
}

const EXT: &str = "203.0.113.9";
const C2W: (&str, &str) = ("app/client", "app/web");
const OC2W: (&str, &str) = ("other/client", "app/web");

fn selection_rows() -> Vec<Row> {
    let from_client = "[{fromEndpoints: [{matchLabels: {app: client}}]}]";
    vec![
        row(
            "a CNP's endpointSelector {} selects only its own namespace",
            &[cnp("all", "other", "{endpointSelector: {}, ingress: [{}]}")],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "a rule with an ingress section puts the endpoint into default deny",
            &[web_in("[{fromEndpoints: [{matchLabels: {app: db}}]}]")],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "CiliumNetworkPolicy app/web-in",
        ),
        row(
            "fromEndpoints matches a pod of the CNP's namespace",
            &[web_in(from_client)],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "CiliumNetworkPolicy app/web-in spec.ingress[0]",
        ),
        row(
            "fromEndpoints without a namespace label is confined to the CNP's namespace",
            &[web_in(from_client)],
            OC2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "(namespace app)",
        ),
        row(
            "a k8s:io.kubernetes.pod.namespace label lifts the confinement",
            &[web_in(
                "[{fromEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': other, app: client}}]}]",
            )],
            OC2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "a CCNP's peer selector matches any namespace",
            &[ccnp(
                "web-in",
                "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]}",
            )],
            OC2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "CiliumClusterwideNetworkPolicy web-in",
        ),
        row(
            "namespace labels through io.cilium.k8s.namespace.labels.*",
            &[ccnp(
                "web-in",
                "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {'k8s:io.cilium.k8s.namespace.labels.team': other}}]}]}",
            )],
            OC2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "namespace labels that do not match",
            &[ccnp(
                "web-in",
                "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {'k8s:io.cilium.k8s.namespace.labels.team': other}}]}]}",
            )],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
        row(
            "label source prefixes any: and k8s:",
            &[cnp(
                "p",
                "app",
                "{endpointSelector: {matchLabels: {'any:app': web}}, ingress: [{fromEndpoints: [{matchLabels: {'k8s:app': client}}]}]}",
            )],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "a rule with an egress section puts the endpoint into default deny",
            &[client_out("[{toEndpoints: [{matchLabels: {app: db}}]}]")],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "egress",
        ),
        row(
            "enableDefaultDeny.ingress: false leaves the endpoint open",
            &[cnp(
                "p",
                "app",
                "{endpointSelector: {matchLabels: {app: web}}, enableDefaultDeny: {ingress: false}, ingress: [{fromEndpoints: [{matchLabels: {app: db}}]}]}",
            )],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "an ingressDeny section alone also puts the endpoint into default deny",
            &[cnp(
                "p",
                "app",
                "{endpointSelector: {matchLabels: {app: web}}, ingressDeny: [{fromEndpoints: [{matchLabels: {app: db}}]}]}",
            )],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
        row(
            "a host policy (nodeSelector) does not select pods",
            &[ccnp("host", "{nodeSelector: {}, ingress: [{}]}")],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_NO_POLICY",
            "",
        ),
        row(
            "a host policy makes a hostNetwork pod's side undecided (out of scope; DATAPLANE_DEPENDENT after HOSTNETWORK_EXEMPT)",
            &[ccnp("host", "{nodeSelector: {}, ingress: [{fromEntities: [cluster]}]}")],
            ("app/client", "app/hostagent"),
            (Tcp, 9100),
            Inconclusive,
            "HOSTNETWORK_EXEMPT",
            "host policy",
        ),
        row(
            "a Cilium policy that cannot be read may select the pod",
            &[cnp("broken", "app", "null\nspecs: 5")],
            C2W,
            (Tcp, 8080),
            Inconclusive,
            "POLICY_UNREADABLE",
            "could not be read",
        ),
        row(
            "specs: each rule selects on its own",
            &[cnp(
                "multi",
                "app",
                "null\nspecs:\n- {endpointSelector: {matchLabels: {app: db}}, ingress: [{}]}\n- {endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]}",
            )],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "specs[1].ingress[0]",
        ),
        row(
            "toEndpoints without a namespace label is confined to the CNP's namespace (egress)",
            &[client_out("[{toEndpoints: [{matchLabels: {app: db}}]}]")],
            ("app/client", "other/db"),
            (Tcp, 5432),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
    ]
}

fn composition_rows() -> Vec<Row> {
    let np_all = np(
        "allow-all",
        "app",
        "{podSelector: {matchLabels: {app: web}}, ingress: [{}]}",
    );
    let deny_client = cnp(
        "deny-client",
        "app",
        "{endpointSelector: {matchLabels: {app: web}}, ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}]}]}",
    );
    let allow_all = cnp(
        "allow-all-c",
        "app",
        "{endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEntities: [all]}]}",
    );
    let np_db = np(
        "from-db",
        "app",
        "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {matchLabels: {app: db}}}]}]}",
    );
    let np_deny = np(
        "deny-in",
        "app",
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}",
    );
    vec![
        row(
            "a CCNP endpointSelector {} selects every pod of the cluster",
            &[ccnp("all", "{endpointSelector: {}, ingress: [{}]}")],
            OC2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "CiliumClusterwideNetworkPolicy all",
        ),
        row(
            "a CCNP deny wins over a CNP allow",
            &[
                ccnp(
                    "deny-other",
                    "{endpointSelector: {}, ingressDeny: [{fromEndpoints: [{matchLabels: {'k8s:io.kubernetes.pod.namespace': other}}]}]}",
                ),
                web_in("[{fromEntities: [cluster]}]"),
            ],
            OC2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_POLICY_DENY",
            "CiliumClusterwideNetworkPolicy deny-other",
        ),
        row(
            "an ingressDeny wins over a NetworkPolicy allow",
            &[np_all.clone(), deny_client.clone()],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_POLICY_DENY",
            "spec.ingressDeny[0]",
        ),
        row(
            "an ingressDeny wins over a Cilium allow",
            &[allow_all, deny_client.clone()],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_POLICY_DENY",
            "",
        ),
        row(
            "a deny that does not match the peer leaves the allow",
            &[np_all, deny_client],
            OC2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "allows are the union of NetworkPolicy and Cilium rules",
            &[np_db, web_in("[{fromEndpoints: [{matchLabels: {app: client}}]}]")],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "CiliumNetworkPolicy app/web-in",
        ),
        row(
            "only a NetworkPolicy isolates: the NetworkPolicy code stays",
            &[
                np_deny,
                cnp(
                    "out",
                    "app",
                    "{endpointSelector: {matchLabels: {app: web}}, egress: [{}]}",
                ),
            ],
            C2W,
            (Tcp, 8080),
            Blocked,
            "DEFAULT_DENY_INGRESS",
            "",
        ),
        row(
            "an egressDeny toEntities world wins over an ipBlock allow",
            &[
                np(
                    "https",
                    "app",
                    "{podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}",
                ),
                client_deny("[{toEntities: [world]}]"),
            ],
            ("app/client", EXT),
            (Tcp, 443),
            Blocked,
            "CILIUM_POLICY_DENY",
            "",
        ),
    ]
}

fn l3l4_rows() -> Vec<Row> {
    let ports = |p: &str| {
        web_in(&format!(
            "[{{fromEndpoints: [{{matchLabels: {{app: client}}}}], toPorts: [{{ports: [{p}]}}]}}]"
        ))
    };
    let out = |peer: &str| client_out(&format!("[{{{peer}}}]"));
    vec![
        row(
            "toPorts by number",
            &[ports("{port: '8080', protocol: TCP}")],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "toPorts: other ports stay denied",
            &[ports("{port: '8080', protocol: TCP}")],
            C2W,
            (Tcp, 9090),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
        row(
            "toPorts by name, resolved on the destination",
            &[ports("{port: http, protocol: TCP}")],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "toPorts endPort makes a range",
            &[ports("{port: '8000', endPort: 8100, protocol: TCP}")],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "toPorts endPort: outside the range",
            &[ports("{port: '8000', endPort: 8100, protocol: TCP}")],
            C2W,
            (Tcp, 8101),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
        row(
            "protocol ANY covers UDP",
            &[ports("{port: '53', protocol: ANY}")],
            C2W,
            (Udp, 53),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "no protocol is ANY",
            &[ports("{port: '9000'}")],
            C2W,
            (Sctp, 9000),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "a UDP port does not allow TCP",
            &[ports("{port: '53', protocol: UDP}")],
            C2W,
            (Tcp, 53),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
        row(
            "SCTP",
            &[ports("{port: '9000', protocol: SCTP}")],
            C2W,
            (Sctp, 9000),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "a rule with toPorts and no L3 field allows any peer",
            &[web_in("[{toPorts: [{ports: [{port: '8080'}]}]}]")],
            OC2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "an empty rule {} matches nothing",
            &[web_in("[{}]")],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "matches nothing",
        ),
        row(
            "toPorts: [] restricts no port",
            &[web_in("[{fromEndpoints: [{matchLabels: {app: client}}], toPorts: []}]")],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "an unreadable peer selector is not a confident no-match",
            &[web_in("[{fromEndpoints: [{matchLabels: {app: [client]}}]}]")],
            C2W,
            (Tcp, 8080),
            Inconclusive,
            "POLICY_UNREADABLE",
            "could not be read",
        ),
        row(
            "an explicitly empty fromEndpoints list selects nothing",
            &[web_in("[{fromEndpoints: [], toPorts: [{ports: [{port: '8080'}]}]}]")],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
        row(
            "L3 peers are ORed",
            &[web_in(
                "[{fromEndpoints: [{matchLabels: {app: db}}, {matchLabels: {app: client}}]}]",
            )],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "L3 fields are ORed",
            &[web_in(
                "[{fromEntities: [world], fromEndpoints: [{matchLabels: {app: client}}]}]",
            )],
            C2W,
            (Tcp, 8080),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "entity world: outside the cluster",
            &[out("toEntities: [world]")],
            ("app/client", EXT),
            (Tcp, 443),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "entity world does not include pods",
            &[out("toEntities: [world]")],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "entity world",
        ),
        row(
            "entity cluster: pods of every namespace",
            &[out("toEntities: [cluster]")],
            ("app/client", "other/db"),
            (Tcp, 5432),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "entity cluster does not include the world",
            &[out("toEntities: [cluster]")],
            ("app/client", EXT),
            (Tcp, 443),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
        row(
            "entity all",
            &[out("toEntities: [all]")],
            ("app/client", EXT),
            (Tcp, 443),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "entity host toward a node: agent-dependent",
            &[out("toEntities: [host]")],
            ("app/client", "192.168.0.11"),
            (Tcp, 10250),
            Inconclusive,
            "DATAPLANE_DEPENDENT",
            "entity host",
        ),
        row(
            "entity kube-apiserver: the endpoints of default/kubernetes",
            &[out("toEntities: [kube-apiserver]"), apiserver()],
            ("app/client", "192.168.0.10"),
            (Tcp, 6443),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "entity kube-apiserver: another node is not it",
            &[out("toEntities: [kube-apiserver]"), apiserver()],
            ("app/client", "192.168.0.11"),
            (Tcp, 6443),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "not one",
        ),
        row(
            "entity kube-apiserver without the endpoints: agent-dependent",
            &[out("toEntities: [kube-apiserver]")],
            ("app/client", "192.168.0.10"),
            (Tcp, 6443),
            Inconclusive,
            "DATAPLANE_DEPENDENT",
            "kube-apiserver",
        ),
        row(
            "entity kube-apiserver is not a pod",
            &[out("toEntities: [kube-apiserver]")],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
        row(
            "toCIDR matches an outside address",
            &[out("toCIDR: [203.0.113.0/24]")],
            ("app/client", EXT),
            (Tcp, 443),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "toCIDRSet except removes the address",
            &[out("toCIDRSet: [{cidr: 203.0.113.0/24, except: [203.0.113.9/32]}]")],
            ("app/client", EXT),
            (Tcp, 443),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "except",
        ),
        row(
            "a CIDR never matches a Cilium-managed pod",
            &[out("toCIDR: [10.0.0.0/8]")],
            C2W,
            (Tcp, 8080),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "never matches a Cilium-managed pod",
        ),
        row(
            "a CIDR does not match node addresses",
            &[out("toCIDR: [192.168.0.0/16]")],
            ("app/client", "192.168.0.10"),
            (Tcp, 10250),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
    ]
}

/// A Service in `other` (selector-less unless `selector` is given) with these labels, and its
/// Endpoints when `addresses` is given.
fn service(name: &str, labels: &str, selector: Option<&str>, addresses: Option<&[&str]>) -> String {
    let sel = selector.map(|s| format!(", selector: {{{s}}}")).unwrap_or_default();
    let mut out = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: other, labels: {{{labels}}}}}\nspec: {{ports: [{{port: 443}}]{sel}}}\n"
    );
    if let Some(ips) = addresses {
        let ips: Vec<String> = ips.iter().map(|ip| format!("{{ip: {ip}}}")).collect();
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Endpoints\nmetadata: {{name: {name}, namespace: other}}\nsubsets: [{{addresses: [{}], ports: [{{port: 443}}]}}]\n",
            ips.join(", ")
        ));
    }
    out
}

/// The Cilium agent's DaemonSet with this image tag (how a snapshot tells the agent's version).
fn agent(tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: cilium, namespace: kube-system}}\nspec: {{selector: {{matchLabels: {{k8s-app: cilium}}}}, template: {{metadata: {{labels: {{k8s-app: cilium}}}}, spec: {{containers: [{{name: cilium-agent, image: 'quay.io/cilium/cilium:{tag}'}}]}}}}}}\n"
    )
}

/// `toServices` (language.rst "Services based"; `pkg/policy/k8s/service.go`).
fn services_rows() -> Vec<Row> {
    let to = |svc: &str| client_out(&format!("[{{toServices: [{svc}]}}]"));
    let ext_db = || to("{k8sService: {serviceName: ext-db, namespace: other}}");
    let ext = || service("ext-db", "external: 'yes'", None, Some(&[EXT]));
    let db_svc = || service("db", "app: db", Some("app: db"), Some(&["10.0.2.2"]));
    let to_db = || to("{k8sService: {serviceName: db, namespace: other}}");
    vec![
        row(
            "toServices: a selector-less Service stands for its Endpoints' addresses (generated toCIDRSet)",
            &[ext_db(), ext()],
            ("app/client", EXT),
            (Tcp, 443),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "toServices: an address outside the Service's Endpoints is not matched",
            &[ext_db(), ext()],
            ("app/client", "198.51.100.7"),
            (Tcp, 443),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "endpoint addresses",
        ),
        row(
            "toServices: a selector-less Service whose Endpoints are not in the snapshot is undecided",
            &[ext_db(), service("ext-db", "external: 'yes'", None, None)],
            ("app/client", EXT),
            (Tcp, 443),
            Inconclusive,
            "DATAPLANE_DEPENDENT",
            "Endpoints are not in the snapshot",
        ),
        row(
            "toServices: a snapshot without Services cannot tell what it names",
            &[ext_db()],
            ("app/client", EXT),
            (Tcp, 443),
            Inconclusive,
            "DATAPLANE_DEPENDENT",
            "the snapshot has none",
        ),
        row(
            "toServices: naming no Service of the snapshot matches nothing",
            &[to("{k8sService: {serviceName: gone, namespace: other}}"), ext()],
            ("app/client", EXT),
            (Tcp, 443),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "names no Service",
        ),
        row(
            "toServices: k8sService without a namespace names the Service in every namespace",
            &[to("{k8sService: {serviceName: ext-db}}"), ext()],
            ("app/client", EXT),
            (Tcp, 443),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "toServices: k8sServiceSelector selects Services by their own labels",
            &[
                to("{k8sServiceSelector: {selector: {matchLabels: {external: 'yes'}}}}"),
                ext(),
            ],
            ("app/client", EXT),
            (Tcp, 443),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "toServices: k8sServiceSelector with a namespace names only that namespace's Services",
            &[
                to("{k8sServiceSelector: {selector: {matchLabels: {external: 'yes'}}, namespace: app}}"),
                ext(),
            ],
            ("app/client", EXT),
            (Tcp, 443),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "names no Service",
        ),
        row(
            "toServices: a Service with a selector is undecided when the agent's version is unknown (1.17 changed it)",
            &[to_db(), db_svc()],
            ("app/client", "other/db"),
            (Tcp, 5432),
            Inconclusive,
            "DATAPLANE_DEPENDENT",
            "1.17",
        ),
        row(
            "toServices: before Cilium 1.17 a Service with a selector is ignored",
            &[to_db(), db_svc(), agent("v1.16.5")],
            ("app/client", "other/db"),
            (Tcp, 5432),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "before 1.17",
        ),
        row(
            "toServices: from Cilium 1.17 a Service with a selector stands for the pods it selects",
            &[to_db(), db_svc(), agent("v1.17.2")],
            ("app/client", "other/db"),
            (Tcp, 5432),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "toServices: a Service with a selector that selects other pods matches under every version",
            &[to_db(), db_svc()],
            ("app/client", "other/client"),
            (Tcp, 5432),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "before 1.17",
        ),
        row(
            "toServices with toPorts: Cilium rejects the policy, so it may not apply",
            &[
                client_out(
                    "[{toServices: [{k8sService: {serviceName: ext-db}}], toPorts: [{ports: [{port: '443'}]}]}]",
                ),
                ext(),
            ],
            ("app/client", EXT),
            (Tcp, 443),
            Inconclusive,
            "POLICY_UNREADABLE",
            "combines toServices with toPorts",
        ),
    ]
}

fn dataplane_rows() -> Vec<Row> {
    let out = |peer: &str| client_out(&format!("[{{{peer}}}]"));
    let np_all_out = np(
        "all-out",
        "app",
        "{podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{}]}",
    );
    vec![
        row(
            "toFQDNs is resolved at run time",
            &[out("toFQDNs: [{matchName: api.example.com}]")],
            ("app/client", EXT),
            (Tcp, 443),
            Inconclusive,
            "DATAPLANE_DEPENDENT",
            "toFQDNs",
        ),
        row(
            "toGroups is resolved through the cloud",
            &[out("toGroups: [{aws: {securityGroupsIds: [sg-1]}}]")],
            ("app/client", EXT),
            (Tcp, 443),
            Inconclusive,
            "DATAPLANE_DEPENDENT",
            "toGroups",
        ),
        row(
            "an undecided allow does not matter when another rule allows",
            &[out("toFQDNs: [{matchName: api.example.com}]"), np_all_out.clone()],
            ("app/client", EXT),
            (Tcp, 443),
            Allowed,
            "ALLOWED_BY_POLICY",
            "",
        ),
        row(
            "an undecided deny makes an allow inconclusive",
            &[np_all_out, client_deny("[{toFQDNs: [{matchName: api.example.com}]}]")],
            ("app/client", EXT),
            (Tcp, 443),
            Inconclusive,
            "DATAPLANE_DEPENDENT",
            "may deny",
        ),
        row(
            "an L7 rule: L4 allows, the proxy may refuse",
            &[web_in(
                "[{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: '8080', protocol: TCP}], rules: {http: [{method: GET}]}}]}]",
            )],
            C2W,
            (Tcp, 8080),
            Inconclusive,
            "DATAPLANE_DEPENDENT",
            "L7",
        ),
        row(
            "an L7 rule: L4 denies other ports",
            &[web_in(
                "[{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: '8080', protocol: TCP}], rules: {http: [{method: GET}]}}]}]",
            )],
            C2W,
            (Tcp, 9090),
            Blocked,
            "CILIUM_NO_MATCHING_RULE",
            "",
        ),
    ]
}

fn build(docs: &[String]) -> ClusterIndex {
    common::build_on_base("cilium", docs, Semantics::default())
}

/// Everything one row checks in one policy order, as failures.
fn check(r: &Row, docs: &[String], order: &str) -> Vec<String> {
    let ix = build(docs);
    let what = format!("{} ({order}): {} -> {} {} {}", r.rule, r.from, r.to, r.proto, r.port);
    let mut out = Vec::new();
    let d = common::diagnose_row(&ix, &what, (r.from, r.to), r.proto, r.port, r.verdict, r.code, &mut out);
    let texts: Vec<String> = d
        .root_causes
        .iter()
        .flat_map(|c| c.evidence.iter().cloned().chain([c.summary.clone()]))
        .collect();
    if !r.says.is_empty() && !texts.iter().any(|w| w.contains(r.says)) {
        out.push(format!("{what}: nothing says {:?}: {texts:#?}", r.says));
    }
    if d.root_causes
        .iter()
        .any(|c| serde_json::to_value(c.code).unwrap() == "EXTENDED_POLICY_PRESENT")
    {
        out.push(format!(
            "{what}: Cilium policies are evaluated, not EXTENDED_POLICY_PRESENT"
        ));
    }
    if r.verdict != Verdict::Inconclusive {
        let (src, dst) = (endpoint(&ix, r.from), endpoint(&ix, r.to));
        let flow = Flow {
            src,
            dst,
            protocol: r.proto,
            port: Some(r.port),
        };
        let t = engine::evaluate(&ix, flow);
        common::matrix_agrees(&ix, &what, (src, dst), (r.proto, r.port), t.allowed(), &mut out);
    }
    out
}

#[test]
fn cilium_rules_table() {
    let rows: Vec<Row> = [
        selection_rows(),
        composition_rows(),
        l3l4_rows(),
        services_rows(),
        dataplane_rows(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut failures = Vec::new();
    for r in &rows {
        failures.extend(check(r, &r.docs, "as written"));
        if r.docs.len() > 1 {
            let reversed: Vec<String> = r.docs.iter().rev().cloned().collect();
            failures.extend(check(r, &reversed, "reversed"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures over {} rules:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    eprintln!("cilium rules: {} rules checked", rows.len());
}

/// The step tools show Cilium policies: `list_policies` and `match_selectors` with their
/// selectors and quoted rules (tier `Cilium`), `match_selectors` names what isolates the pod,
/// `check_cni` says which dialects are evaluated, `matrix` uses the rules.
#[test]
fn step_tools_know_cilium_policies() {
    use netpol_debug::diagnosis::steps;
    let ix = build(&[web_in(
        "[{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: '8080'}]}]}]",
    )]);
    let list = steps::list_policies(&ix, Some("app"), 50).unwrap();
    let entry = list
        .cluster_policies
        .iter()
        .find(|c| c.policy == "CiliumNetworkPolicy app/web-in")
        .unwrap_or_else(|| panic!("{:#?}", list.cluster_policies));
    assert_eq!(entry.tier.as_deref(), Some("Cilium"));
    assert!(
        entry
            .subject
            .as_deref()
            .unwrap_or_default()
            .contains("spec.endpointSelector"),
        "{entry:?}"
    );
    assert!(
        entry
            .rules
            .iter()
            .any(|r| r.starts_with("spec.ingress[0]: Allow {fromEndpoints:")),
        "{entry:?}"
    );
    let sel = steps::match_selectors(&ix, "app/web", 50).unwrap();
    assert!(
        sel.ingress_isolated_by
            .contains(&"CiliumNetworkPolicy app/web-in".to_string()),
        "{sel:?}"
    );
    assert!(
        sel.cluster_policies
            .iter()
            .any(|c| c.policy == "CiliumNetworkPolicy app/web-in")
    );
    let cni = steps::check_cni(&ix);
    assert!(
        cni.evaluates.iter().any(|d| d.starts_with("Cilium")),
        "{:?}",
        cni.evaluates
    );
    assert!(
        !cni.named_only.iter().any(|d| d.starts_with("Cilium")),
        "{:?}",
        cni.named_only
    );
    let (client, web, other) = (
        endpoint(&ix, "app/client"),
        endpoint(&ix, "app/web"),
        endpoint(&ix, "other/client"),
    );
    let sel = Selection::compute(&ix);
    assert!(engine::allowed_conns(&ix, &sel, client, web).contains(Tcp, 8080));
    assert!(!engine::allowed_conns(&ix, &sel, client, web).contains(Tcp, 8081));
    assert!(engine::allowed_conns(&ix, &sel, other, web).is_empty());
}

/// Without Node objects an address that is no pod may be a node's (identity host/remote-node, not
/// world): a rule decides it only when a node and an outside address would get the same answer.
#[test]
fn without_nodes_an_address_is_decided_only_where_node_and_world_agree() {
    let base: Vec<&str> = common::BASE
        .split("\n---\n")
        .filter(|d| !d.contains("kind: Node\n"))
        .collect();
    let out = |peer: &str| client_out(&format!("[{{{peer}}}]"));
    for (peer, verdict, code) in [
        ("toEntities: [world]", Inconclusive, "DATAPLANE_DEPENDENT"),
        ("toEntities: [all]", Allowed, "ALLOWED_BY_POLICY"),
        ("toCIDR: [198.51.100.0/24]", Blocked, "CILIUM_NO_MATCHING_RULE"),
        ("toEntities: [cluster]", Inconclusive, "DATAPLANE_DEPENDENT"),
    ] {
        let yaml = format!("{}\n---\n{}", base.join("\n---\n"), out(peer));
        let snap = snapshot::load_str("no-nodes.yaml", &yaml).expect("parses");
        let ix = ClusterIndex::build(&snap, Semantics::default());
        assert!(ix.nodes.is_empty());
        let q = Query {
            from: "app/client".into(),
            to: EXT.into(),
            protocol: Tcp,
            port: Some(PortArg::Number(443)),
        };
        let d = diagnose(&ix, &q).unwrap();
        let first = d.root_causes.first().map(|c| serde_json::to_value(c.code).unwrap());
        assert_eq!(
            (d.verdict, first.as_ref().and_then(|c| c.as_str())),
            (verdict, Some(code)),
            "{peer}: {:#?}",
            d.root_causes
        );
    }
}

/// `check_default_deny` says when Cilium rules put a namespace's pods into default deny, and does
/// not say "allows all traffic" then.
#[test]
fn check_default_deny_counts_cilium_isolation() {
    use netpol_debug::diagnosis::steps;
    let ix = build(&[cnp("deny-all", "app", "{endpointSelector: {}, ingress: [{}]}")]);
    let r = steps::check_default_deny(&ix, "app", None).unwrap();
    assert!(
        r.notes.iter().any(|n| n.starts_with(
            "Cilium's default deny: 2 of 2 pods of app are ingress-isolated by CiliumNetworkPolicy app/deny-all"
        )),
        "{:#?}",
        r.notes
    );
    assert!(
        !r.notes.iter().any(|n| n.contains("allows all traffic")),
        "{:#?}",
        r.notes
    );
}

/// A scoped live read lists only the question's namespaces' Services: a `toServices` that may
/// name a Service elsewhere is undecided, never "names no Service"; in a namespace that was read
/// the answer stays decided.
#[test]
fn to_services_in_a_scoped_read() {
    let docs = [
        client_out("[{toServices: [{k8sService: {serviceName: ext-db, namespace: other}}]}]"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: app}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n"
            .to_string(),
    ];
    let yaml = format!("{}\n---\n{}", common::BASE, docs.join("\n---\n"));
    let diagnose_with = |read_in: &[&str]| {
        let mut snap = snapshot::load_str("scoped.yaml", &yaml).expect("parses");
        snap.services_read_in = Some(read_in.iter().map(|s| s.to_string()).collect());
        let ix = ClusterIndex::build(&snap, Semantics::default());
        let q = Query::parse("app/client", EXT, Some("443"), None).expect("query");
        diagnose(&ix, &q).expect("diagnoses")
    };
    let scoped = diagnose_with(&["app"]);
    assert_eq!(scoped.verdict, Inconclusive, "{scoped:#?}");
    let first = &scoped.root_causes[0];
    assert_eq!(serde_json::to_value(first.code).unwrap(), "DATAPLANE_DEPENDENT");
    assert!(
        first.evidence.iter().any(|e| e.contains("scoped read did not list")),
        "{first:#?}"
    );
    let whole = diagnose_with(&["app", "other"]);
    assert_eq!(whole.verdict, Blocked, "{whole:#?}");
    // The snapshot such a read exports says so in its header, and loads the same way.
    let exported = format!(
        "# netpol-debug snapshot of kind-test\n# read at: 2026-12-05T01:00:00Z\n# namespaces read whole: app, kube-system\n---\n{yaml}"
    );
    let snap = snapshot::load_str("exported.yaml", &exported).expect("parses");
    assert_eq!(
        snap.services_read_in,
        Some(["app", "kube-system"].iter().map(|s| s.to_string()).collect())
    );
    // Its read time too: policy ages stay "ago" from the read, as they were live.
    assert_eq!(
        snap.read_at.map(|t| t.to_string()).as_deref(),
        Some("2026-12-05T01:00:00Z")
    );
}
