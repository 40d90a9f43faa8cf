//! Reachability of one endpoint: which workloads and external ranges can reach it (or, seen
//! from a source, which it can reach), grouped by verdict, place and reason.
//!
//! Invariant: every pair is the engine's `evaluate` of the same flow `diagnose` would evaluate
//! (one representative pod per workload, as `matrix`), and a blocked or inconclusive group
//! carries the first rule-level root cause `diagnose` ranks for it (`causes::root_causes`), plus
//! the CNI-specific policies the engine does not evaluate (`EXTENDED_POLICY_PRESENT`, as the
//! `extended` check applies them). The other checks around the rules (DNS, API server, Service
//! ports, hostNetwork, meshes) are not run per peer: the note says so; nothing that enforces
//! NetworkPolicy makes every would-be block `not-enforced`, as `diagnose` says. Causes are worded
//! once per distinct trace shape (`CauseMemo`); peers stopped by their own side (a source's
//! egress) are grouped by code, since each has its own policies. Cost: one `evaluate` per
//! workload and external range, plus one wording per distinct cause.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::causes::{blocked_cause, uncertain_causes, verdict_of};
use super::checks::extended;
use super::matrix::{external_blocks, representatives};
use super::query::{self, EndpointSpec, PortArg, QueryError, parse_protocol};
use crate::engine::{self, Endpoint, Flow, FlowTrace, PeerFailure, RuleTrace, Selection, SideTrace};
use crate::index::cni::Enforcement;
use crate::index::{ClusterIndex, PodId, PolicyId};
use crate::policy::{Direction, Protocol};
use crate::report::*;

/// Peers listed per group and groups listed per verdict, unless asked otherwise.
pub const DEFAULT_LIMIT: usize = 10;

/// A reachability question.
#[derive(Debug, Clone)]
pub struct ReachQuery {
    /// The endpoint as written.
    pub endpoint: String,
    /// `Ingress`: who can reach the endpoint; `Egress`: what the endpoint can reach.
    pub direction: Direction,
    pub protocol: Protocol,
    pub port: Option<PortArg>,
    /// Groups per verdict and peers per group listed.
    pub limit: usize,
}

impl ReachQuery {
    /// Parses the arguments (exactly one of `to`, `from`), reporting every bad one at once.
    pub fn parse(
        to: Option<&str>,
        from: Option<&str>,
        port: Option<&str>,
        protocol: Option<&str>,
        limit: usize,
    ) -> Result<ReachQuery, QueryError> {
        let (argument, endpoint, direction) = match (to, from) {
            (Some(t), None) => ("to", t, Direction::Ingress),
            (None, Some(f)) => ("from", f, Direction::Egress),
            (Some(_), Some(_)) => {
                return Err(QueryError::invalid(
                    "to",
                    "give one endpoint: this one for who can reach it, or the source alone for what it can reach, not both".into(),
                ));
            }
            (None, None) => {
                return Err(QueryError::invalid(
                    "to",
                    "missing: the endpoint to reach (NAMESPACE/POD or NAMESPACE/KIND/NAME), or the source alone for what it can reach".into(),
                ));
            }
        };
        let spec = EndpointSpec::parse(argument, endpoint).and_then(|s| match s {
            EndpointSpec::Ip(ip) => Err(QueryError::invalid(
                argument,
                format!("{ip} is an address: give a pod, a workload or a Service (NetworkPolicy selects pods)"),
            )),
            s => Ok(s),
        });
        let port = port.map(PortArg::parse).transpose().and_then(|p| match p {
            Some(PortArg::Name(n)) if direction == Direction::Egress => Err(QueryError::invalid(
                "port",
                format!("{n:?}: a port name resolves on each destination pod; toward every peer give a number"),
            )),
            p => Ok(p),
        });
        let protocol = parse_protocol(protocol.unwrap_or("TCP"));
        QueryError::gather(
            [
                spec.err(),
                port.as_ref().err().cloned(),
                protocol.as_ref().err().cloned(),
            ]
            .into_iter()
            .flatten(),
        )?;
        Ok(ReachQuery {
            endpoint: endpoint.to_string(),
            direction,
            protocol: protocol?,
            port: port?,
            limit: limit.max(1),
        })
    }

    fn argument(&self) -> &'static str {
        match self.direction {
            Direction::Ingress => "to",
            Direction::Egress => "from",
        }
    }
}

/// The verdict slot of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Allowed,
    Blocked,
    Inconclusive,
    /// Nothing enforces NetworkPolicy: what the policies would block (or leave in doubt) passes.
    NotEnforced,
}

/// What allows a pair on one side, to group by: a NetworkPolicy rule, or another tier's line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Allowing {
    Rule(Direction, PolicyId, usize),
    Line(String),
}

/// What puts peers in one group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    Allowed {
        by: Vec<Allowing>,
        connections: Option<String>,
    },
    /// `policies`: those of the cause; empty when the peers' own side stops them (each peer has
    /// its own policies: they are gathered in the group instead).
    Cause {
        code: RootCauseCode,
        policies: Vec<String>,
        at_peer: bool,
    },
}

/// A peer: its name and its namespace (`None`: an external range).
struct Peer {
    name: String,
    namespace: Option<String>,
    endpoint: Endpoint,
}

/// The peers of one group as they are found, and the cause worded for the first.
struct Acc {
    peers: Vec<usize>,
    example: Option<String>,
    /// The policies of the peers' own side that stop them (`at_peer` groups).
    policies: BTreeSet<String>,
}

/// The summary of a pair's cause: worded now, or a cause the memo holds (read only for the first
/// peer of a group).
enum Example {
    None,
    Text(String),
    Memo(usize),
}

/// Who can reach the endpoint (or what it can reach), grouped.
pub fn reach(ix: &ClusterIndex, q: &ReachQuery) -> Result<Reachability, QueryError> {
    let r = query::resolve(ix, q.argument(), &q.endpoint)?;
    let Some(subject) = r.endpoints.iter().find_map(|e| match e {
        Endpoint::Pod(id) => Some(*id),
        Endpoint::Ip(_) => None,
    }) else {
        return Err(QueryError::new(
            q.argument(),
            format!("{} stands for no pod of the snapshot", q.endpoint),
        ));
    };
    let port = match (&q.port, q.direction) {
        (Some(p), Direction::Ingress) => Some(query::port_for(ix, &r, Endpoint::Pod(subject), p, q.protocol)?.0),
        (Some(PortArg::Number(n)), Direction::Egress) => Some(*n),
        _ => None,
    };
    let peers = peers(ix, subject, q.direction);
    let groups = group_peers(ix, q, subject, port, &peers);
    let mut warnings = Vec::new();
    if r.endpoints.len() > 1 {
        warnings.push(format!(
            "{} stands for {} pods; {} answers for them (pods of one workload normally share labels)",
            q.endpoint,
            r.endpoints.len(),
            ix.pod(subject).key()
        ));
    }
    warnings.extend(cni_warning(ix));
    warnings.extend(node_port_warning(ix, &r.spec, q.direction));
    Ok(Reachability {
        asked: asked(q, port),
        endpoint: q.endpoint.clone(),
        pod: ix.pod(subject).key(),
        verdicts: lists(ix, &peers, groups, q.limit),
        notes: std::iter::once(NOTE.to_string())
            .chain(warnings)
            .chain([SCOPE.to_string()])
            .collect(),
    })
}

/// Every pair evaluated and put in its group, in peer order.
fn group_peers(
    ix: &ClusterIndex,
    q: &ReachQuery,
    subject: PodId,
    port: Option<u16>,
    peers: &[Peer],
) -> BTreeMap<(Slot, Place, GroupKey), Acc> {
    let enforced = ix.facts.cni.enforcement != Enforcement::NotEnforced;
    let mut grouper = Grouper::new(ix, subject, q.direction);
    let mut groups: BTreeMap<(Slot, Place, GroupKey), Acc> = BTreeMap::new();
    for (i, peer) in peers.iter().enumerate() {
        let (src, dst) = match q.direction {
            Direction::Ingress => (peer.endpoint, Endpoint::Pod(subject)),
            Direction::Egress => (Endpoint::Pod(subject), peer.endpoint),
        };
        let place = match &peer.namespace {
            None => Place::External,
            Some(ns) if *ns == ix.pod(subject).namespace => Place::SameNamespace,
            Some(_) => Place::OtherNamespace,
        };
        let flow = Flow {
            src,
            dst,
            protocol: q.protocol,
            port,
        };
        let (mut slot, key, example, peer_policies) = grouper.classify(flow);
        if !enforced && slot != Slot::Allowed {
            slot = Slot::NotEnforced;
        }
        let acc = groups.entry((slot, place, key)).or_insert_with(|| Acc {
            peers: Vec::new(),
            example: match example {
                Example::None => None,
                Example::Text(s) => Some(s),
                Example::Memo(i) => Some(grouper.memo.causes[i].summary.clone()),
            },
            policies: BTreeSet::new(),
        });
        acc.peers.push(i);
        acc.policies.extend(peer_policies);
    }
    groups
}

/// `who can reach it on TCP 80 (pod port 8080)`, `what it can reach on any TCP port`.
fn asked(q: &ReachQuery, port: Option<u16>) -> String {
    let asked = match q.direction {
        Direction::Ingress => "who can reach it",
        Direction::Egress => "what it can reach",
    };
    let port = match (&q.port, port) {
        (Some(PortArg::Number(a)), Some(n)) if *a == n => format!("{} {n}", q.protocol),
        (Some(PortArg::Number(a)), Some(n)) => format!("{} {a} (pod port {n})", q.protocol),
        (Some(PortArg::Name(a)), Some(n)) => format!("{} {a} (pod port {n})", q.protocol),
        _ => format!("any {} port", q.protocol),
    };
    format!("{asked} on {port}")
}

const NOTE: &str = "Each workload is represented by one pod (the first by name), as in connectivity_map; external ranges are cut where the policies' ipBlocks cut them. Codes are diagnose's root causes from the rules (and CNI-specific policies it does not evaluate); the checks around the rules (DNS, API server, Service ports, hostNetwork, service mesh) are not run per peer: diagnose one peer for those.";

/// A CNI that enforces nothing (or only when configured so) changes every verdict here.
fn cni_warning(ix: &ClusterIndex) -> Option<String> {
    let cni = &ix.facts.cni;
    match cni.enforcement {
        Enforcement::NotEnforced => Some(format!(
            "{} The not-enforced groups are what the policies would stop (or leave in doubt) once enforced (diagnose: CNI_NO_NETPOL_SUPPORT).",
            cni.summary
        )),
        _ => super::checks::cni::conditional_warning(ix),
    }
}

/// Outside clients of a NodePort or LoadBalancer Service (externalTrafficPolicy Cluster) reach
/// the pods from a node address: the external groups are about traffic to the pods' addresses.
fn node_port_warning(ix: &ClusterIndex, spec: &EndpointSpec, dir: Direction) -> Option<String> {
    let EndpointSpec::Service { namespace, name } = spec else {
        return None;
    };
    let svc = ix.service(namespace, name)?;
    let exposed = matches!(svc.type_.as_str(), "NodePort" | "LoadBalancer");
    let snat = svc.external_traffic_policy.as_deref() != Some("Local");
    (dir == Direction::Ingress && exposed && snat).then(|| {
        format!(
            "{namespace}/{name} is a {} Service with externalTrafficPolicy Cluster: outside clients coming through a node port or the load balancer reach the pods from a node address (kube-proxy SNAT), not their own; the external groups are for traffic to the pods' addresses (diagnose such a client for NODEPORT_SNAT)",
            svc.type_
        )
    })
}

/// Every workload (its representative pod) and every external range, in that order.
fn peers(ix: &ClusterIndex, subject: PodId, dir: Direction) -> Vec<Peer> {
    let mut out: Vec<Peer> = representatives(ix, Some(subject))
        .into_iter()
        .map(|(name, id)| Peer {
            name,
            namespace: Some(ix.pod(id).namespace.clone()),
            endpoint: Endpoint::Pod(id),
        })
        .collect();
    // Sources come from the ranges ingress ipBlocks cut, destinations from egress ones.
    let (sources, destinations) = external_blocks(ix);
    let blocks = match dir {
        Direction::Ingress => sources,
        Direction::Egress => destinations,
    };
    out.extend(blocks.into_iter().map(|b| Peer {
        name: b.name(),
        namespace: None,
        endpoint: Endpoint::Ip(b.start),
    }));
    out
}

/// Puts pairs in groups: the verdict, what allows, or the first cause (worded once per trace).
struct Grouper<'a> {
    ix: &'a ClusterIndex,
    subject: PodId,
    dir: Direction,
    /// CNI-specific policies the engine does not evaluate that select the endpoint asked about.
    subject_unevaluated: Vec<ExtendedPolicyCheck>,
    memo: CauseMemo,
}

impl<'a> Grouper<'a> {
    fn new(ix: &'a ClusterIndex, subject: PodId, dir: Direction) -> Self {
        let role = match dir {
            Direction::Ingress => "destination",
            Direction::Egress => "source",
        };
        Grouper {
            ix,
            subject,
            dir,
            // The endpoint's own side: its ingress when peers reach it, its egress when it reaches them.
            subject_unevaluated: extended::unevaluated(ix, subject, dir)
                .into_iter()
                .map(|h| extended::record(h, role))
                .collect(),
            memo: CauseMemo::default(),
        }
    }

    /// The slot, the group and (for a cause) its summary for this pair; and when the peer's own
    /// side stops it, the policies there.
    fn classify(&mut self, flow: Flow) -> (Slot, GroupKey, Example, Vec<String>) {
        let ix = self.ix;
        let t = engine::evaluate(ix, flow);
        let verdict = verdict_of(&t);
        if let Some(found) = self.unevaluated(&t, verdict) {
            let rc = extended::cause(&found);
            return (
                Slot::Inconclusive,
                cause_key(&rc),
                Example::Text(rc.summary),
                Vec::new(),
            );
        }
        match verdict {
            Verdict::Allowed => (Slot::Allowed, self.allowed_key(&t), Example::None, Vec::new()),
            Verdict::Blocked => {
                let (at, side) = self.memo.blocked(ix, &t);
                let rc = &self.memo.causes[at];
                if side == self.dir {
                    return (Slot::Blocked, cause_key(rc), Example::Memo(at), Vec::new());
                }
                let key = GroupKey::Cause {
                    code: rc.code,
                    policies: Vec::new(),
                    at_peer: true,
                };
                (Slot::Blocked, key, Example::Memo(at), rc.policies.clone())
            }
            _ => {
                let rc = first_doubt(ix, &t);
                (
                    Slot::Inconclusive,
                    cause_key(&rc),
                    Example::Text(rc.summary),
                    Vec::new(),
                )
            }
        }
    }

    /// CNI-specific policies that make this pair inconclusive, as the `extended` check decides:
    /// they select an end in the direction that matters there, unless the pair is blocked on a
    /// side none of them selects.
    fn unevaluated(&self, t: &FlowTrace, verdict: Verdict) -> Option<Vec<ExtendedPolicyCheck>> {
        if self.ix.facts.extended_objects.is_empty() {
            return None;
        }
        let ix = self.ix;
        let (peer_dir, peer_role) = match self.dir {
            Direction::Ingress => (Direction::Egress, "source"),
            Direction::Egress => (Direction::Ingress, "destination"),
        };
        let peer_side = self
            .peer_pod(t)
            .map(|id| extended::unevaluated(ix, id, peer_dir))
            .unwrap_or_default()
            .into_iter()
            .map(|h| extended::record(h, peer_role));
        // Source first, as the check lists them.
        let subject = self.subject_unevaluated.iter().cloned();
        let found: Vec<ExtendedPolicyCheck> = match self.dir {
            Direction::Ingress => peer_side.chain(subject).collect(),
            Direction::Egress => subject.chain(peer_side).collect(),
        };
        if found.is_empty() {
            return None;
        }
        let blocking_side_selected = found.iter().any(|x| match x.endpoint.as_str() {
            "source" => !t.egress.allowed,
            _ => !t.ingress.allowed,
        });
        (verdict != Verdict::Blocked || blocking_side_selected).then_some(found)
    }

    fn peer_pod(&self, t: &FlowTrace) -> Option<PodId> {
        let peer = match self.dir {
            Direction::Ingress => t.flow.src,
            Direction::Egress => t.flow.dst,
        };
        match peer {
            Endpoint::Pod(id) if id != self.subject => Some(id),
            _ => None,
        }
    }

    /// What allows the pair on each side, and without a port the whole connection set.
    fn allowed_key(&self, t: &FlowTrace) -> GroupKey {
        let ix = self.ix;
        let mut by = Vec::new();
        if let Some(a) = &t.always_allowed {
            by.push(Allowing::Line(match a {
                engine::AlwaysAllowed::SamePod => "a pod to itself: never restricted".into(),
                engine::AlwaysAllowed::NodeToLocalPod { node } => {
                    format!("node {node} to its own pods: never restricted")
                }
            }));
        }
        for side in [&t.egress, &t.ingress] {
            by.extend(allowing(ix, side));
        }
        let connections = t.flow.port.is_none().then(|| {
            let sel = Selection::for_pair(ix, t.flow.src, t.flow.dst);
            engine::allowed_conns(ix, &sel, t.flow.src, t.flow.dst).to_string()
        });
        GroupKey::Allowed { by, connections }
    }
}

/// What allows one side: the admin-tier (or Calico) rule that decided, the NetworkPolicy rules
/// that allow, the Cilium element that allows; nothing for a side no policy isolates.
fn allowing(ix: &ClusterIndex, side: &SideTrace) -> Vec<Allowing> {
    let mut out: Vec<Allowing> = super::causes::deciding_admin_rule(ix, side)
        .or_else(|| super::causes::calico_deciding_rule(ix, side))
        .map(Allowing::Line)
        .into_iter()
        .collect();
    out.extend(
        side.rules
            .iter()
            .filter(|r| r.allows())
            .map(|r| Allowing::Rule(side.direction, r.policy, r.rule_index)),
    );
    out.extend(super::causes::cilium::deciding_rule(ix, side).map(Allowing::Line));
    out
}

/// An allowing item as the answer quotes it: `ns/name spec.ingress[0]: {from: [...]}`.
fn allowing_line(ix: &ClusterIndex, a: &Allowing) -> String {
    match a {
        Allowing::Line(s) => s.clone(),
        Allowing::Rule(dir, pid, i) => {
            let pol = &ix.policies[*pid];
            let quoted = pol.rule(*dir, *i).map(|x| x.quote(*dir)).unwrap_or_default();
            format!("{} {}[{i}]: {quoted}", pol.key(), dir.spec_field())
        }
    }
}

fn cause_key(rc: &RootCause) -> GroupKey {
    GroupKey::Cause {
        code: rc.code,
        policies: rc.policies.clone(),
        at_peer: false,
    }
}

/// The first cause `root_causes` ranks for an inconclusive pair: what makes a blocking side
/// uncertain, else what makes an open side uncertain (egress before ingress).
fn first_doubt(ix: &ClusterIndex, t: &FlowTrace) -> RootCause {
    let sides = || [&t.egress, &t.ingress].into_iter();
    let side = sides()
        .find(|s| !s.allowed && !s.certain())
        .or_else(|| sides().find(|s| !s.certain()));
    side.and_then(|s| uncertain_causes(ix, s).into_iter().next())
        .unwrap_or_else(|| RootCause {
            code: RootCauseCode::PolicyUnreadable,
            summary: "The verdict is not certain.".into(),
            policies: Vec::new(),
            evidence: Vec::new(),
            suggestion: String::new(),
        })
}

/// The blocked cause of each distinct trace, worded once. A cause's code and policies depend on
/// the blocking side's trace and on whether the two ends share a namespace (cross-namespace
/// egress; an AND element whose pod half covers the policy's namespace only), never on the
/// peer's name, address or namespace name (those only word the summary): so the key leaves
/// them out ([`same_cause`]).
#[derive(Default)]
struct CauseMemo {
    by_key: HashMap<MemoKey, Vec<(SideTrace, usize)>>,
    causes: Vec<RootCause>,
}

/// The cheap part of the key; traces under it are compared whole ([`same_cause`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MemoKey {
    direction: Direction,
    /// Each end is a pod (not an address).
    pods: [bool; 2],
    same_namespace: bool,
    isolating: Vec<PolicyId>,
}

impl CauseMemo {
    /// The first root cause of a blocked pair (its index in `causes`) and the side it is on: the
    /// first side that blocks for certain, egress before ingress (as `root_causes` ranks them).
    fn blocked(&mut self, ix: &ClusterIndex, t: &FlowTrace) -> (usize, Direction) {
        let side = if !t.egress.allowed && t.egress.certain() {
            &t.egress
        } else {
            &t.ingress
        };
        let ns = |e: Endpoint| match e {
            Endpoint::Pod(id) => Some(ix.pod(id).namespace.as_str()),
            Endpoint::Ip(_) => None,
        };
        let (src, dst) = (ns(t.flow.src), ns(t.flow.dst));
        let key = MemoKey {
            direction: side.direction,
            pods: [src.is_some(), dst.is_some()],
            same_namespace: src.is_some() && src == dst,
            isolating: side.isolating.clone(),
        };
        let entries = self.by_key.entry(key).or_default();
        if let Some((_, at)) = entries.iter().find(|(s, _)| same_cause(s, side)) {
            return (*at, side.direction);
        }
        self.causes.push(blocked_cause(ix, t, side));
        entries.push((side.clone(), self.causes.len() - 1));
        (self.causes.len() - 1, side.direction)
    }
}

/// Two sides that differ at most in what only names the pair (the subject, the peer's address):
/// every field is compared (destructured, so a new field must be placed here).
fn same_cause(a: &SideTrace, b: &SideTrace) -> bool {
    let SideTrace {
        direction,
        subject: _,
        not_applicable,
        isolating,
        rules,
        admin,
        baseline,
        calico,
        allowed,
        uncertain,
        cilium_rules,
        cilium_isolates,
        cilium_denied,
    } = a;
    *direction == b.direction
        && *not_applicable == b.not_applicable
        && *isolating == b.isolating
        && rules.len() == b.rules.len()
        && rules.iter().zip(&b.rules).all(|(x, y)| same_rule(x, y))
        && *admin == b.admin
        && *baseline == b.baseline
        && *calico == b.calico
        && *allowed == b.allowed
        && *uncertain == b.uncertain
        && *cilium_rules == b.cilium_rules
        && *cilium_isolates == b.cilium_isolates
        && *cilium_denied == b.cilium_denied
}

fn same_rule(a: &RuleTrace, b: &RuleTrace) -> bool {
    let RuleTrace {
        policy,
        rule_index,
        peer_failures,
        port_failure,
        matched_pod_ip_by_ipblock,
    } = a;
    *policy == b.policy
        && *rule_index == b.rule_index
        && *port_failure == b.port_failure
        && *matched_pod_ip_by_ipblock == b.matched_pod_ip_by_ipblock
        && peer_failures.len() == b.peer_failures.len()
        && peer_failures
            .iter()
            .zip(&b.peer_failures)
            .all(|((i, x), (j, y))| i == j && same_failure(x, y))
}

/// Equal failures, the peer's address and namespace name aside (they only name the peer in the
/// words; what fails, and which labels are missing, is compared).
fn same_failure(a: &PeerFailure, b: &PeerFailure) -> bool {
    match (a, b) {
        (
            PeerFailure::OtherNamespace {
                policy_namespace: x, ..
            },
            PeerFailure::OtherNamespace {
                policy_namespace: y, ..
            },
        ) => x == y,
        (
            PeerFailure::NamespaceLabels {
                namespace: _,
                failed: f1,
                pod_selector_matches: p1,
                and_element: a1,
                missing_labels: m1,
            },
            PeerFailure::NamespaceLabels {
                namespace: _,
                failed: f2,
                pod_selector_matches: p2,
                and_element: a2,
                missing_labels: m2,
            },
        ) => f1 == f2 && p1 == p2 && a1 == a2 && m1 == m2,
        (PeerFailure::OutsideCidr { cidr: x, .. }, PeerFailure::OutsideCidr { cidr: y, .. }) => x == y,
        (
            PeerFailure::Excepted {
                cidr: c1, except: e1, ..
            },
            PeerFailure::Excepted {
                cidr: c2, except: e2, ..
            },
        ) => c1 == c2 && e1 == e2,
        _ => a == b,
    }
}

/// The groups of each verdict, ranked (same namespace, other namespaces, external; larger groups
/// first) and cut at `limit`.
fn lists(
    ix: &ClusterIndex,
    peers: &[Peer],
    groups: BTreeMap<(Slot, Place, GroupKey), Acc>,
    limit: usize,
) -> Vec<ReachList> {
    let mut per_namespace: HashMap<&str, usize> = HashMap::new();
    for p in peers {
        if let Some(ns) = &p.namespace {
            *per_namespace.entry(ns).or_default() += 1;
        }
    }
    let mut out: [Vec<(Place, usize, ReachGroup)>; 4] = Default::default();
    let mut totals = [0usize; 4];
    for ((slot, place, key), acc) in groups {
        let i = slot as usize;
        totals[i] += acc.peers.len();
        let (code, policies, rules, connections) = match key {
            GroupKey::Allowed { by, connections } => (
                None,
                Vec::new(),
                by.iter().map(|a| allowing_line(ix, a)).collect(),
                connections,
            ),
            GroupKey::Cause {
                code,
                policies,
                at_peer,
            } => {
                let policies = if at_peer {
                    first_of(&acc.policies, limit)
                } else {
                    policies
                };
                (Some(code), policies, Vec::new(), None)
            }
        };
        let (listed, omitted) = listed_peers(peers, &acc.peers, &per_namespace, place, limit);
        out[i].push((
            place,
            acc.peers.len(),
            ReachGroup {
                place,
                code,
                policies,
                rules,
                connections,
                example: acc.example,
                peers_total: acc.peers.len() as i64,
                peers: listed,
                peers_omitted: omitted as i64,
            },
        ));
    }
    let verdicts = [
        Verdict::Allowed,
        Verdict::Blocked,
        Verdict::Inconclusive,
        Verdict::NotEnforced,
    ];
    out.into_iter()
        .zip(totals)
        .zip(verdicts)
        .filter(|((groups, _), _)| !groups.is_empty())
        .map(|((mut groups, total), verdict)| {
            groups.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            ReachList {
                verdict,
                peers_total: total as i64,
                groups_total: groups.len() as i64,
                groups: groups.into_iter().take(limit).map(|(_, _, g)| g).collect(),
            }
        })
        .collect()
}

/// The first `limit` names, then `… N more`.
fn first_of(names: &BTreeSet<String>, limit: usize) -> Vec<String> {
    let mut out: Vec<String> = names.iter().take(limit).cloned().collect();
    if names.len() > limit {
        out.push(format!("… {} more", names.len() - limit));
    }
    out
}

/// The first `limit` entries naming a group's peers: a namespace whose every workload is in the
/// group (two or more, not the endpoint's own) as one `ns/* (all N workloads)`; and how many
/// peers the entries leave out.
fn listed_peers(
    peers: &[Peer],
    members: &[usize],
    per_namespace: &HashMap<&str, usize>,
    place: Place,
    limit: usize,
) -> (Vec<String>, usize) {
    let mut in_group: BTreeMap<&str, usize> = BTreeMap::new();
    for &m in members {
        if let Some(ns) = &peers[m].namespace {
            *in_group.entry(ns).or_default() += 1;
        }
    }
    let whole = |ns: &str| {
        place == Place::OtherNamespace
            && in_group
                .get(ns)
                .is_some_and(|&n| n >= 2 && per_namespace.get(ns) == Some(&n))
    };
    let mut entries: Vec<(String, usize)> = Vec::new();
    let mut seen_whole: Vec<&str> = Vec::new();
    for &m in members {
        let p = &peers[m];
        match p.namespace.as_deref() {
            Some(ns) if whole(ns) => {
                if !seen_whole.contains(&ns) {
                    seen_whole.push(ns);
                    entries.push((format!("{ns}/* (all {} workloads)", in_group[ns]), in_group[ns]));
                }
            }
            _ => entries.push((p.name.clone(), 1)),
        }
    }
    let shown: usize = entries.iter().take(limit).map(|(_, n)| n).sum();
    let names = entries.into_iter().take(limit).map(|(s, _)| s).collect();
    (names, members.len() - shown)
}
