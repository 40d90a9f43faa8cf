//! The connectivity map computed source by source ([`PairConns`], rule by rule, on every core)
//! and handed to a [`MapSink`] in the map's sorted order, so a whole-cluster map is written
//! without holding its connections.
//!
//! Invariant: the lines are those of the map pair by pair (`matrix::connectivity_map_pairwise`),
//! in the same order: sources by name (workloads and external source ranges together), each
//! source's destinations by name. This file does not read `matrix.rs` (which drives it): the
//! workloads and the external ranges are handed in.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::engine::{self, ConnId, Endpoint, PairCache, PairConns, Selection};
use crate::index::{ClusterIndex, PodId};
use crate::policy::Direction;
use crate::report::Connection;

/// Sources handed to the threads at a time: two waves of rows are held at once.
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

/// External ranges: the name of each and its first address.
pub type Ranges = Vec<(String, IpAddr)>;

/// One representative pod per workload, by workload name.
pub type Workloads = BTreeMap<String, PodId>;

/// What a map is made of: the workloads, the external source ranges, the destination ranges.
pub type Parts = (Workloads, Ranges, Ranges);

/// What the map is made of: the workloads, the external ranges, the scope, and the order.
struct Plan<'a> {
    ix: &'a ClusterIndex,
    names: Vec<String>,
    reps: Vec<PodId>,
    in_scope: Vec<bool>,
    from: Ranges,
    to: Ranges,
    /// Every source, by name.
    sources: Vec<Node>,
    /// Every destination of an in-scope workload, by name.
    destinations: Vec<Node>,
    /// The in-scope workloads, by name.
    scoped: Vec<usize>,
}

impl<'a> Plan<'a> {
    fn new(
        ix: &'a ClusterIndex,
        namespaces: &[String],
        (workloads, from, to): (Workloads, Ranges, Ranges),
    ) -> Plan<'a> {
        let (names, reps): (Vec<String>, Vec<PodId>) = workloads.into_iter().unzip();
        let in_scope: Vec<bool> = reps
            .iter()
            .map(|&id| namespaces.is_empty() || namespaces.iter().any(|n| *n == ix.pod(id).namespace))
            .collect();
        let mut plan = Plan {
            ix,
            scoped: (0..reps.len()).filter(|&w| in_scope[w]).collect(),
            names,
            reps,
            in_scope,
            from,
            to,
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
            Node::From(b) => &self.from[b].0,
            Node::To(b) => &self.to[b].0,
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
/// end in one of them) between the workloads and from / to the external ranges, and hands every
/// connection to `sink`, in order. Returns the first error of the sink.
pub fn stream_rows(
    ix: &ClusterIndex,
    namespaces: &[String],
    parts: Parts,
    sink: &mut dyn MapSink,
) -> std::io::Result<()> {
    let plan = Plan::new(ix, namespaces, parts);
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
    // The rows of one wave are written while the threads compute the next.
    let mut previous: Option<(&[Node], Vec<Row>)> = None;
    for wave in plan.sources.chunks(WAVE) {
        let per_thread = wave.len().div_ceil(threads);
        let (rows, written) = std::thread::scope(|scope| {
            let handles: Vec<_> = wave
                .chunks(per_thread)
                .zip(workers.iter_mut())
                .map(|(chunk, worker)| {
                    let (plan, pairs, sel) = (&plan, &pairs, &sel);
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|&n| row(plan, pairs, sel, worker, n))
                            .collect::<Vec<Row>>()
                    })
                })
                .collect();
            let written = previous
                .take()
                .map_or(Ok(()), |(srcs, rows)| emit(&plan, srcs, rows, sink));
            let rows: Vec<Row> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect();
            (rows, written)
        });
        written?;
        previous = Some((wave, rows));
    }
    previous.map_or(Ok(()), |(srcs, rows)| emit(&plan, srcs, rows, sink))
}

/// Hands the rows of `sources` to the sink.
fn emit(plan: &Plan<'_>, sources: &[Node], rows: Vec<Row>, sink: &mut dyn MapSink) -> std::io::Result<()> {
    for (src, row) in sources.iter().zip(rows) {
        for (dst, conn) in row {
            sink.connection(plan.name(*src), plan.name(dst), &conn)?;
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
                        let ip = Endpoint::Ip(plan.to[b].1);
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
            let ip = Endpoint::Ip(plan.from[b].1);
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

/// Collects the connections (for `matrix::connectivity_map`).
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
