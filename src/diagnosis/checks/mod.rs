//! The checks around the rules, run after the two sides are evaluated: CNI enforcement,
//! Multus secondary interfaces, hostNetwork, Services and their target ports, NodePort SNAT,
//! DNS and API-server egress, service meshes, CNI-specific policies, cross-namespace labels,
//! Cilium's special identities, and how to confirm by hand.
//!
//! Invariant: each check is a pure function of the cluster, the question and the diagnosis as
//! it stands, and returns a [`Finding`]; it never edits the diagnosis. [`assess`] applies the
//! findings one by one in the order below, which is the documented ranking of their causes:
//!
//! 1. `cni`: the record and the confidence.
//! 2. `multus`: an address on a secondary interface makes NetworkPolicy not apply at all
//!    (before anything that assumes the primary network).
//! 3. `host_network`: first when it decides the answer, else last.
//! 4. `service`, then `node_port` (a Service destination): a NodePort/LoadBalancer flow from an
//!    outside address may be answered as seen from a node IP (kube-proxy's SNAT).
//! 5. `dns`, then `api_server` (an egress-isolated source pod; any source pod when the question
//!    is DNS itself): a root cause only for a flow to the DNS (first) or to the API server
//!    (first), or DNS for a Service destination (after the deciding cause); else one warning.
//! 6. `mesh`, 7. `extended` (CNI-specific policies), 8. `cross_namespace` (record only).
//! 9. `cni` again: a CNI that enforces nothing outranks every rule (its cause goes in front).
//! 10. `cilium_identities`: an allow through an ipBlock of a node or API-server address.
//! 11. `verify`: read-only commands to confirm by hand.
//!
//! A check whose objects are missing from the snapshot says what is missing; an outcome that
//! depends on the dataplane is `inconclusive`, naming what it depends on.

mod api_server;
pub(crate) mod cni;
mod dns;
pub(crate) mod extended;
mod host_network;
mod mesh;
mod multus;
mod node_port;
mod service;
pub use service::service_ports;
mod verify;

use std::net::IpAddr;

use crate::diagnosis::causes::verdict_of;
use crate::diagnosis::describe::Role;
use crate::diagnosis::query::{EndpointSpec, Query, QueryError, Resolved};
use crate::engine::{self, Endpoint, Flow, FlowTrace};
use crate::index::{ClusterIndex, PodId, ServiceInfo};
use crate::policy::Protocol;
use crate::report::*;

/// Everything the checks need about the question.
pub struct Ends<'a> {
    pub query: &'a Query,
    pub src: &'a Resolved,
    pub dst: &'a Resolved,
    pub trace: &'a FlowTrace,
    /// The port the destination pod receives on, when given.
    pub port: Option<u16>,
}

/// Where a check's root cause ranks among the rule-level causes of the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// Ahead of everything found so far (a CNI that enforces nothing).
    Lead,
    /// Ahead of the rule-level causes.
    First,
    /// After them.
    Last,
}

/// What a finding does to the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Keep,
    /// The answer depends on something the snapshot cannot show.
    Inconclusive,
    /// NetworkPolicy does not apply to this traffic: nothing enforces it.
    NotEnforced,
    /// NetworkPolicy does not apply to this traffic, which travels on another network: the
    /// rule-level causes describe traffic that does not happen. The sides shown become those of
    /// the same ends on the primary network, with `pod` (its primary address) as the `role` end.
    OffThePrimaryNetwork {
        role: Role,
        pod: PodId,
    },
    /// The traffic reaches the destination from this address (kube-proxy's SNAT of NodePort
    /// traffic): the diagnosis is the one for it, `inconclusive` when the node IPs disagree.
    AsSeenFrom {
        ip: IpAddr,
        inconclusive: bool,
    },
}

/// The record a check leaves in `Diagnosis.checks`.
#[derive(Debug, Clone)]
pub enum Record {
    Cni(CniCheck),
    SecondaryInterfaces(Vec<SecondaryInterfaceCheck>),
    HostNetwork(HostNetworkCheck),
    Service(ServiceCheck),
    NodePort(NodePortCheck),
    Dns(DnsCheck),
    ApiServer(ApiServerCheck),
    Mesh(MeshCheck),
    ExtendedPolicies(Vec<ExtendedPolicyCheck>),
    CrossNamespace(CrossNamespaceCheck),
    Verify(Verification),
}

/// What one check found.
#[derive(Debug, Clone)]
pub struct Finding {
    pub records: Vec<Record>,
    pub causes: Vec<(Rank, RootCause)>,
    pub effect: Effect,
    pub warnings: Vec<String>,
    /// `high`, `medium` or `low`: how much the verdict can be trusted (the CNI check sets it).
    pub confidence: Option<&'static str>,
}

impl Finding {
    pub fn none() -> Finding {
        Finding {
            records: Vec::new(),
            causes: Vec::new(),
            effect: Effect::Keep,
            warnings: Vec::new(),
            confidence: None,
        }
    }

    fn record(r: Record) -> Finding {
        Finding {
            records: vec![r],
            ..Finding::none()
        }
    }
}

/// Runs a diagnosis again for another question (the caller owns how a diagnosis runs).
pub type Rediagnose<'a> = dyn Fn(&Query) -> Result<(Diagnosis, FlowTrace), QueryError> + 'a;

/// The causes gathered while the findings are applied, around the rule-level ones.
#[derive(Default)]
struct Ranked {
    first: Vec<RootCause>,
    last: Vec<RootCause>,
}

/// Runs every check in the documented order and applies its finding. Returns the trace the
/// diagnosis now rests on when a finding replaced it (NodePort SNAT: the node IP's flow).
pub fn assess(ix: &ClusterIndex, e: &Ends<'_>, d: &mut Diagnosis, rediagnose: &Rediagnose<'_>) -> Option<FlowTrace> {
    let mut ranked = Ranked::default();
    let mut replaced = None;
    let checks: [fn(&ClusterIndex, &Ends<'_>, &Diagnosis) -> Finding; 13] = [
        cni::record,
        multus::check,
        host_network::check,
        service::check,
        node_port::check,
        dns::check,
        api_server::check,
        mesh::check,
        extended::check,
        cross_namespace,
        cni::enforcement,
        cilium_identities,
        verify::check,
    ];
    for check in checks {
        let finding = check(ix, e, d);
        if let Some(t) = apply(ix, finding, e, d, &mut ranked, rediagnose) {
            replaced = Some(t);
        }
    }
    let mut causes = ranked.first;
    causes.append(&mut d.root_causes);
    causes.append(&mut ranked.last);
    d.root_causes = causes;
    unenforced_suggestions(d.verdict, &mut d.root_causes);
    crate::diagnosis::causes::still_fails_on_dns(&mut d.root_causes);
    // A warning never repeats a root cause.
    let summaries: Vec<&str> = d.root_causes.iter().map(|rc| rc.summary.as_str()).collect();
    d.warnings.retain(|w| !summaries.iter().any(|s| w.contains(s)));
    d.warnings.sort();
    d.warnings.dedup();
    replaced
}

/// While nothing enforces NetworkPolicy, no policy change fixes anything: the causes that
/// describe what the policies would do say so instead of suggesting one.
pub fn unenforced_suggestions(verdict: Verdict, causes: &mut [RootCause]) {
    let unenforced =
        verdict == Verdict::NotEnforced && causes.iter().any(|rc| rc.code == RootCauseCode::CniNoNetpolSupport);
    if !unenforced {
        return;
    }
    for rc in causes
        .iter_mut()
        .filter(|rc| rc.code != RootCauseCode::CniNoNetpolSupport)
    {
        rc.suggestion = "Nothing to change in the policies while nothing enforces them (the first cause); once NetworkPolicy is enforced, this is what would decide the flow.".into();
    }
}

/// Applies one finding to the diagnosis.
fn apply(
    ix: &ClusterIndex,
    f: Finding,
    e: &Ends<'_>,
    d: &mut Diagnosis,
    ranked: &mut Ranked,
    rediagnose: &Rediagnose<'_>,
) -> Option<FlowTrace> {
    for r in f.records {
        record(&mut d.checks, r);
    }
    if let Some(c) = f.confidence {
        d.confidence = c.to_string();
    }
    d.warnings.extend(f.warnings);
    for (rank, rc) in f.causes {
        match rank {
            Rank::Lead => ranked.first.insert(0, rc),
            Rank::First => ranked.first.push(rc),
            Rank::Last => ranked.last.push(rc),
        }
    }
    match f.effect {
        Effect::Keep => {}
        Effect::Inconclusive => d.verdict = Verdict::Inconclusive,
        Effect::NotEnforced => {
            d.verdict = Verdict::NotEnforced;
            d.blocked_direction = None;
        }
        Effect::OffThePrimaryNetwork { role, pod } => {
            d.verdict = Verdict::NotEnforced;
            d.blocked_direction = None;
            d.root_causes.clear();
            return on_the_primary_network(ix, role, pod, e, d, rediagnose);
        }
        Effect::AsSeenFrom { ip, inconclusive } => return as_seen_from(ip, inconclusive, e, d, rediagnose),
    }
    None
}

fn record(c: &mut Checks, r: Record) {
    match r {
        Record::Cni(x) => c.cni = x,
        Record::SecondaryInterfaces(x) => c.secondary_interfaces.extend(x),
        Record::HostNetwork(x) => c.host_network = Some(x),
        Record::Service(x) => c.service = Some(x),
        Record::NodePort(x) => c.node_port = Some(x),
        Record::Dns(x) => c.dns = Some(x),
        Record::ApiServer(x) => c.api_server = Some(x),
        Record::Mesh(x) => c.mesh = Some(x),
        Record::ExtendedPolicies(x) => c.extended_policies.extend(x),
        Record::CrossNamespace(x) => c.cross_namespace = Some(x),
        Record::Verify(x) => c.verify = x,
    }
}

/// The sides of the same question on the primary network, `pod` standing at the `role` end:
/// what the egress and ingress lines show when the asked address is a secondary interface's.
fn on_the_primary_network(
    ix: &ClusterIndex,
    role: Role,
    pod: PodId,
    e: &Ends<'_>,
    d: &mut Diagnosis,
    rediagnose: &Rediagnose<'_>,
) -> Option<FlowTrace> {
    let key = ix.pod(pod).key();
    let q = match role {
        Role::Source => Query {
            from: key,
            ..e.query.clone()
        },
        Role::Destination => Query {
            to: key,
            ..e.query.clone()
        },
    };
    let (nd, nt) = rediagnose(&q).ok()?;
    adopt_sides(d, nd);
    Some(nt)
}

/// What another diagnosis says passes, and its two sides, in place of this one's.
fn adopt_sides(d: &mut Diagnosis, nd: Diagnosis) {
    d.allowed_connections = nd.allowed_connections;
    d.allowed_via_service = nd.allowed_via_service;
    d.egress = nd.egress;
    d.ingress = nd.ingress;
}

/// The diagnosis of the same question from `ip`, in place of this one's verdict and sides.
fn as_seen_from(
    ip: IpAddr,
    inconclusive: bool,
    e: &Ends<'_>,
    d: &mut Diagnosis,
    rediagnose: &Rediagnose<'_>,
) -> Option<FlowTrace> {
    let q = Query {
        from: ip.to_string(),
        ..e.query.clone()
    };
    let (mut nd, nt) = rediagnose(&q).ok()?;
    d.verdict = if inconclusive {
        Verdict::Inconclusive
    } else {
        nd.verdict
    };
    d.blocked_direction = nd.blocked_direction;
    d.root_causes = std::mem::take(&mut nd.root_causes);
    adopt_sides(d, nd);
    Some(nt)
}

/// The verdict of another flow between the question's ends (or others), with its trace.
fn verdict_of_flow(
    ix: &ClusterIndex,
    src: Endpoint,
    dst: Endpoint,
    protocol: Protocol,
    port: Option<u16>,
) -> (Verdict, FlowTrace) {
    let t = engine::evaluate(
        ix,
        Flow {
            src,
            dst,
            protocol,
            port,
        },
    );
    (verdict_of(&t), t)
}

fn pod_of(e: Endpoint) -> Option<PodId> {
    match e {
        Endpoint::Pod(id) => Some(id),
        Endpoint::Ip(_) => None,
    }
}

/// The Service the question names as its destination, when the snapshot has it.
fn service_destination<'a>(ix: &'a ClusterIndex, e: &Ends<'_>) -> Option<&'a ServiceInfo> {
    match &e.dst.spec {
        EndpointSpec::Service { namespace, name } => ix.service(namespace, name),
        _ => None,
    }
}

/// Both ends are pods of different namespaces: the namespace selectors of every rule involved.
fn cross_namespace(ix: &ClusterIndex, e: &Ends<'_>, _: &Diagnosis) -> Finding {
    let t = e.trace;
    let (Some(s), Some(dd)) = (pod_of(t.flow.src), pod_of(t.flow.dst)) else {
        return Finding::none();
    };
    if ix.pod(s).namespace == ix.pod(dd).namespace {
        return Finding::none();
    }
    let (checks, nearest) = super::steps::namespace_peer_checks(ix, t);
    Finding::record(Record::CrossNamespace(CrossNamespaceCheck {
        source_namespace: super::steps::namespace_report(ix, &ix.pod(s).namespace),
        destination_namespace: super::steps::namespace_report(ix, &ix.pod(dd).namespace),
        failing_peers: checks.into_iter().filter(|c| !c.namespace_matches).take(10).collect(),
        nearest_miss: nearest,
    }))
}

/// Cilium (by default) gives node and API-server addresses the host / remote-node /
/// kube-apiserver identities, which an ipBlock does not match: an allow through an ipBlock of
/// such an address is not certain there.
fn cilium_identities(ix: &ClusterIndex, e: &Ends<'_>, d: &Diagnosis) -> Finding {
    let t = e.trace;
    if !runs_cilium(ix) || d.verdict != Verdict::Allowed {
        return Finding::none();
    }
    let api_ips: Vec<IpAddr> = ix
        .service("default", "kubernetes")
        .map(|s| {
            s.endpoints
                .iter()
                .map(|a| a.ip)
                .chain(s.cluster_ips.iter().copied())
                .collect()
        })
        .unwrap_or_default();
    let special = |ep: Endpoint| match ep {
        Endpoint::Ip(ip) => ix.node_by_ip(ip).is_some() || api_ips.contains(&ip),
        Endpoint::Pod(id) => ix.pod(id).host_network,
    };
    let isolated_toward_special =
        (special(t.flow.dst) && d.egress.isolated) || (special(t.flow.src) && d.ingress.isolated);
    if !isolated_toward_special {
        return Finding::none();
    }
    Finding {
        causes: vec![(Rank::First, RootCause {
            code: RootCauseCode::DataplaneDependent,
            summary: "NetworkPolicy allows this through an ipBlock of a node or API-server address, but Cilium gives those addresses the host / remote-node / kube-apiserver identities, which an ipBlock does not match unless policy-cidr-match-mode includes nodes.".into(),
            policies: Vec::new(),
            evidence: vec![format!("CNI: {}", d.checks.cni.cnis.join(", "))],
            suggestion: "Check the Cilium configuration (policy-cidr-match-mode), or allow these peers with toEntities (kube-apiserver, host, remote-node) in a CiliumNetworkPolicy.".into(),
        })],
        effect: Effect::Inconclusive,
        ..Finding::none()
    }
}

/// Cilium (or GKE Dataplane V2, which is Cilium) runs in the cluster: node and API-server
/// addresses have special identities that an ipBlock does not match by default.
fn runs_cilium(ix: &ClusterIndex) -> bool {
    ix.facts
        .cni
        .cnis
        .iter()
        .any(|c| c.name == "cilium" || c.name == "gke-dataplane-v2")
}

/// The source pod, when it is egress-isolated and not on the host network: DNS and the API
/// server must then be allowed explicitly.
fn egress_isolated_source(ix: &ClusterIndex, e: &Ends<'_>) -> Option<PodId> {
    pod_of(e.trace.flow.src).filter(|&id| !ix.pod(id).host_network && e.trace.egress.isolated())
}
