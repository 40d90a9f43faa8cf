//! The MCP server under stress, driven by the official Python SDK (tests/mcp_client/stress.py):
//! a seeded mix of valid calls, unknown pods and namespaces, malformed arguments and unknown tool
//! names, over stdio (the real binary, one session, 10 requests in flight) and over Streamable
//! HTTP (50 concurrent clients, half on sessions, half stateless, reconnecting every 50 calls).
//! Every call must be answered with the answer its kind expects, the server must survive, and
//! its RSS may grow by at most [`MAX_RSS_GROWTH_KIB`] between the end of a 500-call warm-up and
//! the end of the run. p50/p99 latency and RSS are printed (`--show-output`).
//!
//! Calls per transport: `NETPOL_DEBUG_STRESS_CALLS`, default [`DEFAULT_CALLS`] (10,000 over the
//! two transports; the Python client, not the server, is what takes the time in a debug build);
//! HTTP clients: `NETPOL_DEBUG_STRESS_CLIENTS`, default 50.
//!
//! The interpreter: `NETPOL_DEBUG_MCP_PYTHON`, else `<crate>/.venv-mcp/bin/python` (made by
//! tests/run). With neither, the test fails under CI (env `CI` set) and is skipped elsewhere.

use std::time::Duration;

use serde_json::Value;

/// Calls per transport by default.
const DEFAULT_CALLS: u64 = 5_000;
const DEFAULT_CLIENTS: u64 = 50;
/// Leak bound: RSS growth after the warm-up.
const MAX_RSS_GROWTH_KIB: i64 = 50 * 1024;
const TIMEOUT: Duration = Duration::from_secs(900);

fn env_count(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => panic!("{name}={v:?}: expected a positive whole number"),
        },
        _ => default,
    }
}

fn kib(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn mib(k: Option<i64>) -> String {
    k.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// One transport's figures as a line, and what is wrong with them.
fn check(r: &Value) -> (String, Vec<String>) {
    let transport = r["transport"].as_str().unwrap_or("?");
    let calls = r["calls"].as_u64().unwrap_or(0);
    let answered = r["answered"].as_u64().unwrap_or(0);
    let mismatches = r["mismatches"].as_u64().unwrap_or(u64::MAX);
    let (before, after) = (kib(r, "rss_before_kib"), kib(r, "rss_after_kib"));
    let line = format!(
        "MCP stress {transport}: {calls} calls ({}), {} concurrent, {} session(s): {answered} answered, \
         {mismatches} wrong; {:.0} calls/s; latency p50 {} ms, p99 {} ms, max {} ms (one at a time: \
         p50 {} ms, p99 {} ms); RSS start {}, after warm-up {}, at end {} (growth {}), peak {}",
        r["by_kind"],
        r["concurrency"],
        r["sessions"],
        r["calls_per_s"].as_f64().unwrap_or(0.0),
        r["p50_ms"],
        r["p99_ms"],
        r["max_ms"],
        r["unloaded_p50_ms"],
        r["unloaded_p99_ms"],
        mib(kib(r, "rss_start_kib")),
        mib(before),
        mib(after),
        mib(before.zip(after).map(|(b, a)| a - b)),
        mib(kib(r, "hwm_kib")),
    );
    let mut problems = Vec::new();
    if answered != calls {
        problems.push(format!("{transport}: {answered} of {calls} calls answered"));
    }
    if mismatches != 0 {
        problems.push(format!(
            "{transport}: {mismatches} answers of the wrong kind, e.g. {}",
            r["mismatch_examples"]
        ));
    }
    if r["server_alive"] != Value::Bool(true) {
        problems.push(format!(
            "{transport}: the server did not survive ({})",
            r.get("error").unwrap_or(&Value::Null)
        ));
    }
    match before.zip(after) {
        Some((b, a)) if a - b > MAX_RSS_GROWTH_KIB => problems.push(format!(
            "{transport}: RSS grew by {} after the warm-up (bound {})",
            mib(Some(a - b)),
            mib(Some(MAX_RSS_GROWTH_KIB))
        )),
        Some(_) => {}
        None if cfg!(target_os = "linux") => problems.push(format!("{transport}: no RSS figures (/proc)")),
        None => {}
    }
    (line, problems)
}

#[test]
fn mcp_server_under_stress_over_stdio_and_http() {
    let Some(python) = crate::common::mcp_python("MCP stress test") else {
        return;
    };
    let calls = env_count("NETPOL_DEBUG_STRESS_CALLS", DEFAULT_CALLS);
    let clients = env_count("NETPOL_DEBUG_STRESS_CLIENTS", DEFAULT_CLIENTS);
    let run = crate::common::run_mcp_script(
        &python,
        "tests/mcp_client/stress.py",
        &[
            "--calls".into(),
            calls.to_string(),
            "--clients".into(),
            clients.to_string(),
        ],
        TIMEOUT,
    );
    let (out, err, elapsed) = (run.stdout, run.stderr, run.elapsed);
    let Some(status) = run.status else {
        panic!("MCP stress client timed out after {TIMEOUT:?}\n---- stdout ----\n{out}\n---- stderr ----\n{err}");
    };

    let results: Vec<Value> = out
        .lines()
        .filter_map(|l| l.strip_prefix("STRESS_RESULT "))
        .map(|j| serde_json::from_str(j).unwrap_or_else(|e| panic!("bad STRESS_RESULT line ({e}): {j}")))
        .collect();
    let mut problems = Vec::new();
    for r in &results {
        let (line, p) = check(r);
        println!("{line}");
        problems.extend(p);
    }
    println!(
        "MCP stress: {calls} calls per transport, {clients} HTTP clients, {:.1} s in all (python {})",
        elapsed.as_secs_f64(),
        python.display()
    );
    for transport in ["stdio", "http"] {
        if !results.iter().any(|r| r["transport"] == transport) {
            problems.push(format!("{transport}: no result"));
        }
    }
    if !status.success() && problems.is_empty() {
        problems.push(format!("the stress client failed ({status})"));
    }
    assert!(
        problems.is_empty(),
        "MCP stress test failed:\n  {}\n---- stdout ----\n{out}\n---- stderr ----\n{err}",
        problems.join("\n  ")
    );
}
