//! The live-cluster source: reads what a question needs from an API server (read-only, see
//! [`client`]) into the same [`ClusterSnapshot`] the file loader makes, so the engine cannot
//! tell the two apart, and can write what it read as a snapshot file.
//!
//! Invariants:
//! - Only `GET`; never Secrets or ConfigMaps (enforced in [`client`]).
//! - A read is scoped: the namespaces of the question, the namespaces that run node agents
//!   (DaemonSets: CNI, kube-proxy, NodeLocal DNS) and kube-system are read whole; `default` only
//!   for the `kubernetes` Service; cluster-scoped kinds (namespaces, nodes, DaemonSets, the CRD
//!   kinds found by discovery) cluster-wide. The number of requests depends on those namespaces
//!   and kinds, not on the cluster's size, except through pagination.
//! - Every object goes through [`crate::snapshot::add_value`], exactly as a file would; what is
//!   exported is what was read, so an exported snapshot diagnoses the same offline.
//! - A 403 on an optional kind is not an error: policy kinds become placeholder objects that
//!   "may select any pod" (their name says which permission is missing), so verdicts they may
//!   change are `inconclusive`; other kinds become warnings. A 403 on namespaces or pods, a 401,
//!   an unreachable server or a timeout is an error naming the context and server.

pub mod client;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::{Value, json};

pub use client::{ConnectOptions, ReadFailure, ReadOnlyClient};

use crate::index::Semantics;
use crate::serve::source::{Context, ContextSource, Scope};
use crate::snapshot::{ClusterSnapshot, LoadWarning, clean};

/// The annotation a placeholder object carries: the permission that was missing.
pub const UNREADABLE_ANNOTATION: &str = "netpol-debug.io/unreadable";

/// Namespaces read whole whatever the question (besides those of the question).
const SYSTEM_NAMESPACES: &[&str] = &["kube-system"];

/// Lists in flight at once (an API server answers a burst with 429s).
const CONCURRENCY: usize = 8;

fn is_workload(kind: &str) -> bool {
    crate::snapshot::WorkloadKind::from_kind(kind).is_some()
}

/// A kind of object we read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub role: Role,
}

/// What a kind is for, which decides what a 403 on it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Without it nothing can be answered (namespaces, pods): a 403 is an error.
    Required,
    /// A policy kind: unreadable means it may select any pod (inconclusive where it matters).
    Policy,
    /// Context for a step (nodes, Services, DaemonSets, mesh objects): a 403 is a warning and
    /// the step says what it lacks.
    Context,
}

impl Resource {
    fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool, role: Role) -> Resource {
        Resource {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            role,
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The collection's path, in a namespace or cluster-wide.
    pub fn collection(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) if self.namespaced => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }

    /// `plural.group`, as RBAC rules name it.
    pub fn rbac_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// "needs list on pods in namespace shop".
    fn permission(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("needs list on {} in namespace {ns}", self.rbac_name()),
            _ if self.namespaced => format!("needs list on {} in all namespaces", self.rbac_name()),
            _ => format!("needs list on {}", self.rbac_name()),
        }
    }
}

/// The built-in kinds we read (never Secrets or ConfigMaps).
pub fn builtin_resources() -> Vec<Resource> {
    use Role::*;
    vec![
        Resource::new("", "v1", "Namespace", "namespaces", false, Required),
        Resource::new("", "v1", "Node", "nodes", false, Context),
        Resource::new("apps", "v1", "DaemonSet", "daemonsets", true, Context),
        Resource::new("", "v1", "Pod", "pods", true, Required),
        Resource::new("", "v1", "Service", "services", true, Context),
        Resource::new("", "v1", "Endpoints", "endpoints", true, Context),
        Resource::new(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            true,
            Context,
        ),
        Resource::new(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
            Policy,
        ),
        // Workloads of the question's namespaces: a Deployment scaled to zero, a CronJob, and
        // the owner chain that names pods `ns/name[Deployment]`.
        Resource::new("apps", "v1", "Deployment", "deployments", true, Context),
        Resource::new("apps", "v1", "ReplicaSet", "replicasets", true, Context),
        Resource::new("apps", "v1", "StatefulSet", "statefulsets", true, Context),
        Resource::new("batch", "v1", "Job", "jobs", true, Context),
        Resource::new("batch", "v1", "CronJob", "cronjobs", true, Context),
        Resource::new(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            true,
            Context,
        ),
    ]
}

fn builtin(kind: &str) -> Resource {
    builtin_resources()
        .into_iter()
        .find(|r| r.kind == kind)
        .unwrap_or_else(|| Resource::new("", "v1", kind, "unknown", true, Role::Context))
}

/// The custom kinds the checks read, found through discovery: `(group, kind, plural, role)`
/// (the plural as RBAC rules name it; the one discovery reports is the one used).
pub const CUSTOM_KINDS: &[(&str, &str, &str, Role)] = &[
    (
        "policy.networking.k8s.io",
        "AdminNetworkPolicy",
        "adminnetworkpolicies",
        Role::Policy,
    ),
    (
        "policy.networking.k8s.io",
        "BaselineAdminNetworkPolicy",
        "baselineadminnetworkpolicies",
        Role::Policy,
    ),
    (
        "policy.networking.k8s.io",
        "ClusterNetworkPolicy",
        "clusternetworkpolicies",
        Role::Policy,
    ),
    (
        "cilium.io",
        "CiliumNetworkPolicy",
        "ciliumnetworkpolicies",
        Role::Policy,
    ),
    (
        "cilium.io",
        "CiliumClusterwideNetworkPolicy",
        "ciliumclusterwidenetworkpolicies",
        Role::Policy,
    ),
    ("projectcalico.org", "NetworkPolicy", "networkpolicies", Role::Policy),
    (
        "projectcalico.org",
        "GlobalNetworkPolicy",
        "globalnetworkpolicies",
        Role::Policy,
    ),
    (
        "crd.projectcalico.org",
        "NetworkPolicy",
        "networkpolicies",
        Role::Policy,
    ),
    (
        "crd.projectcalico.org",
        "GlobalNetworkPolicy",
        "globalnetworkpolicies",
        Role::Policy,
    ),
    // Calico tiers order the Calico policies (not policies themselves); unreadable, a
    // placeholder says so, and the engine makes a verdict that a tier other than `default`
    // decides inconclusive.
    ("projectcalico.org", "Tier", "tiers", Role::Context),
    ("crd.projectcalico.org", "Tier", "tiers", Role::Context),
    ("crd.antrea.io", "NetworkPolicy", "networkpolicies", Role::Policy),
    (
        "crd.antrea.io",
        "ClusterNetworkPolicy",
        "clusternetworkpolicies",
        Role::Policy,
    ),
    (
        "security.antrea.tanzu.vmware.com",
        "NetworkPolicy",
        "networkpolicies",
        Role::Policy,
    ),
    (
        "security.antrea.tanzu.vmware.com",
        "ClusterNetworkPolicy",
        "clusternetworkpolicies",
        Role::Policy,
    ),
    (
        "k8s.cni.cncf.io",
        "MultiNetworkPolicy",
        "multi-networkpolicies",
        Role::Policy,
    ),
    (
        "security.istio.io",
        "AuthorizationPolicy",
        "authorizationpolicies",
        Role::Context,
    ),
    (
        "security.istio.io",
        "PeerAuthentication",
        "peerauthentications",
        Role::Context,
    ),
    ("networking.istio.io", "Sidecar", "sidecars", Role::Context),
    ("policy.linkerd.io", "Server", "servers", Role::Context),
    (
        "policy.linkerd.io",
        "AuthorizationPolicy",
        "authorizationpolicies",
        Role::Context,
    ),
    (
        "policy.linkerd.io",
        "ServerAuthorization",
        "serverauthorizations",
        Role::Context,
    ),
    (
        "policy.linkerd.io",
        "MeshTLSAuthentication",
        "meshtlsauthentications",
        Role::Context,
    ),
];

/// The kinds an API server serves that we read, found by discovery.
#[derive(Debug, Clone, Default)]
struct Discovered {
    resources: Vec<Resource>,
    warnings: Vec<String>,
    /// Discovery itself failed: custom policy kinds may exist unseen.
    failed: Option<String>,
}

/// What one read produced.
#[derive(Debug, Clone)]
pub struct LiveRead {
    /// The objects, cleaned and in a fixed order, placeholders included: what is exported.
    pub objects: Vec<Value>,
    /// Permissions that were missing (`needs list on ... in namespace ...`).
    pub forbidden: Vec<String>,
    pub warnings: Vec<String>,
    /// The namespaces read whole.
    pub namespaces: Vec<String>,
    /// `(plural, namespace)` of the lists that failed (403 or an error) on optional kinds.
    pub unread: BTreeSet<(String, Option<String>)>,
    /// When the read began: policy ages are "ago" from it, live and in the exported snapshot.
    pub read_at: k8s_openapi::jiff::Timestamp,
}

impl LiveRead {
    /// The snapshot the engine reads: every object through the file loader's path.
    pub fn snapshot(&self, target: &str) -> ClusterSnapshot {
        let mut snap = ClusterSnapshot::default();
        for (i, o) in self.objects.iter().enumerate() {
            crate::snapshot::add_value(&mut snap, &format!("live[{i}]"), o.clone());
        }
        snap.services_read_in = Some(self.services_read_in());
        snap.read_at = Some(self.read_at);
        for w in self.forbidden.iter().chain(&self.warnings) {
            snap.warnings.push(LoadWarning {
                location: Some(format!("live ({target})")),
                object: None,
                message: w.clone(),
            });
        }
        snap
    }

    /// The namespaces read whole whose Services and Endpoints lists did not fail.
    fn services_read_in(&self) -> BTreeSet<String> {
        let failed = |ns: &String| {
            ["services", "endpoints"].iter().any(|k| {
                self.unread.contains(&(k.to_string(), None)) || self.unread.contains(&(k.to_string(), Some(ns.clone())))
            })
        };
        self.namespaces.iter().filter(|ns| !failed(ns)).cloned().collect()
    }

    /// One multi-document YAML that `--snapshot` loads: a header, then one document an object.
    pub fn to_yaml(&self, target: &str) -> anyhow::Result<String> {
        let mut out = format!(
            "# netpol-debug snapshot of {target}\n# read at: {}\n# namespaces read whole: {}\n# objects: {} (Secrets and ConfigMaps are never read; env values are redacted)\n",
            self.read_at,
            if self.namespaces.is_empty() {
                "(none)".to_string()
            } else {
                self.namespaces.join(", ")
            },
            self.objects.len()
        );
        for f in &self.forbidden {
            out.push_str(&format!("# forbidden: {f}\n"));
        }
        // Each document as JSON (valid YAML): every YAML parser reads `"yes"`, `"0x10"` or
        // `"2024-01-01"` back as the strings they are, which plain YAML 1.1 readers would not.
        for o in &self.objects {
            out.push_str("---\n");
            out.push_str(&serde_json::to_string_pretty(o)?);
            out.push('\n');
        }
        Ok(out)
    }
}

type Cached<T> = Mutex<HashMap<String, (Instant, T)>>;

/// A live cluster as a [`ContextSource`]: each call reads its scope; reads and contexts are
/// cached for `cache_ttl` so a model's burst of calls does not hammer the API server.
pub struct LiveSource {
    client: ReadOnlyClient,
    semantics: Semantics,
    cache_ttl: Duration,
    lists: Cached<Result<Arc<Vec<Value>>, ReadFailure>>,
    discovery: Cached<Arc<Discovered>>,
    contexts: Cached<Arc<Context>>,
}

impl LiveSource {
    pub fn new(client: ReadOnlyClient, semantics: Semantics, cache_ttl: Duration) -> LiveSource {
        LiveSource {
            client,
            semantics,
            cache_ttl,
            lists: Mutex::default(),
            discovery: Mutex::default(),
            contexts: Mutex::default(),
        }
    }

    pub fn client(&self) -> &ReadOnlyClient {
        &self.client
    }

    fn cached<T: Clone>(&self, cache: &Cached<T>, key: &str) -> Option<T> {
        if self.cache_ttl.is_zero() {
            return None;
        }
        let mut map = cache.lock().ok()?;
        let ttl = self.cache_ttl;
        map.retain(|_, (at, _)| at.elapsed() < ttl);
        map.get(key).map(|(_, v)| v.clone())
    }

    fn store<T>(&self, cache: &Cached<T>, key: String, value: T) {
        if self.cache_ttl.is_zero() {
            return;
        }
        if let Ok(mut map) = cache.lock() {
            let ttl = self.cache_ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            map.insert(key, (Instant::now(), value));
        }
    }

    /// A list, cached; answers (including 403 and 404) are cached, transport errors are not.
    async fn list(&self, path: &str, query: &str) -> Result<Arc<Vec<Value>>, ReadFailure> {
        let key = format!("{path}?{query}");
        if let Some(hit) = self.cached(&self.lists, &key) {
            return hit;
        }
        let result = self.client.list(path, query).await.map(Arc::new);
        if !matches!(result, Err(ReadFailure::Other(_) | ReadFailure::Unauthorized(_))) {
            self.store(&self.lists, key, result.clone());
        }
        result
    }

    async fn discover(&self) -> Result<Arc<Discovered>, anyhow::Error> {
        if let Some(hit) = self.cached(&self.discovery, "apis") {
            return Ok(hit);
        }
        let mut out = Discovered::default();
        let groups = match self.client.get_json("/apis").await {
            Ok(v) => v,
            Err(ReadFailure::Unauthorized(m)) => return Err(self.unauthorized(&m)),
            Err(ReadFailure::Other(m)) => return Err(self.unreachable(&m)),
            Err(e) => {
                out.failed = Some(format!("cannot discover API groups (GET /apis: {e:?})"));
                let out = Arc::new(out);
                self.store(&self.discovery, "apis".into(), out.clone());
                return Ok(out);
            }
        };
        let served = served_versions(&groups);
        // The aggregated Calico API and its CRDs are the same objects: read one of them.
        let skip_crd_calico = served.contains_key("projectcalico.org");
        let wanted: BTreeSet<&str> = CUSTOM_KINDS
            .iter()
            .map(|(g, _, _, _)| *g)
            .filter(|g| served.contains_key(*g))
            .filter(|g| !(skip_crd_calico && *g == "crd.projectcalico.org"))
            .collect();
        // A group's kinds need not share its preferred version (ANP/BANP are v1alpha1 while
        // ClusterNetworkPolicy makes v1alpha2 preferred; Multus serves v1 and MultiNetworkPolicy
        // v1beta1/v1beta2): the other versions are read, in order, only for kinds still missing.
        let lookups = wanted.iter().map(|group| {
            let versions = served[*group].clone();
            async move { (group.to_string(), self.discover_group(group, &versions).await) }
        });
        // A transport failure is not remembered: the next call discovers again.
        let mut transient = false;
        for (group, answers) in futures::future::join_all(lookups).await {
            for (gv, answer) in answers {
                let list = match answer {
                    Ok(v) => v,
                    Err(ReadFailure::Unauthorized(m)) => return Err(self.unauthorized(&m)),
                    Err(e) => {
                        transient |= matches!(e, ReadFailure::Other(_));
                        out.warnings
                            .push(format!("cannot discover {gv} ({e:?}): its kinds are not read"));
                        if CUSTOM_KINDS
                            .iter()
                            .any(|(g, _, _, r)| *g == group && *r == Role::Policy)
                        {
                            out.failed = Some(format!("cannot discover {gv}: its policies may exist unseen"));
                        }
                        continue;
                    }
                };
                add_group_kinds(&mut out, &group, &gv, &list);
            }
        }
        out.resources.sort();
        let out = Arc::new(out);
        if !transient {
            self.store(&self.discovery, "apis".into(), out.clone());
        }
        Ok(out)
    }

    /// The resource lists of a group's versions (preferred first), read until every kind of
    /// [`CUSTOM_KINDS`] in the group is found or the versions run out.
    async fn discover_group(&self, group: &str, versions: &[String]) -> Vec<(String, Result<Value, ReadFailure>)> {
        let mut missing: BTreeSet<&str> = CUSTOM_KINDS
            .iter()
            .filter(|(g, _, _, _)| *g == group)
            .map(|(_, k, _, _)| *k)
            .collect();
        let mut out = Vec::new();
        for gv in versions {
            if missing.is_empty() {
                break;
            }
            let answer = self.client.get_json(&format!("/apis/{gv}")).await;
            if let Ok(list) = &answer {
                for (_, kind, _) in group_kinds(list) {
                    missing.remove(kind.as_str());
                }
            }
            let stop = matches!(answer, Err(ReadFailure::Unauthorized(_)));
            out.push((gv.clone(), answer));
            if stop {
                break;
            }
        }
        out
    }

    fn unauthorized(&self, message: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "the API server refused our credentials (401 Unauthorized) — {}: {message}; refresh the kubeconfig's credentials (e.g. log in again)",
            self.client.target()
        )
    }

    fn unreachable(&self, message: &str) -> anyhow::Error {
        anyhow::anyhow!("cannot read the cluster ({}): {message}", self.client.target())
    }

    /// A failed read: an error for the question (a 401; any failure of a required read), or a
    /// note and, for a policy kind, placeholders standing for what could not be read (in
    /// `namespace`, else in each of `namespaces` for a namespaced kind).
    fn failed(
        &self,
        res: &Resource,
        namespace: Option<&str>,
        failure: ReadFailure,
        required: bool,
        namespaces: &BTreeSet<String>,
        read: &mut LiveRead,
    ) -> anyhow::Result<()> {
        let permission = res.permission(namespace);
        let (why, note) = match failure {
            ReadFailure::NotFound => return Ok(()),
            ReadFailure::Unauthorized(m) => return Err(self.unauthorized(&m)),
            ReadFailure::Forbidden(m) if required => anyhow::bail!(
                "forbidden: {permission} ({}): {m}; see examples/rbac.yaml for the read-only ClusterRole",
                self.client.target()
            ),
            ReadFailure::Other(m) if required => return Err(self.unreachable(&m)),
            ReadFailure::Forbidden(_) => (permission.clone(), format!("{permission} (403 Forbidden)")),
            ReadFailure::Other(m) => (
                format!("could not list {} ({m})", res.rbac_name()),
                format!("could not list {}: {m}", res.rbac_name()),
            ),
        };
        let effect = match res.role {
            Role::Policy => "policies of this kind may select any pod, so verdicts they could change are inconclusive",
            _ => "the steps that use these objects say what they lack",
        };
        read.forbidden.push(format!("{note}: {effect}"));
        read.unread.insert((res.plural.clone(), namespace.map(str::to_string)));
        match (namespace, res.namespaced) {
            (None, true) => {
                for ns in namespaces {
                    read.objects.extend(placeholder(res, Some(ns), &why));
                }
            }
            _ => read.objects.extend(placeholder(res, namespace, &why)),
        }
        Ok(())
    }

    /// Lists, at most [`CONCURRENCY`] at a time, answers in the order asked.
    async fn list_many(&self, asks: &[(String, String)]) -> Vec<Result<Arc<Vec<Value>>, ReadFailure>> {
        use futures::StreamExt;
        type ListFuture<'a> = BoxFuture<'a, Result<Arc<Vec<Value>>, ReadFailure>>;
        let futures: Vec<ListFuture<'_>> = asks
            .iter()
            .map(|(path, query)| -> ListFuture<'_> {
                let (path, query) = (path.clone(), query.clone());
                Box::pin(async move { self.list(&path, &query).await })
            })
            .collect();
        futures::stream::iter(futures).buffered(CONCURRENCY).collect().await
    }

    /// The namespaces of the Service and pods that have an IP endpoint (none: a node or external).
    async fn locate_ip(
        &self,
        ip: IpAddr,
        node_ips: &BTreeSet<String>,
        all_pods: &mut Option<Arc<Vec<Value>>>,
        services: &mut Option<Arc<Vec<Value>>>,
    ) -> anyhow::Result<BTreeSet<String>> {
        let pods = builtin("Pod");
        let mut owners = BTreeSet::new();
        let cannot = |what: &str, f: ReadFailure| match f {
            ReadFailure::Unauthorized(m) => self.unauthorized(&m),
            f => anyhow::anyhow!(
                "cannot tell what {ip} is: listing {what} failed ({f:?}; needs list on {what} in all namespaces) ({})",
                self.client.target()
            ),
        };
        let ip_text = ip.to_string();
        let quoted = format!("\"{ip_text}\"");
        // A Service's virtual IP (ClusterIP, external IP, load-balancer IP, which may also be a
        // node's IP, as with k3s ServiceLB): the query resolves a Service first.
        if services.is_none() {
            let svc = builtin("Service");
            *services = Some(
                self.list(&svc.collection(None), "")
                    .await
                    .map_err(|f| cannot("services", f))?,
            );
        }
        let service = services.iter().flat_map(|a| a.iter()).find(|s| {
            s.get("spec").is_some_and(|spec| spec.to_string().contains(&quoted))
                || s.pointer("/status/loadBalancer")
                    .is_some_and(|lb| lb.to_string().contains(&quoted))
        });
        owners.extend(service.and_then(|s| meta(s, "namespace")));
        let q = format!("fieldSelector={}", client::encode(&format!("status.podIP={ip}")));
        let found = self
            .list(&pods.collection(None), &q)
            .await
            .map_err(|f| cannot("pods", f))?;
        owners.extend(found.iter().filter_map(|p| meta(p, "namespace")));
        if !owners.is_empty() {
            return Ok(owners);
        }
        let private = match ip {
            IpAddr::V4(v4) => v4.is_private() || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]),
            IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
        };
        if private && !node_ips.contains(&ip_text) {
            // `status.podIP` is only a pod's first IP: a dual-stack pod's second IP or a Multus
            // address needs the pods themselves (once per read, and only for private addresses).
            if all_pods.is_none() {
                *all_pods = Some(
                    self.list(&pods.collection(None), "")
                        .await
                        .map_err(|f| cannot("pods", f))?,
                );
            }
            let owner = all_pods.iter().flat_map(|a| a.iter()).find(|p| {
                p.pointer("/status/podIPs")
                    .and_then(Value::as_array)
                    .is_some_and(|ips| {
                        ips.iter()
                            .any(|i| i.get("ip").and_then(Value::as_str) == Some(ip_text.as_str()))
                    })
                    || p.pointer("/metadata/annotations/k8s.v1.cni.cncf.io~1network-status")
                        .and_then(Value::as_str)
                        .is_some_and(|a| a.contains(&quoted))
            });
            owners.extend(owner.and_then(|p| meta(p, "namespace")));
        }
        Ok(owners)
    }

    /// Reads what `scope` needs: the cluster-scoped kinds and discovery first, then the
    /// namespaces the question touches, then every planned list (with per-namespace retries of
    /// custom kinds refused cluster-wide).
    pub async fn read(&self, scope: &Scope) -> anyhow::Result<LiveRead> {
        let mut read = LiveRead {
            objects: Vec::new(),
            forbidden: Vec::new(),
            warnings: Vec::new(),
            namespaces: Vec::new(),
            unread: BTreeSet::new(),
            read_at: k8s_openapi::jiff::Timestamp::now(),
        };
        let cluster = self.read_cluster_wide(&mut read).await?;
        let everything = scope.namespaces.is_none();
        let question = self.question_namespaces(scope, &cluster.existing, &read).await?;
        let spaces = Namespaces::around(question, &cluster);
        read.namespaces = spaces.whole.iter().cloned().collect();
        let ds_kept: Vec<Value> = cluster
            .daemonsets
            .iter()
            .filter(|d| meta(d, "namespace").is_some_and(|ns| spaces.read.contains(&ns)))
            .cloned()
            .collect();
        push_items(&mut read.objects, &builtin("DaemonSet"), &ds_kept);
        let plan = plan_lists(&spaces, &cluster, everything);
        self.run_plan(&plan, &spaces, &cluster, everything, &mut read).await?;
        // A Service the question names must have been readable.
        for ns in &scope.service_namespaces {
            if read.unread.contains(&("services".to_string(), Some(ns.clone()))) {
                anyhow::bail!(
                    "cannot read the Services of namespace {ns}: needs list on services in namespace {ns} ({})",
                    self.client.target()
                );
            }
        }
        read.warnings.extend(cluster.discovered.warnings.iter().cloned());
        if let Some(why) = &cluster.discovered.failed {
            let permission = format!(
                "{why}; AdminNetworkPolicies, ClusterNetworkPolicies and CNI-specific policies may exist unseen"
            );
            read.forbidden.push(permission.clone());
            let anp = Resource::new(
                "policy.networking.k8s.io",
                "v1alpha1",
                "AdminNetworkPolicy",
                "adminnetworkpolicies",
                false,
                Role::Policy,
            );
            read.objects.extend(placeholder(&anp, None, &permission));
        }
        Ok(read)
    }

    /// Phase 1: namespaces, nodes and DaemonSets cluster-wide, and discovery, at once.
    async fn read_cluster_wide(&self, read: &mut LiveRead) -> anyhow::Result<ClusterWide> {
        let none = BTreeSet::new();
        let (namespaces, nodes, daemonsets) = (builtin("Namespace"), builtin("Node"), builtin("DaemonSet"));
        let (ns_path, node_path, ds_path) = (
            namespaces.collection(None),
            nodes.collection(None),
            daemonsets.collection(None),
        );
        let (ns_list, node_list, ds_list, discovered) = futures::join!(
            self.list(&ns_path, ""),
            self.list(&node_path, ""),
            self.list(&ds_path, ""),
            self.discover(),
        );
        let ns_items = match ns_list {
            Ok(items) => items,
            Err(f) => {
                self.failed(&namespaces, None, f, true, &none, read)?;
                Arc::default()
            }
        };
        let discovered = discovered?;
        let existing: BTreeSet<String> = ns_items.iter().filter_map(|n| meta(n, "name")).collect();
        push_items(&mut read.objects, &namespaces, &ns_items);
        match node_list {
            Ok(items) => push_items(&mut read.objects, &nodes, &items),
            Err(f) => self.failed(&nodes, None, f, false, &none, read)?,
        }
        let daemonsets = match ds_list {
            Ok(items) => items,
            Err(f) => {
                self.failed(&daemonsets, None, f, false, &none, read)?;
                Arc::default()
            }
        };
        Ok(ClusterWide {
            existing,
            daemonsets,
            discovered,
        })
    }

    /// The question's namespaces (every existing one for a whole-cluster read), IP endpoints
    /// located through Services and pods.
    async fn question_namespaces(
        &self,
        scope: &Scope,
        existing: &BTreeSet<String>,
        read: &LiveRead,
    ) -> anyhow::Result<BTreeSet<String>> {
        let Some(named) = &scope.namespaces else {
            return Ok(existing.clone());
        };
        let mut question = named.clone();
        let node_ips = node_addresses(&read.objects);
        let (mut all_pods, mut services) = (None, None);
        for ip in &scope.ips {
            let owners = self.locate_ip(*ip, &node_ips, &mut all_pods, &mut services).await?;
            if !owners.is_empty() {
                question.extend(owners);
            } else if read.unread.contains(&("nodes".to_string(), None)) {
                anyhow::bail!(
                    "cannot tell what {ip} is: no pod or Service has it, and nodes could not be listed (needs list on nodes) ({})",
                    self.client.target()
                );
            }
        }
        question.retain(|ns| existing.contains(ns));
        Ok(question)
    }

    /// Phase 2: every planned list at once, then the per-namespace retries of namespaced custom
    /// kinds refused cluster-wide (a Role may still allow them per namespace).
    async fn run_plan(
        &self,
        plan: &[Planned],
        spaces: &Namespaces,
        cluster: &ClusterWide,
        everything: bool,
        read: &mut LiveRead,
    ) -> anyhow::Result<()> {
        let asks: Vec<(String, String)> = plan
            .iter()
            .map(|p| (p.resource.collection(p.namespace.as_deref()), p.query.clone()))
            .collect();
        let answers = self.list_many(&asks).await;
        let mut retries: Vec<(Resource, String)> = Vec::new();
        for (p, answer) in plan.iter().zip(answers) {
            match answer {
                Ok(items) => push_items(&mut read.objects, &p.resource, &items),
                Err(ReadFailure::Forbidden(_)) if p.resource.namespaced && p.namespace.is_none() && !everything => {
                    retries.extend(spaces.whole.iter().map(|n| (p.resource.clone(), n.clone())));
                }
                Err(f) => {
                    let scope_ns = if everything { &cluster.existing } else { &spaces.whole };
                    self.failed(&p.resource, p.namespace.as_deref(), f, p.required, scope_ns, read)?
                }
            }
        }
        let asks: Vec<(String, String)> = retries
            .iter()
            .map(|(r, ns)| (r.collection(Some(ns)), String::new()))
            .collect();
        let retried = self.list_many(&asks).await;
        for ((r, ns), answer) in retries.iter().zip(retried) {
            match answer {
                Ok(items) => push_items(&mut read.objects, r, &items),
                Err(f) => self.failed(r, Some(ns), f, false, &spaces.whole, read)?,
            }
        }
        Ok(())
    }

    /// The context for a scope, cached for the TTL.
    pub async fn context(&self, scope: &Scope) -> anyhow::Result<Arc<Context>> {
        let key = format!("{scope:?}");
        if let Some(hit) = self.cached(&self.contexts, &key) {
            return Ok(hit);
        }
        let read = self.read(scope).await?;
        let snap = read.snapshot(self.client.target());
        let mut ctx = Context::owning(snap, self.semantics, self.describe());
        ctx.live = true;
        let ctx = Arc::new(ctx);
        self.store(&self.contexts, key, ctx.clone());
        Ok(ctx)
    }
}

/// Each group's versions from `GET /apis`, the preferred one first, then in the server's
/// priority order.
fn served_versions(groups: &Value) -> BTreeMap<String, Vec<String>> {
    groups
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| {
            let preferred = g.pointer("/preferredVersion/groupVersion")?.as_str()?.to_string();
            let mut versions = vec![preferred];
            for v in g.get("versions").and_then(Value::as_array).into_iter().flatten() {
                if let Some(gv) = v.get("groupVersion").and_then(Value::as_str)
                    && !versions.iter().any(|x| x == gv)
                {
                    versions.push(gv.to_string());
                }
            }
            Some((g.get("name")?.as_str()?.to_string(), versions))
        })
        .collect()
}

/// The custom kinds a group version lists, added unless an earlier version gave them.
fn add_group_kinds(out: &mut Discovered, group: &str, gv: &str, list: &Value) {
    let version = gv.rsplit_once('/').map_or(gv, |(_, v)| v).to_string();
    for (name, kind, namespaced) in group_kinds(list) {
        if out.resources.iter().any(|r| r.group == group && r.kind == kind) {
            continue;
        }
        let Some((_, _, _, role)) = CUSTOM_KINDS.iter().find(|(g, k, _, _)| *g == group && *k == kind) else {
            continue;
        };
        out.resources
            .push(Resource::new(group, &version, &kind, &name, namespaced, *role));
    }
}

/// What phase 1 read: the namespaces that exist, the DaemonSets, the discovered kinds.
struct ClusterWide {
    existing: BTreeSet<String>,
    daemonsets: Arc<Vec<Value>>,
    discovered: Arc<Discovered>,
}

/// The namespaces a read covers.
struct Namespaces {
    /// The question's namespaces (its endpoints', or every one).
    question: BTreeSet<String>,
    /// Read whole: the question's and kube-system (DNS, node agents).
    whole: BTreeSet<String>,
    /// `whole` plus the namespaces of other DaemonSets, read for their pods only, so a DaemonSet
    /// never stands for pods that were simply not read.
    read: BTreeSet<String>,
}

impl Namespaces {
    fn around(question: BTreeSet<String>, cluster: &ClusterWide) -> Namespaces {
        let existing = &cluster.existing;
        let mut whole = question.clone();
        whole.extend(
            SYSTEM_NAMESPACES
                .iter()
                .map(|s| s.to_string())
                .filter(|ns| existing.contains(ns)),
        );
        let pods_only: BTreeSet<String> = cluster
            .daemonsets
            .iter()
            .filter_map(|d| meta(d, "namespace"))
            .filter(|ns| !whole.contains(ns) && existing.contains(ns))
            .collect();
        let mut read = whole.clone();
        read.extend(pods_only);
        Namespaces { question, whole, read }
    }
}

/// One list to make: a kind, where, with which query, and whether failing it is an error.
struct Planned {
    resource: Resource,
    namespace: Option<String>,
    query: String,
    required: bool,
}

/// The addresses of the Nodes read so far.
fn node_addresses(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some("Node"))
        .flat_map(|n| {
            n.pointer("/status/addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("address").and_then(Value::as_str).map(str::to_string))
        })
        .collect()
}

/// Phase 2's lists: the namespaced built-in kinds per namespace (cluster-wide for everything),
/// the API server's Service in `default`, and the custom kinds cluster-wide.
fn plan_lists(spaces: &Namespaces, cluster: &ClusterWide, everything: bool) -> Vec<Planned> {
    let planned = |resource: Resource, namespace: Option<String>, query: &str, required: bool| Planned {
        resource,
        namespace,
        query: query.to_string(),
        required,
    };
    let mut plan = Vec::new();
    for r in builtin_resources()
        .into_iter()
        .filter(|r| r.namespaced && r.kind != "DaemonSet")
    {
        let required = r.role == Role::Required;
        if everything {
            plan.push(planned(r, None, "", required));
            continue;
        }
        let targets = if r.role == Role::Context && is_workload(&r.kind) {
            &spaces.question
        } else if r.kind == "Pod" {
            &spaces.read
        } else {
            &spaces.whole
        };
        for ns in targets {
            let required = required && spaces.question.contains(ns);
            plan.push(planned(r.clone(), Some(ns.clone()), "", required));
        }
    }
    if !everything && !spaces.whole.contains("default") && cluster.existing.contains("default") {
        // The API server's Service: what the API-server check reads.
        for (kind, query) in [
            ("Service", "fieldSelector=metadata.name%3Dkubernetes"),
            ("Endpoints", "fieldSelector=metadata.name%3Dkubernetes"),
            (
                "EndpointSlice",
                "labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes",
            ),
        ] {
            plan.push(planned(builtin(kind), Some("default".into()), query, false));
        }
    }
    for r in &cluster.discovered.resources {
        plan.push(planned(r.clone(), None, "", false));
    }
    plan
}

impl ContextSource for LiveSource {
    fn describe(&self) -> String {
        format!("live cluster ({}; read-only)", self.client.target())
    }

    fn live(&self) -> bool {
        true
    }

    fn context_for<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Result<Arc<Context>, String>> {
        Box::pin(async move { self.context(scope).await.map_err(|e| format!("{e:#}")) })
    }
}

/// `(plural, kind, namespaced)` of the top-level resources (not subresources) of an
/// `APIResourceList`.
fn group_kinds(list: &Value) -> Vec<(String, String, bool)> {
    list.get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let name = r.get("name")?.as_str()?;
            let kind = r.get("kind")?.as_str()?;
            (!name.contains('/')).then(|| {
                (
                    name.to_string(),
                    kind.to_string(),
                    r.get("namespaced").and_then(Value::as_bool).unwrap_or(true),
                )
            })
        })
        .collect()
}

fn meta(o: &Value, key: &str) -> Option<String> {
    o.get("metadata")?.get(key)?.as_str().map(str::to_string)
}

/// Adds list items with their `apiVersion`/`kind` (lists leave them out), cleaned.
fn push_items(out: &mut Vec<Value>, res: &Resource, items: &[Value]) {
    for item in items {
        let mut item = item.clone();
        if let Value::Object(o) = &mut item {
            o.insert("apiVersion".into(), Value::String(res.api_version()));
            o.insert("kind".into(), Value::String(res.kind.clone()));
        }
        clean(&mut item);
        out.push(item);
    }
}

/// An object standing for the ones a 403 hid, for policy kinds: unreadable on purpose, so the
/// engine treats it as a policy that may select any pod. Its name says what was missing.
fn placeholder(res: &Resource, namespace: Option<&str>, permission: &str) -> Option<Value> {
    // A Calico Tier orders policies: without it their order is unknown.
    let calico_tier = res.kind == "Tier" && res.group.contains("projectcalico.org");
    if res.role != Role::Policy && !calico_tier {
        return None;
    }
    let mut metadata = json!({
        "name": format!("(unreadable: {permission})"),
        "annotations": { UNREADABLE_ANNOTATION: permission },
    });
    if res.namespaced {
        metadata["namespace"] = Value::String(namespace.unwrap_or("default").to_string());
    }
    let mut o = json!({
        "apiVersion": res.api_version(),
        "kind": res.kind,
        "metadata": metadata,
    });
    if res.group == "networking.k8s.io" {
        // A NetworkPolicy whose policyTypes cannot be read may isolate both directions.
        o["spec"] = json!({ "podSelector": {}, "policyTypes": format!("unreadable: {permission}") });
    }
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_and_rbac_names() {
        let np = builtin("NetworkPolicy");
        assert_eq!(
            np.collection(Some("shop")),
            "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies"
        );
        assert_eq!(np.collection(None), "/apis/networking.k8s.io/v1/networkpolicies");
        assert_eq!(builtin("Pod").collection(Some("a")), "/api/v1/namespaces/a/pods");
        assert_eq!(builtin("Node").collection(Some("a")), "/api/v1/nodes");
        assert_eq!(np.rbac_name(), "networkpolicies.networking.k8s.io");
        assert_eq!(
            np.permission(Some("shop")),
            "needs list on networkpolicies.networking.k8s.io in namespace shop"
        );
    }

    #[test]
    fn never_secrets_or_configmaps() {
        for r in builtin_resources() {
            assert!(client::request_allowed(&http::Method::GET, &r.collection(Some("x"))).is_ok());
        }
        assert!(
            CUSTOM_KINDS
                .iter()
                .all(|(_, k, _, _)| !k.eq_ignore_ascii_case("secret") && !k.eq_ignore_ascii_case("configmap"))
        );
    }

    #[test]
    fn cleaning_redacts_env_values_and_managed_fields() {
        let mut pod = json!({
            "metadata": {"name": "p", "managedFields": [{}], "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "1"}},
            "spec": {"containers": [{"name": "c", "env": [{"name": "PASSWORD", "value": "hunter2"}, {"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}
        });
        clean(&mut pod);
        assert_eq!(pod["spec"]["containers"][0]["env"][0]["value"], "(redacted)");
        assert!(pod["metadata"].get("managedFields").is_none());
        assert_eq!(pod["metadata"]["annotations"], json!({"keep": "1"}));
        assert!(!pod.to_string().contains("hunter2"));
    }

    /// The live source reads every policy kind the engine and the checks know, and nothing it
    /// reads as a policy is unknown to them: one table (`PolicyKind`) on each side.
    #[test]
    fn custom_policy_kinds_are_exactly_the_known_policy_kinds() {
        let read: BTreeSet<(&str, &str)> = CUSTOM_KINDS
            .iter()
            .filter(|(_, _, _, role)| *role == Role::Policy)
            .map(|(g, k, _, _)| (*g, *k))
            .collect();
        let known: BTreeSet<(&str, &str)> = crate::policy::PolicyKind::table().map(|(g, k, _)| (g, k)).collect();
        assert_eq!(read, known);
    }
}
