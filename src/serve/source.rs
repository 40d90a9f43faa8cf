//! Where the tools' cluster comes from: a [`Context`] (the index of a snapshot or of a live
//! read), a [`ContextSource`] that hands one to each call, and the [`Scope`] a call needs read,
//! derived from the call's typed arguments.
//!
//! Invariant: a source knows no tool names and no JSON argument keys: it is given a `Scope`.
//! Only this module turns a tool's arguments into a scope.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use futures::future::BoxFuture;

use crate::diagnosis::query::EndpointSpec;
use crate::index::{ClusterIndex, Semantics};
use crate::serve::resources::ObjectStore;
use crate::snapshot::ClusterSnapshot;

/// Everything the tools read, built once per snapshot (or per live read).
pub struct Context {
    pub index: ClusterIndex,
    /// The objects the index was built from (`what_if` edits a copy, `diff_snapshots` compares).
    pub snapshot: Arc<ClusterSnapshot>,
    /// Where the objects came from, e.g. `snapshot examples/01/cluster.yaml`.
    pub source: String,
    /// True when the source is a live cluster (tools then interact with an open world).
    pub live: bool,
    /// The policies, Namespaces and Services as read (the MCP resources), built from `snapshot`
    /// on first use: a one-shot command never reads them.
    objects: OnceLock<ObjectStore>,
}

impl Context {
    pub fn from_snapshot(snap: &ClusterSnapshot, semantics: Semantics, source: String) -> Context {
        Context::owning(snap.clone(), semantics, source)
    }

    /// The policies, Namespaces and Services as read: the MCP resources.
    pub fn objects(&self) -> &ObjectStore {
        self.objects.get_or_init(|| ObjectStore::build(&self.snapshot))
    }

    /// This context as one state of a diff.
    pub fn state(&self) -> crate::diagnosis::diff::State<'_> {
        crate::diagnosis::diff::State {
            snapshot: &self.snapshot,
            index: &self.index,
            name: &self.source,
        }
    }

    /// [`Context::from_snapshot`], keeping `snap` without a copy.
    pub fn owning(snap: ClusterSnapshot, semantics: Semantics, source: String) -> Context {
        Context {
            index: ClusterIndex::build(&snap, semantics),
            objects: OnceLock::new(),
            snapshot: Arc::new(snap),
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
