//! The Streamable HTTP server's safety checks over real HTTP on 127.0.0.1 (a plain HTTP/1.1
//! client over a TCP socket, so every header, including `Host`, is ours to set): Origin and Host
//! (DNS-rebinding protection), `--allow-host`, the bearer token, the body limit; after every
//! refusal no tool has run and the server still serves. Then the real binary: `serve --http
//! 127.0.0.1:0` with the flags, and start-up errors that name the flag or the file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use netpol_debug::index::Semantics;
use netpol_debug::serve::http_safety::{BearerToken, HttpSafety};
use netpol_debug::serve::mcp;
use netpol_debug::serve::source::{Context, ContextSource, Scope};
use netpol_debug::snapshot;
use tokio_util::sync::CancellationToken;

const IO_TIMEOUT: Duration = Duration::from_secs(20);
const EX01: &str = "examples/01-default-deny-ingress/cluster.yaml";

fn ex01() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(EX01)
}

/// A snapshot source that counts the tool calls that reached it: a refused request must leave
/// the count unchanged.
struct Counting {
    ctx: Arc<Context>,
    calls: Arc<AtomicUsize>,
}

impl ContextSource for Counting {
    fn describe(&self) -> String {
        self.ctx.source.clone()
    }

    fn live(&self) -> bool {
        false
    }

    fn context_for<'a>(&'a self, _scope: &'a Scope) -> futures::future::BoxFuture<'a, Result<Arc<Context>, String>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(self.ctx.clone())))
    }
}

/// `serve_http` on 127.0.0.1:0 in a runtime of its own; stopped on drop.
struct Server {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    shutdown: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(safety: HttpSafety) -> Server {
        let path = ex01();
        let snap = snapshot::load_paths(std::slice::from_ref(&path)).expect("example 01 loads");
        let ctx = Arc::new(Context::from_snapshot(
            &snap,
            Semantics::default(),
            format!("snapshot {EX01}"),
        ));
        let calls = Arc::new(AtomicUsize::new(0));
        let source: Arc<dyn ContextSource> = Arc::new(Counting {
            ctx,
            calls: calls.clone(),
        });
        let shutdown = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stop = shutdown.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
            if let Err(e) = runtime.block_on(mcp::serve_http(source, addr, safety, stop, Some(tx))) {
                eprintln!("serve_http failed: {e:#}");
            }
        });
        let addr = rx.blocking_recv().expect("the server reports its address");
        Server {
            addr,
            calls,
            shutdown,
            thread: Some(thread),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes a chunked body (the SSE responses are chunked).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size else { return out };
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            out.extend_from_slice(&raw[..size.min(raw.len())]);
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or(&[]);
    }
}

/// Sends raw request bytes on a fresh connection and reads the reply to the end
/// (`Connection: close`).
fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.write_all(request).expect("send the request");
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw)
        && raw.is_empty()
    {
        panic!("no reply: {e}");
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let body_raw = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(body_raw) } else { body_raw.to_vec() };
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A POST /mcp with a JSON body and the given extra headers; `Host` is the server's address
/// unless one is given.
fn post(server: &Server, extra: &[(&str, &str)], body: &str) -> Reply {
    let mut req = String::from("POST /mcp HTTP/1.1\r\n");
    if !extra.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {}\r\n", server.host()));
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n");
    req.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    exchange(server.addr, req.as_bytes())
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"http-safety-test","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const DIAGNOSE: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"diagnose","arguments":{"from":"shop/frontend-7d9f","to":"shop/api-5c6b","port":8080}}}"#;

/// initialize + notifications/initialized with these headers; the session id.
fn open_session(server: &Server, extra: &[(&str, &str)]) -> String {
    let r = post(server, extra, INITIALIZE);
    assert_eq!(r.status, 200, "initialize: {r:?}");
    assert!(r.body.contains("netpol-debug"), "initialize names the server: {r:?}");
    let session = r
        .header("mcp-session-id")
        .unwrap_or_else(|| panic!("no Mcp-Session-Id in {r:?}"))
        .to_string();
    let mut h = extra.to_vec();
    h.push(("Mcp-Session-Id", &session));
    h.push(("MCP-Protocol-Version", "2025-11-25"));
    let r = post(server, &h, INITIALIZED);
    assert!(r.status == 202 || r.status == 200, "notifications/initialized: {r:?}");
    session
}

/// tools/call diagnose in a session, with extra headers.
fn diagnose(server: &Server, session: &str, extra: &[(&str, &str)]) -> Reply {
    let mut h = extra.to_vec();
    h.push(("Mcp-Session-Id", session));
    h.push(("MCP-Protocol-Version", "2025-11-25"));
    post(server, &h, DIAGNOSE)
}

/// A valid call answers with the diagnosis and reaches the source once more.
fn assert_serves(server: &Server, session: &str, extra: &[(&str, &str)]) {
    let before = server.calls();
    let r = diagnose(server, session, extra);
    assert_eq!(r.status, 200, "a valid call after a refusal: {r:?}");
    assert!(r.body.contains("DEFAULT_DENY_INGRESS"), "the diagnosis: {r:?}");
    assert_eq!(server.calls(), before + 1, "the tool ran once");
}

/// A refusal with `status`, and no tool ran.
fn assert_refused(server: &Server, r: &Reply, status: u16, calls_before: usize) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(server.calls(), calls_before, "no tool ran on a refused request: {r:?}");
}

#[test]
fn an_origin_that_is_not_allowed_is_403_and_no_tool_runs() {
    let server = Server::start(HttpSafety::loopback());
    let session = open_session(&server, &[]);
    assert_serves(&server, &session, &[]);
    for origin in [
        "http://evil.example",
        "https://evil.example:443",
        "http://localhost.evil.example",
        "null",
    ] {
        let before = server.calls();
        let r = diagnose(&server, &session, &[("Origin", origin)]);
        assert_refused(&server, &r, 403, before);
        assert!(r.body.contains("Origin"), "the reason names the Origin: {r:?}");
        assert_serves(&server, &session, &[]);
    }
    // A session cannot even be opened from a foreign page.
    let r = post(&server, &[("Origin", "http://evil.example")], INITIALIZE);
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.header("mcp-session-id").is_none());
    // Loopback origins (a local inspector page) are allowed, on any port.
    for origin in ["http://localhost:6274", "http://127.0.0.1:3000", "https://[::1]"] {
        assert_serves(&server, &session, &[("Origin", origin)]);
    }
}

#[test]
fn a_host_that_is_not_allowed_is_403() {
    let server = Server::start(HttpSafety::loopback());
    let session = open_session(&server, &[]);
    let port = server.addr.port();
    // DNS rebinding: a page on attacker.example whose name now resolves to 127.0.0.1.
    for (host, origin) in [
        (
            format!("attacker.example:{port}"),
            Some(format!("http://attacker.example:{port}")),
        ),
        (format!("attacker.example:{port}"), None),
        ("10.0.0.1".to_string(), None),
    ] {
        let before = server.calls();
        let mut h = vec![("Host", host.as_str())];
        if let Some(o) = &origin {
            h.push(("Origin", o.as_str()));
        }
        let r = diagnose(&server, &session, &h);
        assert_refused(&server, &r, 403, before);
        assert!(r.body.contains("Host"), "the reason names the Host: {r:?}");
        assert_serves(&server, &session, &[]);
    }
    // Malformed Host: 400.
    let before = server.calls();
    let r = diagnose(&server, &session, &[("Host", "a b")]);
    assert_refused(&server, &r, 400, before);
    // Every loopback spelling is allowed.
    for host in [
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert_serves(&server, &session, &[("Host", &host)]);
    }
}

#[test]
fn allow_host_admits_that_host_and_its_origins() {
    let mut safety = HttpSafety::loopback();
    safety.allow_host("netpol-debug.tools.svc").unwrap();
    safety.allow_host("netpol-debug.tools.svc.cluster.local:8080").unwrap();
    let server = Server::start(safety);
    let port = server.addr.port();
    let svc = format!("netpol-debug.tools.svc:{port}");
    // rmcp's own Host check agrees: a whole session through the Service name.
    let session = open_session(&server, &[("Host", &svc)]);
    assert_serves(&server, &session, &[("Host", &svc)]);
    assert_serves(
        &server,
        &session,
        &[("Host", &svc), ("Origin", &format!("http://{svc}"))],
    );
    assert_serves(
        &server,
        &session,
        &[("Host", "netpol-debug.tools.svc.cluster.local:8080")],
    );
    // A port given to --allow-host is the only port.
    let before = server.calls();
    let r = diagnose(
        &server,
        &session,
        &[("Host", "netpol-debug.tools.svc.cluster.local:9090")],
    );
    assert_refused(&server, &r, 403, before);
    // Other names are still refused.
    let r = diagnose(&server, &session, &[("Host", "other.tools.svc")]);
    assert_refused(&server, &r, 403, before);
    assert_serves(&server, &session, &[]);
}

fn temp_file(name: &str, content: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("netpol-debug-http-safety-{}-{name}", std::process::id()));
    std::fs::write(&path, content).expect("write a temporary file");
    path
}

#[test]
fn bearer_token_missing_or_wrong_is_401_right_is_200() {
    let file = temp_file("token", "  correct-horse-battery-staple\n");
    let token = BearerToken::from_file(&file).expect("the token file reads");
    let _ = std::fs::remove_file(&file);
    let mut safety = HttpSafety::loopback();
    safety.set_token(token);
    let server = Server::start(safety);
    let good = [("Authorization", "Bearer correct-horse-battery-staple")];

    // No token: not even a session.
    let r = post(&server, &[], INITIALIZE);
    assert_refused(&server, &r, 401, 0);
    assert!(
        r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")),
        "WWW-Authenticate: Bearer: {r:?}"
    );

    let session = open_session(&server, &good);
    assert_serves(&server, &session, &good);
    for (label, value) in [
        ("missing", None),
        ("wrong", Some("Bearer correct-horse-battery-stapler")),
        ("prefix", Some("Bearer correct-horse")),
        ("empty", Some("Bearer ")),
        ("other scheme", Some("Basic Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5LXN0YXBsZQ==")),
        ("no scheme", Some("correct-horse-battery-staple")),
    ] {
        let before = server.calls();
        let h: Vec<(&str, &str)> = value.map(|v| ("Authorization", v)).into_iter().collect();
        let r = diagnose(&server, &session, &h);
        assert_refused(&server, &r, 401, before);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{label}: WWW-Authenticate: {r:?}");
        if value.is_some() {
            assert!(challenge.contains("invalid_token"), "{label}: {challenge}");
        }
        assert!(
            !r.body.contains("correct-horse"),
            "{label}: the reply never echoes a token"
        );
        assert_serves(&server, &session, &good);
    }
    // Host and Origin come first, token or not.
    let before = server.calls();
    let r = diagnose(&server, &session, &[good[0], ("Origin", "http://evil.example")]);
    assert_refused(&server, &r, 403, before);
}

#[test]
fn a_body_over_the_limit_is_413() {
    // The default limit, from Content-Length alone: refused before the body is sent.
    let server = Server::start(HttpSafety::loopback());
    let session = open_session(&server, &[]);
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: {session}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.host(),
        netpol_debug::serve::http_safety::DEFAULT_MAX_BODY_BYTES + 1
    );
    let r = exchange(server.addr, head.as_bytes());
    assert_refused(&server, &r, 413, 0);
    assert_serves(&server, &session, &[]);
    drop(server);

    // A smaller limit: a real body over it with Content-Length, and chunked (no length: rmcp
    // stops reading at the limit).
    let mut safety = HttpSafety::loopback();
    safety.set_max_body_bytes(4096).unwrap();
    let server = Server::start(safety);
    let session = open_session(&server, &[]);
    let padding = "x".repeat(5000);
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"diagnose","arguments":{{"from":"shop/frontend-7d9f","to":"shop/api-5c6b","port":8080,"pad":"{padding}"}}}}}}"#
    );
    let r = post(
        &server,
        &[("Mcp-Session-Id", &session), ("MCP-Protocol-Version", "2025-11-25")],
        &big,
    );
    assert_refused(&server, &r, 413, 0);
    assert_serves(&server, &session, &[]);

    let before = server.calls();
    let mut req = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.host()
    );
    for chunk in big.as_bytes().chunks(1000) {
        req.push_str(&format!("{:x}\r\n{}\r\n", chunk.len(), String::from_utf8_lossy(chunk)));
    }
    req.push_str("0\r\n\r\n");
    let r = exchange(server.addr, req.as_bytes());
    assert_refused(&server, &r, 413, before);
    assert_serves(&server, &session, &[]);
}

// ---- the real binary

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netpol-debug"))
}

/// The binary serving HTTP; killed on drop.
struct Served {
    child: Child,
    addr: SocketAddr,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `netpol-debug serve --snapshot EX01 ARGS...` and learns the bound address from the
/// line `serving MCP (read-only) at http://ADDR/mcp` it prints at the default log level.
fn spawn_http(args: &[&str]) -> Served {
    let mut child = bin()
        .args(["serve", "--snapshot"])
        .arg(ex01())
        .args(args)
        .env_remove("NETPOL_DEBUG_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run netpol-debug");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("netpol-debug exited ({status}) before listening:\n{}", seen.join("\n"));
            }
            continue;
        };
        if let Some(rest) = line.split("serving MCP (read-only) at http://").nth(1) {
            let addr = rest.split("/mcp").next().unwrap_or("");
            let addr: SocketAddr = addr.parse().unwrap_or_else(|_| panic!("no address in {line:?}"));
            return Served {
                child,
                addr,
                stderr: rx,
            };
        }
        seen.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("netpol-debug did not report its address:\n{}", seen.join("\n"));
}

#[test]
fn the_binary_serves_http_on_port_zero_with_the_safety_flags() {
    let token_file = temp_file("cli-token", "t0ken-for-the-cli-test\n");
    let served = spawn_http(&[
        "--http",
        "127.0.0.1:0",
        "--allow-host",
        "netpol-debug.tools.svc",
        "--auth-token-file",
        token_file.to_str().unwrap(),
        "--max-body-bytes",
        "2048",
    ]);
    let _ = std::fs::remove_file(&token_file);
    assert!(
        served.addr.ip().is_loopback() && served.addr.port() != 0,
        "{}",
        served.addr
    );
    // The same requests as above, through a stand-in `Server` that only names the address.
    let port = served.addr.port();
    let send = |extra: &[(&str, &str)], body: &str| {
        let mut req = String::from("POST /mcp HTTP/1.1\r\n");
        for (k, v) in extra {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n");
        req.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        exchange(served.addr, req.as_bytes())
    };
    let svc = format!("netpol-debug.tools.svc:{port}");
    let auth = ("Authorization", "Bearer t0ken-for-the-cli-test");
    assert_eq!(send(&[("Host", &svc)], INITIALIZE).status, 401, "no token");
    assert_eq!(
        send(&[("Host", &svc), ("Authorization", "Bearer nope")], INITIALIZE).status,
        401
    );
    assert_eq!(
        send(&[("Host", "evil.example"), auth], INITIALIZE).status,
        403,
        "bad Host"
    );
    assert_eq!(
        send(&[("Host", &svc), ("Origin", "http://evil.example"), auth], INITIALIZE).status,
        403,
        "bad Origin"
    );
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(3000));
    assert_eq!(send(&[("Host", &svc), auth], &big).status, 413, "over --max-body-bytes");
    let r = send(
        &[("Host", &svc), ("Origin", &format!("https://{svc}")), auth],
        INITIALIZE,
    );
    assert_eq!(r.status, 200, "the Service name, its origin and the token: {r:?}");
    assert!(r.body.contains("netpol-debug"), "{r:?}");

    // Every refusal was logged with its reason, and the token never was.
    std::thread::sleep(Duration::from_millis(200));
    let log: Vec<String> = served.stderr.try_iter().collect();
    let refusals = log.iter().filter(|l| l.contains("refused an HTTP request")).count();
    assert_eq!(refusals, 5, "one log line per refusal:\n{}", log.join("\n"));
    assert!(
        !log.iter().any(|l| l.contains("t0ken-for-the-cli-test")),
        "{}",
        log.join("\n")
    );
}

#[test]
fn the_binary_names_the_flag_or_file_at_start_up() {
    let ex = ex01();
    let ex = ex.to_str().unwrap();
    let missing = std::env::temp_dir().join(format!("netpol-debug-http-safety-{}-absent", std::process::id()));
    let empty = temp_file("empty-token", "  \n");
    for (args, needle) in [
        (
            vec!["--http", "127.0.0.1:0", "--auth-token-file", missing.to_str().unwrap()],
            format!("--auth-token-file {}: cannot read", missing.display()),
        ),
        (
            vec!["--http", "127.0.0.1:0", "--auth-token-file", empty.to_str().unwrap()],
            format!("--auth-token-file {}: the file is empty", empty.display()),
        ),
        (
            vec!["--http", "127.0.0.1:0", "--allow-host", "http://x/"],
            "--allow-host \"http://x/\"".to_string(),
        ),
        (
            vec!["--http", "127.0.0.1:0", "--allow-origin", "example.com"],
            "--allow-origin \"example.com\"".to_string(),
        ),
        (vec!["--http", "example.com:80"], "--http".to_string()),
        // The safety flags need --http.
        (vec!["--allow-host", "x"], "--http".to_string()),
    ] {
        let out = bin()
            .args(["serve", "--snapshot", ex])
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("run netpol-debug");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&needle), "{args:?}: expected {needle:?} in {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    let _ = std::fs::remove_file(&empty);
}
