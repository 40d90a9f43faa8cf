//! Connection sets without explanation: everything one endpoint may open toward another
//! ([`allowed_conns`]), one side of it ([`side_conns`]), with the policies selecting each pod
//! computed once ([`Selection`]) for the many pairs of a connectivity map.
//!
//! Invariant: the same semantics as `evaluate`, connection set by connection set: a port is in
//! `allowed_conns` exactly when `evaluate` allows a flow on it.

use std::collections::HashMap;

use super::always_allowed;
use super::matchers::{PeerView, endpoint_pod};
use super::tiers::{SideCtx, SidePolicies, np_conns, run_tiers};
use super::trace::Endpoint;
use crate::index::{CiliumSelected, ClusterIndex, PodId, PodInfo, PolicyId};
use crate::policy::{ConnSet, Direction};

/// Everything `src` may open toward `dst`: egress at the source intersected with ingress at
/// the destination. Same semantics as [`evaluate`](super::evaluate), without the explanation.
pub fn allowed_conns(ix: &ClusterIndex, sel: &Selection, src: Endpoint, dst: Endpoint) -> ConnSet {
    if always_allowed(ix, src, dst).is_some() {
        return ConnSet::all();
    }
    let dst_pod = endpoint_pod(ix, dst);
    let egress = side_conns(ix, sel, src, dst, Direction::Egress, dst_pod);
    if egress.is_empty() {
        return egress;
    }
    let ingress = side_conns(ix, sel, dst, src, Direction::Ingress, dst_pod);
    egress.intersect(&ingress)
}

/// What one side (egress of `subject` toward `peer`, or ingress of `subject` from `peer`)
/// lets through; an endpoint outside the pods lets everything through.
pub fn side_conns(
    ix: &ClusterIndex,
    sel: &Selection,
    subject: Endpoint,
    peer: Endpoint,
    dir: Direction,
    dst_pod: Option<&PodInfo>,
) -> ConnSet {
    let Endpoint::Pod(id) = subject else {
        return ConnSet::all();
    };
    let mut policies = sel.side_policies(id, dir);
    let cilium = super::cilium::cilium_side(ix, sel.cilium(id, dir), dir, peer, dst_pod, &ConnSet::all());
    policies.cilium = cilium.as_ref();
    // Only the NetworkPolicy tier has policies: the same answer as the tier loop, faster.
    let only_np =
        policies.admin.is_empty() && policies.baseline.is_empty() && policies.calico.is_none() && cilium.is_none();
    if (only_np && policies.isolating.is_empty()) || ix.pod(id).host_network {
        return ConnSet::all();
    }
    let cx = SideCtx {
        ix,
        dir,
        peer: PeerView::of(ix, peer),
        dst_pod,
    };
    if only_np {
        return np_conns(&cx, policies.isolating);
    }
    run_tiers(&cx, &policies, &ConnSet::all(), &mut Vec::new()).allowed()
}

/// Which policies isolate every pod, and which admin policies select it, per direction,
/// computed once for many queries.
pub struct Selection {
    per_pod: HashMap<PodId, [Vec<PolicyId>; 2]>,
    /// Only pods that some admin policy selects.
    admin: HashMap<PodId, AdminSelection>,
    /// The snapshot has Calico policies: the NetworkPolicy tier is Calico's tier walk.
    calico: bool,
    /// Only pods that some Cilium rule selects: the rules, per direction.
    cilium: HashMap<PodId, [Vec<CiliumSelected>; 2]>,
}

impl Selection {
    pub fn compute(ix: &ClusterIndex) -> Selection {
        let mut sel = Selection {
            per_pod: HashMap::new(),
            admin: HashMap::new(),
            calico: !ix.calico.is_empty(),
            cilium: HashMap::new(),
        };
        for id in 0..ix.pods.len() {
            sel.add(ix, id);
        }
        sel
    }

    /// The selection of just two endpoints, for a single query.
    pub fn for_pair(ix: &ClusterIndex, a: Endpoint, b: Endpoint) -> Selection {
        let mut sel = Selection {
            per_pod: HashMap::new(),
            admin: HashMap::new(),
            calico: !ix.calico.is_empty(),
            cilium: HashMap::new(),
        };
        for e in [a, b] {
            if let Endpoint::Pod(id) = e {
                sel.add(ix, id);
            }
        }
        sel
    }

    fn add(&mut self, ix: &ClusterIndex, id: PodId) {
        self.per_pod.insert(
            id,
            [
                ix.isolating_policies(id, Direction::Ingress),
                ix.isolating_policies(id, Direction::Egress),
            ],
        );
        if !ix.cilium.is_empty() {
            let c = [Direction::Ingress, Direction::Egress].map(|d| ix.cilium_selecting(id, d));
            if c.iter().any(|v| !v.is_empty()) {
                self.cilium.insert(id, c);
            }
        }
        if ix.admin.is_empty() {
            return;
        }
        let mut a = AdminSelection::default();
        for dir in [Direction::Ingress, Direction::Egress] {
            a.anps[dir.index()] = ix.admin_selecting(id, dir);
            a.banp[dir.index()] = ix.baseline_selecting(id, dir);
        }
        if a.anps.iter().chain(&a.banp).any(|v| !v.is_empty()) {
            self.admin.insert(id, a);
        }
    }

    /// The policies of every tier that select the pod for `dir`.
    pub(super) fn side_policies(&self, pod: PodId, dir: Direction) -> SidePolicies<'_> {
        SidePolicies {
            admin: self.admin(pod, dir),
            isolating: self.isolating(pod, dir),
            baseline: self.baseline(pod, dir),
            traces: None,
            calico: self.calico.then_some(pod),
            cilium: None,
        }
    }

    /// The Cilium rules that select the pod for `dir`.
    pub(super) fn cilium(&self, pod: PodId, dir: Direction) -> &[CiliumSelected] {
        self.cilium.get(&pod).map_or(&[], |both| &both[dir.index()])
    }

    pub fn isolating(&self, pod: PodId, dir: Direction) -> &[PolicyId] {
        let Some(both) = self.per_pod.get(&pod) else { return &[] };
        &both[dir.index()]
    }

    /// The Admin tier's policies that select the pod for `dir`, in evaluation order (indices into
    /// `ix.admin.policies`).
    pub fn admin(&self, pod: PodId, dir: Direction) -> &[usize] {
        self.admin.get(&pod).map_or(&[], |a| &a.anps[dir.index()])
    }

    /// The Baseline tier's policies that select the pod for `dir`, in evaluation order.
    pub fn baseline(&self, pod: PodId, dir: Direction) -> &[usize] {
        self.admin.get(&pod).map_or(&[], |a| &a.banp[dir.index()])
    }
}

/// The admin policies that select one pod, per direction (ingress, egress).
#[derive(Default)]
struct AdminSelection {
    /// The Admin tier's policies in evaluation order.
    anps: [Vec<usize>; 2],
    /// The Baseline tier's policies in evaluation order.
    banp: [Vec<usize>; 2],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tiers::admin_rule_conns;
    use crate::index::Semantics;
    use crate::policy::Protocol;
    use crate::policy::admin::AdminAction;
    use crate::policy::admin::{AdminPort, AdminRule};

    #[test]
    fn admin_rule_ports_resolve_named_ports_on_the_destination_pod_whatever_their_protocol() {
        let snap = crate::snapshot::load_str(
            "t.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: a}\nspec:\n  containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]}]\n",
        )
        .expect("test snapshot parses");
        let ix = ClusterIndex::build(&snap, Semantics::default());
        let rule = |ports: Option<Vec<AdminPort>>| AdminRule {
            index: 0,
            name: String::new(),
            action: AdminAction::Allow,
            peers: Vec::new(),
            ports,
        };
        assert_eq!(admin_rule_conns(&rule(None), None), ConnSet::all());
        let named = rule(Some(vec![
            AdminPort::Named("http".into()),
            AdminPort::Named("dns".into()),
            AdminPort::Number {
                protocol: Protocol::Sctp,
                port: 9,
            },
        ]));
        let c = admin_rule_conns(&named, Some(ix.pod(0)));
        assert!(c.contains(Protocol::Tcp, 8080) && c.contains(Protocol::Udp, 53) && c.contains(Protocol::Sctp, 9));
        assert!(!c.contains(Protocol::Tcp, 53) && !c.contains(Protocol::Udp, 8080));
        let toward_an_address = admin_rule_conns(&named, None);
        assert!(!toward_an_address.contains(Protocol::Tcp, 8080) && toward_an_address.contains(Protocol::Sctp, 9));
    }
}
