//! Endpoint resolution (`query::resolve`, `query::port_for`) through `diagnose`: which pods and
//! which port a query stands for. Each test is named after the rule it checks.

use netpol_debug::diagnosis::query::{PortArg, QueryError};
use netpol_debug::diagnosis::{Query, diagnose};
use netpol_debug::policy::Protocol;
use netpol_debug::report::Diagnosis;

use crate::common;

/// Namespace `app`: pods `web` (app=web, 10.0.1.1, http=8080) and `client` (10.0.1.2); Service
/// `web` of type LoadBalancer (ClusterIP 10.96.0.20, port 80 -> http, nodePort 30080, externalIP
/// 198.51.100.7, load-balancer ingress 203.0.113.10) and Service `edge` whose externalIP is the
/// node n1's IP.
const LB: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {app: client}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.1.2}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  type: LoadBalancer
  selector: {app: web}
  clusterIP: 10.96.0.20
  externalIPs: [198.51.100.7]
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
status:
  loadBalancer: {ingress: [{ip: 203.0.113.10}]}
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: app}
spec:
  selector: {app: web}
  clusterIP: 10.96.0.21
  externalIPs: [192.168.0.10]
  ports: [{port: 443, targetPort: 8080}]
"#;

fn query(from: &str, to: &str, port: u16) -> Query {
    Query {
        from: from.into(),
        to: to.into(),
        protocol: Protocol::Tcp,
        port: Some(PortArg::Number(port)),
    }
}

fn run(yaml: &str, from: &str, to: &str, port: u16) -> Result<Diagnosis, QueryError> {
    diagnose(&common::index(yaml), &query(from, to, port))
}

fn assert_reaches_web(d: &Diagnosis) {
    assert_eq!(d.query.destination.kind, "pod", "{:?}", d.query.destination);
    assert_eq!(d.query.destination.name, "app/web");
    assert_eq!(
        d.query.resolved_port,
        Some(8080),
        "service port 80 -> targetPort http = 8080"
    );
}

#[test]
fn a_load_balancer_ingress_ip_as_destination_resolves_to_the_services_pods() {
    let d = run(LB, "app/client", "203.0.113.10", 80).unwrap();
    assert_reaches_web(&d);
}

#[test]
fn an_external_ip_as_destination_resolves_to_the_services_pods() {
    let d = run(LB, "app/client", "198.51.100.7", 80).unwrap();
    assert_reaches_web(&d);
}

#[test]
fn a_service_port_given_by_its_node_port_maps_to_the_target_port() {
    let d = run(LB, "app/client", "203.0.113.10", 30080).unwrap();
    assert_reaches_web(&d);
    let d = run(LB, "app/client", "app/svc/web", 30080).unwrap();
    assert_reaches_web(&d);
}

#[test]
fn a_cluster_ip_as_source_is_an_answer_naming_the_service_and_its_pods() {
    let e = run(LB, "10.96.0.20", "app/client", 80).unwrap_err();
    assert!(e.not_found, "an answer, not a malformed argument: {e:?}");
    assert_eq!(e.argument, "from");
    assert!(e.message.contains("never a source"), "{}", e.message);
    assert!(e.message.contains("destination (app/svc/web)"), "{}", e.message);
    assert_eq!(e.suggestions, ["app/web"]);
}

#[test]
fn a_load_balancer_ip_as_source_is_an_answer_too() {
    for ip in ["203.0.113.10", "198.51.100.7"] {
        let e = run(LB, ip, "app/client", 80).unwrap_err();
        assert!(e.not_found && e.argument == "from", "{e:?}");
        assert!(e.message.contains("service app/web"), "{}", e.message);
    }
}

#[test]
fn an_external_ip_that_is_a_node_ip_is_still_the_node_as_source() {
    let d = run(LB, "192.168.0.10", "app/web", 8080).unwrap();
    assert_eq!(d.query.source.kind, "external", "{:?}", d.query.source);
    assert_eq!(d.query.source.name, "192.168.0.10");
}

/// Namespace `app`: a dual-stack pod `backend` (10.0.1.5, fd00::5) behind the selector-less
/// Service `api` (port 443 `https`, a misleading targetPort 9999) and the Endpoints in `ENDPOINTS`.
const SELECTORLESS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: app, labels: {app: backend}}
spec: {containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.1.5, podIPs: [{ip: 10.0.1.5}, {ip: "fd00::5"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {app: client}}
spec: {containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.1.2}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: app}
spec:
  clusterIP: 10.96.0.30
  ports: [{name: https, port: 443, targetPort: 9999}]
"#;

#[test]
fn a_selectorless_service_port_is_found_on_any_ip_of_a_dual_stack_pod() {
    // Only the IPv6 address is listed: comparing with the pod's first IP alone misses it.
    let yaml = format!(
        "{SELECTORLESS}---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: api-v6, namespace: app, labels: {{kubernetes.io/service-name: api}}}}
addressType: IPv6
endpoints: [{{addresses: [\"fd00::5\"]}}]
ports: [{{name: https, port: 6443, protocol: TCP}}]
"
    );
    let d = run(&yaml, "app/client", "app/svc/api", 443).unwrap();
    assert_eq!(d.query.destination.name, "app/backend");
    assert_eq!(
        d.query.resolved_port,
        Some(6443),
        "the endpoint port, not targetPort 9999"
    );
}

#[test]
fn a_selectorless_service_without_a_matching_endpoint_port_is_an_error_not_a_target_port_fallback() {
    let yaml = format!(
        "{SELECTORLESS}---
apiVersion: v1
kind: Endpoints
metadata: {{name: api, namespace: app}}
subsets:
- addresses: [{{ip: 10.0.1.5}}]
  ports: [{{name: metrics, port: 9090}}, {{name: admin, port: 9091}}]
"
    );
    let e = run(&yaml, "app/client", "app/svc/api", 443).unwrap_err();
    assert!(e.not_found, "an answer about the snapshot: {e:?}");
    assert_eq!(e.argument, "port");
    for part in ["app/api", "443", "https", "10.0.1.5 metrics=TCP 9090 admin=TCP 9091"] {
        assert!(e.message.contains(part), "{part:?} missing from: {}", e.message);
    }
    assert!(!e.message.contains("maps to"), "{}", e.message);
}
