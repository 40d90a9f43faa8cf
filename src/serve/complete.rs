//! Completions for the prompts' arguments (MCP `completion/complete`): endpoints as the tools
//! take them, `ns/` for a namespace, `ns/pod`, `ns/kind/name` for a workload and `ns/svc/name`
//! for a Service, by prefix, at most [`MAX_VALUES`] with the total.
//!
//! Invariant: nothing here knows MCP; the values are names of the index, never guesses.

use std::collections::BTreeSet;

use crate::index::ClusterIndex;

/// The most values one completion returns (the MCP limit).
pub const MAX_VALUES: usize = 100;

/// What a prompt argument names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgumentKind {
    /// A source or destination: pods, workloads and Services.
    Endpoint,
    /// A pod (or the workload standing for its pods).
    Pod,
}

impl ArgumentKind {
    /// The kind of a prompt argument by its name; `None`: free text, nothing to complete.
    pub fn of(argument: &str) -> Option<ArgumentKind> {
        match argument {
            "source" | "destination" => Some(ArgumentKind::Endpoint),
            "pod" => Some(ArgumentKind::Pod),
            _ => None,
        }
    }
}

/// Values starting with the prefix, namespaces (`ns/`) first; `total` counts all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    pub values: Vec<String>,
    pub total: usize,
}

impl Completion {
    pub fn has_more(&self) -> bool {
        self.total > self.values.len()
    }
}

/// Completes `value` for an argument of `kind`: before a `/`, the namespaces and every name
/// that starts so; after it, the names of that namespace.
pub fn complete(ix: &ClusterIndex, kind: ArgumentKind, value: &str) -> Completion {
    let namespace = value.split_once('/').map(|(ns, _)| ns);
    let mut spaces: BTreeSet<String> = BTreeSet::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    if namespace.is_none() {
        spaces.extend(ix.namespaces.iter().map(|n| format!("{}/", n.name)));
    }
    let pods = match namespace {
        Some(ns) => ix.pods_in(ns).iter().map(|&id| ix.pod(id)).collect::<Vec<_>>(),
        None => ix.pods.iter().collect(),
    };
    for p in pods {
        if !p.from_template {
            names.insert(p.key());
        }
        if let Some(d) = p.inferred_deployment() {
            names.insert(format!("{}/deployment/{d}", p.namespace));
        } else if let Some(o) = &p.owner {
            names.insert(format!("{}/{}/{}", p.namespace, o.kind.to_ascii_lowercase(), o.name));
        }
    }
    if kind == ArgumentKind::Endpoint {
        let services = ix
            .services
            .iter()
            .filter(|s| namespace.is_none_or(|ns| s.namespace == ns));
        names.extend(services.map(|s| format!("{}/svc/{}", s.namespace, s.name)));
    }
    let matching: Vec<String> = spaces
        .into_iter()
        .chain(names)
        .filter(|v| v.starts_with(value))
        .collect();
    Completion {
        total: matching.len(),
        values: matching.into_iter().take(MAX_VALUES).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Semantics;

    #[test]
    fn at_most_100_values_with_the_total() {
        let pods: String = (0..120)
            .map(|i| format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i:03}, namespace: a}}\n---\n"))
            .collect();
        let snap = crate::snapshot::load_str("pods.yaml", &pods).unwrap();
        let ix = ClusterIndex::build(&snap, Semantics::default());
        let c = complete(&ix, ArgumentKind::Pod, "a/p");
        assert_eq!((c.values.len(), c.total, c.has_more()), (100, 120, true));
        assert_eq!(c.values[0], "a/p000");
        let c = complete(&ix, ArgumentKind::Pod, "");
        assert_eq!(c.values[0], "a/", "namespaces first");
        assert_eq!(complete(&ix, ArgumentKind::Pod, "b/").total, 0);
    }
}
