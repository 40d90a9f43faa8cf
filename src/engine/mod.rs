//! The evaluation of one flow against the lowered policies: pure, synchronous, total.
//!
//! Order, as the Kubernetes documentation defines it: traffic that policy never touches first
//! (a pod to itself, a node to its own pods), then egress at the source, then ingress at the
//! destination. A flow is allowed when both sides allow it. Every result carries its
//! explanation as data: which policies isolate each side, which rule allowed, and for each rule
//! that did not, the first clause that failed.
//!
//! Each side goes through three tiers, connection by connection (protocol x port): the
//! AdminNetworkPolicy tier (the first matching rule in priority order decides: Allow, Deny, or
//! Pass), then NetworkPolicy for what the first tier passed or left (when a NetworkPolicy
//! isolates the pod), else the BaselineAdminNetworkPolicy (first matching rule), else allow.
//! Without admin policies in the snapshot only the NetworkPolicy tier exists.

mod conns;
mod matchers;
mod tiers;
mod trace;

pub use crate::policy::ConnSet;
pub use crate::policy::admin::{AdminAction, AdminKind};
pub use conns::{Selection, allowed_conns, side_conns};
pub use trace::{
    AdminHit, AlwaysAllowed, Endpoint, Flow, FlowTrace, PeerFailure, PortFailure, RuleTrace, SideTrace, Uncertainty,
};

use crate::index::ClusterIndex;
use crate::policy::Direction;
use matchers::endpoint_pod;
use tiers::evaluate_side;

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
