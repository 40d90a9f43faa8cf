//! The evaluation of one flow against the lowered policies: pure, synchronous, total.
//!
//! Order, as the Kubernetes documentation defines it: traffic that policy never touches first
//! (a pod to itself, a node to its own pods), then egress at the source, then ingress at the
//! destination. A flow is allowed when both sides allow it. Every result carries its
//! explanation as data ([`trace`]): which policies isolate each side, which rule allowed, for
//! each rule that did not the first clause that failed, and what may make the answer wrong.
//!
//! The tier model ([`tiers`]): each side is decided connection by connection (protocol x port)
//! by ordered tiers of prioritised rules. A tier decides some connections (Allow, Deny) and
//! passes the rest (Pass, or no rule matched) to the next; what no tier decides is allowed. The
//! tiers, in order: Admin (AdminNetworkPolicy and `tier: Admin` ClusterNetworkPolicy; first match
//! by priority, then rule order), CiliumDeny (Cilium's `ingressDeny`/`egressDeny`: what they match is
//! denied, whatever allows it), NetworkPolicy (isolate-then-allow: once a policy — or a Cilium rule
//! with a section for the direction — selects the pod, what no rule, NetworkPolicy's or Cilium's,
//! allows is denied), and Baseline (`tier: Baseline` ClusterNetworkPolicy, then
//! the BaselineAdminNetworkPolicy; first match), reached only by a pod no NetworkPolicy isolates.
//! Without admin policies in the snapshot only the NetworkPolicy tier has rules. With Calico
//! policies, the NetworkPolicy tier is Calico's tier walk (`calico`), in whose `default` tier the
//! NetworkPolicies sit as `knp.default.<name>` (a tier kind of its own: see `tiers`). A new policy
//! dialect is a lowering into such tiers, not a new evaluator.
//!
//! Files: `trace` (results), `matchers` (one function per clause), `tiers` (the tiers and their
//! loop), `calico` (Calico's tier walk), `cilium` (the Cilium rules of a side against its peer,
//! for the tiers), `uncertainty` (what may make a side wrong), `conns` (connection sets for maps), `pairs` (the
//! connection sets of many pairs at once, rule by rule, for the whole-cluster map).
//!
//! Invariant: the engine reads only `snapshot`, `policy` and `index`; no I/O, no async, no panic.

mod calico;
mod cilium;
mod conns;
mod matchers;
mod pairs;
mod tiers;
mod trace;
mod uncertainty;

pub use crate::policy::admin::{AdminAction, AdminKind, AdminTier};
pub use crate::policy::{Action, ConnSet};
pub use conns::{Selection, allowed_conns, side_conns};
pub use pairs::{ALL_CONNS, ConnId, NO_CONNS, PairCache, PairConns};
pub use trace::{
    AdminHit, AllowedPort, AlwaysAllowed, CalicoStep, CalicoStepAction, CalicoWalk, CiliumOutcome, CiliumRuleTrace,
    Doubt, Endpoint, Flow, FlowTrace, PeerFailure, PortFailure, RuleTrace, SideTrace, Uncertainty, WantedPort,
};

use crate::index::{ClusterIndex, PodId};
use crate::policy::Direction;
use matchers::{PeerView, endpoint_pod, evaluate_rule};
use tiers::{SideCtx, SidePolicies, Tier, run_tiers};

/// Traffic policy never restricts, if this flow is such traffic.
pub fn always_allowed(ix: &ClusterIndex, src: Endpoint, dst: Endpoint) -> Option<AlwaysAllowed> {
    if src == dst && matches!(src, Endpoint::Pod(_)) {
        return Some(AlwaysAllowed::SamePod);
    }
    let dst_node = endpoint_pod(ix, dst)?.node.clone()?;
    let src_node = match src {
        Endpoint::Pod(id) if ix.pod(id).host_network => ix.pod(id).node.clone(),
        Endpoint::Ip(ip) => ix.node_by_ip(ip).map(|n| n.name.clone()),
        Endpoint::Pod(_) => None,
    }?;
    (src_node == dst_node).then_some(AlwaysAllowed::NodeToLocalPod { node: dst_node })
}

/// Evaluates a flow, explaining both sides.
pub fn evaluate(ix: &ClusterIndex, flow: Flow) -> FlowTrace {
    FlowTrace {
        flow,
        always_allowed: always_allowed(ix, flow.src, flow.dst),
        egress: evaluate_side(ix, flow, Direction::Egress),
        ingress: evaluate_side(ix, flow, Direction::Ingress),
    }
}

/// One side of a flow, explained: the subject's policies tier by tier, then what may make the
/// answer wrong.
fn evaluate_side(ix: &ClusterIndex, flow: Flow, dir: Direction) -> SideTrace {
    let (subject, peer) = match dir {
        Direction::Egress => (flow.src, flow.dst),
        Direction::Ingress => (flow.dst, flow.src),
    };
    let mut trace = SideTrace::unrestricted(dir);
    let Some(id) = applicable_subject(ix, subject, dir, &mut trace) else {
        if !ix.cilium.is_empty() {
            cilium::host_policy(ix, subject, dir, &mut trace);
        }
        return trace;
    };
    let cx = SideCtx {
        ix,
        dir,
        peer: PeerView::of(ix, peer),
        dst_pod: endpoint_pod(ix, flow.dst),
    };
    trace.isolating = ix.isolating_policies(id, dir);
    for &pid in &trace.isolating {
        for rule in ix.policies[pid].rules(dir).unwrap_or_default() {
            trace
                .rules
                .push(evaluate_rule(ix, pid, rule, &cx.peer, cx.dst_pod, flow));
        }
    }
    let (admin, baseline) = match ix.admin.is_empty() {
        true => (Vec::new(), Vec::new()),
        false => (ix.admin_selecting(id, dir), ix.baseline_selecting(id, dir)),
    };
    let query = ConnSet::single(flow.protocol, flow.port);
    let cilium = cilium::cilium_side(ix, &ix.cilium_selecting(id, dir), dir, peer, cx.dst_pod, &query);
    let policies = SidePolicies {
        admin: &admin,
        isolating: &trace.isolating,
        baseline: &baseline,
        traces: Some(&trace.rules),
        calico: (!ix.calico.is_empty()).then_some(id),
        cilium: cilium.as_ref(),
    };
    let mut unknown = Vec::new();
    let run = run_tiers(&cx, &policies, &query, &mut unknown);
    if let Some(c) = &cilium {
        uncertainty::cilium_record(&cx, c, &run, &query, &mut trace);
    }
    trace.admin = run.hit(Tier::Admin);
    trace.baseline = run.hit(Tier::Baseline);
    if !ix.calico.is_empty() {
        trace.calico = run.outcome(Tier::NetworkPolicy).map(|o| CalicoWalk {
            steps: o.calico.clone(),
            passed_on: !o.passed.is_empty(),
        });
    }
    trace.allowed = !run.allowed().is_empty();

    let peer_namespace = endpoint_pod(ix, peer).map(|p| p.namespace.as_str());
    uncertainty::np_uncertainty(&cx, &mut trace, id, peer_namespace, &run);
    if !ix.admin.is_empty() {
        uncertainty::unreadable_admin(&cx, &mut trace, id, &run);
        uncertainty::undefined_order(&cx, &mut trace, &admin, &query);
        uncertainty::undefined_order(&cx, &mut trace, &baseline, &query);
    }
    if !ix.calico.is_empty() {
        unknown.extend(calico::admin_order_doubt(
            &cx,
            id,
            !admin.is_empty(),
            !baseline.is_empty(),
        ));
    }
    trace.uncertain.extend(unknown);
    if !ix.cilium.is_empty() {
        cilium::unreadable(ix, id, dir, &mut trace);
    }
    trace
}

/// The pod whose policies decide a side, or `None` (with the reason in `trace`) when no policy
/// can apply: the subject is an address, or a pod on the host network.
fn applicable_subject(ix: &ClusterIndex, subject: Endpoint, dir: Direction, trace: &mut SideTrace) -> Option<PodId> {
    let ip = match subject {
        Endpoint::Pod(id) => return pod_subject(ix, id, trace),
        Endpoint::Ip(ip) => ip,
    };
    let (end, what) = match dir {
        Direction::Egress => ("source", "egress"),
        Direction::Ingress => ("destination", "ingress"),
    };
    // A pod's secondary-network (Multus) address is a pod's, but not one NetworkPolicy knows.
    let owners: Vec<String> = ix.pods_by_secondary_ip(ip).iter().map(|&id| ix.pod(id).key()).collect();
    trace.not_applicable = Some(if owners.is_empty() {
        format!("the {end} is outside the cluster's pods: no NetworkPolicy restricts its {what}")
    } else {
        format!(
            "the {end} address is on a secondary interface of {}, not a primary pod IP: no NetworkPolicy restricts its {what}",
            owners.join(", ")
        )
    });
    None
}

/// The pod of a side whose subject is a pod, unless it is on the host network.
fn pod_subject(ix: &ClusterIndex, id: PodId, trace: &mut SideTrace) -> Option<PodId> {
    trace.subject = Some(id);
    let pod = ix.pod(id);
    if pod.host_network {
        trace.not_applicable = Some(format!(
            "{} uses the host network: NetworkPolicy neither selects nor restricts it",
            pod.key()
        ));
        return None;
    }
    Some(id)
}
