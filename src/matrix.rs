//! The connectivity map: every allowed connection between workloads, and between workloads and
//! external IP ranges, in the netpol-analyzer connlist format `SRC => DST : CONNS`.
//!
//! Invariant: the same semantics as `diagnose` (it calls the same engine); pods of one workload
//! are represented by one pod; external space is cut into the disjoint ranges that the
//! policies' ipBlocks delimit, so every range is matched all-or-nothing by every ipBlock.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::engine::{self, ConnSet, Endpoint, Selection};
use crate::index::{ClusterIndex, PodId};
use crate::policy::{Direction, Peer};
use crate::report::{Connection, ConnectivityMap};

/// Computes the map. `namespaces` empty: the whole cluster; otherwise the connections with at
/// least one end in one of those namespaces.
pub fn connectivity_map(ix: &ClusterIndex, namespaces: &[String]) -> ConnectivityMap {
    let sel = Selection::compute(ix);
    // One representative pod per workload (the first by name).
    let mut groups: BTreeMap<String, PodId> = BTreeMap::new();
    let mut order: Vec<PodId> = (0..ix.pods.len()).collect();
    order.sort_by(|a, b| ix.pod(*a).key().cmp(&ix.pod(*b).key()));
    for id in order {
        groups.entry(ix.pod(id).workload_name()).or_insert(id);
    }
    let in_scope = |id: PodId| namespaces.is_empty() || namespaces.iter().any(|n| *n == ix.pod(id).namespace);

    let mut connections = Vec::new();
    let mut push = |src: String, dst: String, c: ConnSet| {
        if !c.is_empty() {
            connections.push(Connection { src, dst, conn: c.to_string() });
        }
    };
    for (src_name, &s) in &groups {
        for (dst_name, &d) in &groups {
            if src_name == dst_name || !(in_scope(s) || in_scope(d)) {
                continue;
            }
            push(src_name.clone(), dst_name.clone(), engine::allowed_conns(ix, &sel, Endpoint::Pod(s), Endpoint::Pod(d)));
        }
    }
    let (src_blocks, dst_blocks) = external_blocks(ix);
    for (src_name, &s) in groups.iter().filter(|(_, id)| in_scope(**id)) {
        let dst_pod = Some(ix.pod(s));
        for b in &dst_blocks {
            let c = engine::side_conns(ix, &sel, Endpoint::Pod(s), Endpoint::Ip(b.start), Direction::Egress, None);
            push(src_name.clone(), b.name(), c);
        }
        for b in &src_blocks {
            let c = engine::side_conns(ix, &sel, Endpoint::Pod(s), Endpoint::Ip(b.start), Direction::Ingress, dst_pod);
            push(b.name(), src_name.clone(), c);
        }
    }
    connections.sort();
    let warnings = ix.warnings.iter().map(|w| w.to_string()).collect();
    ConnectivityMap { connections, warnings }
}

/// A contiguous range of addresses outside the pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalBlock {
    pub start: IpAddr,
    pub end: IpAddr,
}

impl ExternalBlock {
    /// `A.B.C.D-E.F.G.H[External]`.
    pub fn name(&self) -> String {
        format!("{}-{}[External]", self.start, self.end)
    }
}

/// The disjoint ranges cut by ingress ipBlocks (possible sources) and egress ipBlocks
/// (possible destinations). IPv4 always; IPv6 only when some policy mentions IPv6.
pub fn external_blocks(ix: &ClusterIndex) -> (Vec<ExternalBlock>, Vec<ExternalBlock>) {
    let mut cidrs: [Vec<IpNet>; 2] = [Vec::new(), Vec::new()];
    for p in &ix.policies {
        for (slot, dir) in [(0, Direction::Ingress), (1, Direction::Egress)] {
            for rule in p.rules(dir).unwrap_or_default() {
                for peer in rule.peers.iter().flatten() {
                    if let Peer::IpBlock { cidr, except } = peer {
                        cidrs[slot].push(*cidr);
                        cidrs[slot].extend(except.iter().copied());
                    }
                }
            }
        }
    }
    let [ingress, egress] = cidrs;
    (partition(&ingress), partition(&egress))
}

fn partition(cidrs: &[IpNet]) -> Vec<ExternalBlock> {
    let mut out = Vec::new();
    // IPv4
    let mut cuts: Vec<u64> = vec![0, 1u64 << 32];
    for c in cidrs {
        if let IpNet::V4(n) = c {
            cuts.push(u64::from(u32::from(n.network())));
            cuts.push(u64::from(u32::from(n.broadcast())) + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    for w in cuts.windows(2) {
        out.push(ExternalBlock {
            start: IpAddr::V4(Ipv4Addr::from(w[0] as u32)),
            end: IpAddr::V4(Ipv4Addr::from((w[1] - 1) as u32)),
        });
    }
    // IPv6, only when mentioned.
    let v6: Vec<_> = cidrs.iter().filter_map(|c| if let IpNet::V6(n) = c { Some(*n) } else { None }).collect();
    if !v6.is_empty() {
        let mut cuts: Vec<(u128, bool)> = vec![(0, false)];
        for n in v6 {
            cuts.push((u128::from(n.network()), false));
            match u128::from(n.broadcast()).checked_add(1) {
                Some(e) => cuts.push((e, false)),
                None => cuts.push((u128::MAX, true)),
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        let mut starts: Vec<u128> = cuts.iter().filter(|(_, end)| !end).map(|(v, _)| *v).collect();
        starts.dedup();
        for (i, &s) in starts.iter().enumerate() {
            let e = starts.get(i + 1).map(|n| n - 1).unwrap_or(u128::MAX);
            out.push(ExternalBlock { start: IpAddr::V6(Ipv6Addr::from(s)), end: IpAddr::V6(Ipv6Addr::from(e)) });
        }
    }
    out
}

/// The map as text lines, `SRC => DST : CONNS`.
pub fn render_text(map: &ConnectivityMap) -> String {
    let mut s = String::new();
    for c in &map.connections {
        s.push_str(&format!("{} => {} : {}\n", c.src, c.dst, c.conn));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_cuts_at_every_cidr_and_except_boundary() {
        let cidrs: Vec<IpNet> = ["0.0.0.0/0", "10.0.0.0/8"].iter().map(|s| s.parse().unwrap()).collect();
        let names: Vec<String> = partition(&cidrs).iter().map(ExternalBlock::name).collect();
        assert_eq!(
            names,
            vec![
                "0.0.0.0-9.255.255.255[External]",
                "10.0.0.0-10.255.255.255[External]",
                "11.0.0.0-255.255.255.255[External]"
            ]
        );
        assert_eq!(partition(&[]).len(), 1, "no ipBlock: the whole IPv4 space is one block");
    }
}
