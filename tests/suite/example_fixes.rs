//! Issue 16's "done when" for the examples: the fix each diagnosis suggests in words, written as
//! objects, turns the asked flow into the verdict expected (`allowed` unless the case says
//! otherwise) and opens no other connection, or the case names what else it opens and why.
//!
//! Every `examples/NN-slug/case.yaml` has either `no_fix: <why there is no policy fix>` or
//!
//! ```yaml
//! fix:
//!   add: [fix.yaml]            # objects added; one with the kind, namespace and name of an
//!                              # object of cluster.yaml replaces it
//!   delete: ["ns/name"]        # a policy object (`name` alone for a cluster-scoped one)
//!   label: ["ns/pod k=v", "ns k=v", "ns/pod k-"]   # a pod's or a namespace's label set or removed
//!   verdict: allowed           # the asked flow after the fix (default allowed)
//!   also_opens: {reason: "...", connections: ["SRC => DST : CONNS"]}   # gained besides the flow
//!   closes: {reason: "...", connections: ["SRC => DST : CONNS"]}       # lost (default none)
//!   note: "..."                # what the map cannot show (L7, a mesh)
//! ```
//!
//! `add`, `delete` and `label` mirror the `what-if` CLI's `--add`, `--delete` and `--label`.
//! The test compares the whole connectivity map (`matrix`) before and after: the connections
//! gained must be the asked flow's port on its workload pair plus `also_opens`, and the ones lost
//! exactly `closes`. External ranges are compared address by address (the map cuts them where
//! the policies' ipBlocks do, and a fix can move the cuts). Every example is checked and every
//! failure reported at once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use netpol_debug::diagnosis::query::Surface;
use netpol_debug::diagnosis::{self, matrix, whatif};
use netpol_debug::engine::ConnSet;
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::Protocol;
use netpol_debug::report::{ConnectivityMap, Diagnosis, EndpointReport};
use netpol_debug::snapshot::{self, ClusterSnapshot};
use serde::Deserialize;

use crate::examples::{self, Case, Example};

/// A case's `fix`: the suggestion as edits of its snapshot.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fix {
    /// Files beside case.yaml whose objects are added (same kind/namespace/name: replaced).
    #[serde(default)]
    add: Vec<String>,
    /// Policy objects removed: `ns/name`, or `name` for a cluster-scoped kind.
    #[serde(default)]
    delete: Vec<String>,
    /// `ns/pod k=v` or `ns k=v` (a namespace) sets a label; `... k-` removes it.
    #[serde(default)]
    label: Vec<String>,
    /// The asked flow's verdict after the fix; default `allowed`.
    #[serde(default)]
    verdict: Option<String>,
    /// Connections gained besides the asked flow, and why that is right.
    #[serde(default)]
    also_opens: Option<Listed>,
    /// Connections lost, and why that is right.
    #[serde(default)]
    closes: Option<Listed>,
    /// What the map cannot show (L7, a mesh), printed with the outcome.
    #[serde(default)]
    note: Option<String>,
}

/// Connections in the map's `SRC => DST : CONNS` form, with the one-line reason they are expected.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Listed {
    reason: String,
    connections: Vec<String>,
}

/// Fewer fixes than this means case files lost their `fix`.
const MIN_FIXES: usize = 20;

/// The example's snapshot with `fix` applied (none: as read), through the what-if API
/// (`whatif::apply`, what `what-if` and the `what_if` tool run on a copy of the snapshot).
fn snapshot_with_fix(dir: &Path, fix: Option<&Fix>) -> Result<ClusterSnapshot, String> {
    let snap = snapshot::load_paths(&[dir.join("cluster.yaml")]).map_err(|e| e.to_string())?;
    let Some(fix) = fix else { return Ok(snap) };
    let add = fix
        .add
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("fix.add {file}: {e}"))?;
            Ok(whatif::Manifest {
                name: file.clone(),
                text,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let (mut pods, mut namespaces) = (Vec::new(), Vec::new());
    for change in &fix.label {
        let (target, labels) = change
            .split_once(' ')
            .ok_or_else(|| format!("fix.label {change:?}: expected `ns/pod k=v` or `ns k=v`"))?;
        let edit = whatif::LabelEdit {
            target: target.to_string(),
            labels: labels.to_string(),
        };
        match target.contains('/') {
            true => pods.push(edit),
            false => namespaces.push(edit),
        }
    }
    let edits = whatif::Edits {
        add,
        delete: fix.delete.clone(),
        label: pods,
        namespace_label: namespaces,
    };
    whatif::apply(&snap, &edits)
        .map(|(after, _)| after)
        .map_err(|e| format!("fix {}: {}", e.arguments(), e.text(Surface::Cli)))
}

/// One end of a map connection: a workload, or a range of external addresses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    Workload(String),
    Range(IpAddr, IpAddr),
}

impl End {
    fn parse(s: &str) -> Result<End, String> {
        let Some(range) = s.strip_suffix("[External]") else {
            return Ok(End::Workload(s.to_string()));
        };
        let (a, b) = range
            .split_once('-')
            .ok_or_else(|| format!("{s}: expected A-B[External]"))?;
        let ip = |x: &str| x.parse::<IpAddr>().map_err(|e| format!("{s}: {e}"));
        Ok(End::Range(ip(a)?, ip(b)?))
    }

    fn name(&self) -> String {
        match self {
            End::Workload(w) => w.clone(),
            End::Range(a, b) => format!("{a}-{b}[External]"),
        }
    }

    /// The asked flow's end as the map names it: its pod's workload (the map's name, e.g. the
    /// ReplicaSet), or its address.
    fn of(ix: &ClusterIndex, e: &EndpointReport) -> Result<End, String> {
        let pod = e.name.split_once('/').and_then(|(ns, name)| ix.pod_by_name(ns, name));
        if let Some(w) = pod.map(|id| ix.pod(id).workload_name()).or_else(|| e.workload.clone()) {
            return Ok(End::Workload(w));
        }
        let ip: IpAddr = e
            .ips
            .first()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("endpoint {} has neither a workload nor an address", e.name))?;
        Ok(End::Range(ip, ip))
    }
}

type Pair = (End, End);
type Conns = BTreeMap<Pair, ConnSet>;
/// Ranges by (the range is the source, the other end, IPv6): first, last address, connections.
type Runs = BTreeMap<(bool, End, bool), Vec<(u128, u128, ConnSet)>>;

/// `All Connections`, `No Connections` or `TCP 80,8000-8100,UDP 53`.
fn parse_conns(s: &str) -> Result<ConnSet, String> {
    match s {
        "All Connections" => return Ok(ConnSet::all()),
        "No Connections" => return Ok(ConnSet::none()),
        _ => {}
    }
    let mut out = ConnSet::none();
    let mut proto = None;
    for item in s.split(',') {
        let ports = match item.split_once(' ') {
            Some((p, ports)) => {
                proto = Some(Protocol::parse(p).ok_or_else(|| format!("{s}: protocol {p}"))?);
                ports
            }
            None => item,
        };
        let proto = proto.ok_or_else(|| format!("{s}: ports before a protocol"))?;
        let port = |x: &str| x.parse::<u16>().map_err(|e| format!("{s}: {x}: {e}"));
        let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
        out.add(proto, port(lo)?, port(hi)?);
    }
    Ok(out)
}

/// `SRC => DST : CONNS`.
fn parse_line(line: &str) -> Result<(Pair, ConnSet), String> {
    let (src, rest) = line
        .split_once(" => ")
        .ok_or_else(|| format!("{line:?}: expected SRC => DST : CONNS"))?;
    let (dst, conns) = rest
        .split_once(" : ")
        .ok_or_else(|| format!("{line:?}: expected SRC => DST : CONNS"))?;
    Ok(((End::parse(src)?, End::parse(dst)?), parse_conns(conns)?))
}

fn render(m: &Conns) -> Vec<String> {
    m.iter()
        .map(|((s, d), c)| format!("{} => {} : {c}", s.name(), d.name()))
        .collect()
}

fn map_conns(map: &ConnectivityMap) -> Result<Conns, String> {
    let mut out = Conns::new();
    for c in &map.connections {
        let pair = (End::parse(&c.src)?, End::parse(&c.dst)?);
        out.entry(pair).or_default().union_with(&parse_conns(&c.conn)?);
    }
    Ok(out)
}

fn num(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn ip_of((v6, n): (bool, u128)) -> IpAddr {
    if v6 {
        IpAddr::V6(n.into())
    } else {
        IpAddr::V4((n as u32).into())
    }
}

/// The start of every range of both maps, and the address after each end.
fn cuts(maps: &[&Conns]) -> BTreeSet<(bool, u128)> {
    let mut out = BTreeSet::new();
    for (s, d) in maps.iter().flat_map(|m| m.keys()) {
        for e in [s, d] {
            if let End::Range(a, b) = e {
                let (fam, hi) = num(*b);
                out.insert(num(*a));
                out.insert((fam, hi.saturating_add(1)));
            }
        }
    }
    out
}

/// `e` cut at `cuts`: a workload stays whole.
fn pieces(e: &End, cuts: &BTreeSet<(bool, u128)>) -> Vec<End> {
    let End::Range(a, b) = e else {
        return vec![e.clone()];
    };
    let ((fam, lo), (_, hi)) = (num(*a), num(*b));
    let mut starts: Vec<u128> = vec![lo];
    if lo < hi {
        starts.extend(cuts.range((fam, lo + 1)..=(fam, hi)).map(|&(_, n)| n));
    }
    let ends = starts.iter().skip(1).map(|n| n - 1).chain([hi]);
    starts
        .iter()
        .zip(ends)
        .map(|(&s, e)| End::Range(ip_of((fam, s)), ip_of((fam, e))))
        .collect()
}

/// Both maps cut at the same addresses. The map lists IPv6 ranges only when a policy mentions
/// IPv6: unless both do, IPv6 ranges are left out of the comparison.
fn comparable(mut before: Conns, mut after: Conns) -> (Conns, Conns) {
    let v6 = |m: &Conns| {
        m.keys()
            .any(|(s, d)| [s, d].iter().any(|e| matches!(e, End::Range(IpAddr::V6(_), _))))
    };
    if !(v6(&before) && v6(&after)) {
        let v4_only =
            |(s, d): &Pair, _: &mut ConnSet| ![s, d].iter().any(|e| matches!(e, End::Range(IpAddr::V6(_), _)));
        before.retain(v4_only);
        after.retain(v4_only);
    }
    let cut = cuts(&[&before, &after]);
    (refine(&before, &cut), refine(&after, &cut))
}

fn refine(m: &Conns, cuts: &BTreeSet<(bool, u128)>) -> Conns {
    let mut out = Conns::new();
    for ((s, d), c) in m {
        for s in pieces(s, cuts) {
            for d in pieces(d, cuts) {
                out.insert((s.clone(), d), c.clone());
            }
        }
    }
    out
}

/// Adjacent external ranges with the same other end and the same connections, as one range.
fn coalesce(m: Conns) -> Conns {
    let mut out: Conns = Conns::new();
    let mut runs = Runs::new();
    for ((s, d), c) in m {
        match (&s, &d) {
            (End::Range(a, b), other) | (other, End::Range(a, b)) => {
                let is_src = matches!(s, End::Range(..));
                let ((fam, lo), (_, hi)) = (num(*a), num(*b));
                runs.entry((is_src, other.clone(), fam)).or_default().push((lo, hi, c));
            }
            _ => {
                out.insert((s, d), c);
            }
        }
    }
    for ((is_src, other, fam), mut v) in runs {
        v.sort_by_key(|r| (r.0, r.1));
        let mut merged: Vec<(u128, u128, ConnSet)> = Vec::new();
        for (lo, hi, c) in v {
            match merged.last_mut() {
                Some(last) if last.1.checked_add(1) == Some(lo) && last.2 == c => last.1 = hi,
                _ => merged.push((lo, hi, c)),
            }
        }
        for (lo, hi, c) in merged {
            let r = End::Range(ip_of((fam, lo)), ip_of((fam, hi)));
            let pair = if is_src { (r, other.clone()) } else { (other.clone(), r) };
            out.insert(pair, c);
        }
    }
    out
}

/// What `a` has that `b` has not, pair by pair.
fn minus(a: &Conns, b: &Conns) -> Conns {
    let none = ConnSet::none();
    let out = a
        .iter()
        .map(|(k, c)| (k.clone(), c.subtract(b.get(k).unwrap_or(&none))))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    coalesce(out)
}

/// What the map allows on `pair`, an external end matched by the range that contains it.
fn allowed_on(m: &Conns, pair: &Pair) -> ConnSet {
    let within = |inner: &End, outer: &End| match (inner, outer) {
        (End::Range(a, b), End::Range(c, d)) => num(*c) <= num(*a) && num(*b) <= num(*d),
        _ => inner == outer,
    };
    m.iter()
        .find(|((s, d), _)| within(&pair.0, s) && within(&pair.1, d))
        .map(|(_, c)| c.clone())
        .unwrap_or_default()
}

fn listed(l: &Option<Listed>) -> Result<Conns, String> {
    let mut out = Conns::new();
    for line in l.iter().flat_map(|l| &l.connections) {
        let (pair, c) = parse_line(line)?;
        out.entry(pair).or_default().union_with(&c);
    }
    Ok(out)
}

/// A snapshot's whole map, the asked flow's diagnosis, and the flow as a map entry.
fn evaluate(snap: &ClusterSnapshot, case: &Case) -> Result<(Conns, Diagnosis, (Pair, ConnSet)), String> {
    let ix = ClusterIndex::build(snap, Semantics::default());
    let d = diagnosis::diagnose(&ix, &examples::query_of(case)?).map_err(|e| format!("the query fails: {e}"))?;
    let flow = asked(&ix, &d)?;
    Ok((map_conns(&matrix::connectivity_map(&ix, &[]))?, d, flow))
}

/// The asked flow as a map entry: its workload pair (or address) and the port the pod sees.
fn asked(ix: &ClusterIndex, d: &Diagnosis) -> Result<(Pair, ConnSet), String> {
    let q = &d.query;
    let proto = Protocol::parse(&q.protocol).ok_or_else(|| format!("protocol {}", q.protocol))?;
    let port = q
        .resolved_port
        .and_then(|p| u16::try_from(p).ok())
        .ok_or("the case names no numeric port")?;
    let pair = (End::of(ix, &q.source)?, End::of(ix, &q.destination)?);
    Ok((pair, ConnSet::single(proto, Some(port))))
}

/// One line per way the fix differs from its case; the reasons of what it also opens or closes.
fn check(ex: &Example, case: &Case, fix: &Fix) -> Result<(Vec<String>, Vec<String>), String> {
    let (before, d0, (pair, conn)) = evaluate(&snapshot_with_fix(&ex.dir, None)?, case)?;
    let (after, d1, _) = evaluate(&snapshot_with_fix(&ex.dir, Some(fix))?, case)?;
    let mut wrong = Vec::new();
    let verdict0 = examples::wire(&d0.verdict);
    if verdict0 != case.expect.verdict {
        wrong.push(format!(
            "before the fix the verdict is {verdict0}, the case expects {}",
            case.expect.verdict
        ));
    }
    let want = fix.verdict.as_deref().unwrap_or("allowed");
    let verdict1 = examples::wire(&d1.verdict);
    if verdict1 != want {
        let codes: Vec<String> = d1.root_causes.iter().map(|rc| examples::wire(&rc.code)).collect();
        wrong.push(format!(
            "after the fix the flow is {verdict1} ({}), expected {want}",
            codes.join(", ")
        ));
    }
    let (before, after) = comparable(before, after);
    let mut want_gained = listed(&fix.also_opens)?;
    let flow_gain = conn.subtract(&allowed_on(&before, &pair));
    if !flow_gain.is_empty() {
        want_gained.entry(pair).or_default().union_with(&flow_gain);
    }
    for (what, got, want) in [
        ("gains", minus(&after, &before), coalesce(want_gained)),
        ("loses", minus(&before, &after), coalesce(listed(&fix.closes)?)),
    ] {
        if got != want {
            wrong.push(format!(
                "the map {what} [{}], the case expects [{}]",
                render(&got).join("; "),
                render(&want).join("; ")
            ));
        }
    }
    let reasons = [("also opens", &fix.also_opens), ("closes", &fix.closes)]
        .into_iter()
        .filter_map(|(what, l)| {
            l.as_ref()
                .map(|l| format!("{what} {}: {}", l.connections.join("; "), l.reason))
        })
        .chain(fix.note.iter().map(|n| format!("note: {}", n.trim())))
        .collect();
    Ok((wrong, reasons))
}

#[test]
fn every_suggested_fix_opens_the_asked_flow_and_what_its_case_names() {
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let mut fixed = 0;
    for ex in examples::examples() {
        let case = match examples::load_case(&ex) {
            Ok(c) => c,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        match (&case.fix, &case.no_fix) {
            (Some(fix), None) => match check(&ex, &case, fix) {
                Ok((wrong, reasons)) => {
                    fixed += 1;
                    failures.extend(wrong.into_iter().map(|w| format!("{}: {w}", ex.name)));
                    notes.extend(reasons.into_iter().map(|r| format!("{}: {r}", ex.name)));
                }
                Err(e) => failures.push(format!("{}: {e}", ex.name)),
            },
            (None, Some(why)) => notes.push(format!("{}: no policy fix: {}", ex.name, why.trim())),
            _ => failures.push(format!(
                "{}: case.yaml needs exactly one of `fix` and `no_fix`",
                ex.name
            )),
        }
    }
    println!("{fixed} example fixes checked\n  {}", notes.join("\n  "));
    assert!(
        fixed >= MIN_FIXES,
        "only {fixed} examples have a fix (expected at least {MIN_FIXES})"
    );
    assert!(
        failures.is_empty(),
        "{} example fix(es) wrong:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn external_ranges_compare_address_by_address() {
    let m = |lines: &[&str]| -> Conns { lines.iter().map(|l| parse_line(l).unwrap()).collect() };
    let before = m(&["a[Pod] => 0.0.0.0-9.255.255.255[External] : TCP 80"]);
    let after = m(&[
        "a[Pod] => 0.0.0.0-9.255.255.255[External] : TCP 80",
        "a[Pod] => 10.1.2.3-10.1.2.3[External] : TCP 5432",
    ]);
    let cut = cuts(&[&before, &after]);
    let gained = minus(&refine(&after, &cut), &refine(&before, &cut));
    assert_eq!(render(&gained), ["a[Pod] => 10.1.2.3-10.1.2.3[External] : TCP 5432"]);
    let wide = m(&["a[Pod] => 0.0.0.0-255.255.255.255[External] : TCP 80,UDP 53"]);
    let cut = cuts(&[&before, &wide]);
    let gained = minus(&refine(&wide, &cut), &refine(&before, &cut));
    assert_eq!(
        render(&gained),
        [
            "a[Pod] => 0.0.0.0-9.255.255.255[External] : UDP 53",
            "a[Pod] => 10.0.0.0-255.255.255.255[External] : TCP 80,UDP 53"
        ]
    );
    assert_eq!(
        parse_conns("SCTP 9003,TCP 80-90,8080,UDP 53").unwrap().to_string(),
        "SCTP 9003,TCP 80-90,8080,UDP 53"
    );
}

#[test]
fn delete_and_label_edit_the_objects_they_name() {
    let ex = examples::examples()
        .into_iter()
        .find(|e| e.name.starts_with("01-"))
        .expect("example 01");
    let fix = Fix {
        delete: vec!["shop/default-deny-ingress".into()],
        label: vec!["shop/frontend-7d9f tier=web".into(), "shop team-".into()],
        ..Fix::default()
    };
    let snap = snapshot_with_fix(&ex.dir, Some(&fix)).unwrap();
    assert!(snap.network_policies.is_empty());
    let pod = snap
        .pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("frontend-7d9f"))
        .unwrap();
    assert_eq!(
        pod.metadata.labels.as_ref().unwrap().get("tier").map(String::as_str),
        Some("web")
    );
    let ns = &snap.namespaces[0];
    assert!(!ns.metadata.labels.as_ref().unwrap().contains_key("team"), "{ns:?}");
    let gone = Fix {
        delete: vec!["shop/nothing".into()],
        ..Fix::default()
    };
    let err = snapshot_with_fix(&ex.dir, Some(&gone)).unwrap_err();
    assert!(err.contains("shop/nothing"), "{err}");
}
