//! The real binary: exit codes, JSON shape, and errors that name the file, object or field.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use crate::common::{bin, run_bin as run};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .join("cluster.yaml")
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    crate::common::temp_file("cli", name, text)
}

const UNREADABLE: &str = "
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: ns, labels: {app: a}}
status: {podIP: 10.0.0.1, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: ns, labels: {app: b}}
status: {podIP: 10.0.0.2, phase: Running}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: ns}
spec: {podSelector: {}, ingress: [{ports: [{port: {bad: 1}}]}]}
";

#[test]
fn cli_diagnose_blocked_exits_1_with_the_root_cause() {
    let snap = example("01-default-deny-ingress");
    let out = run(&[
        "diagnose",
        "-s",
        snap.to_str().unwrap(),
        "--from",
        "shop/frontend-7d9f",
        "--to",
        "shop/api-5c6b",
        "--port",
        "8080",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("BLOCKED (ingress"), "{text}");
    assert!(
        text.contains("DEFAULT_DENY_INGRESS") && text.contains("shop/default-deny-ingress"),
        "{text}"
    );
}

#[test]
fn cli_diagnose_json_has_the_contract_fields() {
    let snap = example("01-default-deny-ingress");
    let out = run(&[
        "diagnose",
        "-s",
        snap.to_str().unwrap(),
        "--from",
        "shop/frontend-7d9f",
        "--to",
        "shop/api-5c6b",
        "--port",
        "http",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for key in [
        "query",
        "verdict",
        "blocked_direction",
        "root_causes",
        "egress",
        "ingress",
        "warnings",
        "scope",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["verdict"], "blocked");
    assert_eq!(v["blocked_direction"], "ingress");
    assert_eq!(v["root_causes"][0]["code"], "DEFAULT_DENY_INGRESS");
    assert_eq!(
        v["query"]["resolved_port"], 8080,
        "the named port resolves on the destination pod"
    );
    for side in ["egress", "ingress"] {
        for key in ["isolated", "isolating_policies", "allowed_by", "rules"] {
            assert!(v[side].get(key).is_some(), "{side}.{key} missing");
        }
    }
}

#[test]
fn cli_unknown_pod_exits_2_with_suggestions() {
    let snap = example("01-default-deny-ingress");
    let out = run(&[
        "diagnose",
        "-s",
        snap.to_str().unwrap(),
        "--from",
        "shop/frontend",
        "--to",
        "shop/api-5c6b",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("did you mean shop/frontend-7d9f"), "{err}");
}

#[test]
fn cli_bad_arguments_exit_2_naming_the_argument() {
    let snap = example("01-default-deny-ingress");
    let s = snap.to_str().unwrap();
    for (args, needle) in [
        (vec!["--port", "70000"], "--port"),
        (vec!["--port", "0"], "--port"),
        (vec!["--protocol", "ICMP"], "--protocol"),
    ] {
        let mut all = vec![
            "diagnose",
            "-s",
            s,
            "--from",
            "shop/frontend-7d9f",
            "--to",
            "shop/api-5c6b",
        ];
        all.extend(args);
        let out = run(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(needle), "{all:?}");
    }
    let out = run(&["diagnose", "-s", s, "--from", "shop/a/b/c", "--to", "shop/api-5c6b"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cli_missing_file_and_yaml_syntax_error_name_the_file() {
    let out = run(&[
        "diagnose",
        "-s",
        "/nonexistent/cluster.yaml",
        "--from",
        "a/b",
        "--to",
        "a/c",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cluster.yaml"));

    let bad = temp_file("syntax.yaml", "kind: Pod\nmetadata:\n  name: [oops\n");
    let out = run(&["matrix", "-s", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("syntax.yaml:") && err.contains("YAML syntax error"),
        "{err}"
    );
}

#[test]
fn cli_unreadable_policy_is_inconclusive_exit_3_and_warns_on_stderr() {
    let f = temp_file("unreadable.yaml", UNREADABLE);
    let out = run(&[
        "diagnose",
        "-s",
        f.to_str().unwrap(),
        "--from",
        "ns/a",
        "--to",
        "ns/b",
        "--port",
        "80",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "inconclusive");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NetworkPolicy ns/broken") && err.contains("spec.ingress[0].ports[0].port"),
        "{err}"
    );
}

#[test]
fn cli_reads_a_snapshot_from_stdin() {
    let mut child = bin()
        .args(["matrix", "-s", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(UNREADABLE.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ns/a[Pod] => ns/b[Pod] : All Connections"), "{text}");
}

#[test]
fn cli_matrix_json_is_an_object_with_connections() {
    let snap = example("01-default-deny-ingress");
    let out = run(&["matrix", "-s", snap.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let conns = v["connections"].as_array().unwrap();
    assert!(
        conns
            .iter()
            .all(|c| c["src"].is_string() && c["dst"].is_string() && c["conn"].is_string())
    );
    assert!(
        !conns
            .iter()
            .any(|c| c["dst"] == "shop/api-5c6b[Pod]" && c["src"] == "shop/frontend-7d9f[Pod]"),
        "default deny ingress: no line into api"
    );
}

#[test]
fn tool_subcommand_prints_the_same_json_as_the_mcp_tool_and_the_cli() {
    let ex = example("01-default-deny-ingress");
    let ex = ex.to_str().unwrap();
    let tool = run(&[
        "tool",
        "diagnose",
        "--snapshot",
        ex,
        "--args",
        r#"{"from":"shop/frontend-7d9f","to":"shop/api-5c6b","port":8080}"#,
    ]);
    assert_eq!(tool.status.code(), Some(0), "{}", String::from_utf8_lossy(&tool.stderr));
    let cli = run(&[
        "diagnose",
        "--snapshot",
        ex,
        "--from",
        "shop/frontend-7d9f",
        "--to",
        "shop/api-5c6b",
        "--port",
        "8080",
        "-o",
        "json",
    ]);
    let a: serde_json::Value = serde_json::from_slice(&tool.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(a, b);
}

#[test]
fn tool_subcommand_bad_arguments_exit_2_and_unknown_tool_exits_4() {
    let ex = example("01-default-deny-ingress");
    let ex = ex.to_str().unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &[
                "tool",
                "diagnose",
                "-s",
                ex,
                "--args",
                r#"{"from":"shop/a","to":"shop/b","protocol":"ICMP"}"#,
            ],
            2,
            "protocol",
        ),
        (
            &[
                "tool",
                "diagnose",
                "-s",
                ex,
                "--args",
                r#"{"from":"shop/a","to":"shop/b","port":0}"#,
            ],
            2,
            "port",
        ),
        (&["tool", "diagnose", "-s", ex, "--args", "not json"], 2, "not JSON"),
        (
            &["tool", "match_selectors", "-s", ex, "--args", r#"{"pod": 42}"#],
            2,
            "pod",
        ),
        (&["tool", "delete_policy", "-s", ex], 4, "unknown tool"),
    ];
    for (args, code, mentions) in cases {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(stderr.contains(mentions), "{args:?}: stderr names {mentions}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    // An unknown pod is an answer, not an error.
    let out = run(&[
        "tool",
        "match_selectors",
        "-s",
        ex,
        "--args",
        r#"{"pod":"shop/api-5c6"}"#,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["suggestions"][0], "shop/api-5c6b");
}

#[test]
fn matrix_draws_dot_and_mermaid() {
    let ex = example("10-allowed-by-policy");
    let ex = ex.to_str().unwrap();
    let dot = run(&["matrix", "-s", ex, "-o", "dot"]);
    let dot = String::from_utf8(dot.stdout).unwrap();
    assert!(dot.starts_with("digraph connectivity {"), "{dot}");
    assert!(dot.contains("subgraph \"cluster_shop\""), "{dot}");
    assert!(dot.contains("[label=\"TCP 8080\"]"), "{dot}");
    let mermaid = run(&["matrix", "-s", ex, "-o", "mermaid"]);
    let mermaid = String::from_utf8(mermaid.stdout).unwrap();
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(mermaid.contains("subgraph ns_shop [\"shop\"]"), "{mermaid}");
    assert!(mermaid.contains("-->|\"TCP 8080\"|"), "{mermaid}");
}

#[test]
fn batch_mode_answers_each_line_in_order_and_goes_on_after_bad_lines() {
    let ex = example("01-default-deny-ingress");
    let ex = ex.to_str().unwrap();
    let input = [
        r#"{"from":"shop/frontend-7d9f","to":"shop/api-5c6b","port":8080}"#,
        "not json",
        r#"{"from":"shop/frontend-7d9","to":"shop/api-5c6b"}"#,
        "",
        r#"{"from":"shop/api-5c6b","to":"shop/frontend-7d9f","protocol":"ICMP"}"#,
        r#"{"from":"shop/api-5c6b","to":"shop/frontend-7d9f","port":"http"}"#,
    ];
    let batch = temp_file("batch.jsonl", &(input.join("\n") + "\n"));
    let out = run(&["diagnose", "-s", ex, "--batch", batch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    assert_eq!(
        lines.len(),
        input.len(),
        "one answer per input line, blank ones included"
    );
    let single = run(&[
        "diagnose",
        "-s",
        ex,
        "--from",
        "shop/frontend-7d9f",
        "--to",
        "shop/api-5c6b",
        "--port",
        "8080",
        "-o",
        "json",
    ]);
    let single: serde_json::Value = serde_json::from_slice(&single.stdout).unwrap();
    assert_eq!(lines[0], single, "the same object as --output json");
    assert!(lines[1]["error"].as_str().unwrap().starts_with("line 2: not JSON"));
    assert_eq!(lines[2]["suggestions"][0], "shop/frontend-7d9f");
    assert_eq!(lines[3]["argument"], "line");
    assert_eq!(lines[4]["argument"], "protocol");
    assert!(
        lines[5].get("verdict").is_some(),
        "the lines after bad ones are still answered"
    );

    let out = run(&["diagnose", "-s", ex, "--to", "shop/api-5c6b"]);
    assert_eq!(out.status.code(), Some(2), "--from is required without --batch");
}

/// The benchmark runs (speed is measured in BENCHMARKS.md, never asserted here).
#[test]
fn bench_subcommand_runs_on_the_small_generated_cluster() {
    let dir = std::env::temp_dir().join(format!("netpol-debug-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = run(&[
        "bench",
        "--size",
        "S",
        "--queries",
        "10",
        "--out-dir",
        dir.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["size"], "S", "{v}");
}

#[test]
fn cli_reach_groups_text_and_json_like_the_tool_and_names_bad_flags() {
    let snap = example("05-namespace-label-missing");
    let snap = snap.to_str().unwrap();
    let text = run(&["reach", "-s", snap, "--to", "billing/invoices-db-0", "--port", "5432"]);
    assert_eq!(text.status.code(), Some(0), "{}", String::from_utf8_lossy(&text.stderr));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with("billing/invoices-db-0: who can reach it on TCP 5432")
            && text.contains("cannot (")
            && text.contains("NAMESPACE_LABEL_MISSING (billing/invoices-db-allow-ops)")
            && text.contains("ops-tools/backup-runner-7c9d8f6b5[ReplicaSet]"),
        "{text}"
    );
    let json = run(&[
        "reach",
        "-s",
        snap,
        "--to",
        "billing/invoices-db-0",
        "--port",
        "5432",
        "-o",
        "json",
    ]);
    let tool = run(&[
        "tool",
        "check_reachability",
        "-s",
        snap,
        "--args",
        r#"{"to":"billing/invoices-db-0","port":5432}"#,
    ]);
    let a: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&tool.stdout).unwrap();
    assert_eq!(a, b, "the CLI and the tool give the same answer");
    assert_eq!(a["verdicts"][0]["verdict"], "blocked", "{a}");
    let both = run(&["reach", "-s", snap, "--to", "billing/invoices-db-0", "--from", "x/y"]);
    assert_eq!(both.status.code(), Some(2));
    let named = run(&["reach", "-s", snap, "--from", "billing/invoices-db-0", "--port", "pg"]);
    assert_eq!(named.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&named.stderr).contains("--port"));
    let unknown = run(&["reach", "-s", snap, "--to", "billing/nothing-here"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--to"));
}
