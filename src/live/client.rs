//! The only code that talks to a Kubernetes API server, and it can only read.
//!
//! Invariant (enforced by types, not by care): [`ReadOnlyClient`] keeps its `kube::Client`
//! private and exposes nothing but [`ReadOnlyClient::list`] and [`ReadOnlyClient::get_json`],
//! which build `GET` requests. Underneath, the client's tower stack carries [`GetOnlyLayer`],
//! which refuses any other method, and any path under `secrets` or `configmaps`, before a byte
//! leaves the process. We never hold `kube::Api`, so `create`/`patch`/`delete` cannot be called.
//!
//! Reading compiles:
//!
//! ```no_run
//! # async fn f(c: netpol_debug::live::ReadOnlyClient) {
//! let pods = c.list("/api/v1/namespaces/shop/pods", "").await;
//! # }
//! ```
//!
//! Nothing else does:
//!
//! ```compile_fail
//! # async fn f(c: netpol_debug::live::ReadOnlyClient) {
//! // There is no way to reach the inner kube::Client (and so no create/patch/delete).
//! let _ = c.inner;
//! # }
//! ```
//!
//! ```compile_fail
//! # async fn f(c: netpol_debug::live::ReadOnlyClient) {
//! let _ = c.delete("/api/v1/namespaces/shop/pods/web").await;
//! # }
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use http::{Method, Request};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

/// Largest page a list asks for (`?limit=`); the API server may return fewer.
pub const PAGE_SIZE: usize = 500;
/// Pages after which a list is abandoned (a server that keeps sending `continue` tokens).
const MAX_PAGES: usize = 10_000;
/// Times a list starts again from its first page when its `continue` token expired (410 Gone:
/// etcd compacted the revision the list was reading, which a list slower than the compaction
/// interval, 5 minutes by default, meets on a busy cluster).
const LIST_RESTARTS: usize = 3;

/// How to reach the cluster, as kubectl resolves it.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `--kubeconfig`; otherwise `KUBECONFIG` (several files merged), `~/.kube/config`, and
    /// then the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`; otherwise the kubeconfig's current-context.
    pub context: Option<String>,
    pub connect_timeout: Duration,
    /// The whole request, pagination excluded (each page has this long).
    pub request_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            kubeconfig: None,
            context: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// 403: RBAC does not allow it.
    Forbidden(String),
    /// 404: the resource is not served (a CRD removed since discovery) or the object is gone.
    NotFound,
    /// 401: the credentials were refused.
    Unauthorized(String),
    /// Anything else: unreachable, timeout, TLS, a 5xx, a body that is not JSON.
    Other(String),
}

/// Tries of a request the server answered "busy" (429, 503, 504) before giving up.
const RETRIES: usize = 3;

/// A failure and the HTTP status the server answered (0 when it did not answer): 429/503/504 are
/// worth another try, and a 410 mid-list means the continue token expired.
struct Retryable(u16, ReadFailure);

impl From<ReadFailure> for Retryable {
    fn from(f: ReadFailure) -> Self {
        Retryable(0, f)
    }
}

impl From<Retryable> for ReadFailure {
    fn from(r: Retryable) -> Self {
        r.1
    }
}

/// A client that can only read: `GET` requests, never Secrets or ConfigMaps.
#[derive(Clone)]
pub struct ReadOnlyClient {
    inner: kube::Client,
    /// `context NAME, server URL` (or `in-cluster service account, server URL`), for messages.
    target: String,
    request_timeout: Duration,
    requests: Arc<AtomicUsize>,
    page_size: usize,
}

impl std::fmt::Debug for ReadOnlyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOnlyClient").field("target", &self.target).finish()
    }
}

impl ReadOnlyClient {
    /// Resolves the kubeconfig (or the in-cluster service account) and builds the client. No
    /// request is made yet.
    pub async fn connect(opts: &ConnectOptions) -> anyhow::Result<ReadOnlyClient> {
        let kubeconfig = match &opts.kubeconfig {
            Some(path) => Some(
                Kubeconfig::read_from(path)
                    .map_err(|e| anyhow::anyhow!("cannot read --kubeconfig {}: {e}", path.display()))?,
            ),
            None => read_default_kubeconfig(opts.context.as_deref())?,
        };
        let (mut config, who) = match kubeconfig {
            Some(kc) => {
                let context = opts.context.clone().or_else(|| kc.current_context.clone());
                let Some(context) = context else {
                    anyhow::bail!("the kubeconfig has no current-context: pass --context NAME");
                };
                if !kc.contexts.iter().any(|c| c.name == context) {
                    let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
                    anyhow::bail!(
                        "--context {context}: no such context in the kubeconfig (contexts: {})",
                        known.join(", ")
                    );
                }
                let options = KubeConfigOptions {
                    context: Some(context.clone()),
                    ..Default::default()
                };
                let config = kube::Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .map_err(|e| anyhow::anyhow!("context {context}: {e}"))?;
                (config, format!("context {context}"))
            }
            None => {
                let config = kube::Config::incluster().map_err(|e| {
                    anyhow::anyhow!(
                        "no kubeconfig (KUBECONFIG unset, ~/.kube/config missing) and not in a cluster: {e}; pass --kubeconfig FILE or --snapshot FILE"
                    )
                })?;
                (config, "in-cluster service account".to_string())
            }
        };
        config.connect_timeout = Some(opts.connect_timeout);
        // The request timeout is ours (tokio::time::timeout around each request), so its
        // error can say which flag sets it.
        config.read_timeout = None;
        // kube's default retry waits up to minutes on a 503 from an aggregated API; ours is
        // bounded (see `get_json`).
        config.default_retry = false;
        let target = format!("{who}, server {}", config.cluster_url);
        let builder = kube::client::ClientBuilder::try_from(config)
            .map_err(|e| anyhow::anyhow!("{target}: cannot build a client: {e}"))?;
        let inner = builder.with_layer(&GetOnlyLayer).build();
        Ok(ReadOnlyClient {
            inner,
            target,
            request_timeout: opts.request_timeout,
            requests: Arc::new(AtomicUsize::new(0)),
            page_size: PAGE_SIZE,
        })
    }

    /// Asks for pages of at most `n` items (default [`PAGE_SIZE`]; at least 1).
    pub fn with_page_size(mut self, n: usize) -> ReadOnlyClient {
        self.page_size = n.max(1);
        self
    }

    /// `context NAME, server URL`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// HTTP requests sent so far (every page counts).
    pub fn request_count(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// `GET path` as JSON. A 429, 503 or 504 is tried again, at most [`RETRIES`] times (0.2 s,
    /// 0.4 s, 0.8 s apart).
    pub async fn get_json(&self, path_and_query: &str) -> Result<Value, ReadFailure> {
        self.get_with_retries(path_and_query).await.map_err(ReadFailure::from)
    }

    /// [`Self::get_json`], keeping the HTTP status of a failure.
    async fn get_with_retries(&self, path_and_query: &str) -> Result<Value, Retryable> {
        let mut delay = Duration::from_millis(200);
        for _ in 0..RETRIES {
            match self.get_once(path_and_query).await {
                Err(Retryable(code @ (429 | 503 | 504), _)) => {
                    tracing::debug!(path = path_and_query, code, "busy; trying again");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                other => return other,
            }
        }
        self.get_once(path_and_query).await
    }

    async fn get_once(&self, path_and_query: &str) -> Result<Value, Retryable> {
        let request = Request::get(path_and_query)
            .body(Vec::new())
            .map_err(|e| ReadFailure::Other(format!("bad request path {path_and_query}: {e}")))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(path = path_and_query, "GET");
        match tokio::time::timeout(self.request_timeout, self.inner.request::<Value>(request)).await {
            Err(_) => Err(ReadFailure::Other(format!(
                "GET {path_and_query}: no answer within {:?} (--request-timeout)",
                self.request_timeout
            ))
            .into()),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(kube::Error::Api(status))) => Err(Retryable(
                status.code,
                match status.code {
                    403 => ReadFailure::Forbidden(status.message.clone()),
                    404 => ReadFailure::NotFound,
                    401 => ReadFailure::Unauthorized(status.message.clone()),
                    code => ReadFailure::Other(format!("GET {path_and_query}: HTTP {code} {}", status.message)),
                },
            )),
            Ok(Err(e)) => Err(ReadFailure::Other(format!("GET {path_and_query}: {}", error_chain(&e))).into()),
        }
    }

    /// Every item of a list (following `continue` tokens), [`PAGE_SIZE`] (or what
    /// [`Self::with_page_size`] set) at a time. `path` is the
    /// collection (e.g. `/api/v1/namespaces/shop/pods`); `query` holds selectors, already
    /// encoded (`fieldSelector=status.podIP%3D10.0.0.1`), or is empty. A `continue` token that
    /// expired (410 Gone) starts the list again from its first page, at most `LIST_RESTARTS` (3)
    /// times, so the items are always one consistent list (never a mix of two revisions).
    pub async fn list(&self, path: &str, query: &str) -> Result<Vec<Value>, ReadFailure> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        let mut restarts = 0;
        for _ in 0..MAX_PAGES {
            let mut url = format!("{path}?limit={}", self.page_size);
            if !query.is_empty() {
                url.push('&');
                url.push_str(query);
            }
            if let Some(t) = &token {
                url.push_str("&continue=");
                url.push_str(&encode(t));
            }
            let mut page = match self.get_with_retries(&url).await {
                Err(Retryable(410, failure)) if token.is_some() => {
                    if restarts == LIST_RESTARTS {
                        return Err(failure);
                    }
                    restarts += 1;
                    tracing::info!(
                        path,
                        restarts,
                        "the list's continue token expired (410); listing again from the start"
                    );
                    items.clear();
                    token = None;
                    continue;
                }
                page => page?,
            };
            if let Some(Value::Array(page_items)) = page.get_mut("items").map(Value::take) {
                items.extend(page_items);
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(items);
            }
        }
        Err(ReadFailure::Other(format!(
            "GET {path}: still paginating after {MAX_PAGES} pages"
        )))
    }
}

/// The kubeconfig as kubectl finds it: the files of `KUBECONFIG` that exist, merged in order
/// (first wins), else `~/.kube/config`; `None` when there is none at all (then the in-cluster
/// service account is used, unless a context was asked for). A file that exists but does not
/// parse is an error, never a silent fallback.
fn read_default_kubeconfig(context: Option<&str>) -> anyhow::Result<Option<Kubeconfig>> {
    let from_env: Vec<PathBuf> = std::env::var_os("KUBECONFIG")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let candidates = if from_env.is_empty() {
        std::env::home_dir()
            .map(|h| h.join(".kube").join("config"))
            .into_iter()
            .collect()
    } else {
        from_env.clone()
    };
    let present: Vec<&PathBuf> = candidates.iter().filter(|p| p.exists()).collect();
    let mut merged: Option<Kubeconfig> = None;
    for path in present {
        let kc = Kubeconfig::read_from(path)
            .map_err(|e| anyhow::anyhow!("cannot read kubeconfig {}: {e}", path.display()))?;
        merged = Some(match merged {
            None => kc,
            Some(m) => m
                .merge(kc)
                .map_err(|e| anyhow::anyhow!("cannot merge kubeconfig {}: {e}", path.display()))?,
        });
    }
    if merged.is_none() {
        if !from_env.is_empty() {
            let listed: Vec<String> = from_env.iter().map(|p| p.display().to_string()).collect();
            anyhow::bail!("none of the KUBECONFIG files exist: {}", listed.join(", "));
        }
        if let Some(c) = context {
            anyhow::bail!("--context {c}: no kubeconfig (KUBECONFIG unset, ~/.kube/config missing)");
        }
    }
    Ok(merged)
}

/// An error and its causes, one line (kube's errors hide the useful part in `source()`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        cur = s.source();
    }
    out
}

/// Percent-encodes a query value (selectors, continue tokens).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether the client stack lets a request through: `GET` only, never a Secret or a ConfigMap
/// (their paths name the resource as a segment), never a proxy, log or exec subresource.
pub fn request_allowed(method: &Method, path: &str) -> Result<(), String> {
    if method != Method::GET {
        return Err(format!("netpol-debug is read-only: refused {method} {path}"));
    }
    let segments: Vec<&str> = path.split('/').collect();
    if segments.iter().any(|s| *s == "secrets" || *s == "configmaps") {
        return Err(format!(
            "netpol-debug never reads Secrets or ConfigMaps: refused GET {path}"
        ));
    }
    // Subresources that reach into workloads (a proxied GET can have effects in the app).
    if segments.iter().any(|s| {
        matches!(
            *s,
            "proxy" | "log" | "exec" | "attach" | "portforward" | "ephemeralcontainers"
        )
    }) {
        return Err(format!(
            "netpol-debug reads objects only, not subresources: refused GET {path}"
        ));
    }
    Ok(())
}

/// A tower layer in the kube client's stack: refuses what [`request_allowed`] refuses, before
/// the request is sent.
#[derive(Debug, Clone, Copy)]
pub struct GetOnlyLayer;

impl<S> tower::Layer<S> for GetOnlyLayer {
    type Service = GetOnly<S>;

    fn layer(&self, inner: S) -> GetOnly<S> {
        GetOnly { inner }
    }
}

/// The service made by [`GetOnlyLayer`].
#[derive(Debug, Clone)]
pub struct GetOnly<S> {
    inner: S,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> tower::Service<Request<B>> for GetOnly<S>
where
    S: tower::Service<Request<B>>,
    S::Error: Into<BoxError>,
    S::Response: Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if let Err(refused) = request_allowed(req.method(), req.uri().path()) {
            tracing::error!("{refused}");
            return Box::pin(std::future::ready(Err(refused.into())));
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service that records that it was reached.
    #[derive(Clone, Default)]
    struct Reached(Arc<AtomicUsize>);

    impl tower::Service<Request<()>> for Reached {
        type Response = ();
        type Error = BoxError;
        type Future = std::future::Ready<Result<(), BoxError>>;

        fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<()>) -> Self::Future {
            self.0.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn read_only_stack_refuses_writes_and_secrets_before_sending() {
        use tower::{Layer, Service};
        let reached = Reached::default();
        let mut svc = GetOnlyLayer.layer(reached.clone());
        let cases = [
            (Method::POST, "/api/v1/namespaces/shop/pods", false),
            (Method::PUT, "/api/v1/namespaces/shop/pods/web", false),
            (
                Method::PATCH,
                "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/p",
                false,
            ),
            (Method::DELETE, "/api/v1/namespaces/shop/pods/web", false),
            (Method::GET, "/api/v1/namespaces/shop/secrets", false),
            (Method::GET, "/api/v1/secrets", false),
            (Method::GET, "/api/v1/namespaces/kube-system/configmaps/coredns", false),
            (Method::GET, "/api/v1/namespaces/shop/services/api/proxy/admin", false),
            (Method::GET, "/api/v1/namespaces/shop/pods/web/log", false),
            (Method::GET, "/api/v1/namespaces/shop/pods/web/exec", false),
            (Method::GET, "/api/v1/namespaces/shop/pods", true),
            (Method::GET, "/apis/networking.k8s.io/v1/networkpolicies", true),
        ];
        for (method, path, allowed) in cases {
            let before = reached.0.load(Ordering::Relaxed);
            let req = Request::builder().method(method.clone()).uri(path).body(()).unwrap();
            let result = svc.call(req).await;
            let sent = reached.0.load(Ordering::Relaxed) > before;
            assert_eq!(result.is_ok(), allowed, "{method} {path}");
            assert_eq!(sent, allowed, "{method} {path} must not reach the network");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("status.podIP=10.0.0.1"), "status.podIP%3D10.0.0.1");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
