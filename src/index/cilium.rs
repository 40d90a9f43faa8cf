//! Which Cilium rules select a pod of the index, per direction.
//!
//! Invariant: selection only (the engine evaluates the rules). A hostNetwork pod is never
//! selected: it is the host endpoint, which only host policies (`nodeSelector`) select, and those
//! are out of scope.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::index::{ClusterIndex, PodId, ServiceInfo};
use crate::policy::extended::{
    CiliumPeer, CiliumPolicy, CiliumSelector, CiliumSubject, PodRef, ResolvedService, Section, ServiceBackends,
    ServiceRef, ServiceResolution,
};
use crate::policy::{Direction, Selector};
use crate::snapshot::LoadWarning;

/// A Cilium rule that selects (or may select) a pod for a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CiliumSelected {
    /// Index into `ix.cilium`.
    pub policy: usize,
    /// Index into the policy's rules.
    pub rule: usize,
    /// False: the selector depends on a label we cannot know, it may select the pod.
    pub certain: bool,
}

impl ClusterIndex {
    /// The pod as Cilium selectors see it.
    pub fn cilium_pod_ref(&self, pod: PodId) -> PodRef<'_> {
        let p = self.pod(pod);
        p.pod_ref(self.pod_namespace_labels(pod))
    }

    /// The Cilium rules whose endpointSelector selects `pod` and that have a section (allow or
    /// deny) for `dir`, in policy then rule order.
    pub fn cilium_selecting(&self, pod: PodId, dir: Direction) -> Vec<CiliumSelected> {
        if self.cilium.is_empty() || self.pod(pod).host_network {
            return Vec::new();
        }
        let r = self.cilium_pod_ref(pod);
        let known = !self.namespaces_labels_unknown.contains(&self.pod(pod).namespace);
        let mut out = Vec::new();
        for (pi, pol) in self.cilium.iter().enumerate() {
            for (ri, rule) in pol.rules.iter().enumerate() {
                let has = [false, true]
                    .into_iter()
                    .any(|deny| rule.section(crate::policy::extended::Section::of(dir, deny)).is_some());
                let CiliumSubject::Endpoints(sel) = &rule.subject else {
                    continue;
                };
                if !has {
                    continue;
                }
                if let Some(m) = sel.matches_in(&r, known).map_or(Some(false), |m| m.then_some(true)) {
                    out.push(CiliumSelected {
                        policy: pi,
                        rule: ri,
                        certain: m,
                    });
                }
            }
        }
        out
    }

    /// Cilium policies that may select `pod` for `dir` but could not be read (in part), with why.
    pub fn cilium_unreadable(&self, pod: PodId, dir: Direction) -> Vec<(String, String)> {
        if self.pod(pod).host_network {
            return Vec::new();
        }
        let ns = &self.pod(pod).namespace;
        let mut out = Vec::new();
        for pol in &self.cilium {
            if !pol.clusterwide && &pol.namespace != ns {
                continue;
            }
            if let Some(why) = &pol.unreadable {
                out.push((
                    pol.key(),
                    format!(
                        "{} could not be read ({why}): it may select {} and decide its {}",
                        pol.key(),
                        self.pod(pod).key(),
                        dir.as_str()
                    ),
                ));
            }
            for rule in &pol.rules {
                if let CiliumSubject::Unreadable(why) = &rule.subject {
                    out.push((
                        pol.key(),
                        format!(
                            "{why}: it may select {} and decide its {}",
                            self.pod(pod).key(),
                            dir.as_str()
                        ),
                    ));
                }
            }
        }
        out
    }
}

/// Which Services the snapshot holds.
pub struct ServicesRead<'a> {
    /// At least one Service object.
    pub any: bool,
    /// A scoped read: only these namespaces' Services were read.
    pub only_in: Option<&'a BTreeSet<String>>,
}

impl ServicesRead<'_> {
    /// Where a `toServices` element looking in `namespace` (`None`: every one) may name
    /// Services that were not read.
    fn unread(&self, namespace: Option<&str>) -> Option<String> {
        let read = self.only_in?;
        match namespace {
            Some(ns) if read.contains(ns) => None,
            Some(ns) => Some(format!("namespace {ns}")),
            None => Some(format!(
                "namespaces other than {}",
                read.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

/// Resolves every `toServices` peer against the snapshot's Services. `since_1_17`: whether the
/// agent is Cilium 1.17 or later, when its image tells (see [`ServiceBackends::Selector`]).
pub fn resolve_services(
    policies: &mut [CiliumPolicy],
    services: &[ServiceInfo],
    read: &ServicesRead,
    since_1_17: Option<bool>,
) {
    let peers = policies
        .iter_mut()
        .flat_map(|p| &mut p.rules)
        .flat_map(|r| r.sections.iter_mut().flatten().flatten())
        .flat_map(|e| e.peers.iter_mut().flatten());
    for peer in peers {
        let CiliumPeer::Service(sp) = peer else { continue };
        let namespace = match &sp.by {
            ServiceRef::Name { namespace, .. } | ServiceRef::Selector { namespace, .. } => namespace.as_deref(),
        };
        sp.resolved = Some(match read.any {
            false => ServiceResolution::ServicesNotRead,
            true => ServiceResolution::Services {
                named: services
                    .iter()
                    .filter(|s| names(&sp.by, s))
                    .map(|s| resolved(s, since_1_17))
                    .collect(),
                unread: read.unread(namespace),
            },
        });
    }
}

/// Whether a `toServices` element names the Service (`serviceRefMatches`,
/// `serviceSelectorMatches`: an empty namespace is every namespace).
fn names(by: &ServiceRef, s: &ServiceInfo) -> bool {
    let in_ns = |ns: &Option<String>| ns.as_deref().is_none_or(|n| n == s.namespace);
    match by {
        ServiceRef::Name { name, namespace } => in_ns(namespace) && *name == s.name,
        ServiceRef::Selector { selector, namespace } => in_ns(namespace) && selector.matches(&s.labels),
    }
}

fn resolved(s: &ServiceInfo, since_1_17: Option<bool>) -> ResolvedService {
    let backends = match &s.selector {
        None if s.endpoints_read => ServiceBackends::Addresses(s.endpoints.iter().map(|a| a.ip).collect()),
        None => ServiceBackends::AddressesUnknown,
        Some(labels) => {
            let ls = LabelSelector {
                match_labels: Some(labels.clone()),
                match_expressions: None,
            };
            let quote = serde_json::to_value(&ls)
                .map(|v| crate::policy::quote::flow_value(&v))
                .unwrap_or_default();
            ServiceBackends::Selector {
                pods: CiliumSelector {
                    selector: Selector::lower(Some(&ls)),
                    namespace: Some(s.namespace.clone()),
                    quote,
                },
                since_1_17,
            }
        }
    };
    ResolvedService {
        key: format!("{}/{}", s.namespace, s.name),
        backends,
    }
}

/// One load warning naming the Cilium elements that may be decided only in the dataplane (FQDN,
/// group, Service and node peers, entities other than world/cluster/all, L7 parts,
/// authentication), at most five: `diagnose` answers
/// `DATAPLANE_DEPENDENT` where they matter; a connectivity map cannot say "maybe", so it counts an
/// undecided peer as matching nothing and an L7 rule at L4 only.
pub fn undecided_warning(policies: &[CiliumPolicy]) -> Option<LoadWarning> {
    let mut found = Vec::new();
    for pol in policies {
        for rule in &pol.rules {
            for s in [
                Section::Ingress,
                Section::IngressDeny,
                Section::Egress,
                Section::EgressDeny,
            ] {
                for e in rule.section(s).unwrap_or_default() {
                    let undecided_peer = e.peers.iter().flatten().any(|p| match p {
                        CiliumPeer::Undecided(_) => true,
                        CiliumPeer::Service(sp) => service_undecided(sp),
                        CiliumPeer::Entity(x) => {
                            !matches!(x.as_str(), "all" | "world" | "world-ipv4" | "world-ipv6" | "cluster")
                        }
                        _ => false,
                    });
                    if undecided_peer || e.l7.is_some() || e.undecided.is_some() {
                        found.push(format!("{} {}", pol.key(), e.field));
                    }
                }
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    let shown: Vec<&str> = found.iter().take(5).map(String::as_str).collect();
    let more = found.len() - shown.len();
    Some(LoadWarning {
        location: None,
        object: None,
        message: format!(
            "{} Cilium rule element(s) are decided only in the dataplane (FQDN, group, Service or node peers, entities such as host, L7 rules): {}{}; diagnose answers DATAPLANE_DEPENDENT where they matter; connectivity maps count an undecided peer as matching nothing and an L7 rule at L4 only",
            found.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
    })
}

/// A resolved `toServices` peer that the snapshot cannot decide for every peer.
fn service_undecided(sp: &crate::policy::extended::ServicePeer) -> bool {
    match &sp.resolved {
        None | Some(ServiceResolution::ServicesNotRead) => true,
        Some(ServiceResolution::Services { unread: Some(_), .. }) => true,
        Some(ServiceResolution::Services { named, .. }) => named.iter().any(|r| {
            matches!(
                r.backends,
                ServiceBackends::AddressesUnknown | ServiceBackends::Selector { since_1_17: None, .. }
            )
        }),
    }
}
