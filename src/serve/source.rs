//! Where the tools' cluster comes from: a [`Context`] (the index of a snapshot or of a live
//! read), a [`ContextSource`] that hands one to each call, and the [`Scope`] a call needs read,
//! derived from the call's typed arguments.
//!
//! Invariant: a source knows no tool names and no JSON argument keys: it is given a `Scope`.
//! Only this module turns a tool's arguments into a scope.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::diagnosis::query::EndpointSpec;
use crate::index::{ClusterIndex, Semantics};
use crate::serve::tools::{
    DefaultDenyArgs, FlowArgs, ListPoliciesArgs, MapArgs, MatchSelectorsArgs, NoArgs, PolicyTypesArgs, ToolName,
    parse_args,
};
use crate::snapshot::ClusterSnapshot;

/// Everything the tools read, built once per snapshot (or per live read).
pub struct Context {
    pub index: ClusterIndex,
    /// Where the objects came from, e.g. `snapshot examples/01/cluster.yaml`.
    pub source: String,
    /// True when the source is a live cluster (tools then interact with an open world).
    pub live: bool,
}

impl Context {
    pub fn from_snapshot(snap: &ClusterSnapshot, semantics: Semantics, source: String) -> Context {
        Context {
            index: ClusterIndex::build(snap, semantics),
            source,
            live: false,
        }
    }
}

/// Where the tools' [`Context`] comes from: a snapshot loaded once, or a live cluster read for
/// each call (scoped by the call's arguments, cached briefly). The MCP server holds one.
pub trait ContextSource: Send + Sync + 'static {
    /// E.g. `snapshot examples/01/cluster.yaml` or `live cluster (context kind-dev, server https://...)`.
    fn describe(&self) -> String;
    /// True for a live cluster (tools then interact with an open world).
    fn live(&self) -> bool;
    /// The context that holds what `scope` names. An error is a sentence naming what could not
    /// be read and where (an `isError` result; the server keeps serving).
    fn context_for<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Result<Arc<Context>, String>>;
}

/// A snapshot source: the same context for every call.
impl ContextSource for Arc<Context> {
    fn describe(&self) -> String {
        self.source.clone()
    }

    fn live(&self) -> bool {
        self.as_ref().live
    }

    fn context_for<'a>(&'a self, _scope: &'a Scope) -> BoxFuture<'a, Result<Arc<Context>, String>> {
        Box::pin(std::future::ready(Ok(self.clone())))
    }
}

/// What a question needs read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    /// Namespaces to read whole; `None`: every namespace (maps, cluster-wide lists).
    pub namespaces: Option<BTreeSet<String>>,
    /// IP endpoints: their pod's (or Service's) namespace is read too.
    pub ips: BTreeSet<IpAddr>,
    /// Namespaces of Services the question names (their Services must be readable).
    pub service_namespaces: BTreeSet<String>,
}

impl Scope {
    /// The whole cluster.
    pub fn everything() -> Scope {
        Scope {
            namespaces: None,
            ..Scope::default()
        }
    }

    /// Only what every check needs (CNI, DNS, API server).
    pub fn base() -> Scope {
        Scope {
            namespaces: Some(BTreeSet::new()),
            ..Scope::default()
        }
    }

    /// Adds an endpoint.
    pub fn add_endpoint(&mut self, spec: &EndpointSpec) {
        match spec {
            EndpointSpec::Ip(ip) => {
                self.ips.insert(*ip);
            }
            EndpointSpec::Service { namespace, .. } => {
                self.add_namespace(namespace);
                self.service_namespaces.insert(namespace.clone());
            }
            EndpointSpec::Pod { namespace, .. } | EndpointSpec::Workload { namespace, .. } => {
                self.add_namespace(namespace)
            }
        }
    }

    /// Adds an endpoint as a user writes it (`NS/POD`, `NS/KIND/NAME`, an IP); a malformed one
    /// adds nothing (the call then reports it).
    pub fn add_endpoint_text(&mut self, text: &str) {
        if let Ok(spec) = EndpointSpec::parse("endpoint", text) {
            self.add_endpoint(&spec);
        }
    }

    pub fn add_namespace(&mut self, ns: &str) {
        if let Some(set) = &mut self.namespaces {
            set.insert(ns.to_string());
        }
    }
}

/// What a call with these arguments needs read.
pub trait Scoped {
    fn scope(&self) -> Scope;
}

impl Scoped for NoArgs {
    fn scope(&self) -> Scope {
        Scope::base()
    }
}

impl Scoped for FlowArgs {
    fn scope(&self) -> Scope {
        let mut scope = Scope::base();
        scope.add_endpoint_text(&self.from);
        scope.add_endpoint_text(&self.to);
        scope
    }
}

impl Scoped for MatchSelectorsArgs {
    fn scope(&self) -> Scope {
        let mut scope = Scope::base();
        scope.add_endpoint_text(&self.pod);
        scope
    }
}

impl Scoped for DefaultDenyArgs {
    fn scope(&self) -> Scope {
        let mut scope = Scope::base();
        scope.add_namespace(&self.namespace);
        scope
    }
}

/// One namespace, or (none named) the whole cluster.
fn namespace_or_everything(ns: Option<&str>) -> Scope {
    match ns {
        Some(ns) => {
            let mut scope = Scope::base();
            scope.add_namespace(ns);
            scope
        }
        None => Scope::everything(),
    }
}

impl Scoped for ListPoliciesArgs {
    fn scope(&self) -> Scope {
        namespace_or_everything(self.namespace.as_deref())
    }
}

impl Scoped for PolicyTypesArgs {
    fn scope(&self) -> Scope {
        let policy_ns = self.policy.as_deref().and_then(|p| p.split_once('/')).map(|(ns, _)| ns);
        namespace_or_everything(self.namespace.as_deref().or(policy_ns))
    }
}

impl Scoped for MapArgs {
    /// A map needs every peer, wherever it is.
    fn scope(&self) -> Scope {
        Scope::everything()
    }
}

fn typed_scope<A: Scoped + for<'de> serde::Deserialize<'de>>(
    args: &serde_json::Map<String, serde_json::Value>,
) -> Scope {
    parse_args::<A>(args.clone()).map_or_else(|_| Scope::base(), |a| a.scope())
}

/// The scope of a call by tool name with raw JSON arguments (the `tool` subcommand): the
/// arguments are parsed into the tool's type first; malformed ones read only the base (the
/// call then reports them).
pub fn scope_for(tool: ToolName, args: &serde_json::Map<String, serde_json::Value>) -> Scope {
    match tool {
        ToolName::CheckCni => typed_scope::<NoArgs>(args),
        ToolName::ListPolicies => typed_scope::<ListPoliciesArgs>(args),
        ToolName::MatchSelectors => typed_scope::<MatchSelectorsArgs>(args),
        ToolName::CheckDefaultDeny => typed_scope::<DefaultDenyArgs>(args),
        ToolName::CheckPolicyTypes => typed_scope::<PolicyTypesArgs>(args),
        ToolName::CheckIngress | ToolName::CheckEgress | ToolName::CheckCrossNamespace | ToolName::Diagnose => {
            typed_scope::<FlowArgs>(args)
        }
        ToolName::ConnectivityMap => typed_scope::<MapArgs>(args),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn tool_scopes() {
        let args = |v: Value| v.as_object().cloned().unwrap();
        let s = scope_for(
            ToolName::Diagnose,
            &args(json!({"from": "a/x", "to": "b/svc/y", "port": 80})),
        );
        assert_eq!(s.namespaces, Some(["a".to_string(), "b".to_string()].into()));
        assert_eq!(s.service_namespaces, ["b".to_string()].into());
        let s = scope_for(ToolName::Diagnose, &args(json!({"from": "10.0.0.1", "to": "b/y"})));
        assert_eq!(s.ips.len(), 1);
        assert_eq!(
            scope_for(ToolName::ConnectivityMap, &args(json!({"namespaces": ["a"]}))),
            Scope::everything()
        );
        assert_eq!(scope_for(ToolName::ListPolicies, &args(json!({}))), Scope::everything());
        assert_eq!(
            scope_for(ToolName::CheckPolicyTypes, &args(json!({"policy": "a/p"}))).namespaces,
            Some(["a".to_string()].into())
        );
        assert_eq!(scope_for(ToolName::CheckCni, &args(json!({}))), Scope::base());
        // Malformed arguments read only the base; the call reports them.
        assert_eq!(scope_for(ToolName::Diagnose, &args(json!({"from": 1}))), Scope::base());
    }
}
