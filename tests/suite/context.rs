//! The checks around the rules (`Diagnosis.checks`): each test names the trap it covers. The
//! cluster is `common::BASE` (namespaces `app`, `other`; pods app/web, app/client, other/client,
//! other/db, app/hostagent on the host network) plus what each test adds.

use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::diagnosis::{self, Query};
use netpol_debug::policy::Protocol;
use netpol_debug::report::{Diagnosis, RootCauseCode, Verdict};

use crate::common::{BASE, index};

const KUBE_DNS: &str = "
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns-1, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {nodeName: n1, containers: [{name: coredns, ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]}]}
status: {phase: Running, podIP: 10.0.0.53}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  clusterIP: 10.96.0.10
  selector: {k8s-app: kube-dns}
  ports: [{name: dns, port: 53, protocol: UDP, targetPort: dns}, {name: dns-tcp, port: 53, protocol: TCP, targetPort: dns-tcp}]
";

fn run(extra: &str, from: &str, to: &str, port: Option<u16>, protocol: Protocol) -> Diagnosis {
    let ix = index(&format!("{BASE}\n---\n{KUBE_DNS}\n---\n{extra}"));
    diagnosis::diagnose(
        &ix,
        &Query {
            from: from.into(),
            to: to.into(),
            protocol,
            port: port.map(PortArg::Number),
        },
    )
    .unwrap_or_else(|e| panic!("{from} -> {to}: {e}"))
}

fn tcp(extra: &str, from: &str, to: &str, port: u16) -> Diagnosis {
    run(extra, from, to, Some(port), Protocol::Tcp)
}

fn codes(d: &Diagnosis) -> Vec<RootCauseCode> {
    d.root_causes.iter().map(|r| r.code).collect()
}

const CLIENT_EGRESS_TO_WEB: &str = "
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-egress, namespace: app}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: web}}}]
";

#[test]
fn dns_is_checked_for_an_egress_isolated_source_even_when_the_query_is_elsewhere() {
    let d = tcp(CLIENT_EGRESS_TO_WEB, "app/client", "app/web", 8080);
    assert_eq!(d.verdict, Verdict::Allowed);
    let dns = d.checks.dns.as_ref().expect("dns checked");
    assert_eq!((dns.udp, dns.tcp), (Verdict::Blocked, Verdict::Blocked));
    assert_eq!(dns.service.as_deref(), Some("kube-system/kube-dns"));
    // A pod asked by name needs no lookup: DNS is the check and one warning, not a root cause
    // (a Service destination gets it as the second cause; examples/20).
    assert_eq!(codes(&d), [RootCauseCode::AllowedByPolicy]);
    assert_eq!(
        d.warnings.iter().filter(|w| w.contains("cluster DNS")).count(),
        1,
        "{:?}",
        d.warnings
    );
}

#[test]
fn dns_is_not_checked_when_egress_is_not_isolated() {
    let d = tcp("", "app/client", "app/web", 8080);
    assert!(d.checks.dns.is_none());
    assert!(d.checks.api_server.is_none());
}

#[test]
fn dns_allowed_on_udp_only_warns_that_large_answers_fail() {
    let policy = format!(
        "{CLIENT_EGRESS_TO_WEB}  - to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: kube-system}}}}}}]\n    ports: [{{protocol: UDP, port: 53}}]\n"
    );
    let d = tcp(&policy, "app/client", "app/web", 8080);
    let dns = d.checks.dns.as_ref().unwrap();
    assert_eq!((dns.udp, dns.tcp), (Verdict::Allowed, Verdict::Blocked));
    assert!(!codes(&d).contains(&RootCauseCode::DnsEgressBlocked));
    assert!(
        d.warnings.iter().any(|w| w.contains("not on TCP 53")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn dns_named_target_ports_resolve_on_the_dns_pod() {
    // The Service maps 53 to the named ports `dns` / `dns-tcp`; the policy allows 53 on both.
    let policy =
        format!("{CLIENT_EGRESS_TO_WEB}  - ports: [{{protocol: UDP, port: 53}}, {{protocol: TCP, port: 53}}]\n");
    let d = tcp(&policy, "app/client", "app/web", 8080);
    let dns = d.checks.dns.as_ref().unwrap();
    assert_eq!((dns.udp, dns.tcp), (Verdict::Allowed, Verdict::Allowed));
}

#[test]
fn dns_check_names_what_is_missing_without_kube_system() {
    let ix = index(&format!("{BASE}\n---\n{CLIENT_EGRESS_TO_WEB}"));
    let q = Query {
        from: "app/client".into(),
        to: "app/web".into(),
        protocol: Protocol::Tcp,
        port: Some(PortArg::Number(8080)),
    };
    let d = diagnosis::diagnose(&ix, &q).unwrap();
    let dns = d.checks.dns.unwrap();
    assert_eq!(dns.udp, Verdict::Inconclusive);
    assert!(dns.missing.iter().any(|m| m.contains("kube-dns")), "{:?}", dns.missing);
    let api = d.checks.api_server.unwrap();
    assert_eq!(api.verdict, Verdict::Inconclusive);
    assert!(!api.missing.is_empty());
}

#[test]
fn node_local_dns_allowed_keeps_lookups_working() {
    let extra = format!(
        "{CLIENT_EGRESS_TO_WEB}  - to: [{{ipBlock: {{cidr: 169.254.20.10/32}}}}]\n    ports: [{{protocol: UDP, port: 53}}, {{protocol: TCP, port: 53}}]\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: node-local-dns, namespace: kube-system, labels: {{k8s-app: node-local-dns}}}}\nspec:\n  selector: {{matchLabels: {{k8s-app: node-local-dns}}}}\n  template:\n    metadata: {{labels: {{k8s-app: node-local-dns}}}}\n    spec:\n      hostNetwork: true\n      containers: [{{name: node-cache, image: k8s-dns-node-cache, args: [-localip, '169.254.20.10,10.96.0.10']}}]\n"
    );
    let d = tcp(&extra, "app/client", "app/web", 8080);
    let dns = d.checks.dns.as_ref().unwrap();
    let local = dns.node_local.as_ref().expect("NodeLocal DNSCache found");
    assert_eq!(local.ip, "169.254.20.10");
    assert_eq!((local.udp, local.tcp), (Verdict::Allowed, Verdict::Allowed));
    assert_eq!(dns.udp, Verdict::Blocked);
    assert!(!codes(&d).contains(&RootCauseCode::DnsEgressBlocked));
    assert!(d.warnings.iter().any(|w| w.contains("NodeLocal")), "{:?}", d.warnings);
}

#[test]
fn api_server_endpoint_port_6443_is_what_policy_sees() {
    let extra = "
apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443, targetPort: 6443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}
addressType: IPv4
endpoints: [{addresses: [192.168.0.10]}]
ports: [{name: https, port: 6443, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-egress, namespace: app}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 192.168.0.10/32}}]
    ports: [{port: 6443}]
";
    // By the ClusterIP: resolves to the Service and its endpoint.
    let d = tcp(extra, "app/client", "10.96.0.1", 443);
    assert_eq!(d.verdict, Verdict::Allowed, "{:?}", codes(&d));
    assert_eq!(d.query.resolved_port, Some(6443));
    let api = d.checks.api_server.unwrap();
    assert_eq!(api.endpoints, ["192.168.0.10:6443"]);
    assert_eq!(api.verdict, Verdict::Allowed);
}

#[test]
fn cluster_ip_stands_for_its_service() {
    let d = tcp("", "app/client", "10.96.0.10", 53);
    assert_eq!(d.checks.service.unwrap().service, "kube-system/kube-dns");
    assert_eq!(d.query.destination.name, "kube-system/coredns-1");
}

#[test]
fn hostnetwork_destination_is_never_restricted() {
    let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: app}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n";
    let d = tcp(deny, "other/client", "app/hostagent", 9100);
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(codes(&d)[0], RootCauseCode::HostnetworkExempt);
    let h = d.checks.host_network.unwrap();
    assert_eq!(h.node_ips, ["192.168.0.11"]);
}

#[test]
fn sidecars_and_ambient_labels_are_reported_as_a_mesh() {
    let extra = "
apiVersion: v1
kind: Namespace
metadata: {name: mesh, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: mesh, labels: {app: a}}
spec: {nodeName: n1, containers: [{name: app}, {name: istio-proxy}]}
status: {phase: Running, podIP: 10.0.5.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: mesh, labels: {app: b}, annotations: {linkerd.io/inject: enabled}}
spec: {nodeName: n1, containers: [{name: app}]}
status: {phase: Running, podIP: 10.0.5.2}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-b, namespace: mesh}
spec: {action: DENY}
";
    let d = tcp(extra, "mesh/a", "mesh/b", 80);
    assert_eq!(
        d.verdict,
        Verdict::Allowed,
        "a mesh alone does not change the NetworkPolicy verdict"
    );
    assert_eq!(*codes(&d).last().unwrap(), RootCauseCode::ServiceMeshPresent);
    let m = d.checks.mesh.unwrap();
    assert_eq!(m.findings.len(), 3, "{:?}", m.findings);
    assert_eq!(m.objects, ["AuthorizationPolicy mesh/deny-b"]);
    assert!(m.hbone_15008.is_none(), "no ambient mode");
}

#[test]
fn cni_support_sets_the_confidence() {
    let ds = |name: &str, image: &str, extra: &str| {
        format!(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {name}, namespace: kube-system}}\nspec:\n  selector: {{matchLabels: {{k8s-app: {name}}}}}\n  template:\n    metadata: {{labels: {{k8s-app: {name}}}}}\n    spec:\n      containers: [{{name: {name}, image: {image}}}{extra}]\n"
        )
    };
    let d = tcp(
        &ds("calico-node", "calico/node:v3.28", ""),
        "app/client",
        "app/web",
        8080,
    );
    assert_eq!(
        (d.confidence.as_str(), d.checks.cni.enforcement.as_str()),
        ("high", "enforced")
    );
    let d = tcp("", "app/client", "app/web", 8080);
    assert_eq!(
        (d.confidence.as_str(), d.checks.cni.enforcement.as_str()),
        ("medium", "unknown")
    );
    let d = tcp(
        &ds("aws-node", "amazon-k8s-cni:v1.18", ""),
        "app/client",
        "app/web",
        8080,
    );
    assert_eq!(d.confidence, "low");
    assert!(d.warnings.iter().any(|w| w.contains("conditional")), "{:?}", d.warnings);
}

#[test]
fn cross_namespace_check_reports_the_nearest_label_miss() {
    let extra = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: other}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}]}]\n";
    let d = tcp(extra, "app/client", "other/db", 5432);
    let c = d.checks.cross_namespace.unwrap();
    assert_eq!(
        c.nearest_miss.as_deref(),
        Some("other/db spec.ingress[0].from[0] would match if namespace app had team=ops")
    );
    assert_eq!(c.failing_peers.len(), 1);
    assert!(tcp("", "app/client", "app/web", 8080).checks.cross_namespace.is_none());
}

#[test]
fn verification_commands_only_read_and_include_a_control() {
    let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: app}\nspec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Egress]}\n";
    let d = tcp(deny, "app/client", "other/db", 5432);
    let cmds = &d.checks.verify.commands;
    assert_eq!(cmds[0], "kubectl exec -n app client -- nc -zv -w 3 10.0.2.2 5432");
    assert!(
        cmds[1].starts_with("kubectl exec -n app web -- nc -zv -w 3 10.0.2.2 5432   # control"),
        "{cmds:?}"
    );
    assert!(cmds.iter().any(|c| c.contains("nslookup")));
    for c in cmds {
        let words: Vec<&str> = c.split_whitespace().collect();
        assert_eq!(&words[..2], ["kubectl", "exec"], "only kubectl exec: {c}");
        for w in ["apply", "delete", "patch", "edit", "label", "annotate", "create", "run"] {
            assert!(!words[..3].contains(&w), "{c}");
        }
    }
    let udp = run("", "app/client", "app/web", Some(53), Protocol::Udp);
    assert!(udp.checks.verify.commands[0].contains("nc -zuv"));
}

fn sriov_pod(name: &str, primary: &str, secondary: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: other\n  labels: {{app: {name}}}\n  annotations:\n    k8s.v1.cni.cncf.io/network-status: '[{{\"name\":\"cbr0\",\"interface\":\"eth0\",\"ips\":[\"{primary}\"],\"default\":true}},{{\"name\":\"other/net-a\",\"interface\":\"net1\",\"ips\":[\"{secondary}\"]}}]'\nspec: {{nodeName: n1, containers: [{{name: c}}]}}\nstatus: {{phase: Running, podIP: {primary}}}\n"
    )
}

#[test]
fn secondary_interface_between_attached_pods_is_not_enforced() {
    let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: other}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n";
    let extra = format!(
        "{}---\n{}---\n{deny}",
        sriov_pod("a", "10.0.2.8", "172.16.0.8"),
        sriov_pod("b", "10.0.2.9", "172.16.0.9")
    );
    let d = tcp(&extra, "other/a", "172.16.0.9", 29500);
    assert_eq!(d.verdict, Verdict::NotEnforced);
    assert_eq!(codes(&d)[0], RootCauseCode::SecondaryInterface);
    assert!(
        !codes(&d).contains(&RootCauseCode::DefaultDenyEgress),
        "rule causes describe the primary network, which this traffic does not use"
    );
    assert!(
        d.warnings.iter().any(|w| w.contains("cluster DNS")),
        "DNS still goes over the primary network, where the deny applies: a warning (an address needs no lookup, so it is no root cause)"
    );
    let s = d.checks.secondary_interfaces.iter().find(|s| s.queried).unwrap();
    assert_eq!((s.pod.as_str(), s.interface.as_str()), ("other/b", "net1"));
}

#[test]
fn secondary_address_from_an_unattached_pod_uses_the_primary_network() {
    let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: app}\nspec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Egress]}\n";
    let extra = format!("{}---\n{deny}", sriov_pod("b", "10.0.2.9", "172.16.0.9"));
    let d = tcp(&extra, "app/client", "172.16.0.9", 29500);
    assert_eq!(
        d.verdict,
        Verdict::Blocked,
        "the client's egress policy still applies on eth0"
    );
    assert!(
        d.warnings.iter().any(|w| w.contains("not attached to that network")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn cilium_allow_joins_the_networkpolicy_allows() {
    let extra = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: app}\nspec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: allow-client, namespace: app}\nspec:\n  endpointSelector: {matchLabels: {app: web}}\n  ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]\n";
    let d = tcp(extra, "app/client", "app/web", 8080);
    assert_eq!(d.verdict, Verdict::Allowed, "Cilium adds its allows to NetworkPolicy's");
    let allowed = d
        .root_causes
        .iter()
        .find(|rc| rc.code == RootCauseCode::AllowedByPolicy)
        .unwrap();
    assert!(
        allowed
            .summary
            .contains("CiliumNetworkPolicy app/allow-client spec.ingress[0]"),
        "{}",
        allowed.summary
    );
    assert!(!codes(&d).contains(&RootCauseCode::ExtendedPolicyPresent));
    // An allow on the other side does not open the isolated one: a certain block.
    let other_side = extra
        .replace(
            "endpointSelector: {matchLabels: {app: web}}",
            "endpointSelector: {matchLabels: {app: client}}",
        )
        .replace("ingress: [{fromEndpoints", "egress: [{toEndpoints");
    let d = tcp(&other_side, "app/client", "app/web", 8080);
    assert_eq!(d.verdict, Verdict::Blocked);
    assert!(
        !codes(&d).contains(&RootCauseCode::ExtendedPolicyPresent),
        "{:?}",
        codes(&d)
    );
}

#[test]
fn nodeport_verdicts_that_differ_between_nodes_are_inconclusive() {
    let extra = "
apiVersion: v1
kind: Node
metadata: {name: n3}
status: {addresses: [{type: InternalIP, address: 192.168.0.12}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-n2, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{ipBlock: {cidr: 192.168.0.11/32}}]}]
";
    let d = tcp(extra, "203.0.113.9", "app/svc/web", 30080);
    assert_eq!(d.verdict, Verdict::Inconclusive, "n2 is allowed, n3 is not");
    assert_eq!(d.checks.node_port.unwrap().verdict_as_node, Some(Verdict::Inconclusive));
    assert!(
        d.warnings.iter().any(|w| w.contains("192.168.0.12: blocked")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn ambient_mode_on_both_ends_is_judged_by_hbone() {
    let extra = "
apiVersion: v1
kind: Namespace
metadata: {name: amb, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: amb, labels: {app: a}}
spec: {nodeName: n1, containers: [{name: app}]}
status: {phase: Running, podIP: 10.0.6.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: amb, labels: {app: b}}
spec: {nodeName: n2, containers: [{name: app, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.0.6.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b, namespace: amb}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{ports: [{port: 15008}]}]
";
    let d = tcp(extra, "amb/a", "amb/b", 8080);
    assert_eq!(
        d.verdict,
        Verdict::Inconclusive,
        "8080 is blocked but policy only sees HBONE 15008, which is allowed"
    );
    assert_eq!(d.checks.mesh.unwrap().hbone_15008, Some(Verdict::Allowed));
    // A client outside the mesh talks plain text: no HBONE check.
    let d = tcp(extra, "app/client", "amb/b", 8080);
    assert!(d.checks.mesh.unwrap().hbone_15008.is_none());
    assert_eq!(d.verdict, Verdict::Blocked);
}

const NODEPORT_NO_NODES: &str = "
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n9, containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.9.0.1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: 8080, nodePort: 31080}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: office, namespace: shop}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 198.51.100.0/24}}]}]
";

#[test]
fn nodeport_without_node_objects_is_inconclusive_and_says_so() {
    let ix = index(NODEPORT_NO_NODES);
    let q = Query {
        from: "198.51.100.7".into(),
        to: "shop/svc/web".into(),
        protocol: Protocol::Tcp,
        port: Some(PortArg::Number(80)),
    };
    let d = diagnosis::diagnose(&ix, &q).unwrap();
    assert_eq!(
        d.verdict,
        Verdict::Inconclusive,
        "the client IP is allowed, a node IP may not be"
    );
    assert_eq!(codes(&d)[0], RootCauseCode::NodeportSnat);
    assert!(d.root_causes[0].suggestion.contains("kubectl get nodes"));
    let np = d.checks.node_port.unwrap();
    assert_eq!(
        (np.external_traffic_policy.as_str(), np.verdict_as_node),
        ("Cluster", None)
    );
}

#[test]
fn nodeport_with_external_traffic_policy_local_keeps_the_client_ip() {
    let ix = index(&NODEPORT_NO_NODES.replace(
        "type: LoadBalancer,",
        "type: LoadBalancer, externalTrafficPolicy: Local,",
    ));
    let q = Query {
        from: "198.51.100.7".into(),
        to: "shop/svc/web".into(),
        protocol: Protocol::Tcp,
        port: Some(PortArg::Number(31080)),
    };
    let d = diagnosis::diagnose(&ix, &q).unwrap();
    assert_eq!(d.verdict, Verdict::Allowed);
    assert_eq!(d.query.resolved_port, Some(8080), "a nodePort maps to the targetPort");
    assert!(!codes(&d).contains(&RootCauseCode::NodeportSnat));
}

#[test]
fn requested_secondary_networks_without_status_are_a_warning() {
    let extra = "apiVersion: v1\nkind: Pod\nmetadata: {name: rdma, namespace: other, labels: {app: rdma}, annotations: {k8s.v1.cni.cncf.io/networks: sriov-a}}\nspec: {nodeName: n1, containers: [{name: c}]}\nstatus: {phase: Running, podIP: 10.0.2.8}\n";
    let d = tcp(extra, "other/rdma", "app/web", 8080);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("requests secondary networks (sriov-a)")),
        "{:?}",
        d.warnings
    );
}
