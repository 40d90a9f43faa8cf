//! The MCP server against the official Python SDK (`mcp` 2.x): tests/mcp_client/test_mcp_client.py
//! drives the real binary over stdio and Streamable HTTP, with the 2025-11-25 handshake and the
//! stateless 2026-07-28 protocol, and validates every structuredContent against its outputSchema.
//!
//! The interpreter: `NETPOL_DEBUG_MCP_PYTHON`, else `<crate>/.venv-mcp/bin/python` (made by
//! .ci/run). With neither, the test fails under CI (env `CI` set) and is skipped elsewhere.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(120);

fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NETPOL_DEBUG_MCP_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-mcp/bin/python");
    venv.exists().then_some(venv)
}

/// Reads a child's pipe to the end on a thread, so a full pipe never blocks the child.
fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

#[test]
fn python_sdk_client_against_the_server() {
    let Some(python) = python() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "python MCP SDK tests: no interpreter (set NETPOL_DEBUG_MCP_PYTHON, or create .venv-mcp as .ci/run does)"
            );
        }
        eprintln!("SKIPPED: python MCP SDK tests (set NETPOL_DEBUG_MCP_PYTHON or run .ci/run)");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/mcp_client/test_mcp_client.py");
    let snapshot = root.join("examples/01-default-deny-ingress/cluster.yaml");
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_netpol-debug"))
        .arg(&snapshot)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());

    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the python client") {
            break Some(status);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (stdout.join().unwrap(), stderr.join().unwrap());
    match status {
        Some(s) if s.success() => {
            // The summary line (`N checks passed`), shown with --show-output.
            println!("python MCP SDK: {}", out.lines().last().unwrap_or("").trim());
        }
        Some(s) => panic!(
            "python MCP SDK client failed ({s}): {} {}\n---- stdout ----\n{out}\n---- stderr ----\n{err}",
            python.display(),
            script.display()
        ),
        None => panic!(
            "python MCP SDK client timed out after {TIMEOUT:?} and was killed\n---- stdout ----\n{out}\n---- stderr ----\n{err}"
        ),
    }
}
