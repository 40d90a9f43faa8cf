//! Safety of the Streamable HTTP transport: which `Host` and `Origin` headers are accepted
//! (DNS-rebinding protection, which the MCP Streamable HTTP transport spec requires), an
//! optional bearer token, and the request body limit.
//!
//! [`HttpSafety::protect`] puts an axum middleware in front of rmcp's service; it refuses, in this
//! order: a `Host` that is not allowed (403; malformed or missing: 400), an `Origin` that is
//! present and not allowed (403), a missing or wrong `Authorization: Bearer` token when one is
//! configured (401 with `WWW-Authenticate: Bearer`), and a `Content-Length` over the limit (413).
//! `crate::serve::mcp` sets rmcp's own Host, Origin and body-size checks from the same values
//! ([`HttpSafety::host_list`], [`HttpSafety::origin_list`]), as a second line; rmcp also
//! enforces the body limit while the body streams in, so a chunked body over it is a 413 too.
//! This module knows HTTP, not MCP.
//!
//! Defaults: loopback hosts (`localhost`, `127.0.0.1`, `[::1]`, any port), loopback origins
//! (`http`/`https` on the same names, any port), no token, bodies up to
//! [`DEFAULT_MAX_BODY_BYTES`]. A request without `Origin` (every non-browser client) passes the
//! Origin check. The token is kept only as its SHA-256 digest and compared in constant time; it
//! is never logged.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The default request body limit: 1 MiB. A tool call is a few hundred bytes; the largest
/// legitimate request (a `connectivity_map` with many namespaces) stays far below.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The port `--http` uses when given no value, and the address a bare port binds to.
pub const DEFAULT_HTTP_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A configuration value that cannot be used; the message names the flag or the file.
#[derive(Debug, thiserror::Error)]
pub enum HttpSafetyError {
    #[error("--allow-host {value:?}: {reason}")]
    Host { value: String, reason: String },
    #[error("--allow-origin {value:?}: {reason}")]
    Origin { value: String, reason: String },
    #[error("--auth-token-file {}: cannot read: {error}", path.display())]
    TokenUnreadable { path: PathBuf, error: std::io::Error },
    #[error("--auth-token-file {}: {reason}", path.display())]
    TokenInvalid { path: PathBuf, reason: &'static str },
    #[error("--max-body-bytes: must be at least 1")]
    ZeroBodyLimit,
}

/// A `Host` rule: a name (lowercase, IPv6 without brackets, no trailing dot) and a port, or any
/// port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostRule {
    host: String,
    port: Option<u16>,
}

/// An `Origin` rule: scheme, host and port (`None`: any port).
#[derive(Debug, Clone, PartialEq, Eq)]
struct OriginRule {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl OriginRule {
    /// The form rmcp's `allowed_origins` reads (`scheme://host:port` or `scheme://host:*`).
    fn to_rmcp(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{}://{host}:{p}", self.scheme),
            None => format!("{}://{host}:*", self.scheme),
        }
    }
}

/// A bearer token, kept as its SHA-256 digest: comparing digests in constant time hides both the
/// token's bytes and its length. `Debug` never shows it.
#[derive(Clone)]
pub struct BearerToken {
    digest: [u8; 32],
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl BearerToken {
    /// A token from its text (surrounding whitespace trimmed). `None` when empty or not a
    /// valid header value (`Authorization: Bearer TOKEN` must be able to carry it).
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        if token.is_empty() || HeaderValue::from_str(token).is_err() {
            return None;
        }
        Some(BearerToken {
            digest: sha256(token.as_bytes()),
        })
    }

    /// Reads the token from a file once (`--auth-token-file`): trimmed, non-empty, one line.
    pub fn from_file(path: &Path) -> Result<Self, HttpSafetyError> {
        let bytes = std::fs::read(path).map_err(|error| HttpSafetyError::TokenUnreadable {
            path: path.to_path_buf(),
            error,
        })?;
        let invalid = |reason| HttpSafetyError::TokenInvalid {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| invalid("the token is not UTF-8 text"))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(invalid("the file is empty (it must hold the token)"));
        }
        if token.contains(['\n', '\r']) {
            return Err(invalid(
                "the file holds more than one line (it must hold only the token)",
            ));
        }
        BearerToken::new(token).ok_or_else(|| invalid("the token has characters an HTTP header cannot carry"))
    }

    /// Constant-time comparison with a presented token.
    pub fn matches(&self, presented: &str) -> bool {
        bool::from(self.digest.ct_eq(&sha256(presented.as_bytes())))
    }
}

/// Who may talk to the HTTP server: see the module documentation.
#[derive(Debug, Clone)]
pub struct HttpSafety {
    /// `None`: any `Host` (`--allow-host '*'`).
    hosts: Option<Vec<HostRule>>,
    origins: Vec<OriginRule>,
    token: Option<BearerToken>,
    max_body_bytes: usize,
    /// Hosts added beyond the loopback defaults (for the exposure warning).
    extra_hosts: bool,
}

impl Default for HttpSafety {
    fn default() -> Self {
        Self::loopback()
    }
}

/// `name`, `name:port`, `IPv4`, `IPv4:port`, `[IPv6]`, `[IPv6]:port` (or a bare IPv6). The name
/// is lowercased, without a trailing dot; an IPv6 address is kept in its canonical text form.
fn parse_authority(value: &str) -> Option<HostRule> {
    let v = value.trim();
    if let Ok(ip) = v.parse::<Ipv6Addr>() {
        return Some(HostRule {
            host: ip.to_string(),
            port: None,
        });
    }
    let port_of = |p: &str| {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse::<u16>().ok()
    };
    if let Some(rest) = v.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let ip = h.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(port_of(p.strip_prefix(':')?)?),
        };
        return Some(HostRule {
            host: ip.to_string(),
            port,
        });
    }
    let (host, port) = match v.rsplit_once(':') {
        None => (v, None),
        Some((h, p)) => (h, Some(port_of(p)?)),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
        return None;
    }
    Some(HostRule {
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// An origin as browsers send it: `scheme://host[:port]`. `None` for `null` and anything else.
fn parse_origin(value: &str) -> Option<(String, String, Option<u16>)> {
    let value = value.trim();
    let (scheme, rest) = value.split_once("://")?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return None;
    }
    let rule = parse_authority(rest)?;
    Some((scheme.to_ascii_lowercase(), rule.host, rule.port))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Why a request was refused: the status and a reason (the response body and the log line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: String,
    /// For 401: the `WWW-Authenticate` value.
    pub challenge: Option<&'static str>,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Refusal {
            status,
            reason: reason.into(),
            challenge: None,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.reason)).into_response();
        if let Some(challenge) = self.challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

impl HttpSafety {
    /// The defaults: loopback hosts and origins, no token, [`DEFAULT_MAX_BODY_BYTES`].
    pub fn loopback() -> Self {
        let hosts = LOOPBACK_NAMES
            .iter()
            .map(|h| HostRule {
                host: (*h).to_string(),
                port: None,
            })
            .collect();
        let origins = LOOPBACK_NAMES
            .iter()
            .flat_map(|h| {
                ["http", "https"].map(|scheme| OriginRule {
                    scheme: scheme.to_string(),
                    host: (*h).to_string(),
                    port: None,
                })
            })
            .collect();
        HttpSafety {
            hosts: Some(hosts),
            origins,
            token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            extra_hosts: false,
        }
    }

    /// `--allow-host HOST`: accept `Host: HOST` (any port unless HOST has one) and the browser
    /// origins `http://HOST` and `https://HOST` (same port rule). `*` accepts any `Host` (and
    /// adds no origin).
    pub fn allow_host(&mut self, value: &str) -> Result<(), HttpSafetyError> {
        if value.trim() == "*" {
            self.hosts = None;
            self.extra_hosts = true;
            return Ok(());
        }
        let rule = parse_authority(value).ok_or_else(|| HttpSafetyError::Host {
            value: value.to_string(),
            reason: "expected a host name or IP address, optionally with :PORT (e.g. netpol-debug.tools.svc or netpol-debug.tools.svc.cluster.local:8080), or *".into(),
        })?;
        for scheme in ["http", "https"] {
            let origin = OriginRule {
                scheme: scheme.to_string(),
                host: rule.host.clone(),
                port: rule.port,
            };
            if !self.origins.contains(&origin) {
                self.origins.push(origin);
            }
        }
        if let Some(hosts) = &mut self.hosts
            && !hosts.contains(&rule)
        {
            hosts.push(rule);
        }
        self.extra_hosts = true;
        Ok(())
    }

    /// `--allow-origin ORIGIN`: accept a browser origin `scheme://host[:port]`; `:*` for any
    /// port; without a port, the scheme's default port (80 for http, 443 for https).
    pub fn allow_origin(&mut self, value: &str) -> Result<(), HttpSafetyError> {
        let err = |reason: &str| HttpSafetyError::Origin {
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let v = value.trim();
        let (base, any_port) = match v.strip_suffix(":*") {
            Some(base) => (base, true),
            None => (v, false),
        };
        let (scheme, host, port) = parse_origin(base)
            .ok_or_else(|| err("expected scheme://host[:port] (e.g. https://app.example.com, http://localhost:*)"))?;
        if any_port && port.is_some() {
            return Err(err("a port and :* together"));
        }
        let port = if any_port {
            None
        } else {
            match port.or_else(|| default_port(&scheme)) {
                Some(p) => Some(p),
                None => return Err(err("give a port or :* for a scheme other than http and https")),
            }
        };
        let rule = OriginRule { scheme, host, port };
        if !self.origins.contains(&rule) {
            self.origins.push(rule);
        }
        Ok(())
    }

    /// `--auth-token-file`: require `Authorization: Bearer TOKEN`.
    pub fn set_token(&mut self, token: BearerToken) {
        self.token = Some(token);
    }

    /// `--max-body-bytes`.
    pub fn set_max_body_bytes(&mut self, bytes: usize) -> Result<(), HttpSafetyError> {
        if bytes == 0 {
            return Err(HttpSafetyError::ZeroBodyLimit);
        }
        self.max_body_bytes = bytes;
        Ok(())
    }

    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    /// The allowed hosts as written in logs (`*` for any).
    pub fn describe_hosts(&self) -> String {
        match &self.hosts {
            None => "*".into(),
            Some(hosts) => hosts
                .iter()
                .map(|h| {
                    let host = if h.host.contains(':') {
                        format!("[{}]", h.host)
                    } else {
                        h.host.clone()
                    };
                    match h.port {
                        Some(p) => format!("{host}:{p}"),
                        None => host,
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The allowed hosts as `host`, `host:port` or `[v6]:port` (the form rmcp's `allowed_hosts`
    /// reads); `None` when any host is allowed.
    pub fn host_list(&self) -> Option<Vec<String>> {
        self.hosts.as_ref().map(|hosts| {
            hosts
                .iter()
                .map(|h| match h.port {
                    Some(p) if h.host.contains(':') => format!("[{}]:{p}", h.host),
                    Some(p) => format!("{}:{p}", h.host),
                    None => h.host.clone(),
                })
                .collect()
        })
    }

    /// The allowed origins as `scheme://host:port` or `scheme://host:*` (the form rmcp's
    /// `allowed_origins` reads).
    pub fn origin_list(&self) -> Vec<String> {
        self.origins.iter().map(OriginRule::to_rmcp).collect()
    }

    /// Warnings for a server bound to `bound`: beyond loopback, with only loopback `Host`
    /// names allowed (remote clients get 403), or without a token (anyone who reaches the port
    /// can call the tools).
    pub fn exposure_warnings(&self, bound: SocketAddr) -> Vec<String> {
        if bound.ip().is_loopback() {
            return Vec::new();
        }
        let mut warnings = Vec::new();
        if !self.extra_hosts {
            warnings.push(format!(
                "listening on {bound}, beyond loopback, but only loopback Host headers are allowed ({}): \
                 clients that reach the server by another name or address get 403; \
                 add --allow-host NAME for each name they use (e.g. the Service's DNS name)",
                self.describe_hosts()
            ));
        }
        if self.token.is_none() {
            warnings.push(format!(
                "listening on {bound}, beyond loopback, without --auth-token-file: anyone who can reach \
                 this address can call the tools and read what the cluster data holds"
            ));
        }
        warnings
    }

    fn host_allowed(&self, host: &HostRule) -> bool {
        match &self.hosts {
            None => true,
            Some(rules) => rules
                .iter()
                .any(|r| r.host == host.host && r.port.is_none_or(|p| host.port == Some(p))),
        }
    }

    fn origin_allowed(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let port = port.or_else(|| default_port(scheme));
        self.origins
            .iter()
            .any(|r| r.scheme == scheme && r.host == host && r.port.is_none_or(|p| port == Some(p)))
    }

    /// The checks on one request's headers (and its URI's authority, for absolute-form
    /// requests without `Host`), in order: Host, Origin, token, declared body size.
    pub fn check(&self, uri: &http::Uri, headers: &HeaderMap) -> Result<(), Refusal> {
        self.check_host(uri, headers)?;
        self.check_origin(headers)?;
        self.check_token(headers)?;
        self.check_content_length(headers)
    }

    /// Host (or the URI's authority): present, well-formed and allowed (DNS-rebinding
    /// protection).
    fn check_host(&self, uri: &http::Uri, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = match headers.get(header::HOST) {
            Some(v) => v.to_str().ok().map(str::to_string),
            None => uri.authority().map(|a| a.as_str().to_string()),
        };
        let Some(host) = host else {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "Bad Request: missing or non-ASCII Host header",
            ));
        };
        let Some(rule) = parse_authority(&host) else {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "Bad Request: malformed Host header",
            ));
        };
        if !self.host_allowed(&rule) {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!("Forbidden: Host {host:?} is not allowed (DNS-rebinding protection; see --allow-host)"),
            ));
        }
        Ok(())
    }

    /// Origin: absent passes (non-browser clients); present must be allowed.
    fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let Some(text) = origin.to_str().ok() else {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "Forbidden: Origin header is not ASCII",
            ));
        };
        let allowed = parse_origin(text).is_some_and(|(s, h, p)| self.origin_allowed(&s, &h, p));
        if !allowed {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!("Forbidden: Origin {text:?} is not allowed (see --allow-origin, --allow-host)"),
            ));
        }
        Ok(())
    }

    /// The bearer token, when the server requires one: present and valid.
    fn check_token(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        let Some(presented) = presented else {
            return Err(Refusal {
                status: StatusCode::UNAUTHORIZED,
                reason: "Unauthorized: this server requires Authorization: Bearer TOKEN".into(),
                challenge: Some("Bearer realm=\"netpol-debug\""),
            });
        };
        let good = match presented.split_once(' ') {
            Some((scheme, value)) if scheme.eq_ignore_ascii_case("bearer") => token.matches(value.trim()),
            _ => false,
        };
        if !good {
            return Err(Refusal {
                status: StatusCode::UNAUTHORIZED,
                reason: "Unauthorized: the bearer token is not valid".into(),
                challenge: Some("Bearer realm=\"netpol-debug\", error=\"invalid_token\""),
            });
        }
        Ok(())
    }

    /// The declared body size, when declared: well-formed and within the limit (a streamed
    /// body is limited by rmcp as it arrives).
    fn check_content_length(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let Some(len) = headers.get(header::CONTENT_LENGTH) else {
            return Ok(());
        };
        match len.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) {
            None => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "Bad Request: malformed Content-Length",
            )),
            Some(n) if n > self.max_body_bytes as u64 => Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "Payload Too Large: the body is {n} bytes, the limit is {} (--max-body-bytes)",
                    self.max_body_bytes
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Puts the checks in front of every route of `router`. Serve the result with
    /// `into_make_service_with_connect_info::<SocketAddr>()` to log the peer of a refusal.
    pub fn protect(self: Arc<Self>, router: axum::Router) -> axum::Router {
        router.layer(axum::middleware::from_fn_with_state(self, guard))
    }
}

async fn guard(State(safety): State<Arc<HttpSafety>>, request: Request, next: Next) -> Response {
    match safety.check(request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.to_string())
                .unwrap_or_else(|| "unknown".into());
            // The reason names Host and Origin values, never the token.
            tracing::warn!(
                status = refusal.status.as_u16(),
                %peer,
                method = %request.method(),
                path = %request.uri().path(),
                "refused an HTTP request: {}",
                refusal.reason
            );
            refusal.into_response()
        }
    }
}

/// `--http` values: `IP:PORT` (`[IPv6]:PORT`), `localhost:PORT`, or a bare `PORT` (on
/// 127.0.0.1).
pub fn parse_listen_addr(value: &str) -> Result<SocketAddr, String> {
    let v = value.trim();
    if let Ok(port) = v.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(addr) = v.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(port) = v.strip_prefix("localhost:").and_then(|p| p.parse::<u16>().ok()) {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    Err(format!(
        "expected IP:PORT (e.g. 127.0.0.1:8080, 0.0.0.0:8080, [::1]:8080), localhost:PORT, or a bare PORT (on 127.0.0.1); got {value:?}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn status(s: &HttpSafety, pairs: &[(&str, &str)]) -> u16 {
        match s.check(&http::Uri::from_static("/mcp"), &headers(pairs)) {
            Ok(()) => 200,
            Err(r) => r.status.as_u16(),
        }
    }

    #[test]
    fn loopback_defaults() {
        let s = HttpSafety::loopback();
        for host in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:8080",
            "[::1]",
            "LOCALHOST.",
        ] {
            assert_eq!(status(&s, &[("host", host)]), 200, "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "localhost.evil.example",
        ] {
            assert_eq!(status(&s, &[("host", host)]), 403, "{host}");
        }
        assert_eq!(status(&s, &[]), 400);
        for origin in ["http://localhost:3000", "https://127.0.0.1", "http://[::1]:6274"] {
            assert_eq!(
                status(&s, &[("host", "localhost"), ("origin", origin)]),
                200,
                "{origin}"
            );
        }
        for origin in [
            "http://evil.example",
            "null",
            "https://localhost.evil.example",
            "file://",
            "x",
        ] {
            assert_eq!(
                status(&s, &[("host", "localhost"), ("origin", origin)]),
                403,
                "{origin}"
            );
        }
    }

    #[test]
    fn allow_host_adds_host_and_origins() {
        let mut s = HttpSafety::loopback();
        s.allow_host("netpol-debug.tools.svc").unwrap();
        s.allow_host("netpol-debug.tools.svc.cluster.local:8080").unwrap();
        assert_eq!(status(&s, &[("host", "netpol-debug.tools.svc:8080")]), 200);
        assert_eq!(
            status(&s, &[("host", "netpol-debug.tools.svc.cluster.local:8080")]),
            200
        );
        assert_eq!(
            status(&s, &[("host", "netpol-debug.tools.svc.cluster.local:9090")]),
            403
        );
        assert_eq!(
            status(
                &s,
                &[
                    ("host", "netpol-debug.tools.svc"),
                    ("origin", "https://netpol-debug.tools.svc")
                ]
            ),
            200
        );
        assert_eq!(
            status(
                &s,
                &[
                    ("host", "netpol-debug.tools.svc"),
                    ("origin", "http://netpol-debug.tools.svc.cluster.local:80")
                ]
            ),
            403
        );
        for bad in ["", "http://x", "a b", "x:y", "user@host"] {
            assert!(s.allow_host(bad).is_err(), "{bad:?}");
        }
        let mut any = HttpSafety::loopback();
        any.allow_host("*").unwrap();
        assert_eq!(status(&any, &[("host", "10.1.2.3:8080")]), 200);
        assert_eq!(
            status(&any, &[("host", "10.1.2.3:8080"), ("origin", "http://10.1.2.3:8080")]),
            403
        );
    }

    #[test]
    fn allow_origin_ports() {
        let mut s = HttpSafety::loopback();
        s.allow_origin("https://app.example.com").unwrap();
        s.allow_origin("http://dev.example.com:*").unwrap();
        let h = |o: &'static str| [("host", "localhost"), ("origin", o)];
        assert_eq!(status(&s, &h("https://app.example.com")), 200);
        assert_eq!(status(&s, &h("https://app.example.com:443")), 200);
        assert_eq!(status(&s, &h("https://app.example.com:8443")), 403);
        assert_eq!(status(&s, &h("http://app.example.com")), 403);
        assert_eq!(status(&s, &h("http://dev.example.com:1234")), 200);
        for bad in ["app.example.com", "https://a:1:*", "vscode-webview://x", "null"] {
            assert!(s.allow_origin(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bearer_token() {
        let mut s = HttpSafety::loopback();
        s.set_token(BearerToken::new(" s3cret\n").unwrap());
        assert_eq!(status(&s, &[("host", "localhost")]), 401);
        assert_eq!(
            status(&s, &[("host", "localhost"), ("authorization", "Bearer nope")]),
            401
        );
        assert_eq!(
            status(&s, &[("host", "localhost"), ("authorization", "Basic s3cret")]),
            401
        );
        assert_eq!(
            status(&s, &[("host", "localhost"), ("authorization", "Bearer s3cre")]),
            401
        );
        assert_eq!(
            status(&s, &[("host", "localhost"), ("authorization", "Bearer s3cret")]),
            200
        );
        assert_eq!(
            status(&s, &[("host", "localhost"), ("authorization", "bearer s3cret")]),
            200
        );
        // Host and Origin come first: a bad Host is 403 even without a token.
        assert_eq!(status(&s, &[("host", "evil.example")]), 403);
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(BearerToken::new("  ").is_none());
    }

    #[test]
    fn body_limit_from_content_length() {
        let mut s = HttpSafety::loopback();
        s.set_max_body_bytes(10).unwrap();
        assert_eq!(status(&s, &[("host", "localhost"), ("content-length", "10")]), 200);
        assert_eq!(status(&s, &[("host", "localhost"), ("content-length", "11")]), 413);
        assert_eq!(status(&s, &[("host", "localhost"), ("content-length", "x")]), 400);
        assert!(s.set_max_body_bytes(0).is_err());
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen_addr("8080").unwrap(), DEFAULT_HTTP_ADDR);
        assert_eq!(parse_listen_addr("localhost:8080").unwrap(), DEFAULT_HTTP_ADDR);
        assert_eq!(parse_listen_addr("0.0.0.0:9000").unwrap().to_string(), "0.0.0.0:9000");
        assert_eq!(parse_listen_addr("[::1]:9000").unwrap().to_string(), "[::1]:9000");
        assert!(parse_listen_addr("example.com:80").is_err());
        assert!(parse_listen_addr("70000").is_err());
    }

    #[test]
    fn exposure_warnings() {
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let mut s = HttpSafety::loopback();
        assert!(s.exposure_warnings(lo).is_empty());
        assert_eq!(s.exposure_warnings(any).len(), 2);
        s.allow_host("netpol-debug.tools.svc").unwrap();
        s.set_token(BearerToken::new("t").unwrap());
        assert!(s.exposure_warnings(any).is_empty());
    }

    #[test]
    fn lists_for_rmcp() {
        let mut s = HttpSafety::loopback();
        s.allow_host("svc.ns:8080").unwrap();
        s.allow_host("[::2]:80").unwrap();
        let hosts = s.host_list().unwrap();
        for h in ["localhost", "127.0.0.1", "::1", "svc.ns:8080", "[::2]:80"] {
            assert!(hosts.contains(&h.to_string()), "{h} in {hosts:?}");
        }
        let origins = s.origin_list();
        for o in [
            "http://[::1]:*",
            "https://localhost:*",
            "https://svc.ns:8080",
            "http://[::2]:80",
        ] {
            assert!(origins.contains(&o.to_string()), "{o} in {origins:?}");
        }
        s.allow_host("*").unwrap();
        assert_eq!(s.host_list(), None);
    }
}
