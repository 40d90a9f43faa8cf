//! The connectivity map computed source by source ([`PairConns`], rule by rule, on every core)
//! and handed to a [`MapSink`] in the map's sorted order, so a whole-cluster map is written
//! without holding its connections.
//!
//! Invariant: the lines are those of [`connectivity_map_pairwise`](super::matrix::connectivity_map_pairwise),
//! in the same order: sources by name (workloads and external source ranges together), each
//! source's destinations by name.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::matrix::{self, ExternalBlock, external_blocks, workload_representatives};
use crate::engine::{self, ConnId, Endpoint, PairCache, PairConns, Selection};
use crate::index::{ClusterIndex, PodId};
use crate::policy::Direction;
use crate::report::Connection;

/// Sources handed to the threads at a time: the rows held at once.
const WAVE: usize = 256;

/// Receives the map's connections in order.
pub trait MapSink {
    fn connection(&mut self, src: &str, dst: &str, conn: &str) -> std::io::Result<()>;
}

/// A node of the map.
#[derive(Debug, Clone, Copy)]
enum Node {
    /// A workload (index into the representatives).
    Workload(usize),
    /// An external range connections come from (index into the source ranges).
    From(usize),
    /// An external range connections go to (index into the destination ranges).
    To(usize),
}

/// What the map is made of: the workloads, the external ranges, the scope, and the order.
struct Plan<'a> {
    ix: &'a ClusterIndex,
    names: Vec<String>,
    reps: Vec<PodId>,
    in_scope: Vec<bool>,
    from: Vec<ExternalBlock>,
    to: Vec<ExternalBlock>,
    from_names: Vec<String>,
    to_names: Vec<String>,
    /// Every source, by name.
    sources: Vec<Node>,
    /// Every destination of an in-scope workload, by name.
    destinations: Vec<Node>,
    /// The in-scope workloads, by name.
    scoped: Vec<usize>,
}

impl<'a> Plan<'a> {
    fn new(ix: &'a ClusterIndex, namespaces: &[String]) -> Plan<'a> {
        let (names, reps): (Vec<String>, Vec<PodId>) = workload_representatives(ix).into_iter().unzip();
        let in_scope: Vec<bool> = reps
            .iter()
            .map(|&id| namespaces.is_empty() || namespaces.iter().any(|n| *n == ix.pod(id).namespace))
            .collect();
        let (from, to) = external_blocks(ix);
        let from_names: Vec<String> = from.iter().map(ExternalBlock::name).collect();
        let to_names: Vec<String> = to.iter().map(ExternalBlock::name).collect();
        let mut plan = Plan {
            ix,
            scoped: (0..reps.len()).filter(|&w| in_scope[w]).collect(),
            names,
            reps,
            in_scope,
            from,
            to,
            from_names,
            to_names,
            sources: Vec::new(),
            destinations: Vec::new(),
        };
        let workloads = (0..plan.reps.len()).map(Node::Workload);
        plan.sources = plan.sorted(workloads.clone().chain((0..plan.from.len()).map(Node::From)));
        plan.destinations = plan.sorted(workloads.chain((0..plan.to.len()).map(Node::To)));
        plan
    }

    fn name(&self, n: Node) -> &str {
        match n {
            Node::Workload(w) => &self.names[w],
            Node::From(b) => &self.from_names[b],
            Node::To(b) => &self.to_names[b],
        }
    }

    fn sorted(&self, nodes: impl Iterator<Item = Node>) -> Vec<Node> {
        let mut v: Vec<Node> = nodes.collect();
        v.sort_by(|a, b| self.name(*a).cmp(self.name(*b)));
        v
    }
}

/// One thread's state: the pair cache and the text of each interned set.
struct Worker {
    cache: PairCache,
    texts: Vec<Option<Arc<str>>>,
}

impl Worker {
    fn text(&mut self, id: ConnId) -> Arc<str> {
        if self.texts.len() <= id.index() {
            self.texts.resize(id.index() + 1, None);
        }
        self.texts[id.index()]
            .get_or_insert_with(|| Arc::from(self.cache.set(id).to_string()))
            .clone()
    }
}

/// One source's connections: (destination, conns), by destination name.
type Row = Vec<(Node, Arc<str>)>;

/// Computes the map of `namespaces` (empty: the whole cluster; otherwise the connections with an
/// end in one of them) and hands every connection to `sink`, in order. Returns the first error
/// of the sink.
pub fn stream_map(ix: &ClusterIndex, namespaces: &[String], sink: &mut dyn MapSink) -> std::io::Result<()> {
    let plan = Plan::new(ix, namespaces);
    let sel = Selection::compute(ix);
    let pairs = PairConns::new(ix, &sel, plan.reps.clone());
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut workers: Vec<Worker> = (0..threads)
        .map(|_| Worker {
            cache: pairs.cache(),
            texts: Vec::new(),
        })
        .collect();
    tracing::debug!(
        workloads = plan.reps.len(),
        sources = plan.sources.len(),
        threads,
        "map: streaming"
    );
    for wave in plan.sources.chunks(WAVE) {
        let per_thread = wave.len().div_ceil(threads);
        let rows: Vec<Vec<Row>> = std::thread::scope(|scope| {
            let handles: Vec<_> = wave
                .chunks(per_thread)
                .zip(workers.iter_mut())
                .map(|(chunk, worker)| {
                    let (plan, pairs, sel) = (&plan, &pairs, &sel);
                    scope.spawn(move || chunk.iter().map(|&n| row(plan, pairs, sel, worker, n)).collect())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        for (src, row) in wave.iter().zip(rows.iter().flatten()) {
            for (dst, conn) in row {
                sink.connection(plan.name(*src), plan.name(*dst), conn)?;
            }
        }
    }
    Ok(())
}

/// The connections of one source, by destination name.
fn row(plan: &Plan<'_>, pairs: &PairConns<'_>, sel: &Selection, w: &mut Worker, src: Node) -> Row {
    let ix = plan.ix;
    let mut out = Row::new();
    let mut push = |w: &mut Worker, dst: Node, id: ConnId| {
        if id != engine::NO_CONNS {
            out.push((dst, w.text(id)));
        }
    };
    match src {
        Node::Workload(s) if plan.in_scope[s] => {
            for &dst in &plan.destinations {
                let id = match dst {
                    Node::Workload(d) if d == s => continue,
                    Node::Workload(d) => pairs.conns(s, d, &mut w.cache),
                    Node::To(b) => {
                        let ip = Endpoint::Ip(plan.to[b].start);
                        let c = engine::side_conns(ix, sel, Endpoint::Pod(plan.reps[s]), ip, Direction::Egress, None);
                        w.cache.intern(c)
                    }
                    Node::From(_) => continue,
                };
                push(w, dst, id);
            }
        }
        Node::Workload(s) => {
            for &d in &plan.scoped {
                let id = pairs.conns(s, d, &mut w.cache);
                push(w, Node::Workload(d), id);
            }
        }
        Node::From(b) => {
            let ip = Endpoint::Ip(plan.from[b].start);
            for &d in &plan.scoped {
                let pod = plan.reps[d];
                let c = engine::side_conns(ix, sel, Endpoint::Pod(pod), ip, Direction::Ingress, Some(ix.pod(pod)));
                let id = w.cache.intern(c);
                push(w, Node::Workload(d), id);
            }
        }
        Node::To(_) => {}
    }
    out
}

/// Collects the connections (for [`connectivity_map`](super::matrix::connectivity_map)).
#[derive(Default)]
pub struct Collect(pub Vec<Connection>);

impl MapSink for Collect {
    fn connection(&mut self, src: &str, dst: &str, conn: &str) -> std::io::Result<()> {
        self.0.push(Connection {
            src: src.to_string(),
            dst: dst.to_string(),
            conn: conn.to_string(),
        });
        Ok(())
    }
}

/// Writes `SRC => DST : CONNS` lines, as [`render_text`](super::matrix::render_text).
pub struct TextSink<W: std::io::Write>(pub W);

impl<W: std::io::Write> MapSink for TextSink<W> {
    fn connection(&mut self, src: &str, dst: &str, conn: &str) -> std::io::Result<()> {
        writeln!(self.0, "{src} => {dst} : {conn}")
    }
}

/// Writes the map as `serde_json::to_string_pretty` writes a
/// [`ConnectivityMap`](crate::report::ConnectivityMap), connection by connection; [`JsonSink::finish`]
/// closes it with the warnings.
pub struct JsonSink<W: std::io::Write> {
    out: W,
    written: usize,
}

impl<W: std::io::Write> JsonSink<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"{\n  \"connections\": [")?;
        Ok(JsonSink { out, written: 0 })
    }

    /// Writes the warnings and the closing brace (and a line break), and returns the writer.
    pub fn finish(mut self, warnings: &[String]) -> std::io::Result<W> {
        let close = if self.written == 0 { "]" } else { "\n  ]" };
        write!(self.out, "{close},\n  \"warnings\": [")?;
        for (i, w) in warnings.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(self.out, "{sep}\n    {}", json_string(w))?;
        }
        let close = if warnings.is_empty() { "]" } else { "\n  ]" };
        write!(self.out, "{close}\n}}\n")?;
        Ok(self.out)
    }
}

impl<W: std::io::Write> MapSink for JsonSink<W> {
    fn connection(&mut self, src: &str, dst: &str, conn: &str) -> std::io::Result<()> {
        let sep = if self.written == 0 { "" } else { "," };
        self.written += 1;
        write!(
            self.out,
            "{sep}\n    {{\n      \"src\": {},\n      \"dst\": {},\n      \"conn\": {}\n    }}",
            json_string(src),
            json_string(dst),
            json_string(conn)
        )
    }
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ConnectivityMap;

    fn streamed(map: &ConnectivityMap) -> String {
        let mut sink = JsonSink::new(Vec::new()).unwrap();
        for c in &map.connections {
            sink.connection(&c.src, &c.dst, &c.conn).unwrap();
        }
        String::from_utf8(sink.finish(&map.warnings).unwrap()).unwrap()
    }

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
            let map = matrix::connectivity_map(&ix, &scope);
            for (graphic, whole) in [
                (Graphic::Dot, matrix::render_dot(&map)),
                (Graphic::Mermaid, matrix::render_mermaid(&map)),
            ] {
                let mut out = Vec::new();
                stream_graph(&ix, &scope, graphic, &mut out).unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), whole, "{graphic:?} {scope:?}");
            }
        }
    }

    /// The streamed JSON is byte for byte what the CLI printed from the whole map.
    #[test]
    fn json_sink_writes_what_to_string_pretty_writes() {
        let conn = |s: &str, d: &str, c: &str| Connection {
            src: s.into(),
            dst: d.into(),
            conn: c.into(),
        };
        let maps = [
            ConnectivityMap {
                connections: vec![],
                warnings: vec![],
            },
            ConnectivityMap {
                connections: vec![conn("a/x[Pod]", "b/\"y\\[Pod]", "TCP 80,443")],
                warnings: vec![],
            },
            ConnectivityMap {
                connections: vec![],
                warnings: vec!["one \"quoted\"\nline".into()],
            },
            ConnectivityMap {
                connections: vec![conn("a", "b", "All Connections"), conn("c", "d", "UDP 53")],
                warnings: vec!["w1".into(), "w2".into()],
            },
        ];
        for map in &maps {
            let whole = format!("{}\n", serde_json::to_string_pretty(map).unwrap());
            assert_eq!(streamed(map), whole);
        }
    }
}

/// A graph rendering of the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graphic {
    Dot,
    Mermaid,
}

/// Writes the map as [`render_dot`](super::matrix::render_dot) or
/// [`render_mermaid`](super::matrix::render_mermaid) would, without holding its connections: the
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
    let nodes = matrix::graph_nodes(names.0.iter().map(String::as_str));
    match graphic {
        Graphic::Dot => {
            out.write_all(matrix::dot_head(&nodes).as_bytes())?;
            stream_map(
                ix,
                namespaces,
                &mut EdgeSink(|s: &str, d: &str, c: &str| matrix::dot_edge(s, d, c), out),
            )?;
            out.write_all(b"}\n")
        }
        Graphic::Mermaid => {
            let (head, ids) = matrix::mermaid_head(&nodes);
            out.write_all(head.as_bytes())?;
            let edge = |s: &str, d: &str, c: &str| matrix::mermaid_edge(&ids[s], c, &ids[d]);
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
