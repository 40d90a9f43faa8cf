//! A local HTTP server that answers like the Kubernetes API for a fixed set of objects:
//! discovery (`/api`, `/api/v1`, `/apis`, `/apis/GROUP/VERSION`), list endpoints of core and
//! named groups (cluster-wide and per namespace) with `limit`/`continue` pagination, field and
//! label selectors, bearer-token authentication, chosen 403s, delays and expired `continue`
//! tokens (410). A group serves every version its objects use, the preferred one first, as a real
//! server does (tests/suite/real_apiserver.rs checks the rest against one). It records every
//! request. Bound to 127.0.0.1 only.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The token the fake accepts.
pub const TOKEN: &str = "fake-token";

/// What the fake serves and how it misbehaves.
#[derive(Clone, Default)]
pub struct FakeConfig {
    pub objects: Vec<Value>,
    /// `(plural, namespace)`: lists of `plural` answer 403; `None` for every namespace and
    /// cluster-wide.
    pub forbidden: Vec<(String, Option<String>)>,
    /// `(plural, status)`: lists of `plural` answer this error status (e.g. 503).
    pub failing: Vec<(String, u16)>,
    /// Most items a page carries, whatever `limit` asks (to exercise pagination).
    pub page_cap: Option<usize>,
    /// Paths (prefix) that answer only after this delay.
    pub slow: Option<(String, Duration)>,
    /// Plurals whose first continued page answers 410 Gone, once each (their continue token
    /// expired, as a real server's does after etcd compacts the list's revision).
    pub expire_continue: Vec<String>,
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
}

/// A running fake API server.
pub struct FakeKube {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FakeKube {
    /// Serves `config` on 127.0.0.1 (an ephemeral port) from a thread of its own.
    pub fn start(config: FakeConfig) -> FakeKube {
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::new(State {
            kinds: kinds(&config.objects),
            expired: Mutex::default(),
            config,
            requests: requests.clone(),
        });
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap| {
                    let state = state.clone();
                    async move { state.answer(method, uri, headers).await }
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().expect("fake API server starts");
        FakeKube {
            addr,
            requests,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Serves the objects of a YAML file.
    pub fn from_file(path: &Path, tweak: impl FnOnce(&mut FakeConfig)) -> FakeKube {
        let mut config = FakeConfig {
            objects: load_objects(path),
            ..Default::default()
        };
        tweak(&mut config);
        FakeKube::start(config)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// Writes a kubeconfig whose context `fake` (current) points here with `token`, plus a
    /// context `other` pointing at a closed port.
    pub fn kubeconfig(&self, dir: &Path, token: &str) -> PathBuf {
        write_kubeconfig(dir, &self.url(), token)
    }
}

/// A kubeconfig with contexts `fake` (current, at `server`) and `other` (127.0.0.1:9, closed).
pub fn write_kubeconfig(dir: &Path, server: &str, token: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            r#"apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {{server: "{server}"}}
- name: other
  cluster: {{server: "http://127.0.0.1:9"}}
users:
- name: tester
  user: {{token: "{token}"}}
contexts:
- name: fake
  context: {{cluster: fake, user: tester, namespace: default}}
- name: other
  context: {{cluster: other, user: tester}}
current-context: fake
"#
        ),
    )
    .unwrap();
    path
}

/// The objects of a multi-document YAML file.
pub fn load_objects(path: &Path) -> Vec<Value> {
    crate::common::read_objects(path).unwrap()
}

/// A kind the fake serves.
#[derive(Debug, Clone)]
struct Kind {
    group: String,
    version: String,
    kind: String,
    plural: String,
    namespaced: bool,
}

/// The built-in kinds (served whether or not objects exist) and those of the objects.
fn kinds(objects: &[Value]) -> Vec<Kind> {
    let k = |group: &str, version: &str, kind: &str, plural: &str, namespaced: bool| Kind {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        namespaced,
    };
    let mut out = vec![
        k("", "v1", "Namespace", "namespaces", false),
        k("", "v1", "Node", "nodes", false),
        k("", "v1", "Pod", "pods", true),
        k("", "v1", "Service", "services", true),
        k("", "v1", "Endpoints", "endpoints", true),
        k("", "v1", "Secret", "secrets", true),
        k("", "v1", "ConfigMap", "configmaps", true),
        k("apps", "v1", "DaemonSet", "daemonsets", true),
        k("apps", "v1", "Deployment", "deployments", true),
        k("apps", "v1", "ReplicaSet", "replicasets", true),
        k("apps", "v1", "StatefulSet", "statefulsets", true),
        k("batch", "v1", "Job", "jobs", true),
        k("batch", "v1", "CronJob", "cronjobs", true),
        k("", "v1", "ReplicationController", "replicationcontrollers", true),
        k("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true),
        k("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true),
    ];
    for o in objects {
        let (Some(av), Some(kind)) = (o["apiVersion"].as_str(), o["kind"].as_str()) else {
            continue;
        };
        let (group, version) = av.split_once('/').unwrap_or(("", av));
        if out.iter().any(|x| x.group == group && x.kind == kind) {
            continue;
        }
        let namespaced = o["metadata"].get("namespace").is_some();
        let lower = kind.to_ascii_lowercase();
        let plural = match lower.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{lower}s"),
        };
        out.push(k(group, version, kind, &plural, namespaced));
    }
    out
}

struct State {
    config: FakeConfig,
    /// Plurals whose continue token has expired once already.
    expired: Mutex<Vec<String>>,
    kinds: Vec<Kind>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

fn status(code: StatusCode, reason: &str, message: String) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code.as_u16(),
    });
    (code, [("content-type", "application/json")], body.to_string()).into_response()
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], v.to_string()).into_response()
}

impl State {
    async fn answer(&self, method: Method, uri: Uri, headers: HeaderMap) -> Response {
        self.requests.lock().unwrap().push(Recorded {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or_default().to_string(),
        });
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
            return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized".into());
        }
        if method != Method::GET {
            return status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("{method} is not served here"),
            );
        }
        if let Some((prefix, delay)) = &self.config.slow
            && uri.path().starts_with(prefix.as_str())
        {
            tokio::time::sleep(*delay).await;
        }
        let path = uri.path().trim_end_matches('/');
        let query: BTreeMap<String, String> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), decode(v)))
            .collect();
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segs.as_slice() {
            ["api"] => ok(json!({"kind": "APIVersions", "versions": ["v1"]})),
            ["apis"] => ok(self.group_list()),
            ["api", "v1"] => ok(self.resource_list("", "v1")),
            ["apis", g, v] => {
                if self.kinds.iter().any(|k| k.group == *g && k.version == *v) {
                    ok(self.resource_list(g, v))
                } else {
                    status(StatusCode::NOT_FOUND, "NotFound", format!("{g}/{v} not served"))
                }
            }
            ["api", "v1", rest @ ..] => self.list("", "v1", rest, &query),
            ["apis", g, v, rest @ ..] => self.list(g, v, rest, &query),
            _ => status(StatusCode::NOT_FOUND, "NotFound", format!("{path} not found")),
        }
    }

    /// Every version of each group, in Kubernetes' priority order (GA, beta, alpha; higher
    /// first): the first is the preferred one, which need not serve every kind of the group.
    fn group_list(&self) -> Value {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for k in self.kinds.iter().filter(|k| !k.group.is_empty()) {
            let versions = groups.entry(&k.group).or_default();
            if !versions.contains(&k.version.as_str()) {
                versions.push(&k.version);
            }
        }
        let groups: Vec<Value> = groups
            .into_iter()
            .map(|(g, mut versions)| {
                versions.sort_by_key(|v| version_priority(v));
                let listed: Vec<Value> = versions
                    .iter()
                    .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                    .collect();
                json!({"name": g, "versions": listed, "preferredVersion": listed[0]})
            })
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    fn resource_list(&self, group: &str, version: &str) -> Value {
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        let resources: Vec<Value> = self
            .kinds
            .iter()
            .filter(|k| k.group == group && k.version == version)
            .flat_map(|k| {
                let main = json!({"name": k.plural, "singularName": k.kind.to_ascii_lowercase(), "namespaced": k.namespaced, "kind": k.kind, "verbs": ["get", "list", "watch", "create", "delete"]});
                let status = json!({"name": format!("{}/status", k.plural), "namespaced": k.namespaced, "kind": k.kind, "verbs": ["get", "patch"]});
                [main, status]
            })
            .collect();
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
    }

    fn list(&self, group: &str, version: &str, rest: &[&str], query: &BTreeMap<String, String>) -> Response {
        let (namespace, plural) = match rest {
            ["namespaces", ns, plural] => (Some(*ns), *plural),
            [plural] => (None, *plural),
            _ => return status(StatusCode::NOT_FOUND, "NotFound", format!("{rest:?} not found")),
        };
        let Some(kind) = self
            .kinds
            .iter()
            .find(|k| k.group == group && k.version == version && k.plural == plural)
        else {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("the server could not find the requested resource ({plural})"),
            );
        };
        let refused = self
            .config
            .forbidden
            .iter()
            .any(|(p, ns)| p == plural && (ns.is_none() || ns.as_deref() == namespace));
        if refused {
            let scope = namespace.map_or("at the cluster scope".to_string(), |n| {
                format!("in the namespace \"{n}\"")
            });
            return status(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!(
                    "{plural}.{group} is forbidden: User \"system:serviceaccount:tools:netpol-debug\" cannot list resource \"{plural}\" in API group \"{group}\" {scope}"
                ),
            );
        }
        if let Some((_, code)) = self.config.failing.iter().find(|(p, _)| p == plural) {
            let code = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return status(
                code,
                "ServiceUnavailable",
                format!("{plural}: the server is currently unable to handle the request"),
            );
        }
        if query.contains_key("continue")
            && self.config.expire_continue.iter().any(|p| p == plural)
            && !self.expired.lock().unwrap().iter().any(|p| p == plural)
        {
            self.expired.lock().unwrap().push(plural.to_string());
            return status(
                StatusCode::GONE,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.".into(),
            );
        }
        if let Some(sel) = query.get("fieldSelector") {
            let supported = |key: &str| {
                matches!(key, "metadata.name" | "metadata.namespace") || (key == "status.podIP" && kind.kind == "Pod")
            };
            if let Some(bad) = sel
                .split(',')
                .filter_map(|t| t.split_once('='))
                .find(|(k, _)| !supported(k))
            {
                return status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("field label not supported: {}", bad.0),
                );
            }
        }
        let api_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        let mut items: Vec<Value> = self
            .config
            .objects
            .iter()
            .filter(|o| o["apiVersion"] == api_version.as_str() && o["kind"] == kind.kind.as_str())
            .filter(|o| namespace.is_none() || o["metadata"]["namespace"].as_str() == namespace)
            .filter(|o| selects(o, query))
            .cloned()
            .collect();
        items.sort_by_key(|o| {
            (
                o["metadata"]["namespace"].as_str().unwrap_or_default().to_string(),
                o["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            )
        });
        if group.is_empty() || ["apps", "batch", "discovery.k8s.io", "networking.k8s.io"].contains(&group) {
            // Built-in lists leave kind and apiVersion out of their items.
            for o in &mut items {
                if let Value::Object(m) = o {
                    m.remove("kind");
                    m.remove("apiVersion");
                }
            }
        }
        let start: usize = query.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
        let limit = query
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(usize::MAX)
            .min(self.config.page_cap.unwrap_or(usize::MAX));
        let end = start.saturating_add(limit).min(items.len());
        let page: Vec<Value> = items.get(start..end).map(<[Value]>::to_vec).unwrap_or_default();
        let mut metadata = json!({"resourceVersion": "12345"});
        if end < items.len() {
            metadata["continue"] = Value::String(end.to_string());
        }
        ok(
            json!({"kind": format!("{}List", kind.kind), "apiVersion": api_version, "metadata": metadata, "items": page}),
        )
    }
}

/// Sort key of an API version as Kubernetes orders them: `v2` before `v1` before `v1beta2`
/// before `v1beta1` before `v1alpha1`, then anything else by name.
fn version_priority(v: &str) -> (u8, std::cmp::Reverse<u32>, std::cmp::Reverse<u32>, String) {
    use std::cmp::Reverse;
    let parsed = v.strip_prefix('v').and_then(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: u32 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        let (level, minor) = if tail.is_empty() {
            (0, 0)
        } else if let Some(n) = tail.strip_prefix("beta") {
            (1, n.parse().ok()?)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (2, n.parse().ok()?)
        } else {
            return None;
        };
        Some((level, Reverse(major), Reverse(minor), String::new()))
    });
    parsed.unwrap_or((3, Reverse(0), Reverse(0), v.to_string()))
}

/// `fieldSelector` (`metadata.name=`, `metadata.namespace=`, `status.podIP=`) and
/// `labelSelector` (`k=v,k2=v2`).
fn selects(o: &Value, query: &BTreeMap<String, String>) -> bool {
    let field_ok = query.get("fieldSelector").is_none_or(|sel| {
        sel.split(',').all(|term| match term.split_once('=') {
            Some(("metadata.name", v)) => o["metadata"]["name"] == v,
            Some(("metadata.namespace", v)) => o["metadata"]["namespace"] == v,
            Some(("status.podIP", v)) => o["status"]["podIP"] == v,
            _ => false,
        })
    });
    let label_ok = query.get("labelSelector").is_none_or(|sel| {
        sel.split(',').all(|term| match term.split_once('=') {
            Some((k, v)) => o["metadata"]["labels"][k] == v,
            None => false,
        })
    });
    field_ok && label_ok
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
