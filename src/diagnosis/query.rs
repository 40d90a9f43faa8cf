//! Queries as users write them (`ns/pod`, `ns/deploy/name`, `ns/svc/name`, an IP) resolved
//! against the index. Two phases, as ripgrep parses flags: parse the raw text, then resolve.
//!
//! Invariant: an unknown pod, namespace or service is a [`QueryError`] with did-you-mean
//! suggestions, never a panic; resolution never changes the index.

use std::net::IpAddr;

use crate::diagnosis::suggest;
use crate::engine::Endpoint;
use crate::index::{ClusterIndex, PodId, PodInfo, ServiceInfo, ServicePortInfo, TargetPort};
use crate::policy::Protocol;
use crate::report::QueryErrorReport;
use crate::snapshot::WorkloadKind;

/// An endpoint as written by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSpec {
    Pod {
        namespace: String,
        name: String,
    },
    Workload {
        namespace: String,
        kind: WorkloadKind,
        name: String,
    },
    Service {
        namespace: String,
        name: String,
    },
    Ip(IpAddr),
}

/// A port as written by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortArg {
    Number(u16),
    Name(String),
}

/// Where an error is shown: the CLI names its flags (`--from`), a tool call its arguments
/// (`` `from` ``).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Cli,
    Tool,
}

impl Surface {
    /// How this surface names an argument.
    pub fn name(self, argument: &str) -> String {
        match self {
            Surface::Cli => format!("--{argument}"),
            Surface::Tool => format!("`{argument}`"),
        }
    }
}

/// A bad or unresolvable query: what was wrong, and what the user may have meant.
///
/// Invariant: `message` never names the argument (nor any other); [`QueryError::text`] puts the
/// name in front as the surface spells it, so one error reads right in the CLI and in a tool call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.text(Surface::Tool))]
pub struct QueryError {
    /// Which argument: `from`, `to`, `port`, `protocol`.
    pub argument: String,
    pub message: String,
    /// Of every bad argument of the call (see `also`).
    pub suggestions: Vec<String>,
    /// True: the argument is well formed but the snapshot has nothing usable under it (an
    /// unknown pod, a Service without endpoints): a normal answer, with suggestions. False: the
    /// argument itself is malformed (a bad port, protocol or endpoint syntax).
    pub not_found: bool,
    /// The other bad arguments of the same call: every one is reported at once.
    pub also: Vec<QueryError>,
}

impl QueryError {
    /// The snapshot cannot answer for this argument.
    pub fn new(argument: &str, message: String) -> Self {
        QueryError {
            argument: argument.into(),
            message,
            suggestions: Vec::new(),
            not_found: true,
            also: Vec::new(),
        }
    }

    /// The argument is malformed.
    pub fn invalid(argument: &str, message: String) -> Self {
        QueryError {
            not_found: false,
            ..QueryError::new(argument, message)
        }
    }

    /// One error for all of `errors` (in argument order), or `Ok` when there are none.
    pub fn gather(errors: impl IntoIterator<Item = QueryError>) -> Result<(), QueryError> {
        let mut errors = errors.into_iter();
        let Some(mut first) = errors.next() else {
            return Ok(());
        };
        for e in errors {
            first.not_found &= e.not_found;
            first.suggestions.extend(e.suggestions.iter().cloned());
            first.also.push(e);
        }
        Err(first)
    }

    fn each(&self) -> impl Iterator<Item = &QueryError> {
        std::iter::once(self).chain(&self.also)
    }

    /// One line per bad argument, `NAME: MESSAGE`, the name as `surface` spells it.
    pub fn text(&self, surface: Surface) -> String {
        self.each()
            .map(|e| format!("{}: {}", surface.name(&e.argument), e.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The bad arguments, `port, protocol`.
    pub fn arguments(&self) -> String {
        self.each().map(|e| e.argument.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The wire form, worded for `surface`.
    pub fn report(&self, surface: Surface) -> QueryErrorReport {
        QueryErrorReport {
            error: self.text(surface),
            argument: self.arguments(),
            suggestions: self.suggestions.clone(),
        }
    }
}

/// What an endpoint may be, for error messages.
const ENDPOINT_FORMS: &str = "expected NAMESPACE/POD, NAMESPACE/KIND/NAME (kinds: pod, deploy, sts, ds, rs, job, cronjob, rc, svc), a Service DNS name (NAME.NAMESPACE[.svc[.cluster.local]]) or an IP address";

impl EndpointSpec {
    /// Parses `NS/NAME`, `NS/KIND/NAME` (kubectl kinds and short names), a Service DNS name
    /// (`NAME.NS`, `NAME.NS.svc`, `NAME.NS.svc.CLUSTER-DOMAIN`) or an IP literal.
    pub fn parse(argument: &str, s: &str) -> Result<EndpointSpec, QueryError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(QueryError::invalid(argument, format!("missing: {ENDPOINT_FORMS}")));
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(EndpointSpec::Ip(ip));
        }
        if let Some((namespace, name)) = service_dns_name(s) {
            return Ok(EndpointSpec::Service { namespace, name });
        }
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || QueryError::invalid(argument, format!("{s:?}: {ENDPOINT_FORMS}"));
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let (ns, kind, name) = match parts.as_slice() {
            [ns, name] => (ns.to_string(), "pod".to_string(), name.to_string()),
            [ns, kind, name] => (ns.to_string(), kind.to_ascii_lowercase(), name.to_string()),
            _ => return Err(bad()),
        };
        if matches!(kind.as_str(), "pod" | "pods" | "po") {
            Ok(EndpointSpec::Pod { namespace: ns, name })
        } else if matches!(kind.as_str(), "svc" | "service" | "services") {
            Ok(EndpointSpec::Service { namespace: ns, name })
        } else if let Some(kind) = WorkloadKind::from_cli(&kind) {
            Ok(EndpointSpec::Workload {
                namespace: ns,
                kind,
                name,
            })
        } else {
            Err(QueryError::invalid(
                argument,
                format!("{s:?}: unknown kind {kind:?}; accepted: pod, deploy, sts, ds, rs, job, cronjob, rc, svc"),
            ))
        }
    }
}

/// `(namespace, name)` of a Service DNS name: `NAME.NS`, `NAME.NS.svc` or `NAME.NS.svc.DOMAIN`
/// (any cluster domain, a final dot allowed), each part a DNS label and NAME beginning with a
/// letter (as Service names do: `10.0` is no Service).
fn service_dns_name(s: &str) -> Option<(String, String)> {
    let s = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
    let labels: Vec<&str> = s.split('.').collect();
    let (name, ns) = match labels.as_slice() {
        [name, ns] | [name, ns, "svc", ..] => (*name, *ns),
        _ => return None,
    };
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let domain_ok = labels.iter().skip(3).all(|l| label(l));
    (label(name) && label(ns) && domain_ok && name.starts_with(|c: char| c.is_ascii_alphabetic()))
        .then(|| (ns.to_string(), name.to_string()))
}

impl PortArg {
    pub fn parse(s: &str) -> Result<PortArg, QueryError> {
        let s = s.trim();
        match s.parse::<i64>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(PortArg::Number(n as u16)),
            Ok(n) => Err(QueryError::invalid(
                "port",
                format!("{n} is out of range: a port is a number from 1 to 65535 or a container port name"),
            )),
            Err(_) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
                Ok(PortArg::Name(s.to_string()))
            }
            Err(_) => Err(QueryError::invalid(
                "port",
                format!("{s:?}: a port is a number from 1 to 65535 or a container port name (letters, digits, '-')"),
            )),
        }
    }
}

/// Parses a protocol argument (`TCP`, `UDP`, `SCTP`, any case).
pub fn parse_protocol(s: &str) -> Result<Protocol, QueryError> {
    Protocol::parse(s).ok_or_else(|| {
        QueryError::invalid(
            "protocol",
            format!("{s:?} is not a protocol NetworkPolicy matches: accepted TCP, UDP, SCTP"),
        )
    })
}

/// One resolved end of a query.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The user's text.
    pub input: String,
    pub spec: EndpointSpec,
    /// Pods (or the IP) the endpoint stands for, sorted; never empty.
    pub endpoints: Vec<Endpoint>,
}

/// Resolves an endpoint; a name that matches nothing is an error with suggestions.
pub fn resolve(ix: &ClusterIndex, argument: &str, input: &str) -> Result<Resolved, QueryError> {
    let mut spec = EndpointSpec::parse(argument, input)?;
    // A Service's virtual IP stands for the Service: kube-proxy rewrites it to a backing pod
    // before any policy sees the packet.
    if let EndpointSpec::Ip(ip) = spec
        && let Some((svc, what)) = virtual_ip_service(ix, argument, ip)
    {
        if argument == "from" {
            return Err(virtual_ip_as_source(ix, svc, what, ip));
        }
        spec = EndpointSpec::Service {
            namespace: svc.namespace.clone(),
            name: svc.name.clone(),
        };
    }
    let endpoints = match &spec {
        EndpointSpec::Ip(ip) => vec![endpoint_at(ix, *ip)],
        EndpointSpec::Pod { namespace, name } => resolve_pod(ix, argument, namespace, name)?,
        EndpointSpec::Workload { namespace, kind, name } => resolve_workload(ix, argument, namespace, *kind, name)?,
        EndpointSpec::Service { namespace, name } => resolve_service(ix, argument, namespace, name)?,
    };
    Ok(Resolved {
        input: input.to_string(),
        spec,
        endpoints,
    })
}

/// The pod (not on the host network) that has address `ip`, else the address itself.
fn endpoint_at(ix: &ClusterIndex, ip: IpAddr) -> Endpoint {
    match ix.pods_by_ip(ip).iter().copied().find(|&id| !ix.pod(id).host_network) {
        Some(id) => Endpoint::Pod(id),
        None => Endpoint::Ip(ip),
    }
}

/// `ns/name`: the pod, else the pods of a workload of that name (given where a pod was expected).
fn resolve_pod(ix: &ClusterIndex, argument: &str, namespace: &str, name: &str) -> Result<Vec<Endpoint>, QueryError> {
    check_namespace(ix, argument, namespace)?;
    if let Some(id) = ix.pod_by_name(namespace, name) {
        return Ok(vec![Endpoint::Pod(id)]);
    }
    // A workload name given where a pod was expected: take its pods.
    let pods = pods_of_owner(ix, namespace, None, name);
    if pods.is_empty() {
        // Whatever the user may have meant by a bare name: a pod, a workload or a Service.
        let pods = ix.pods_in(namespace).iter().map(|&id| {
            let p = ix.pod(id);
            (p.name.clone(), format!("{namespace}/{}", p.name))
        });
        let candidates = pods
            .chain(owner_candidates(ix, namespace))
            .chain(service_candidates(ix, namespace));
        return Err(not_found_with(
            argument,
            &format!("pod {namespace}/{name}"),
            name,
            suggest::pods_like(ix, namespace, name),
            candidates,
        ));
    }
    Ok(pods.into_iter().map(Endpoint::Pod).collect())
}

/// The Services of a namespace as did-you-mean candidates: (name, `ns/svc/name`).
fn service_candidates<'a>(ix: &'a ClusterIndex, namespace: &'a str) -> impl Iterator<Item = (String, String)> + 'a {
    ix.services
        .iter()
        .filter(move |s| s.namespace == namespace)
        .map(move |s| (s.name.clone(), format!("{namespace}/svc/{}", s.name)))
}

/// `ns/kind/name`: the pods of that workload.
fn resolve_workload(
    ix: &ClusterIndex,
    argument: &str,
    namespace: &str,
    kind: WorkloadKind,
    name: &str,
) -> Result<Vec<Endpoint>, QueryError> {
    check_namespace(ix, argument, namespace)?;
    let pods = pods_of_owner(ix, namespace, Some(kind.as_str()), name);
    if pods.is_empty() {
        // A snapshot of pods without ownerReferences: pods that look like the workload's are
        // suggested, never taken (a name prefix or an `app` label is a guess, not ownership).
        return Err(not_found_with(
            argument,
            &format!("{} {namespace}/{name}", kind.as_str()),
            name,
            suggest::pods_like(ix, namespace, name),
            owner_candidates(ix, namespace).into_iter(),
        ));
    }
    Ok(pods.into_iter().map(Endpoint::Pod).collect())
}

/// The workloads of a namespace's pods (owners, and Deployments inferred from ReplicaSet
/// names), as did-you-mean candidates: (name, `ns/kind/name`), sorted.
fn owner_candidates(ix: &ClusterIndex, namespace: &str) -> Vec<(String, String)> {
    let mut owners: Vec<(String, String)> = ix
        .pods_in(namespace)
        .iter()
        .flat_map(|&id| {
            let p = ix.pod(id);
            let inferred = p
                .inferred_deployment()
                .map(|d| (d.to_string(), format!("{namespace}/deploy/{d}")));
            let owner = p.owner.as_ref().map(|o| {
                (
                    o.name.clone(),
                    format!("{namespace}/{}/{}", o.kind.to_ascii_lowercase(), o.name),
                )
            });
            inferred.into_iter().chain(owner)
        })
        .collect();
    owners.sort();
    owners.dedup();
    owners
}

/// `ns/svc/name`: the pods the Service selects, or the addresses of its hand-managed Endpoints.
fn resolve_service(
    ix: &ClusterIndex,
    argument: &str,
    namespace: &str,
    name: &str,
) -> Result<Vec<Endpoint>, QueryError> {
    check_namespace(ix, argument, namespace)?;
    let Some(svc) = ix.service(namespace, name) else {
        // The Service that selects the pods of that name (`kube-dns` for `coredns`), else
        // those pods themselves, then the closest Service names.
        let mut leads = suggest::services_selecting(ix, namespace, name);
        if leads.is_empty() {
            leads = suggest::pods_like(ix, namespace, name);
        }
        return Err(not_found_with(
            argument,
            &format!("service {namespace}/{name}"),
            name,
            leads,
            service_candidates(ix, namespace),
        ));
    };
    let Some(selector) = &svc.selector else {
        // Endpoints managed by hand (e.g. default/kubernetes): their addresses.
        if !svc.endpoints.is_empty() {
            let mut eps: Vec<Endpoint> = svc.endpoints.iter().map(|a| endpoint_at(ix, a.ip)).collect();
            eps.sort();
            eps.dedup();
            return Ok(eps);
        }
        return Err(QueryError::new(
            argument,
            format!(
                "service {namespace}/{name} has no selector and no Endpoints in the snapshot: name a backing pod or IP instead"
            ),
        ));
    };
    let pods: Vec<Endpoint> = ix
        .pods_in(namespace)
        .iter()
        .copied()
        .filter(|&id| svc.selects(ix.pod(id)))
        .map(Endpoint::Pod)
        .collect();
    if pods.is_empty() {
        return Err(QueryError::new(
            argument,
            format!(
                "service {namespace}/{name} selects no pod in the snapshot (selector {}): a Service without endpoints is not a NetworkPolicy problem{}",
                selector
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                unmodelled_note(ix, namespace)
            ),
        ));
    }
    Ok(pods)
}

/// `; namespace NS holds objects of kinds we do not model (…): pods they create are not in the
/// snapshot`, or nothing.
fn unmodelled_note(ix: &ClusterIndex, namespace: &str) -> String {
    let kinds = ix
        .facts
        .unmodelled
        .iter()
        .filter(|(_, ns)| ns.as_deref() == Some(namespace))
        .map(|(k, _)| k.as_str());
    match crate::index::facts::count_kinds(kinds) {
        Some(words) => format!(
            "; namespace {namespace} holds objects of kinds we do not model ({words}): pods they create are not in the snapshot"
        ),
        None => String::new(),
    }
}

/// The Service whose virtual address `ip` is, and which address it is. A ClusterIP counts for
/// every argument. An externalIP or load-balancer ingress IP counts for the destination (`to`:
/// kube-proxy DNATs in-cluster traffic to it, short-circuiting the load balancer) and, to be
/// refused, for the source (`from`) unless it is also a node's or a pod's own address (externalIPs
/// are often node IPs, and a node does originate traffic).
fn virtual_ip_service<'a>(ix: &'a ClusterIndex, argument: &str, ip: IpAddr) -> Option<(&'a ServiceInfo, &'static str)> {
    if let Some(svc) = ix.services.iter().find(|s| s.cluster_ips.contains(&ip)) {
        return Some((svc, "ClusterIP"));
    }
    let external = match argument {
        "to" => true,
        "from" => ix.pods_by_ip(ip).is_empty() && !ix.nodes.iter().any(|n| n.ips.contains(&ip)),
        _ => false,
    };
    if !external {
        return None;
    }
    ix.services
        .iter()
        .find(|s| s.external_ips.contains(&ip))
        .map(|svc| (svc, "external IP (spec.externalIPs or status.loadBalancer.ingress)"))
}

/// A Service virtual IP given as the source: an answer (the snapshot has no source under that
/// address), suggesting the Service's backing pods.
fn virtual_ip_as_source(ix: &ClusterIndex, svc: &ServiceInfo, what: &str, ip: IpAddr) -> QueryError {
    let (ns, name) = (&svc.namespace, &svc.name);
    let mut pods: Vec<String> = match &svc.selector {
        Some(_) => ix
            .pods_in(ns)
            .iter()
            .map(|&id| ix.pod(id))
            .filter(|p| svc.selects(p))
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .collect(),
        None => svc
            .endpoints
            .iter()
            .flat_map(|a| ix.pods_by_ip(a.ip).iter().map(|&id| ix.pod(id)))
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .collect(),
    };
    pods.sort();
    pods.dedup();
    pods.truncate(3);
    let mut e = QueryError::new(
        "from",
        format!(
            "{ip} is the {what} of service {ns}/{name}, and a Service IP is never a source (Services do not originate traffic, their pods do): give the Service as the destination ({ns}/svc/{name}) or one of its backing pods as the source{}",
            if pods.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", pods.join(", "))
            }
        ),
    );
    e.suggestions = pods;
    e
}

/// An unknown namespace is a not-found error with suggestions.
pub fn check_namespace(ix: &ClusterIndex, argument: &str, ns: &str) -> Result<(), QueryError> {
    if ix.namespace(ns).is_some() {
        return Ok(());
    }
    let candidates = ix.namespaces.iter().map(|n| (n.name.clone(), n.name.clone()));
    let mut e = not_found(argument, &format!("namespace {ns}"), ns, candidates);
    // Only when the namespace was not chosen (`--namespace` given says the user knows).
    let defaulted = ix.defaulted.as_ref();
    if let Some(d) = defaulted.filter(|d| d.namespace != ns && d.namespace == crate::snapshot::DEFAULT_NAMESPACE) {
        e.message.push_str(&format!(
            "; {} {} of the snapshot named no namespace and {} put in {:?} (as `kubectl apply` does): \
             if they belong to {ns}, load the snapshot with `--namespace {ns}`",
            d.objects,
            if d.objects == 1 { "object" } else { "objects" },
            if d.objects == 1 { "was" } else { "were" },
            d.namespace,
        ));
    }
    Err(e)
}

fn pods_of_owner(ix: &ClusterIndex, ns: &str, kind: Option<&str>, name: &str) -> Vec<PodId> {
    let mut pods: Vec<PodId> = ix
        .pods_in(ns)
        .iter()
        .copied()
        .filter(|&id| {
            let p = ix.pod(id);
            p.owner
                .as_ref()
                .is_some_and(|o| o.name == name && kind.is_none_or(|k| o.kind == k))
                || (p.inferred_deployment() == Some(name) && kind.is_none_or(|k| k == "Deployment"))
        })
        .collect();
    pods.sort_by(|a, b| ix.pod(*a).name.cmp(&ix.pod(*b).name));
    pods
}

/// "not found" with up to three closest names (Jaro-Winkler similarity, then prefix).
/// `candidates` are `(name compared, name displayed)`.
pub fn not_found(
    argument: &str,
    what: &str,
    wanted: &str,
    candidates: impl Iterator<Item = (String, String)>,
) -> QueryError {
    not_found_with(argument, what, wanted, Vec::new(), candidates)
}

/// "not found", suggesting the `leads` first, then the closest `candidates`.
fn not_found_with(
    argument: &str,
    what: &str,
    wanted: &str,
    leads: Vec<suggest::Lead>,
    candidates: impl Iterator<Item = (String, String)>,
) -> QueryError {
    let (words, suggestions) = suggest::did_you_mean(wanted, leads, candidates);
    let mut e = QueryError::new(argument, format!("{what} not found in the snapshot{words}"));
    e.suggestions = suggestions;
    e
}

/// The port each destination pod receives on, for a query port and a destination.
/// Service ports map to their targetPort; names resolve on the pod.
pub fn port_for(
    ix: &ClusterIndex,
    dst: &Resolved,
    dst_endpoint: Endpoint,
    port: &PortArg,
    protocol: Protocol,
) -> Result<(u16, Option<String>), QueryError> {
    if let EndpointSpec::Service { namespace, name } = &dst.spec
        && let Some(svc) = ix.service(namespace, name)
        && let Some(sp) = svc.ports.iter().find(|sp| {
            sp.protocol == protocol
                && match port {
                    PortArg::Number(n) => sp.port == *n || sp.node_port == Some(*n),
                    PortArg::Name(s) => sp.name.as_deref() == Some(s),
                }
        })
    {
        return service_target_port(ix, svc, sp, dst_endpoint, protocol);
    }
    match port {
        PortArg::Number(n) => Ok((*n, None)),
        PortArg::Name(name) => named_port(pod_of(ix, dst_endpoint), name, protocol),
    }
}

/// The pod an endpoint is, if it is one.
fn pod_of(ix: &ClusterIndex, endpoint: Endpoint) -> Option<&PodInfo> {
    match endpoint {
        Endpoint::Pod(id) => Some(ix.pod(id)),
        Endpoint::Ip(_) => None,
    }
}

/// The port a Service port `sp` delivers to on the destination: its targetPort (a number, or a
/// name resolved on the pod), or for a Service without selector what its Endpoints list.
fn service_target_port(
    ix: &ClusterIndex,
    svc: &ServiceInfo,
    sp: &ServicePortInfo,
    dst_endpoint: Endpoint,
    protocol: Protocol,
) -> Result<(u16, Option<String>), QueryError> {
    let (namespace, name) = (&svc.namespace, &svc.name);
    let target = match &sp.target {
        // Endpoints managed by hand: the port is what they list for this address, whatever
        // the targetPort says (kube-proxy never reads it for such a Service).
        _ if svc.selector.is_none() => Some(manual_endpoint_port(ix, svc, sp, dst_endpoint, protocol)?),
        TargetPort::Number(n) => Some(*n),
        TargetPort::Named(t) => pod_of(ix, dst_endpoint).and_then(|p| p.resolve_named_port(t, protocol)),
    };
    match target {
        // The mapping is the Service check's to word (once, and only when it changes the port).
        Some(t) => Ok((t, None)),
        None => Err(QueryError::new(
            "port",
            format!(
                "service {namespace}/{name} port {}: targetPort {:?} is not declared by the backing pod",
                sp.port, sp.target
            ),
        )),
    }
}

/// The port the Endpoints of a Service without selector list for the destination's addresses;
/// an error saying so when they list none.
fn manual_endpoint_port(
    ix: &ClusterIndex,
    svc: &ServiceInfo,
    sp: &ServicePortInfo,
    dst_endpoint: Endpoint,
    protocol: Protocol,
) -> Result<u16, QueryError> {
    let ips = match dst_endpoint {
        Endpoint::Ip(ip) => vec![ip],
        Endpoint::Pod(id) => ix.pod(id).ips.clone(),
    };
    endpoint_port(svc, &ips, sp.name.as_deref(), protocol).ok_or_else(|| {
        QueryError::new(
            "port",
            format!(
                "service {}/{} {}: the Service has no selector, so the port is the one its Endpoints give, and they list no {protocol} port{} for {} (Endpoints: {}); targetPort is not used for such a Service",
                svc.namespace,
                svc.name,
                service_port(sp),
                sp.name.as_deref().map(|n| format!(" named {n:?}")).unwrap_or_default(),
                ips.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", "),
                describe_endpoints(svc),
            ),
        )
    })
}

/// A port name resolved on the destination pod; an error listing its named ports otherwise.
fn named_port(pod: Option<&PodInfo>, name: &str, protocol: Protocol) -> Result<(u16, Option<String>), QueryError> {
    if let Some(n) = pod.and_then(|p| p.resolve_named_port(name, protocol)) {
        return Ok((
            n,
            Some(format!(
                "port name {name:?} resolves to {protocol} {n} on the destination pod"
            )),
        ));
    }
    let mut e = QueryError::new(
        "port",
        format!(
            "{name:?}: the destination declares no {protocol} container port named {name:?} (its container ports, named or not: {})",
            pod.map_or_else(|| "none".into(), PodInfo::declared_ports)
        ),
    );
    // What to ask instead: the declared names, and the numbers of the unnamed ports.
    e.suggestions = pod
        .map(|p| {
            p.ports
                .iter()
                .map(|cp| cp.name.clone().unwrap_or_else(|| cp.port.to_string()))
                .collect()
        })
        .unwrap_or_default();
    Err(e)
}

/// The port an address of a selector-less Service's Endpoints serves for a Service port: the
/// endpoint port of the same name, else the only port listed, on any of the destination's IPs
/// (a dual-stack pod has one address per family).
fn endpoint_port(svc: &ServiceInfo, ips: &[IpAddr], port_name: Option<&str>, protocol: Protocol) -> Option<u16> {
    let addrs: Vec<_> = svc.endpoints.iter().filter(|a| ips.contains(&a.ip)).collect();
    let by_name = addrs.iter().find_map(|a| {
        a.ports
            .iter()
            .find(|(n, _, p)| *p == protocol && n.as_deref() == port_name)
    });
    let only = || {
        addrs.iter().find_map(|a| match a.ports.as_slice() {
            [(_, n, p)] if *p == protocol => Some((None, *n, *p)),
            _ => None,
        })
    };
    by_name.cloned().or_else(only).map(|(_, n, _)| n)
}

/// `10.0.0.1 https=TCP 6443, 10.0.0.2 TCP 6443`, at most five addresses; `none` when empty.
fn describe_endpoints(svc: &ServiceInfo) -> String {
    const MAX: usize = 5;
    if svc.endpoints.is_empty() {
        return "none".into();
    }
    let mut parts: Vec<String> = svc
        .endpoints
        .iter()
        .take(MAX)
        .map(|a| {
            let ports: Vec<String> = a
                .ports
                .iter()
                .map(|(n, port, p)| match n {
                    Some(n) => format!("{n}={p} {port}"),
                    None => format!("{p} {port}"),
                })
                .collect();
            if ports.is_empty() {
                format!("{} with no port", a.ip)
            } else {
                format!("{} {}", a.ip, ports.join(" "))
            }
        })
        .collect();
    if svc.endpoints.len() > MAX {
        parts.push(format!("and {} more", svc.endpoints.len() - MAX));
    }
    parts.join(", ")
}

/// `port 443 (https, TCP)`.
fn service_port(sp: &ServicePortInfo) -> String {
    match &sp.name {
        Some(n) => format!("port {} ({n}, {})", sp.port, sp.protocol),
        None => format!("port {} ({})", sp.port, sp.protocol),
    }
}

/// A diagnosis request, as parsed from a CLI or a tool call.
#[derive(Debug, Clone)]
pub struct Query {
    pub from: String,
    pub to: String,
    pub protocol: Protocol,
    pub port: Option<PortArg>,
}

impl Query {
    /// Parses a flow's arguments (no `protocol`: TCP), reporting every bad one at once.
    pub fn parse(from: &str, to: &str, port: Option<&str>, protocol: Option<&str>) -> Result<Query, QueryError> {
        let from_spec = EndpointSpec::parse("from", from);
        let to_spec = EndpointSpec::parse("to", to);
        let port = port.map(PortArg::parse).transpose();
        let protocol = parse_protocol(protocol.unwrap_or("TCP"));
        QueryError::gather(
            [
                from_spec.err(),
                to_spec.err(),
                port.as_ref().err().cloned(),
                protocol.as_ref().err().cloned(),
            ]
            .into_iter()
            .flatten(),
        )?;
        Ok(Query {
            from: from.to_string(),
            to: to.to_string(),
            protocol: protocol?,
            port: port?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_syntax() {
        assert_eq!(
            EndpointSpec::parse("from", "web/api-0").unwrap(),
            EndpointSpec::Pod {
                namespace: "web".into(),
                name: "api-0".into()
            }
        );
        assert_eq!(
            EndpointSpec::parse("from", "web/deploy/api").unwrap(),
            EndpointSpec::Workload {
                namespace: "web".into(),
                kind: WorkloadKind::Deployment,
                name: "api".into()
            }
        );
        assert_eq!(
            EndpointSpec::parse("to", "web/svc/api").unwrap(),
            EndpointSpec::Service {
                namespace: "web".into(),
                name: "api".into()
            }
        );
        assert_eq!(
            EndpointSpec::parse("to", "10.0.0.1").unwrap(),
            EndpointSpec::Ip("10.0.0.1".parse().unwrap())
        );
        assert!(EndpointSpec::parse("to", "a/b/c/d").is_err());
        assert!(
            EndpointSpec::parse("to", "web/foo/api")
                .unwrap_err()
                .message
                .contains("unknown kind")
        );
        assert!(EndpointSpec::parse("to", "/api").is_err());
    }

    #[test]
    fn service_dns_names() {
        let api = EndpointSpec::Service {
            namespace: "shop".into(),
            name: "api".into(),
        };
        for s in [
            "api.shop",
            "api.shop.svc",
            "api.shop.svc.cluster.local",
            "api.shop.svc.cluster.local.",
            "API.Shop.svc.corp.example",
        ] {
            assert_eq!(EndpointSpec::parse("to", s).unwrap(), api, "{s}");
        }
        // Not Service names: an IP-like pair, a pod's DNS name, three labels without `svc`.
        for s in [
            "10.0",
            "pod-0.api.shop.svc.cluster.local",
            "api.shop.example",
            "-a.shop",
        ] {
            assert!(EndpointSpec::parse("to", s).is_err(), "{s}");
        }
    }

    #[test]
    fn every_bad_argument_at_once_worded_per_surface() {
        let e = Query::parse("shop/a", "", Some("70000"), Some("ICMP")).unwrap_err();
        assert_eq!(e.arguments(), "to, port, protocol");
        assert!(!e.not_found);
        let cli = e.text(Surface::Cli);
        assert_eq!(cli.lines().count(), 3, "{cli}");
        assert!(
            cli.starts_with("--to: missing")
                && cli.contains("\n--port: 70000")
                && cli.contains("\n--protocol: \"ICMP\""),
            "{cli}"
        );
        let tool = e.text(Surface::Tool);
        assert!(tool.contains("`port`: 70000") && !tool.contains("--"), "{tool}");
        assert!(Query::parse("shop/a", "api.shop", Some("http"), Some("udp")).is_ok());
    }

    #[test]
    fn port_syntax() {
        assert_eq!(PortArg::parse("8080").unwrap(), PortArg::Number(8080));
        assert_eq!(PortArg::parse("http").unwrap(), PortArg::Name("http".into()));
        assert!(PortArg::parse("0").is_err());
        assert!(PortArg::parse("70000").is_err());
        assert!(PortArg::parse("a b").is_err());
        assert!(parse_protocol("icmp").is_err());
        assert_eq!(parse_protocol("udp").unwrap(), Protocol::Udp);
    }
}
