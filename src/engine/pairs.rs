//! The connection sets of many pod pairs at once, rule by rule: what [`allowed_conns`] answers
//! for every pair of a connectivity map, without evaluating each pair's rules again.
//!
//! A side decided by NetworkPolicies alone (no admin, Cilium or Calico policy in play, the subject
//! not on the host network) is the union, over the rules of the policies that isolate the subject,
//! of the rule's ports (named ports resolved on the destination) when one of its peers matches the
//! other end ([`np_conns`](super::tiers::np_conns)). Whether a rule's peers match a pod depends on
//! the rule and that pod only, so it is computed once per rule for every representative pod, as a
//! bitset; the ports depend on the rule and the destination's named ports only, so they are
//! computed once per rule and *port profile* (the destination's resolution of every named port
//! any rule names). A pair's side is then the union of the ports of the rules whose bit is set:
//! which rules of the subject's list match is a bitmask, and (list, mask, profile) decides the
//! set. Sides that are not decided by NetworkPolicies alone go through the engine
//! ([`side_conns`], [`allowed_conns`]); see [`PairConns::new`] for which.
//!
//! Invariant: [`PairConns::conns`] equals `allowed_conns(ix, sel, Pod(reps[s]), Pod(reps[d]))`
//! for every pair (tests/suite/fastmap.rs checks it over random clusters).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::conns::{Selection, allowed_conns, side_conns};
use super::matchers::{PeerView, match_peer};
use super::tiers::rule_conns;
use super::trace::Endpoint;
use crate::index::{ClusterIndex, PodId, PolicyId};
use crate::policy::{ConnSet, Direction, Labels, NamespaceScope, Peer, PortValue, Protocol, Rule};

/// The id of the empty set in every [`PairCache`].
pub const NO_CONNS: ConnId = ConnId(0);
/// The id of every connection in every [`PairCache`].
pub const ALL_CONNS: ConnId = ConnId(1);
/// A side whose subject's policies have more rules than this goes through the engine.
const MAX_RULES: usize = 64;

/// A connection set interned in a [`PairCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(u32);

impl ConnId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One NetworkPolicy rule over the representatives.
struct RuleSets {
    /// The representatives one of its peers matches, one bit each.
    peers: Vec<u64>,
    /// Its connections toward a destination, per port profile (one entry: no named port).
    conns: Vec<ConnSet>,
}

impl RuleSets {
    fn conns(&self, profile: usize) -> &ConnSet {
        &self.conns[if self.conns.len() == 1 { 0 } else { profile }]
    }
}

/// The rules of the policies that isolate some pod in one direction.
struct RuleList {
    rules: Vec<usize>,
    /// Some rule names a port: its sets depend on the destination's port profile.
    named: bool,
}

/// How one side of a representative is decided.
#[derive(Clone, Copy)]
enum SideKind {
    /// By the engine (another dialect, the host network, too many rules).
    Engine,
    /// By NetworkPolicies alone, none isolating: everything.
    Open,
    /// By the NetworkPolicies of this rule list.
    Rules(usize),
}

/// The precomputed rules of a cluster over a list of representative pods.
pub struct PairConns<'a> {
    ix: &'a ClusterIndex,
    sel: &'a Selection,
    reps: Vec<PodId>,
    rules: Vec<RuleSets>,
    lists: Vec<RuleList>,
    /// Per representative: ingress, egress (`Direction::index`).
    sides: Vec<[SideKind; 2]>,
    /// Per representative: its port profile.
    profiles: Vec<usize>,
}

/// Interned connection sets and the sets already computed, for one thread.
pub struct PairCache {
    sets: Vec<ConnSet>,
    ids: HashMap<ConnSet, ConnId>,
    /// (list, mask of matching rules, profile) → their union.
    unions: FastMap<(usize, u64, usize), ConnId>,
    /// (egress, ingress) → intersection.
    meets: FastMap<(ConnId, ConnId), ConnId>,
    /// The source the ingress masks are for.
    source: Option<usize>,
    /// Bumped with each new source: an ingress mask of an older one is stale.
    generation: u64,
    /// Per ingress rule list: the generation it was computed in, and its rules that match the
    /// source.
    ingress: Vec<(u64, u64)>,
}

impl PairCache {
    /// An interned set.
    pub fn set(&self, id: ConnId) -> &ConnSet {
        &self.sets[id.index()]
    }

    /// How many sets are interned (ids are `0..len`).
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The id of a set, interning it.
    pub fn intern(&mut self, c: ConnSet) -> ConnId {
        if let Some(&id) = self.ids.get(&c) {
            return id;
        }
        let id = ConnId(self.sets.len() as u32);
        self.ids.insert(c.clone(), id);
        self.sets.push(c);
        id
    }
}

impl<'a> PairConns<'a> {
    /// Precomputes the rules over `reps`. A side goes through the engine when its subject is on
    /// the host network, when an admin policy (either tier), a Cilium rule or (the snapshot
    /// having any) Calico policies may apply to it, or when its policies have more than 64 rules.
    pub fn new(ix: &'a ClusterIndex, sel: &'a Selection, reps: Vec<PodId>) -> PairConns<'a> {
        let (profiles, profile_pods) = port_profiles(ix, &reps);
        let mut pc = PairConns {
            ix,
            sel,
            reps,
            rules: Vec::new(),
            lists: Vec::new(),
            sides: Vec::new(),
            profiles,
        };
        let mut builder = Builder::default();
        for w in 0..pc.reps.len() {
            let sides = [Direction::Ingress, Direction::Egress].map(|dir| pc.side_kind(&mut builder, w, dir));
            pc.sides.push(sides);
        }
        let views: Vec<PeerView<'_>> = pc.reps.iter().map(|&p| PeerView::of(ix, Endpoint::Pod(p))).collect();
        let mut peers = PeerSets {
            ix,
            views: &views,
            by_ns: reps_by_namespace(ix, &pc.reps),
            known: HashMap::new(),
        };
        pc.rules = builder
            .rules
            .iter()
            .map(|&(pid, dir, i)| {
                let rule = &ix.policies[pid].rules(dir).unwrap_or_default()[i];
                RuleSets {
                    peers: peers.rule_bits(rule),
                    conns: rule_conns_by_profile(rule, ix, &profile_pods),
                }
            })
            .collect();
        pc
    }

    /// How a side of representative `w` is decided (the same tests as [`side_conns`]).
    fn side_kind(&mut self, b: &mut Builder, w: usize, dir: Direction) -> SideKind {
        let id = self.reps[w];
        let only_np = self.sel.admin(id, dir).is_empty()
            && self.sel.baseline(id, dir).is_empty()
            && self.ix.calico.is_empty()
            && self.sel.cilium(id, dir).is_empty();
        if !only_np || self.ix.pod(id).host_network {
            return SideKind::Engine;
        }
        let isolating = self.sel.isolating(id, dir);
        if isolating.is_empty() {
            return SideKind::Open;
        }
        match b.list(self.ix, &mut self.lists, dir, isolating) {
            Some(l) => SideKind::Rules(l),
            None => SideKind::Engine,
        }
    }

    /// How many representatives.
    pub fn len(&self) -> usize {
        self.reps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reps.is_empty()
    }

    /// A cache for one thread, with the empty set and every connection interned.
    pub fn cache(&self) -> PairCache {
        let mut c = PairCache {
            sets: Vec::new(),
            ids: HashMap::new(),
            unions: FastMap::default(),
            meets: FastMap::default(),
            source: None,
            generation: 0,
            ingress: vec![(0, 0); self.lists.len()],
        };
        c.intern(ConnSet::none());
        c.intern(ConnSet::all());
        c
    }

    /// Everything representative `s` may open toward representative `d`: the same set as
    /// [`allowed_conns`] for their pods.
    pub fn conns(&self, s: usize, d: usize, cache: &mut PairCache) -> ConnId {
        let (src, dst) = (self.reps[s], self.reps[d]);
        let egress = match self.sides[s][Direction::Egress.index()] {
            // Different pods, the source not on the host network: nothing is always allowed.
            _ if src == dst => return self.engine_pair(src, dst, cache),
            SideKind::Engine => return self.engine_pair(src, dst, cache),
            SideKind::Open => ALL_CONNS,
            SideKind::Rules(l) => self.union(l, self.matching(l, d), d, cache),
        };
        if egress == NO_CONNS {
            return NO_CONNS;
        }
        let ingress = match self.sides[d][Direction::Ingress.index()] {
            SideKind::Open => ALL_CONNS,
            SideKind::Rules(l) => {
                let mask = self.ingress_mask(l, s, cache);
                self.union(l, mask, d, cache)
            }
            SideKind::Engine => {
                let ix = self.ix;
                let c = side_conns(
                    ix,
                    self.sel,
                    Endpoint::Pod(dst),
                    Endpoint::Pod(src),
                    Direction::Ingress,
                    Some(ix.pod(dst)),
                );
                cache.intern(c)
            }
        };
        meet(egress, ingress, cache)
    }

    fn engine_pair(&self, src: PodId, dst: PodId, cache: &mut PairCache) -> ConnId {
        let c = allowed_conns(self.ix, self.sel, Endpoint::Pod(src), Endpoint::Pod(dst));
        cache.intern(c)
    }

    /// The rules of list `l` whose peers match representative `w`, as a mask.
    fn matching(&self, l: usize, w: usize) -> u64 {
        let (word, bit) = (w / 64, 1u64 << (w % 64));
        let rules = &self.lists[l].rules;
        (0..rules.len())
            .filter(|&k| self.rules[rules[k]].peers[word] & bit != 0)
            .fold(0, |m, k| m | 1 << k)
    }

    /// [`matching`](Self::matching) for an ingress list and the source `s`, once per source.
    fn ingress_mask(&self, l: usize, s: usize, cache: &mut PairCache) -> u64 {
        if cache.source != Some(s) {
            cache.source = Some(s);
            cache.generation += 1;
        }
        let (generation, mask) = cache.ingress[l];
        if generation == cache.generation {
            return mask;
        }
        let mask = self.matching(l, s);
        cache.ingress[l] = (cache.generation, mask);
        mask
    }

    /// The union of the ports of the rules of list `l` in `mask`, toward destination `d`.
    fn union(&self, l: usize, mask: u64, d: usize, cache: &mut PairCache) -> ConnId {
        if mask == 0 {
            return NO_CONNS;
        }
        let list = &self.lists[l];
        let profile = if list.named { self.profiles[d] } else { 0 };
        if let Some(&id) = cache.unions.get(&(l, mask, profile)) {
            return id;
        }
        let mut c = ConnSet::none();
        for (k, &r) in list.rules.iter().enumerate() {
            if mask & (1 << k) != 0 {
                c.union_with(self.rules[r].conns(profile));
            }
        }
        let id = cache.intern(c);
        cache.unions.insert((l, mask, profile), id);
        id
    }
}

/// Egress ∩ ingress, interned.
fn meet(e: ConnId, i: ConnId, cache: &mut PairCache) -> ConnId {
    match (e, i) {
        (NO_CONNS, _) | (_, NO_CONNS) => NO_CONNS,
        (ALL_CONNS, x) | (x, ALL_CONNS) => x,
        _ if e == i => e,
        _ => {
            if let Some(&id) = cache.meets.get(&(e, i)) {
                return id;
            }
            let c = cache.set(e).intersect(cache.set(i));
            let id = cache.intern(c);
            cache.meets.insert((e, i), id);
            id
        }
    }
}

/// Interns rule lists (per direction and list of isolating policies) and their rules.
#[derive(Default)]
struct Builder {
    /// (policy, direction, position in its rules).
    rules: Vec<(PolicyId, Direction, usize)>,
    rule_ids: HashMap<(PolicyId, usize, usize), usize>,
    list_ids: HashMap<(usize, Vec<PolicyId>), Option<usize>>,
}

impl Builder {
    /// The list of the rules of `isolating` for `dir`; `None` when it has too many rules.
    fn list(
        &mut self,
        ix: &ClusterIndex,
        lists: &mut Vec<RuleList>,
        dir: Direction,
        isolating: &[PolicyId],
    ) -> Option<usize> {
        let key = (dir.index(), isolating.to_vec());
        if let Some(&l) = self.list_ids.get(&key) {
            return l;
        }
        let mut rules = Vec::new();
        let mut named = false;
        for &pid in isolating {
            for (i, rule) in ix.policies[pid].rules(dir).unwrap_or_default().iter().enumerate() {
                named |= has_named_port(rule);
                let next = self.rules.len();
                let r = *self.rule_ids.entry((pid, dir.index(), i)).or_insert(next);
                if r == next {
                    self.rules.push((pid, dir, i));
                }
                rules.push(r);
            }
        }
        let l = (rules.len() <= MAX_RULES).then(|| {
            lists.push(RuleList { rules, named });
            lists.len() - 1
        });
        self.list_ids.insert(key, l);
        l
    }
}

fn has_named_port(rule: &Rule) -> bool {
    rule.ports
        .iter()
        .flatten()
        .any(|p| matches!(p.value, PortValue::Named(_)))
}

/// Every named port (name, protocol) some NetworkPolicy rule names.
fn named_ports(ix: &ClusterIndex) -> Vec<(&str, Protocol)> {
    let mut out: Vec<(&str, Protocol)> = Vec::new();
    for p in &ix.policies {
        for dir in [Direction::Ingress, Direction::Egress] {
            for spec in p
                .rules(dir)
                .unwrap_or_default()
                .iter()
                .flat_map(|r| r.ports.iter().flatten())
            {
                if let PortValue::Named(name) = &spec.value
                    && !out.contains(&(name.as_str(), spec.protocol))
                {
                    out.push((name.as_str(), spec.protocol));
                }
            }
        }
    }
    out
}

/// The port profile of every representative (representatives that resolve every named port
/// some rule names alike share one), and one pod of each profile.
fn port_profiles(ix: &ClusterIndex, reps: &[PodId]) -> (Vec<usize>, Vec<PodId>) {
    let named = named_ports(ix);
    let mut ids: HashMap<Vec<Option<u16>>, usize> = HashMap::new();
    let mut pods = Vec::new();
    let profiles = reps
        .iter()
        .map(|&id| {
            let pod = ix.pod(id);
            let key: Vec<Option<u16>> = named.iter().map(|(n, p)| pod.resolve_named_port(n, *p)).collect();
            *ids.entry(key).or_insert_with(|| {
                pods.push(id);
                pods.len() - 1
            })
        })
        .collect();
    (profiles, pods)
}

/// A rule's connections toward a pod of each profile ([`rule_conns`]); one entry without named
/// ports.
fn rule_conns_by_profile(rule: &Rule, ix: &ClusterIndex, profile_pods: &[PodId]) -> Vec<ConnSet> {
    if !has_named_port(rule) || profile_pods.is_empty() {
        return vec![rule_conns(rule, profile_pods.first().map(|&p| ix.pod(p)))];
    }
    profile_pods
        .iter()
        .map(|&p| rule_conns(rule, Some(ix.pod(p))))
        .collect()
}

/// Per namespace: its labels as a peer's namespace (`pod_namespace_labels`) and its
/// representatives.
type ByNamespace<'i> = HashMap<&'i str, (&'i Labels, Vec<usize>)>;

fn reps_by_namespace<'i>(ix: &'i ClusterIndex, reps: &[PodId]) -> ByNamespace<'i> {
    let mut out: ByNamespace<'i> = HashMap::new();
    for (w, &id) in reps.iter().enumerate() {
        let entry = out
            .entry(ix.pod(id).namespace.as_str())
            .or_insert_with(|| (ix.pod_namespace_labels(id), Vec::new()));
        entry.1.push(w);
    }
    out
}

/// The representatives each peer element matches ([`match_peer`], as `np_conns` asks it),
/// computed once per distinct element (the same DNS or monitoring peer recurs in many policies).
struct PeerSets<'a, 'v> {
    ix: &'a ClusterIndex,
    views: &'v [PeerView<'a>],
    by_ns: ByNamespace<'a>,
    /// By the element's `Debug` text: the elements with that text (compared whole) and their bits.
    known: HashMap<String, Vec<(&'a Peer, Vec<u64>)>>,
}

impl<'a> PeerSets<'a, '_> {
    /// The representatives one of a rule's peers matches (every one: no peers).
    fn rule_bits(&mut self, rule: &'a Rule) -> Vec<u64> {
        let n = self.views.len();
        let mut bits = vec![0u64; n.div_ceil(64)];
        let Some(peers) = &rule.peers else {
            (0..n).for_each(|w| bits[w / 64] |= 1 << (w % 64));
            return bits;
        };
        for peer in peers {
            for (b, p) in bits.iter_mut().zip(self.peer_bits(peer)) {
                *b |= p;
            }
        }
        bits
    }

    fn peer_bits(&mut self, peer: &'a Peer) -> &[u64] {
        let key = format!("{peer:?}");
        let found = self
            .known
            .get(&key)
            .and_then(|v| v.iter().position(|(p, _)| *p == peer));
        let i = match found {
            Some(i) => i,
            None => {
                let bits = self.compute(peer);
                let slot = self.known.entry(key.clone()).or_default();
                slot.push((peer, bits));
                slot.len() - 1
            }
        };
        &self.known[&key][i].1
    }

    fn compute(&self, peer: &Peer) -> Vec<u64> {
        let mut bits = vec![0u64; self.views.len().div_ceil(64)];
        for w in candidates(peer, self.views.len(), &self.by_ns) {
            let view = &self.views[w];
            if pod_selector_may_match(peer, view) && match_peer(self.ix, peer, view).is_ok() {
                bits[w / 64] |= 1 << (w % 64);
            }
        }
        bits
    }
}

/// False only when `match_peer` fails for certain on a pod element: the peer is not a pod its
/// podSelector matches (`match_pods` checks both). Cheap: no failure is built.
fn pod_selector_may_match(peer: &Peer, view: &PeerView<'_>) -> bool {
    match peer {
        Peer::Pods { pods, .. } => view.pod().is_some_and(|p| pods.failures(&p.labels).is_empty()),
        _ => true,
    }
}

/// The representatives a peer may match: all of them, except that a pod element matches only
/// pods of its policy's namespace (no `namespaceSelector`) or of the namespaces whose labels its
/// `namespaceSelector` matches (`match_namespace` fails for every other pod, and for what is not
/// a pod the element fails anyway).
fn candidates(peer: &Peer, n: usize, by_ns: &ByNamespace<'_>) -> Vec<usize> {
    match peer {
        Peer::Pods {
            namespaces: NamespaceScope::Same(ns),
            ..
        } => by_ns.get(ns.as_str()).map_or_else(Vec::new, |(_, v)| v.clone()),
        Peer::Pods {
            namespaces: NamespaceScope::Matching(sel),
            ..
        } => by_ns
            .values()
            .filter(|(labels, _)| sel.failures(labels).is_empty())
            .flat_map(|(_, v)| v.iter().copied())
            .collect(),
        _ => (0..n).collect(),
    }
}

/// A hash map with a multiplicative hash: the keys are small integers.
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<MulHasher>>;

#[derive(Default)]
struct MulHasher(u64);

impl Hasher for MulHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}
