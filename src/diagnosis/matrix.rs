//! The connectivity map: every allowed connection between workloads, and between workloads and
//! external IP ranges, in the netpol-analyzer connlist format `SRC => DST : CONNS`.
//!
//! Invariant: the same semantics as `diagnose` (it calls the same engine); pods of one workload
//! are represented by one pod; external space is cut into the disjoint ranges that the
//! policies' ipBlocks delimit (each cidr minus its excepts), and Cilium CIDR peers and Calico
//! `nets`/`notNets` too, so every range is matched all-or-nothing by every one of them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::map_stream::{self, MapSink};
use crate::engine::{self, ConnSet, Endpoint, Selection};
use crate::index::{ClusterIndex, PodId};
use crate::policy::{Direction, Peer};
use crate::report::{Connection, ConnectivityMap};

/// Computes the map. `namespaces` empty: the whole cluster; otherwise the connections with at
/// least one end in one of those namespaces. Rule by rule on every core
/// ([`map_stream`](super::map_stream)); the same connections as [`connectivity_map_pairwise`].
pub fn connectivity_map(ix: &ClusterIndex, namespaces: &[String]) -> ConnectivityMap {
    let mut connections = map_stream::Collect::default();
    // Collecting into memory cannot fail.
    let _ = stream_map(ix, namespaces, &mut connections);
    let warnings = ix.warnings.iter().map(|w| w.to_string()).collect();
    ConnectivityMap {
        connections: connections.0,
        warnings,
    }
}

/// Computes the map (as [`connectivity_map`]) and hands every connection to `sink` in the map's
/// order, source by source, without holding the map. Returns the first error of the sink.
pub fn stream_map(ix: &ClusterIndex, namespaces: &[String], sink: &mut dyn MapSink) -> std::io::Result<()> {
    map_stream::stream_rows(ix, namespaces, parts(ix, &external_blocks(ix)), sink)
}

/// The workloads and the named external ranges a map is made of.
fn parts(ix: &ClusterIndex, blocks: &(Vec<ExternalBlock>, Vec<ExternalBlock>)) -> map_stream::Parts {
    let named = |bs: &[ExternalBlock]| bs.iter().map(|b| (b.name(), b.start)).collect();
    (representatives(ix, None), named(&blocks.0), named(&blocks.1))
}

/// The connections of the map in its order (by source, then destination name), toward and from
/// the given external ranges (`(sources, destinations)`, as [`external_blocks`] cuts them): the
/// map behind the diff of two states, computed as the map is.
pub fn map_pairs(
    ix: &ClusterIndex,
    namespaces: &[String],
    blocks: &(Vec<ExternalBlock>, Vec<ExternalBlock>),
) -> Vec<Connection> {
    let mut sink = map_stream::Collect::default();
    // Collecting into memory cannot fail.
    let _ = map_stream::stream_rows(ix, namespaces, parts(ix, blocks), &mut sink);
    sink.0
}

/// The map pair by pair through the engine ([`engine::allowed_conns`]): the reference the
/// rule-by-rule map is tested against.
pub fn connectivity_map_pairwise(ix: &ClusterIndex, namespaces: &[String]) -> ConnectivityMap {
    let connections = pairwise(ix, namespaces, &external_blocks(ix))
        .into_iter()
        .map(|((src, dst), c)| Connection {
            src,
            dst,
            conn: c.to_string(),
        })
        .collect();
    let warnings = ix.warnings.iter().map(|w| w.to_string()).collect();
    ConnectivityMap { connections, warnings }
}

/// The map pair by pair through the engine, by `(src, dst)`.
fn pairwise(
    ix: &ClusterIndex,
    namespaces: &[String],
    blocks: &(Vec<ExternalBlock>, Vec<ExternalBlock>),
) -> BTreeMap<(String, String), ConnSet> {
    let sel = Selection::compute(ix);
    let groups = representatives(ix, None);
    let in_scope = |id: PodId| namespaces.is_empty() || namespaces.iter().any(|n| *n == ix.pod(id).namespace);

    let mut out = BTreeMap::new();
    let mut push = |src: String, dst: String, c: ConnSet| {
        if !c.is_empty() {
            out.insert((src, dst), c);
        }
    };
    // Pairs with an end in scope only: in-scope sources to every group, then out-of-scope
    // sources to in-scope groups.
    let list: Vec<(&String, PodId, bool)> = groups.iter().map(|(n, &id)| (n, id, in_scope(id))).collect();
    let scoped: Vec<usize> = (0..list.len()).filter(|&i| list[i].2).collect();
    for i in 0..list.len() {
        let (src_name, s, src_in) = list[i];
        let targets: Box<dyn Iterator<Item = usize>> = if src_in {
            Box::new(0..list.len())
        } else {
            Box::new(scoped.iter().copied())
        };
        for j in targets {
            if i == j {
                continue;
            }
            let (dst_name, d, _) = list[j];
            push(
                src_name.clone(),
                dst_name.clone(),
                engine::allowed_conns(ix, &sel, Endpoint::Pod(s), Endpoint::Pod(d)),
            );
        }
    }
    let (src_blocks, dst_blocks) = blocks;
    for (src_name, &s) in groups.iter().filter(|(_, id)| in_scope(**id)) {
        let dst_pod = Some(ix.pod(s));
        for b in dst_blocks {
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
        for b in src_blocks {
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
    out
}

/// One representative pod per workload (the first by name), by workload name (`ns/name[Kind]`).
/// `skip` never represents its workload: the workload's next pod does, if it has one.
pub fn representatives(ix: &ClusterIndex, skip: Option<PodId>) -> BTreeMap<String, PodId> {
    // Grouped by borrowed parts of the name: only the representatives' names are built.
    let mut first: std::collections::HashMap<(&str, &str, &str), PodId> = std::collections::HashMap::new();
    for id in (0..ix.pods.len()).filter(|id| Some(*id) != skip) {
        let p = ix.pod(id);
        let workload = match &p.owner {
            Some(o) => (p.namespace.as_str(), o.name.as_str(), o.kind.as_str()),
            None => (p.namespace.as_str(), p.name.as_str(), "Pod"),
        };
        first
            .entry(workload)
            .and_modify(|cur| {
                if p.name < ix.pod(*cur).name {
                    *cur = id;
                }
            })
            .or_insert(id);
    }
    first.into_values().map(|id| (ix.pod(id).workload_name(), id)).collect()
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
    external_blocks_of(&[ix])
}

/// The ranges cut by the ipBlocks of several indexes at once (the states of a diff), so that
/// each range is matched all-or-nothing in every one of them.
pub fn external_blocks_of(ixs: &[&ClusterIndex]) -> (Vec<ExternalBlock>, Vec<ExternalBlock>) {
    let mut blocks: [Vec<(IpNet, Vec<IpNet>)>; 2] = [Vec::new(), Vec::new()];
    for ix in ixs {
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
        // AdminNetworkPolicy / baseline egress `networks` and `nodes` peers cut the destinations too.
        blocks[1].extend(ix.admin_egress_blocks().into_iter().map(|n| (n, Vec::new())));
        extended_ip_blocks(ix, &mut blocks);
    }
    let [ingress, egress] = blocks;
    (partition(&ingress), partition(&egress))
}

/// The CIDR peers of Cilium rules (allow and deny) and the `nets`/`notNets` of Calico rules, by
/// direction: without their cuts a range would be decided by its first address only.
fn extended_ip_blocks(ix: &ClusterIndex, blocks: &mut [Vec<(IpNet, Vec<IpNet>)>; 2]) {
    use crate::policy::extended::{CiliumPeer, Section};
    for rule in ix.cilium.iter().flat_map(|p| &p.rules) {
        for (slot, sections) in [
            (0, [Section::Ingress, Section::IngressDeny]),
            (1, [Section::Egress, Section::EgressDeny]),
        ] {
            let peers = sections.into_iter().flat_map(|s| rule.section(s).unwrap_or_default());
            for peer in peers.flat_map(|r| r.peers.iter().flatten()) {
                match peer {
                    CiliumPeer::Cidr { net, except } => blocks[slot].push((*net, except.clone())),
                    CiliumPeer::Service(sp) => {
                        blocks[slot].extend(service_addresses(sp).map(|ip| (IpNet::from(ip), Vec::new())))
                    }
                    _ => {}
                }
            }
        }
    }
    for p in &ix.calico.policies {
        let ingress = p.ingress.iter().flatten().map(|r| (0, &r.source));
        let egress = p.egress.iter().flatten().map(|r| (1, &r.destination));
        for (slot, peer) in ingress.chain(egress) {
            let nets = peer.nets.iter().chain(&peer.not_nets);
            blocks[slot].extend(nets.map(|n| (*n, Vec::new())));
        }
    }
}

/// The endpoint addresses of the selector-less Services a `toServices` peer names (they are
/// matched as CIDRs).
fn service_addresses(sp: &crate::policy::extended::ServicePeer) -> impl Iterator<Item = IpAddr> + '_ {
    use crate::policy::extended::{ServiceBackends, ServiceResolution};
    let named = match &sp.resolved {
        Some(ServiceResolution::Services { named, .. }) => named.as_slice(),
        _ => &[],
    };
    named
        .iter()
        .flat_map(|r| match &r.backends {
            ServiceBackends::Addresses(ips) => ips.as_slice(),
            _ => &[],
        })
        .copied()
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

/// Where a node of a graph rendering goes: a namespace's cluster, the external ranges' cluster, or
/// the top level (a name that is neither `NS/WORKLOAD` nor `...[External]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Group<'a> {
    Namespace(&'a str),
    External,
    Ungrouped,
}

/// The nodes of a graph rendering by group (groups and names sorted), with their display labels.
pub(super) type GraphNodes<'a> = BTreeMap<Group<'a>, BTreeMap<&'a str, &'a str>>;

/// The nodes named `names`, placed.
pub(super) fn graph_nodes<'a>(names: impl Iterator<Item = &'a str>) -> GraphNodes<'a> {
    let mut nodes = GraphNodes::new();
    for name in names {
        let (group, label) = Graph::place(name);
        nodes.entry(group).or_default().insert(name, label);
    }
    nodes
}

/// The map as a graph: nodes by group (groups and names sorted) with their display labels, and
/// one edge per `(src, dst)` pair with the distinct conns of that pair.
struct Graph<'a> {
    nodes: GraphNodes<'a>,
    edges: BTreeMap<(&'a str, &'a str), BTreeSet<&'a str>>,
}

impl<'a> Graph<'a> {
    fn new(map: &'a ConnectivityMap) -> Self {
        let mut edges: BTreeMap<(&'a str, &'a str), BTreeSet<&'a str>> = BTreeMap::new();
        for c in &map.connections {
            edges.entry((&c.src, &c.dst)).or_default().insert(&c.conn);
        }
        let nodes = graph_nodes(map.connections.iter().flat_map(|c| [c.src.as_str(), c.dst.as_str()]));
        Graph { nodes, edges }
    }

    /// The group of a node and its label (the workload without its namespace).
    fn place(name: &str) -> (Group<'_>, &str) {
        if name.ends_with("[External]") {
            (Group::External, name)
        } else if let Some((ns, workload)) = name.split_once('/') {
            (Group::Namespace(ns), workload)
        } else {
            (Group::Ungrouped, name)
        }
    }

    /// The label of an edge: its conns; the distinct conns of a pair listed twice with different
    /// conns are joined by `; ` (one edge per pair in every case).
    fn edge_label(conns: &BTreeSet<&str>) -> String {
        conns.iter().copied().collect::<Vec<_>>().join("; ")
    }
}

/// A DOT double-quoted string: `"` and `\` escaped, line breaks as `\n`.
fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            _ => out.push(ch),
        }
    }
    out.push('"');
    out
}

/// The map as a Graphviz digraph: one `cluster_<ns>` subgraph per namespace (nodes labelled
/// without the namespace), the external ranges in a dashed cluster labelled `external`, one
/// edge per `SRC -> DST` pair labelled with its conns. Sorted, so deterministic.
pub fn render_dot(map: &ConnectivityMap) -> String {
    let g = Graph::new(map);
    let mut s = dot_head(&g.nodes);
    for ((src, dst), conns) in &g.edges {
        s.push_str(&dot_edge(src, dst, &Graph::edge_label(conns)));
    }
    s.push_str("}\n");
    s
}

/// A DOT edge line.
pub(super) fn dot_edge(src: &str, dst: &str, label: &str) -> String {
    format!(
        "    {} -> {} [label={}];\n",
        dot_quote(src),
        dot_quote(dst),
        dot_quote(label)
    )
}

/// A DOT graph up to its edges: the opening line, and the nodes by group (none: no edges).
pub(super) fn dot_head(nodes: &GraphNodes<'_>) -> String {
    let mut s = String::from("digraph connectivity {\n");
    if nodes.is_empty() {
        return s;
    }
    s.push_str("    rankdir=LR;\n");
    for (group, nodes) in nodes {
        let indent = match group {
            Group::Namespace(ns) => {
                s.push_str(&format!("    subgraph {} {{\n", dot_quote(&format!("cluster_{ns}"))));
                s.push_str(&format!("        label={};\n", dot_quote(ns)));
                "        "
            }
            // `[` cannot occur in a namespace name, so this id cannot clash with one.
            Group::External => {
                s.push_str("    subgraph \"cluster_[External]\" {\n");
                s.push_str("        label=\"external\";\n        style=dashed;\n");
                s.push_str("        node [shape=box, style=dashed];\n");
                "        "
            }
            Group::Ungrouped => "    ",
        };
        for (name, label) in nodes {
            s.push_str(&format!("{indent}{} [label={}];\n", dot_quote(name), dot_quote(label)));
        }
        if *group != Group::Ungrouped {
            s.push_str("    }\n");
        }
    }
    s
}

/// A Mermaid quoted label: `"` as `#quot;`, `#` as `#35;` (so the text cannot form an entity),
/// `<`/`>` as entities, line breaks as spaces.
fn mermaid_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out.push('"');
    out
}

/// `s` with every character outside `[A-Za-z0-9_]` replaced by `_`.
fn mermaid_sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect()
}

/// The map as a Mermaid flowchart: one `ns_<ns>` subgraph per namespace (ns sanitized to
/// `[A-Za-z0-9_]`, made unique), the external ranges in subgraph `external`, nodes `n0`, `n1`, …
/// in output order with their labels, one edge per `SRC --> DST` pair labelled with its conns.
/// Sorted, so deterministic.
pub fn render_mermaid(map: &ConnectivityMap) -> String {
    let g = Graph::new(map);
    let (mut s, ids) = mermaid_head(&g.nodes);
    for ((src, dst), conns) in &g.edges {
        s.push_str(&mermaid_edge(&ids[src], &Graph::edge_label(conns), &ids[dst]));
    }
    s
}

/// A Mermaid edge line between two node ids.
pub(super) fn mermaid_edge(src_id: &str, label: &str, dst_id: &str) -> String {
    format!("    {src_id} -->|{}| {dst_id}\n", mermaid_quote(label))
}

/// A Mermaid flowchart up to its edges, and the id of every node.
pub(super) fn mermaid_head<'a>(nodes: &GraphNodes<'a>) -> (String, BTreeMap<&'a str, String>) {
    let mut s = String::from("flowchart LR\n");
    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    let mut subgraph_ids: BTreeSet<String> = BTreeSet::new();
    for (group, nodes) in nodes {
        let indent = match group {
            Group::Namespace(ns) => {
                let base = format!("ns_{}", mermaid_sanitize(ns));
                let mut id = base.clone();
                let mut k = 1;
                while subgraph_ids.contains(&id) {
                    id = format!("{base}_{k}");
                    k += 1;
                }
                s.push_str(&format!("    subgraph {id} [{}]\n", mermaid_quote(ns)));
                subgraph_ids.insert(id);
                "        "
            }
            Group::External => {
                s.push_str("    subgraph external [\"external\"]\n");
                "        "
            }
            Group::Ungrouped => "    ",
        };
        for (name, label) in nodes {
            let id = format!("n{}", ids.len());
            s.push_str(&format!("{indent}{id}[{}]\n", mermaid_quote(label)));
            ids.insert(name, id);
        }
        if *group != Group::Ungrouped {
            s.push_str("    end\n");
        }
    }
    (s, ids)
}

/// A graph rendering of the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graphic {
    Dot,
    Mermaid,
}

/// Writes the map as [`render_dot`](super::render_dot) or
/// [`render_mermaid`](super::render_mermaid) would, without holding its connections: the
/// nodes come before the edges, so the map is computed twice (first for the names of the nodes
/// that have a connection, then for the edges).
pub fn stream_graph(
    ix: &ClusterIndex,
    namespaces: &[String],
    graphic: Graphic,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut names = NodeNames::default();
    stream_map(ix, namespaces, &mut names)?;
    let nodes = graph_nodes(names.0.iter().map(String::as_str));
    match graphic {
        Graphic::Dot => {
            out.write_all(dot_head(&nodes).as_bytes())?;
            stream_map(
                ix,
                namespaces,
                &mut EdgeSink(|s: &str, d: &str, c: &str| dot_edge(s, d, c), out),
            )?;
            out.write_all(b"}\n")
        }
        Graphic::Mermaid => {
            let (head, ids) = mermaid_head(&nodes);
            out.write_all(head.as_bytes())?;
            let edge = |s: &str, d: &str, c: &str| mermaid_edge(&ids[s], c, &ids[d]);
            stream_map(ix, namespaces, &mut EdgeSink(edge, out))
        }
    }
}

/// The names of the nodes that have a connection.
#[derive(Default)]
struct NodeNames(BTreeSet<String>);

impl MapSink for NodeNames {
    fn connection(&mut self, src: &str, dst: &str, _: &str) -> std::io::Result<()> {
        for name in [src, dst] {
            if !self.0.contains(name) {
                self.0.insert(name.to_string());
            }
        }
        Ok(())
    }
}

/// Writes one edge line per connection.
struct EdgeSink<'o, F: Fn(&str, &str, &str) -> String>(F, &'o mut dyn std::io::Write);

impl<F: Fn(&str, &str, &str) -> String> MapSink for EdgeSink<'_, F> {
    fn connection(&mut self, src: &str, dst: &str, conn: &str) -> std::io::Result<()> {
        self.1.write_all((self.0)(src, dst, conn).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streamed graphs are byte for byte the renderings of the whole map.
    #[test]
    fn streamed_graphs_equal_the_renderings() {
        let pod = |ns: &str, name: &str, ip: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{app: {name}}}}}\nstatus: {{podIP: {ip}}}\n---\n"
            )
        };
        let yaml = [
            pod("shop", "web", "10.0.0.1"),
            pod("shop", "api", "10.0.0.2"),
            pod("kube-system", "dns", "10.0.1.1"),
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, namespace: shop}\nspec: {podSelector: {matchLabels: {app: api}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}, {ipBlock: {cidr: 203.0.113.0/24}}], ports: [{port: 8080}]}]}\n".to_string(),
        ]
        .concat();
        let snap = crate::snapshot::load_str("t.yaml", &yaml).expect("parses");
        let ix = ClusterIndex::build(&snap, crate::index::Semantics::default());
        for scope in [
            vec![],
            vec!["kube-system".to_string()],
            vec!["no-such-namespace".to_string()],
        ] {
            let map = connectivity_map(&ix, &scope);
            for (graphic, whole) in [
                (Graphic::Dot, render_dot(&map)),
                (Graphic::Mermaid, render_mermaid(&map)),
            ] {
                let mut out = Vec::new();
                stream_graph(&ix, &scope, graphic, &mut out).unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), whole, "{graphic:?} {scope:?}");
            }
        }
    }

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

    /// A Cilium deny CIDR with an except and a Calico `nets` cut the external ranges as an
    /// ipBlock does: the address the except leaves out is a range of its own, so the map shows
    /// what `diagnose` allows to it.
    #[test]
    fn cilium_cidrs_and_calico_nets_cut_the_external_ranges() {
        let ix = |policy: &str| {
            let pod = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, address: 192.168.0.10}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: ns, labels: {app: a}}\nstatus: {podIP: 10.244.0.5}\n---\n";
            crate::index::ClusterIndex::build(
                &crate::snapshot::load_str("t.yaml", &format!("{pod}{policy}")).expect("parses"),
                crate::index::Semantics::default(),
            )
        };
        let cilium = ix(
            "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: d}\nspec:\n  endpointSelector: {}\n  egress: [{toEntities: [world]}]\n  egressDeny: [{toCIDRSet: [{cidr: 0.0.0.0/0, except: [203.0.113.10/32]}]}]\n",
        );
        let egress: Vec<String> = external_blocks(&cilium).1.iter().map(ExternalBlock::name).collect();
        assert!(
            egress.contains(&"203.0.113.10-203.0.113.10[External]".to_string()),
            "{egress:?}"
        );
        let map = connectivity_map(&cilium, &[]);
        let to_it = map
            .connections
            .iter()
            .find(|c| c.dst == "203.0.113.10-203.0.113.10[External]");
        assert_eq!(to_it.map(|c| c.conn.as_str()), Some("All Connections"), "{map:?}");
        let calico = ix(
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: n}\nspec:\n  selector: all()\n  types: [Ingress]\n  ingress: [{action: Allow, source: {nets: [198.51.100.0/24]}}]\n",
        );
        let ingress: Vec<String> = external_blocks(&calico).0.iter().map(ExternalBlock::name).collect();
        assert!(
            ingress.contains(&"198.51.100.0-198.51.100.255[External]".to_string()),
            "{ingress:?}"
        );
    }

    fn conn(src: &str, dst: &str, conn: &str) -> Connection {
        Connection {
            src: src.to_string(),
            dst: dst.to_string(),
            conn: conn.to_string(),
        }
    }

    /// Two namespaces, an external range, and `frontend => api` listed twice.
    fn sample_map() -> ConnectivityMap {
        ConnectivityMap {
            connections: vec![
                conn(
                    "shop/frontend-7d9f6c8b5[ReplicaSet]",
                    "shop/api[Deployment]",
                    "TCP 8080",
                ),
                conn("shop/api[Deployment]", "payments/ledger[StatefulSet]", "TCP 5432"),
                conn(
                    "0.0.0.0-255.255.255.255[External]",
                    "shop/frontend-7d9f6c8b5[ReplicaSet]",
                    "TCP 443",
                ),
                conn(
                    "payments/ledger[StatefulSet]",
                    "0.0.0.0-255.255.255.255[External]",
                    "All Connections",
                ),
                conn(
                    "shop/frontend-7d9f6c8b5[ReplicaSet]",
                    "shop/api[Deployment]",
                    "TCP 8080",
                ),
            ],
            warnings: vec![],
        }
    }

    #[test]
    fn dot_clusters_workloads_by_namespace_and_external_ranges_apart() {
        let expected = r#"digraph connectivity {
    rankdir=LR;
    subgraph "cluster_payments" {
        label="payments";
        "payments/ledger[StatefulSet]" [label="ledger[StatefulSet]"];
    }
    subgraph "cluster_shop" {
        label="shop";
        "shop/api[Deployment]" [label="api[Deployment]"];
        "shop/frontend-7d9f6c8b5[ReplicaSet]" [label="frontend-7d9f6c8b5[ReplicaSet]"];
    }
    subgraph "cluster_[External]" {
        label="external";
        style=dashed;
        node [shape=box, style=dashed];
        "0.0.0.0-255.255.255.255[External]" [label="0.0.0.0-255.255.255.255[External]"];
    }
    "0.0.0.0-255.255.255.255[External]" -> "shop/frontend-7d9f6c8b5[ReplicaSet]" [label="TCP 443"];
    "payments/ledger[StatefulSet]" -> "0.0.0.0-255.255.255.255[External]" [label="All Connections"];
    "shop/api[Deployment]" -> "payments/ledger[StatefulSet]" [label="TCP 5432"];
    "shop/frontend-7d9f6c8b5[ReplicaSet]" -> "shop/api[Deployment]" [label="TCP 8080"];
}
"#;
        assert_eq!(render_dot(&sample_map()), expected);
    }

    #[test]
    fn mermaid_subgraphs_per_namespace_and_external_with_numbered_ids() {
        let expected = r#"flowchart LR
    subgraph ns_payments ["payments"]
        n0["ledger[StatefulSet]"]
    end
    subgraph ns_shop ["shop"]
        n1["api[Deployment]"]
        n2["frontend-7d9f6c8b5[ReplicaSet]"]
    end
    subgraph external ["external"]
        n3["0.0.0.0-255.255.255.255[External]"]
    end
    n3 -->|"TCP 443"| n2
    n0 -->|"All Connections"| n3
    n1 -->|"TCP 5432"| n0
    n2 -->|"TCP 8080"| n1
"#;
        assert_eq!(render_mermaid(&sample_map()), expected);
    }

    #[test]
    fn duplicate_edges_are_merged_into_one() {
        let map = sample_map();
        assert_eq!(map.connections.len(), 5);
        let dot = render_dot(&map);
        assert_eq!(dot.matches(" -> ").count(), 4, "{dot}");
        assert_eq!(
            dot.matches("\"shop/frontend-7d9f6c8b5[ReplicaSet]\" -> \"shop/api[Deployment]\"")
                .count(),
            1
        );
        let mermaid = render_mermaid(&map);
        assert_eq!(mermaid.matches(" -->|").count(), 4, "{mermaid}");
        assert_eq!(mermaid.matches("n2 -->|\"TCP 8080\"| n1").count(), 1);
        // A node referenced by several edges is declared once.
        assert_eq!(dot.matches("[label=\"api[Deployment]\"]").count(), 1);
        assert_eq!(mermaid.matches("[\"api[Deployment]\"]").count(), 1);
    }

    #[test]
    fn same_pair_with_different_conns_gets_one_edge_with_both_labels() {
        let map = ConnectivityMap {
            connections: vec![
                conn("a/x[Pod]", "a/y[Pod]", "UDP 53"),
                conn("a/x[Pod]", "a/y[Pod]", "TCP 80"),
            ],
            warnings: vec![],
        };
        let dot = render_dot(&map);
        assert!(
            dot.contains("    \"a/x[Pod]\" -> \"a/y[Pod]\" [label=\"TCP 80; UDP 53\"];\n"),
            "{dot}"
        );
        assert_eq!(dot.matches(" -> ").count(), 1);
        let mermaid = render_mermaid(&map);
        assert!(mermaid.ends_with("    n0 -->|\"TCP 80; UDP 53\"| n1\n"), "{mermaid}");
        assert_eq!(mermaid.matches(" -->|").count(), 1);
    }

    #[test]
    fn dot_escapes_quotes_and_backslashes() {
        let map = ConnectivityMap {
            connections: vec![conn("ns/we\"ird\\name[Pod]", "ns/b[Pod]", "TCP \"1\"")],
            warnings: vec![],
        };
        let expected = r#"digraph connectivity {
    rankdir=LR;
    subgraph "cluster_ns" {
        label="ns";
        "ns/b[Pod]" [label="b[Pod]"];
        "ns/we\"ird\\name[Pod]" [label="we\"ird\\name[Pod]"];
    }
    "ns/we\"ird\\name[Pod]" -> "ns/b[Pod]" [label="TCP \"1\""];
}
"#;
        assert_eq!(render_dot(&map), expected);
    }

    #[test]
    fn mermaid_escapes_quotes_as_quot_entity() {
        let map = ConnectivityMap {
            connections: vec![conn("n\"s/we\"ird#[Pod]", "n\"s/b[Pod]", "TCP \"1\"")],
            warnings: vec![],
        };
        let expected = r#"flowchart LR
    subgraph ns_n_s ["n#quot;s"]
        n0["b[Pod]"]
        n1["we#quot;ird#35;[Pod]"]
    end
    n1 -->|"TCP #quot;1#quot;"| n0
"#;
        assert_eq!(render_mermaid(&map), expected);
    }

    #[test]
    fn mermaid_subgraph_ids_stay_unique_after_sanitizing() {
        let map = ConnectivityMap {
            connections: vec![conn("a-b/x[Pod]", "a.b/y[Pod]", "TCP 80")],
            warnings: vec![],
        };
        let mermaid = render_mermaid(&map);
        assert!(mermaid.contains("    subgraph ns_a_b [\"a-b\"]\n"), "{mermaid}");
        assert!(mermaid.contains("    subgraph ns_a_b_1 [\"a.b\"]\n"), "{mermaid}");
    }

    #[test]
    fn names_outside_namespaces_and_externals_stay_at_top_level() {
        let map = ConnectivityMap {
            connections: vec![conn("loose", "ns/a[Pod]", "TCP 80")],
            warnings: vec![],
        };
        assert!(render_dot(&map).contains("\n    \"loose\" [label=\"loose\"];\n    \"loose\" -> "));
        assert!(render_mermaid(&map).contains("    end\n    n1[\"loose\"]\n    n1 -->|\"TCP 80\"| n0\n"));
    }

    #[test]
    fn empty_map_renders_an_empty_graph() {
        let map = ConnectivityMap {
            connections: vec![],
            warnings: vec![],
        };
        assert_eq!(render_dot(&map), "digraph connectivity {\n}\n");
        assert_eq!(render_mermaid(&map), "flowchart LR\n");
    }
}
