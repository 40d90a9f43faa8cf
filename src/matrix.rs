//! The connectivity map: every allowed connection between workloads, and between workloads and
//! external IP ranges, in the netpol-analyzer connlist format `SRC => DST : CONNS`.
//!
//! Invariant: the same semantics as `diagnose` (it calls the same engine); pods of one workload
//! are represented by one pod; external space is cut into the disjoint ranges that the
//! policies' ipBlocks delimit (each cidr minus its excepts), so every range is matched
//! all-or-nothing by every ipBlock.

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
    order.sort_by_cached_key(|id| ix.pod(*id).key());
    for id in order {
        groups.entry(ix.pod(id).workload_name()).or_insert(id);
    }
    let in_scope = |id: PodId| namespaces.is_empty() || namespaces.iter().any(|n| *n == ix.pod(id).namespace);

    let mut connections = Vec::new();
    let mut push = |src: String, dst: String, c: ConnSet| {
        if !c.is_empty() {
            connections.push(Connection {
                src,
                dst,
                conn: c.to_string(),
            });
        }
    };
    for (src_name, &s) in &groups {
        for (dst_name, &d) in &groups {
            if src_name == dst_name || !(in_scope(s) || in_scope(d)) {
                continue;
            }
            push(
                src_name.clone(),
                dst_name.clone(),
                engine::allowed_conns(ix, &sel, Endpoint::Pod(s), Endpoint::Pod(d)),
            );
        }
    }
    let (src_blocks, dst_blocks) = external_blocks(ix);
    for (src_name, &s) in groups.iter().filter(|(_, id)| in_scope(**id)) {
        let dst_pod = Some(ix.pod(s));
        for b in &dst_blocks {
            let c = engine::side_conns(
                ix,
                &sel,
                Endpoint::Pod(s),
                Endpoint::Ip(b.start),
                Direction::Egress,
                None,
            );
            push(src_name.clone(), b.name(), c);
        }
        for b in &src_blocks {
            let c = engine::side_conns(
                ix,
                &sel,
                Endpoint::Pod(s),
                Endpoint::Ip(b.start),
                Direction::Ingress,
                dst_pod,
            );
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
///
/// Each ipBlock contributes the contiguous intervals of `cidr` minus its `except`s (adjacent
/// excepts merge into one hole); the space is cut at the bounds of every such interval, so each
/// range lies wholly inside or wholly outside every ipBlock (netpol-analyzer cuts the same way).
pub fn external_blocks(ix: &ClusterIndex) -> (Vec<ExternalBlock>, Vec<ExternalBlock>) {
    let mut blocks: [Vec<(IpNet, Vec<IpNet>)>; 2] = [Vec::new(), Vec::new()];
    for p in &ix.policies {
        for (slot, dir) in [(0, Direction::Ingress), (1, Direction::Egress)] {
            for rule in p.rules(dir).unwrap_or_default() {
                for peer in rule.peers.iter().flatten() {
                    if let Peer::IpBlock { cidr, except } = peer {
                        blocks[slot].push((*cidr, except.clone()));
                    }
                }
            }
        }
    }
    let [ingress, egress] = blocks;
    (partition(&ingress), partition(&egress))
}

/// First and last address of a network, as integers.
fn bounds(n: &IpNet) -> (u128, u128) {
    match n {
        IpNet::V4(n) => (u128::from(u32::from(n.network())), u128::from(u32::from(n.broadcast()))),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// The contiguous intervals of `cidr` minus `except` (excepts of the other family are ignored).
fn admitted_intervals(cidr: &IpNet, except: &[IpNet]) -> Vec<(u128, u128)> {
    let (lo, hi) = bounds(cidr);
    let mut holes: Vec<(u128, u128)> = except
        .iter()
        .filter(|e| matches!((e, cidr), (IpNet::V4(_), IpNet::V4(_)) | (IpNet::V6(_), IpNet::V6(_))))
        .map(bounds)
        .collect();
    holes.sort_unstable();
    let mut out = Vec::new();
    let mut next = Some(lo); // first address not yet covered; None past the end of the space
    for (hs, he) in holes {
        let Some(n) = next else { break };
        if he < n {
            continue;
        }
        if hs > n {
            out.push((n, (hs - 1).min(hi)));
        }
        next = he.checked_add(1);
    }
    if let Some(n) = next
        && n <= hi
    {
        out.push((n, hi));
    }
    out
}

/// Blocks whose starts are `starts` (which include 0), up to `max`.
fn blocks_from_starts(starts: &std::collections::BTreeSet<u128>, max: u128) -> Vec<(u128, u128)> {
    let v: Vec<u128> = starts.iter().copied().collect();
    v.iter()
        .enumerate()
        .map(|(i, &s)| (s, v.get(i + 1).map(|n| n - 1).unwrap_or(max)))
        .collect()
}

fn partition(ip_blocks: &[(IpNet, Vec<IpNet>)]) -> Vec<ExternalBlock> {
    let mut out = Vec::new();
    let mut v4_starts = std::collections::BTreeSet::from([0u128]);
    let mut v6_starts = std::collections::BTreeSet::from([0u128]);
    let mut v6_mentioned = false;
    for (cidr, except) in ip_blocks {
        let (starts, max) = match cidr {
            IpNet::V4(_) => (&mut v4_starts, u128::from(u32::MAX)),
            IpNet::V6(_) => {
                v6_mentioned = true;
                (&mut v6_starts, u128::MAX)
            }
        };
        for (lo, hi) in admitted_intervals(cidr, except) {
            starts.insert(lo);
            if hi < max {
                starts.insert(hi + 1);
            }
        }
    }
    // IPv4
    for (s, e) in blocks_from_starts(&v4_starts, u128::from(u32::MAX)) {
        out.push(ExternalBlock {
            start: IpAddr::V4(Ipv4Addr::from(s as u32)),
            end: IpAddr::V4(Ipv4Addr::from(e as u32)),
        });
    }
    // IPv6, only when mentioned.
    if v6_mentioned {
        for (s, e) in blocks_from_starts(&v6_starts, u128::MAX) {
            out.push(ExternalBlock {
                start: IpAddr::V6(Ipv6Addr::from(s)),
                end: IpAddr::V6(Ipv6Addr::from(e)),
            });
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
        let net = |s: &str| -> IpNet { s.parse().unwrap() };
        let names: Vec<String> = partition(&[(net("0.0.0.0/0"), vec![net("10.0.0.0/8")])])
            .iter()
            .map(ExternalBlock::name)
            .collect();
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

    #[test]
    fn adjacent_excepts_make_one_hole() {
        // netpol-analyzer ipblockstest_3: excepts 10.0.0.0/9 and 10.128.0.0/9 are one hole.
        let net = |s: &str| -> IpNet { s.parse().unwrap() };
        let names: Vec<String> = partition(&[(net("0.0.0.0/0"), vec![net("10.0.0.0/9"), net("10.128.0.0/9")])])
            .iter()
            .map(ExternalBlock::name)
            .collect();
        assert_eq!(
            names,
            vec![
                "0.0.0.0-9.255.255.255[External]",
                "10.0.0.0-10.255.255.255[External]",
                "11.0.0.0-255.255.255.255[External]"
            ]
        );
        // Two blocks that both cut the same range still cut it.
        let names: Vec<String> = partition(&[(net("10.0.0.0/9"), vec![]), (net("10.0.0.0/8"), vec![])])
            .iter()
            .map(ExternalBlock::name)
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");
    }
}
