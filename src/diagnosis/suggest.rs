//! Did-you-mean for a name that matches nothing: first the objects that stand for it under
//! another name (the Service that selects the pods called so, the pods of a workload the
//! snapshot has only pods of), then the closest names.
//!
//! Invariant: a suggestion is only ever words; nothing here resolves a name to other objects.

use crate::index::{ClusterIndex, PodInfo};

/// Labels that name an application (`app=web`), in the order they are quoted.
const NAME_LABELS: [&str; 3] = ["app", "app.kubernetes.io/name", "k8s-app"];

/// Most suggestions in one message.
const MAX: usize = 3;

/// A suggestion: what to write instead, and why when it is not merely a close name.
pub struct Lead {
    pub display: String,
    pub why: Option<String>,
}

/// Why pod `p` looks like one of `name`'s: its workload, a name label or its name prefix
/// says `name`. `None`: it does not.
fn likeness(p: &PodInfo, name: &str) -> Option<String> {
    if p.inferred_deployment() == Some(name) || p.owner.as_ref().is_some_and(|o| o.name == name) {
        return Some(format!("a pod of {name}"));
    }
    if let Some(k) = NAME_LABELS
        .iter()
        .find(|k| p.labels.get(**k).is_some_and(|v| v == name))
    {
        return Some(format!("{k}={name}"));
    }
    p.name
        .strip_prefix(name)
        .is_some_and(|rest| rest.starts_with('-'))
        .then(|| format!("name begins with {name}-"))
}

/// The pods of namespace `ns` that look like `name`'s, as leads (`ns/pod (app=name)`).
pub fn pods_like(ix: &ClusterIndex, ns: &str, name: &str) -> Vec<Lead> {
    let mut leads: Vec<Lead> = ix
        .pods_in(ns)
        .iter()
        .map(|&id| ix.pod(id))
        .filter(|p| !p.from_template)
        .filter_map(|p| {
            likeness(p, name).map(|why| Lead {
                display: format!("{ns}/{}", p.name),
                why: Some(why),
            })
        })
        .collect();
    leads.sort_by(|a, b| a.display.cmp(&b.display));
    leads
}

/// The Services of namespace `ns` that select a pod looking like `name`'s (`kube-dns` for
/// `coredns`), as leads.
pub fn services_selecting(ix: &ClusterIndex, ns: &str, name: &str) -> Vec<Lead> {
    ix.services
        .iter()
        .filter(|s| s.namespace == ns && s.selector.is_some())
        .filter(|s| {
            ix.pods_in(ns)
                .iter()
                .map(|&id| ix.pod(id))
                .any(|p| s.selects(p) && likeness(p, name).is_some())
        })
        .map(|s| Lead {
            display: format!("{ns}/svc/{}", s.name),
            why: Some(format!("it selects the {name} pods")),
        })
        .collect()
}

/// Up to three of `candidates` closest to `wanted` (Jaro-Winkler similarity, a prefix counting
/// extra). `candidates` are `(name compared, name displayed)`.
fn closest(wanted: &str, candidates: impl Iterator<Item = (String, String)>) -> Vec<Lead> {
    let mut scored: Vec<(f64, String)> = candidates
        .map(|(name, display)| {
            let mut score = strsim::jaro_winkler(wanted, &name);
            if name.starts_with(wanted) || wanted.starts_with(&name) {
                score += 0.2;
            }
            (score, display)
        })
        .filter(|(s, _)| *s >= 0.7)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored
        .into_iter()
        .map(|(_, display)| Lead { display, why: None })
        .collect()
}

/// The suggestions for `wanted`: the `leads` first, then the closest of `candidates`, at most
/// three in all; and their words, `; did you mean A (why), B?` (empty without any).
pub fn did_you_mean(
    wanted: &str,
    leads: Vec<Lead>,
    candidates: impl Iterator<Item = (String, String)>,
) -> (String, Vec<String>) {
    let mut all: Vec<Lead> = Vec::new();
    for lead in leads.into_iter().chain(closest(wanted, candidates)) {
        if all.len() < MAX && !all.iter().any(|l| l.display == lead.display) {
            all.push(lead);
        }
    }
    if all.is_empty() {
        return (String::new(), Vec::new());
    }
    let words: Vec<String> = all
        .iter()
        .map(|l| match &l.why {
            Some(why) => format!("{} ({why})", l.display),
            None => l.display.clone(),
        })
        .collect();
    (
        format!("; did you mean {}?", words.join(", ")),
        all.into_iter().map(|l| l.display).collect(),
    )
}
