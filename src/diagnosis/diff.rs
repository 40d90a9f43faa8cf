//! The difference between two states of a cluster: the objects that changed, and the connections
//! between workload pairs (and workloads and external ranges) gained and lost, each pair explained
//! by the object changes that touch it.
//!
//! How a pair is explained, soundly: the object changes are listed first (by kind, namespace and
//! name; a policy's spec, a pod's or namespace's labels, what policy reads of a pod). A pair's
//! connections can only change through policies that select one of its ends (a NetworkPolicy
//! selects pods of its own namespace by its podSelector, before or after; another namespaced
//! policy kind is counted when it is in an end's namespace; a cluster-scoped one always), through
//! the labels or pods of an end or of its namespace, or through an end that appears or goes. A
//! pair none of these touch is said to be explained by none of them (a Service or a node changed,
//! say), never pinned on a guess. Pairs are not re-evaluated change by change.
//!
//! Cost: two maps (the same evaluation as [`matrix::connectivity_map`], over external ranges cut
//! by both states' ipBlocks), then one explained flow per changed pair and state (on the first
//! connection that changed), to tell a certain change from an inconclusive one. A policy that
//! cannot be read changes no connection of the map; its change is a warning that the pods it may
//! select are inconclusive.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::causes::verdict_of;
use super::matrix::{self, ExternalBlock};
use crate::engine::{self, ConnSet, Endpoint, Flow};
use crate::index::{ClusterIndex, PodId};
use crate::policy::Protocol;
use crate::policy::selector::Labels;
use crate::report::Connection;
use crate::report::{ChangeKind, DiffGroup, DiffReport, ObjectChange, PairChange, Truncation, Verdict};
use crate::snapshot::ClusterSnapshot;

/// One state of the cluster: its objects and their index.
#[derive(Clone, Copy)]
pub struct State<'a> {
    pub snapshot: &'a ClusterSnapshot,
    pub index: &'a ClusterIndex,
    /// E.g. `snapshot a.yaml`.
    pub name: &'a str,
}

/// Compares two states. `namespaces` empty: every pair the changes can touch (see
/// [`local_namespaces`]); otherwise the pairs with an end in one of them. At most `limit` pairs
/// are listed, grouped; the counts are of all.
pub fn diff(before: State, after: State, namespaces: &[String], limit: usize) -> DiffReport {
    let changes = object_changes(before.snapshot, after.snapshot);
    let touched = match namespaces.is_empty() {
        true => local_namespaces(&changes),
        false => None,
    };
    diff_with_changes(before, after, touched.as_deref().unwrap_or(namespaces), limit, changes)
}

/// The namespaces whose pairs are all the changes can touch, when every change is a namespaced
/// policy, a pod, a workload or a namespace (see [`changed_namespaces`]); `None` (every pair)
/// when there is none, or one is cluster-scoped, a Service (a Cilium `toServices` reads its
/// addresses from any namespace) or a Node (node addresses meet ipBlocks and host-network pods).
fn local_namespaces(changes: &[ObjectChange]) -> Option<Vec<String>> {
    if changes.is_empty() || changes.iter().any(|c| matches!(c.kind.as_str(), "Service" | "Node")) {
        return None;
    }
    changed_namespaces(changes)
}

/// [`diff`] with the object changes already listed.
pub fn diff_with_changes(
    before: State,
    after: State,
    namespaces: &[String],
    limit: usize,
    changes: Vec<ObjectChange>,
) -> DiffReport {
    let blocks = matrix::external_blocks_of(&[before.index, after.index]);
    // Each map runs on every core already. Both come sorted by (source, destination); the sort
    // makes the side-by-side walk below sure of it (linear on sorted input).
    let by_pair = |a: &Connection, b: &Connection| (&a.src, &a.dst).cmp(&(&b.src, &b.dst));
    let mut old = matrix::map_pairs(before.index, namespaces, &blocks);
    old.sort_by(by_pair);
    let mut new = matrix::map_pairs(after.index, namespaces, &blocks);
    new.sort_by(by_pair);
    let ends = Ends::new(before.index, after.index, &blocks);
    let changed = changed_pairs(&old, &new, &ends, &changes);
    let mut warnings = unreadable_warnings(&changes);
    warnings.extend(warnings_of(after.index));
    assemble(before, after, namespaces, changes, changed, limit, warnings)
}

/// The pairs whose connections differ: certain ones grouped by the changes that explain them,
/// and the inconclusive ones.
struct Changed {
    groups: BTreeMap<Vec<String>, Vec<PairChange>>,
    inconclusive: Vec<PairChange>,
}

fn changed_pairs(old: &[Connection], new: &[Connection], ends: &Ends, changes: &[ObjectChange]) -> Changed {
    let touches: Vec<Touch> = changes.iter().map(|c| Touch::of(c, ends)).collect();
    let (differing, readable): (Vec<Differing<'_>>, Vec<bool>) = differing_pairs(old, new).into_iter().unzip();
    let mut doubts = doubts(ends, &differing);
    for (d, ok) in doubts.iter_mut().zip(readable) {
        if !ok {
            *d = Some("the map's connection set of this pair could not be read back".into());
        }
    }
    let mut out = Changed {
        groups: BTreeMap::new(),
        inconclusive: Vec::new(),
    };
    for ((src, dst, gained, lost), doubt) in differing.into_iter().zip(doubts) {
        let pair = PairChange {
            src: src.to_string(),
            dst: dst.to_string(),
            gained: (!gained.is_empty()).then(|| gained.to_string()),
            lost: (!lost.is_empty()).then(|| lost.to_string()),
            doubt,
        };
        match pair.doubt {
            Some(_) => out.inconclusive.push(pair),
            None => {
                let because = explain(changes, &touches, ends, src, dst);
                out.groups.entry(because).or_default().push(pair);
            }
        }
    }
    out
}

/// A pair whose connections differ, with what it gained and lost (`None`: a connection set that
/// did not read back, which makes the pair inconclusive rather than guessed).
type Differing<'a> = (&'a str, &'a str, ConnSet, ConnSet);

/// The pairs whose connections differ, in the maps' order: the two sorted maps walked side by
/// side, comparing texts first (a set is read back only where the texts differ).
fn differing_pairs<'a>(old: &'a [Connection], new: &'a [Connection]) -> Vec<(Differing<'a>, bool)> {
    let key = |c: &'a Connection| (c.src.as_str(), c.dst.as_str());
    let set = |c: Option<&Connection>| match c {
        None => Some(ConnSet::none()),
        Some(c) => ConnSet::parse_connlist(&c.conn),
    };
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => key(a).cmp(&key(b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (was, is) = match order {
            std::cmp::Ordering::Equal => (old.get(i), new.get(j)),
            std::cmp::Ordering::Less => (old.get(i), None),
            std::cmp::Ordering::Greater => (None, new.get(j)),
        };
        i += usize::from(was.is_some());
        j += usize::from(is.is_some());
        if let (Some(a), Some(b)) = (was, is)
            && a.conn == b.conn
        {
            continue;
        }
        let Some(end) = was.or(is) else { break };
        let (src, dst) = key(end);
        match (set(was), set(is)) {
            (Some(w), Some(n)) => out.push(((src, dst, n.subtract(&w), w.subtract(&n)), true)),
            _ => out.push(((src, dst, ConnSet::none(), ConnSet::none()), false)),
        }
    }
    out
}

/// Whether each differing pair is inconclusive in either state, evaluated on every core.
fn doubts(ends: &Ends, pairs: &[Differing<'_>]) -> Vec<Option<String>> {
    // Each pair is a diagnosis in both states: worth a thread from the second pair on.
    crate::index::on_every_core(pairs, 1, |(src, dst, gained, lost)| {
        let sample = if gained.is_empty() { lost } else { gained };
        ends.doubt(src, dst, sample)
    })
}

/// A policy that cannot be read after the change: the pairs it may select are inconclusive
/// even where the readable policies give the same connections (such pairs are not listed).
fn unreadable_warnings(changes: &[ObjectChange]) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.change != ChangeKind::Removed && c.details.iter().any(|d| d == UNREADABLE))
        .map(|c| {
            format!(
                "{}: it cannot be read, so verdicts of the pods it may select are inconclusive after the change, also where no connection is listed as gained or lost",
                c.describe()
            )
        })
        .collect()
}

/// The load warnings of the after state (those of the before state were true of it).
fn warnings_of(ix: &ClusterIndex) -> Vec<String> {
    ix.warnings.iter().map(|w| w.to_string()).collect()
}

/// The report: groups with most pairs first, pairs listed up to `limit` in all.
fn assemble(
    before: State,
    after: State,
    namespaces: &[String],
    changes: Vec<ObjectChange>,
    changed: Changed,
    limit: usize,
    warnings: Vec<String>,
) -> DiffReport {
    let Changed {
        groups,
        mut inconclusive,
    } = changed;
    let count = |pairs: &[PairChange], f: fn(&PairChange) -> bool| pairs.iter().filter(|p| f(p)).count() as i64;
    let mut groups: Vec<DiffGroup> = groups
        .into_iter()
        .map(|(because, pairs)| DiffGroup {
            because,
            gained_pairs: count(&pairs, |p| p.gained.is_some()),
            lost_pairs: count(&pairs, |p| p.lost.is_some()),
            pairs,
        })
        .collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.pairs.len()));
    let total = groups.iter().map(|g| g.pairs.len()).sum::<usize>() + inconclusive.len();
    let (gained_pairs, lost_pairs) = (
        groups.iter().map(|g| g.gained_pairs).sum(),
        groups.iter().map(|g| g.lost_pairs).sum(),
    );
    let mut room = limit;
    for g in &mut groups {
        g.pairs.truncate(room);
        room -= g.pairs.len();
    }
    groups.retain(|g| !g.pairs.is_empty());
    inconclusive.truncate(room);
    let shown = groups.iter().map(|g| g.pairs.len()).sum::<usize>() + inconclusive.len();
    DiffReport {
        before: before.name.to_string(),
        after: after.name.to_string(),
        namespaces: namespaces.to_vec(),
        changes,
        gained_pairs,
        lost_pairs,
        groups,
        inconclusive,
        truncated: (shown < total).then(|| Truncation {
            total: total as i64,
            shown: shown as i64,
            hint: "raise limit, or diff fewer namespaces".into(),
        }),
        warnings,
        scope: crate::report::DIFF_SCOPE.to_string(),
    }
}

/// The namespaces the changes live in, or `None` when one is cluster-scoped (the whole map may
/// change). A namespaced change only touches pairs with an end in its namespace: a policy
/// selects pods of its namespace, labels are read of the ends and their namespaces.
pub fn changed_namespaces(changes: &[ObjectChange]) -> Option<Vec<String>> {
    let set: Option<BTreeSet<String>> = changes
        .iter()
        .map(|c| match c.kind.as_str() {
            "Namespace" => Some(c.name.clone()),
            _ => c.namespace.clone(),
        })
        .collect();
    set.map(|s| s.into_iter().collect())
}

/// The object changes that may explain a pair's change: described, sorted. None: a sentence
/// saying so.
fn explain(changes: &[ObjectChange], touches: &[Touch], ends: &Ends, src: &str, dst: &str) -> Vec<String> {
    let mut out: Vec<String> = changes
        .iter()
        .zip(touches)
        .filter(|(_, t)| t.reaches(ends, src) || t.reaches(ends, dst))
        .map(|(c, _)| c.describe())
        .collect();
    if out.is_empty() {
        out.push("no policy, label or pod change touches either end (another object changed: see changes)".to_string());
    }
    out
}

/// Which pair ends an object change can affect.
enum Touch {
    /// Every pair (a cluster-scoped policy).
    All,
    /// Pairs with an end in this namespace.
    Namespace(String),
    /// Pairs with one of these workloads as an end (`ns/name[Kind]`).
    Workloads(BTreeSet<String>),
    /// A NetworkPolicy: ends in its namespace that it selects in either state.
    NetworkPolicy { namespace: String, name: String },
    /// Nothing directly (a Service, a node): named only when nothing else explains a pair.
    Nothing,
}

impl Touch {
    fn of(c: &ObjectChange, ends: &Ends) -> Touch {
        if c.kind == "Namespace" {
            return Touch::Namespace(c.name.clone());
        }
        let Some(ns) = &c.namespace else {
            return match policy_kind(&c.kind) {
                true => Touch::All,
                false => Touch::Nothing,
            };
        };
        match c.kind.as_str() {
            "NetworkPolicy" if c.details.first().is_none_or(|d| d != UNREADABLE) => Touch::NetworkPolicy {
                namespace: ns.clone(),
                name: c.name.clone(),
            },
            "Pod" => Touch::Workloads(ends.workloads_of_pod(ns, &c.name)),
            "Service" | "Endpoints" | "EndpointSlice" => Touch::Nothing,
            kind => match crate::snapshot::WorkloadKind::from_kind(kind) {
                Some(_) => Touch::Workloads([format!("{ns}/{}[{kind}]", c.name)].into()),
                None => Touch::Namespace(ns.clone()),
            },
        }
    }

    /// Whether the change can affect pairs with `end` as one end.
    fn reaches(&self, ends: &Ends, end: &str) -> bool {
        match self {
            Touch::All => true,
            Touch::Nothing => false,
            Touch::Namespace(ns) => end_namespace(end) == Some(ns.as_str()),
            Touch::Workloads(w) => w.contains(end),
            Touch::NetworkPolicy { namespace, name } => {
                end_namespace(end) == Some(namespace.as_str()) && ends.selected_by(end, namespace, name)
            }
        }
    }
}

/// Cluster-scoped kinds that are policies (a changed Node or CRD does not touch every pair).
fn policy_kind(kind: &str) -> bool {
    kind.contains("NetworkPolicy") || kind == "Tier" || kind.ends_with("NetworkSet") || kind == "HostEndpoint"
}

/// The namespace of a workload end (`ns/name[Kind]`); none for an external range.
fn end_namespace(end: &str) -> Option<&str> {
    match end.ends_with("[External]") {
        true => None,
        false => end.split_once('/').map(|(ns, _)| ns),
    }
}

/// The ends of pairs in both states: representative pods by workload name, external ranges by
/// name.
struct Ends<'a> {
    states: [(&'a ClusterIndex, BTreeMap<String, PodId>); 2],
    external: HashMap<String, std::net::IpAddr>,
}

impl<'a> Ends<'a> {
    fn new(
        before: &'a ClusterIndex,
        after: &'a ClusterIndex,
        blocks: &(Vec<ExternalBlock>, Vec<ExternalBlock>),
    ) -> Self {
        let external = blocks.0.iter().chain(&blocks.1).map(|b| (b.name(), b.start)).collect();
        Ends {
            states: [
                (before, matrix::representatives(before, None)),
                (after, matrix::representatives(after, None)),
            ],
            external,
        }
    }

    /// The end in one state, if it exists there.
    fn endpoint(&self, state: usize, end: &str) -> Option<Endpoint> {
        match self.external.get(end) {
            Some(ip) => Some(Endpoint::Ip(*ip)),
            None => self.states[state].1.get(end).map(|&id| Endpoint::Pod(id)),
        }
    }

    /// The workloads a pod is part of, in either state.
    fn workloads_of_pod(&self, ns: &str, name: &str) -> BTreeSet<String> {
        self.states
            .iter()
            .filter_map(|(ix, _)| ix.pod_by_name(ns, name).map(|id| ix.pod(id).workload_name()))
            .collect()
    }

    /// Whether NetworkPolicy `ns/name` selects the end's representative pod in either state.
    fn selected_by(&self, end: &str, ns: &str, name: &str) -> bool {
        self.states.iter().any(|(ix, reps)| {
            let Some(&pod) = reps.get(end) else { return false };
            ix.policies_in(ns)
                .iter()
                .any(|&pid| ix.policies[pid].name == name && ix.policy_selects(pid, pod))
        })
    }

    /// Why the pair's verdict is not certain in a state where both ends exist, for a connection
    /// of `sample` (the connections that changed); `None` when it is certain in both.
    fn doubt(&self, src: &str, dst: &str, sample: &ConnSet) -> Option<String> {
        let (protocol, port) = first_connection(sample)?;
        for (state, (ix, _)) in self.states.iter().enumerate() {
            let (Some(s), Some(d)) = (self.endpoint(state, src), self.endpoint(state, dst)) else {
                continue;
            };
            let trace = engine::evaluate(
                ix,
                Flow {
                    src: s,
                    dst: d,
                    protocol,
                    port: Some(port),
                },
            );
            if verdict_of(&trace) == Verdict::Inconclusive {
                let when = ["before", "after"][state];
                let why = trace.egress.uncertain.iter().chain(&trace.ingress.uncertain).next();
                return Some(match why {
                    Some(u) => format!("{when}: {}", u.reason),
                    None => format!("{when}: the verdict is inconclusive"),
                });
            }
        }
        None
    }
}

/// The first protocol and port of a set.
fn first_connection(c: &ConnSet) -> Option<(Protocol, u16)> {
    Protocol::ALL
        .into_iter()
        .find_map(|p| c.ranges(p).first().map(|&(lo, _)| (p, lo)))
}

/// Marks the change of a NetworkPolicy that could not be read (it may select any pod).
const UNREADABLE: &str = "could not be read";

/// Every object that differs between two snapshots, sorted: policies of every dialect (by
/// spec; other kinds only in the API groups about policy), pods (labels; host network, node,
/// ports, IPs), namespaces (labels), workloads (template labels and spec), Services and Nodes.
pub fn object_changes(before: &ClusterSnapshot, after: &ClusterSnapshot) -> Vec<ObjectChange> {
    let mut out = Vec::new();
    policy_changes(&mut out, before, after);
    pod_changes(&mut out, before, after);
    other_changes(&mut out, before, after);
    out.sort();
    out.dedup_by(|a, b| a.kind == b.kind && a.namespace == b.namespace && a.name == b.name && a.change == b.change);
    out
}

/// `(namespace, name)` of an object.
fn meta_key(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (Option<String>, String) {
    (m.namespace.clone(), m.name.clone().unwrap_or_default())
}

/// NetworkPolicies, readable or not (an unreadable one is marked so).
fn policy_changes(out: &mut Vec<ObjectChange>, before: &ClusterSnapshot, after: &ClusterSnapshot) {
    compare(
        out,
        "NetworkPolicy",
        &before.network_policies,
        &after.network_policies,
        |p| meta_key(&p.metadata),
        |a, b| edited(&a.spec, &b.spec, "spec"),
    );
    compare(
        out,
        "NetworkPolicy",
        &before.unreadable_policies,
        &after.unreadable_policies,
        |u| (Some(u.namespace.clone()), u.name.clone()),
        |a, b| (a != b).then(|| (ChangeKind::Edited, vec![UNREADABLE.to_string()])),
    );
    for c in out
        .iter_mut()
        .filter(|c| c.change != ChangeKind::Edited && c.details.is_empty())
    {
        let unreadable = |s: &ClusterSnapshot| {
            s.unreadable_policies
                .iter()
                .any(|u| Some(&u.namespace) == c.namespace.as_ref() && u.name == c.name)
        };
        if unreadable(before) || unreadable(after) {
            c.details.push(UNREADABLE.to_string());
        }
    }
}

/// Namespaces, pods and workloads: labels, and what policy reads of a pod.
fn pod_changes(out: &mut Vec<ObjectChange>, before: &ClusterSnapshot, after: &ClusterSnapshot) {
    compare(
        out,
        "Namespace",
        &before.namespaces,
        &after.namespaces,
        |n| (None, n.metadata.name.clone().unwrap_or_default()),
        |a, b| labels_changed(&a.metadata.labels, &b.metadata.labels),
    );
    compare(
        out,
        "Pod",
        &before.pods,
        &after.pods,
        |p| meta_key(&p.metadata),
        |a, b| {
            labels_changed(&a.metadata.labels, &b.metadata.labels).or_else(|| {
                (pod_facts(a) != pod_facts(b))
                    .then(|| (ChangeKind::Edited, vec!["host network, node, ports or IPs".to_string()]))
            })
        },
    );
    compare(
        out,
        "",
        &before.workloads,
        &after.workloads,
        |w| meta_key(&w.metadata),
        |a, b| {
            labels_changed(
                &a.template.metadata.as_ref().and_then(|m| m.labels.clone()),
                &b.template.metadata.as_ref().and_then(|m| m.labels.clone()),
            )
            .or_else(|| {
                fields_changed(
                    &to_value(&a.template.spec),
                    &to_value(&b.template.spec),
                    "spec.template.spec",
                )
            })
        },
    );
}

/// Services, Nodes, and the policies of other kinds.
fn other_changes(out: &mut Vec<ObjectChange>, before: &ClusterSnapshot, after: &ClusterSnapshot) {
    compare(
        out,
        "Service",
        &before.services,
        &after.services,
        |s| meta_key(&s.metadata),
        |a, b| edited(&a.spec, &b.spec, "spec"),
    );
    compare(
        out,
        "Node",
        &before.nodes,
        &after.nodes,
        |n| (None, n.metadata.name.clone().unwrap_or_default()),
        |a, b| {
            labels_changed(&a.metadata.labels, &b.metadata.labels).or_else(|| {
                edited(
                    &a.status.as_ref().map(|s| &s.addresses),
                    &b.status.as_ref().map(|s| &s.addresses),
                    "status.addresses",
                )
            })
        },
    );
    // Other kinds: the policies of every dialect (a ConfigMap or a mesh object changes no connection).
    let policies = |s: &ClusterSnapshot| -> Vec<crate::snapshot::OtherObject> {
        s.others
            .iter()
            .filter(|o| crate::policy::kind::in_policy_group(&o.api_version))
            .cloned()
            .collect()
    };
    compare(
        out,
        "",
        &policies(before),
        &policies(after),
        |o| (o.namespace.clone(), o.name.clone()),
        |a, b| match a.value == b.value {
            true => None,
            false => fields_changed(&without_metadata(&a.value), &without_metadata(&b.value), ""),
        },
    );
}

/// Objects of one list compared by key: added, removed, and `edited` (its change, if any).
/// `kind` empty: the object names its own kind ([`Kinded`]).
fn compare<T: Kinded>(
    out: &mut Vec<ObjectChange>,
    kind: &str,
    before: &[T],
    after: &[T],
    key: impl Fn(&T) -> (Option<String>, String),
    edited: impl Fn(&T, &T) -> Option<(ChangeKind, Vec<String>)>,
) {
    let index = |objs: &[T]| -> BTreeMap<(String, Option<String>, String), usize> {
        objs.iter()
            .enumerate()
            .map(|(i, o)| {
                let (ns, name) = key(o);
                ((o.kind_name(kind), ns, name), i)
            })
            .collect()
    };
    let (old, new) = (index(before), index(after));
    let change = |(k, ns, name): &(String, Option<String>, String), change, details| ObjectChange {
        kind: k.clone(),
        namespace: ns.clone(),
        name: name.clone(),
        change,
        details,
    };
    for (k, &i) in &old {
        match new.get(k) {
            None => out.push(change(k, ChangeKind::Removed, Vec::new())),
            Some(&j) => {
                if let Some((c, details)) = edited(&before[i], &after[j]) {
                    out.push(change(k, c, details));
                }
            }
        }
    }
    for k in new.keys().filter(|k| !old.contains_key(*k)) {
        out.push(change(k, ChangeKind::Added, Vec::new()));
    }
}

/// The kind an object is reported as.
trait Kinded {
    fn kind_name(&self, given: &str) -> String {
        given.to_string()
    }
}

impl Kinded for k8s_openapi::api::networking::v1::NetworkPolicy {}
impl Kinded for crate::snapshot::UnreadablePolicy {}
impl Kinded for k8s_openapi::api::core::v1::Namespace {}
impl Kinded for k8s_openapi::api::core::v1::Pod {}
impl Kinded for k8s_openapi::api::core::v1::Service {}
impl Kinded for k8s_openapi::api::core::v1::Node {}
impl Kinded for crate::snapshot::Workload {
    fn kind_name(&self, _: &str) -> String {
        self.kind.as_str().to_string()
    }
}
impl Kinded for crate::snapshot::OtherObject {
    fn kind_name(&self, _: &str) -> String {
        self.kind.clone()
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// An object's value without `metadata` and `status`.
fn without_metadata(v: &Value) -> Value {
    let mut v = v.clone();
    if let Value::Object(o) = &mut v {
        o.remove("metadata");
        o.remove("status");
    }
    v
}

/// What policy reads of a pod besides its labels: host network, node, container ports, IPs.
type PodFacts<'a> = (
    Option<bool>,
    Option<&'a String>,
    Option<Vec<&'a Option<Vec<k8s_openapi::api::core::v1::ContainerPort>>>>,
    Option<&'a Option<Vec<k8s_openapi::api::core::v1::PodIP>>>,
);

fn pod_facts(p: &k8s_openapi::api::core::v1::Pod) -> PodFacts<'_> {
    let spec = p.spec.as_ref();
    (
        spec.and_then(|s| s.host_network),
        spec.and_then(|s| s.node_name.as_ref()),
        spec.map(|s| s.containers.iter().map(|c| &c.ports).collect()),
        p.status.as_ref().map(|s| &s.pod_ips),
    )
}

/// [`fields_changed`], serializing only values that differ.
fn edited<T: serde::Serialize + PartialEq>(a: &T, b: &T, prefix: &str) -> Option<(ChangeKind, Vec<String>)> {
    match a == b {
        true => None,
        false => fields_changed(&to_value(a), &to_value(b), prefix),
    }
}

/// `edited` with the top-level fields that differ (`spec.ingress`), or `None` when equal.
fn fields_changed(a: &Value, b: &Value, prefix: &str) -> Option<(ChangeKind, Vec<String>)> {
    if a == b {
        return None;
    }
    let path = |k: &str| match prefix {
        "" => k.to_string(),
        p => format!("{p}.{k}"),
    };
    let fields = match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .keys()
            .chain(y.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|k| x.get(*k) != y.get(*k))
            .map(|k| path(k))
            .collect(),
        _ => vec![match prefix {
            "" => "spec".to_string(),
            p => p.to_string(),
        }],
    };
    Some((ChangeKind::Edited, fields))
}

/// `labels` with each changed key, `key: old -> new` (`(none)` when absent), or `None`.
fn labels_changed(
    a: &Option<BTreeMap<String, String>>,
    b: &Option<BTreeMap<String, String>>,
) -> Option<(ChangeKind, Vec<String>)> {
    let empty = Labels::new();
    let (a, b) = (a.as_ref().unwrap_or(&empty), b.as_ref().unwrap_or(&empty));
    let show = |v: Option<&String>| v.map_or_else(|| "(none)".to_string(), Clone::clone);
    let details: Vec<String> = a
        .keys()
        .chain(b.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {} -> {}", show(a.get(k)), show(b.get(k))))
        .collect();
    (!details.is_empty()).then_some((ChangeKind::Labels, details))
}
