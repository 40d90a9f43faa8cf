//! The MCP server through a real rmcp client: in process over a duplex pipe for every tool, the
//! `tools/list` golden file, prompts, in-band errors; and the real binary over stdio, where any
//! byte on stdout that is not JSON-RPC fails the test.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use netpol_debug::index::Semantics;
use netpol_debug::serve::mcp::NetpolServer;
use netpol_debug::serve::source::Context;
use netpol_debug::serve::tools::ToolName;
use netpol_debug::snapshot;
use rmcp::model::{CallToolRequestParams, CallToolResult, GetPromptRequestParams, JsonObject};
use rmcp::service::{RoleClient, RunningService};
use rmcp::{ServiceExt, serve_server};
use serde_json::{Value, json};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .join("cluster.yaml")
}

const EX01: &str = "01-default-deny-ingress";

/// The most `tools/list` may weigh as compact JSON (20 KB): every client sends it to the model
/// before the first question.
const TOOLS_LIST_MAX_BYTES: usize = 20 * 1024;

/// A client connected in process to a server on the given example.
async fn connect(example_name: &str) -> RunningService<RoleClient, ()> {
    let path = example(example_name);
    let snap = snapshot::load_paths(std::slice::from_ref(&path)).expect("example loads");
    let ctx = Arc::new(Context::from_snapshot(
        &snap,
        Semantics::default(),
        format!("snapshot {}", path.display()),
    ));
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = serve_server(NetpolServer::new(Arc::new(ctx)), server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.expect("client connects")
}

fn args(v: Value) -> JsonObject {
    v.as_object().cloned().expect("arguments are an object")
}

async fn call(client: &RunningService<RoleClient, ()>, name: &'static str, a: Value) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(name).with_arguments(args(a)))
        .await
        .unwrap_or_else(|e| panic!("{name}: protocol error {e}"))
}

fn text_of(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Valid arguments for every tool on example 01.
fn valid_calls() -> Vec<(&'static str, Value)> {
    let flow = json!({"from": "shop/frontend-7d9f", "to": "shop/api-5c6b", "port": 8080});
    vec![
        ("check_cni", json!({})),
        ("list_policies", json!({"namespace": "shop"})),
        ("match_selectors", json!({"pod": "shop/api-5c6b"})),
        (
            "check_default_deny",
            json!({"namespace": "shop", "pod": "shop/api-5c6b"}),
        ),
        ("check_policy_types", json!({"namespace": "shop"})),
        ("check_ingress", flow.clone()),
        ("check_egress", flow.clone()),
        ("check_cross_namespace", flow.clone()),
        ("diagnose", flow),
        ("connectivity_map", json!({"namespaces": ["shop"], "format": "mermaid"})),
        ("check_reachability", json!({"to": "shop/api-5c6b", "port": 8080})),
    ]
}

#[tokio::test]
async fn tools_list_names_schemas_and_annotations_match_the_golden_file() {
    let client = connect(EX01).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    let expected: Vec<&str> = ToolName::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(names, expected, "exact tool names, sorted");
    for t in &tools {
        let a = t
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{} has annotations", t.name));
        assert_eq!(a.read_only_hint, Some(true), "{} is read-only", t.name);
        assert_eq!(a.destructive_hint, Some(false), "{} is not destructive", t.name);
        assert_eq!(a.idempotent_hint, Some(true), "{} is idempotent", t.name);
        assert_eq!(
            a.open_world_hint,
            Some(false),
            "{}: a snapshot is a closed world",
            t.name
        );
        assert!(a.title.is_some(), "{} has a human title", t.name);
        let schema = t
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{} has an outputSchema", t.name));
        assert_eq!(schema.get("type"), Some(&json!("object")), "{}: object root", t.name);
        let text = serde_json::to_string(&**schema).unwrap() + &serde_json::to_string(&*t.input_schema).unwrap();
        assert!(!text.contains("\"uint"), "{}: no unsigned formats in schemas", t.name);
        assert!(
            !text.contains("\"null\"") && !text.contains(":null"),
            "{}: optional fields are omitted, not nullable: {text}",
            t.name
        );
        let description = t.description.as_deref().unwrap_or_default();
        assert!(
            description.contains("Example:"),
            "{}: description has an example call",
            t.name
        );
    }
    let size = serde_json::to_string(&json!({ "tools": tools })).unwrap().len();
    assert!(
        size <= TOOLS_LIST_MAX_BYTES,
        "tools/list is {size} bytes as compact JSON, over {TOOLS_LIST_MAX_BYTES}: shorten tools/*.md or the schemas"
    );
    insta::assert_json_snapshot!("tools_list", serde_json::to_value(&tools).unwrap());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn every_tool_answers_with_structured_content_and_a_short_text() {
    let client = connect(EX01).await;
    for (name, a) in valid_calls() {
        let r = call(&client, name, a).await;
        assert_ne!(r.is_error, Some(true), "{name}: {}", text_of(&r));
        let s = r
            .structured_content
            .as_ref()
            .unwrap_or_else(|| panic!("{name} has structuredContent"));
        assert!(s.is_object(), "{name}: structuredContent is an object");
        assert!(s.get("error").is_none(), "{name}: found, not an error: {s}");
        let text = text_of(&r);
        assert!(!text.is_empty(), "{name}: a text summary");
        let size = serde_json::to_string(s).unwrap().len();
        assert!(size < 16_000, "{name}: result stays small ({size} bytes)");
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn diagnose_tool_result_is_identical_to_the_cli_json() {
    let client = connect(EX01).await;
    let r = call(
        &client,
        "diagnose",
        json!({"from": "shop/frontend-7d9f", "to": "shop/api-5c6b", "port": 8080}),
    )
    .await;
    let out = Command::new(env!("CARGO_BIN_EXE_netpol-debug"))
        .args(["diagnose", "--snapshot"])
        .arg(example(EX01))
        .args([
            "--from",
            "shop/frontend-7d9f",
            "--to",
            "shop/api-5c6b",
            "--port",
            "8080",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.structured_content.as_ref(), Some(&cli));
    assert_eq!(cli["verdict"], "blocked");
    assert_eq!(cli["root_causes"][0]["code"], "DEFAULT_DENY_INGRESS");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn bad_arguments_are_in_band_errors_and_the_server_keeps_serving() {
    let client = connect(EX01).await;
    let flow = |extra: Value| {
        let mut base = json!({"from": "shop/frontend-7d9f", "to": "shop/api-5c6b"});
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };
    let bad: Vec<(&'static str, Value, &str)> = vec![
        ("diagnose", flow(json!({"protocol": "ICMP"})), "protocol"),
        ("diagnose", flow(json!({"port": 0})), "port"),
        ("diagnose", flow(json!({"port": 70000})), "port"),
        ("check_ingress", flow(json!({"port": "no spaces allowed"})), "port"),
        ("diagnose", json!({"from": "not//a pod", "to": "shop/api-5c6b"}), "from"),
        ("diagnose", json!({"to": "shop/api-5c6b"}), "from"),
        ("diagnose", flow(json!({"colour": "blue"})), "colour"),
        ("list_policies", json!({"limit": 0}), "limit"),
        ("connectivity_map", json!({"namespaces": []}), "namespaces"),
        ("check_policy_types", json!({"policy": "no-slash"}), "policy"),
        ("match_selectors", json!({"pod": 42}), "pod"),
        ("check_reachability", json!({}), "to"),
        (
            "check_reachability",
            json!({"to": "shop/api-5c6b", "from": "shop/a"}),
            "to",
        ),
        ("check_reachability", json!({"to": "10.0.0.1"}), "to"),
        (
            "check_reachability",
            json!({"from": "shop/api-5c6b", "port": "http"}),
            "port",
        ),
        (
            "check_reachability",
            json!({"to": "shop/api-5c6b", "limit": 0}),
            "limit",
        ),
    ];
    for (name, a, mentions) in bad {
        let r = call(&client, name, a.clone()).await;
        assert_eq!(r.is_error, Some(true), "{name} {a}: isError");
        let text = text_of(&r);
        assert!(
            text.contains(mentions),
            "{name} {a}: the message names `{mentions}`: {text}"
        );
        // The server still answers.
        let ok = call(&client, "check_cni", json!({})).await;
        assert_ne!(ok.is_error, Some(true));
    }
    client.cancel().await.unwrap();
}

/// `protocol` is an enum in every flow tool's input schema (the server also takes any case),
/// and a call with several bad arguments names each, as arguments (`port`), not flags.
#[tokio::test]
async fn protocol_is_an_enum_and_every_bad_argument_is_named_at_once() {
    let client = connect(EX01).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    for name in ["check_cross_namespace", "check_egress", "check_ingress", "diagnose"] {
        let t = tools.iter().find(|t| t.name == name).expect(name);
        let protocol = &t.input_schema["properties"]["protocol"];
        assert_eq!(protocol["enum"], json!(["TCP", "UDP", "SCTP"]), "{name}: {protocol}");
    }
    let a = json!({"from": "shop/frontend-7d9f", "to": "shop/api-5c6b", "port": 70000, "protocol": "ICMP"});
    let r = call(&client, "diagnose", a).await;
    assert_eq!(r.is_error, Some(true));
    let text = text_of(&r);
    for part in [
        "invalid argument `port`: 70000",
        "invalid argument `protocol`: \"ICMP\"",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
    assert!(!text.contains("--"), "no CLI flag in a tool's error: {text}");
    let a = json!({"from": "shop/frontend-7d9f", "to": "shop/api-5c6b", "port": 8080, "protocol": "tcp"});
    assert_ne!(
        call(&client, "diagnose", a).await.is_error,
        Some(true),
        "lowercase is accepted"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn unknown_pod_is_a_normal_answer_with_suggestions() {
    let client = connect(EX01).await;
    let r = call(
        &client,
        "diagnose",
        json!({"from": "shop/frontend-7d9", "to": "shop/api-5c6b", "port": 8080}),
    )
    .await;
    assert_ne!(r.is_error, Some(true));
    let s = r.structured_content.unwrap();
    assert_eq!(s["argument"], "from");
    assert_eq!(s["suggestions"], json!(["shop/frontend-7d9f"]));
    let r = call(&client, "list_policies", json!({"namespace": "shopp"})).await;
    assert_eq!(r.structured_content.unwrap()["suggestions"], json!(["shop"]));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn prompts_are_listed_and_filled_with_their_arguments() {
    let client = connect(EX01).await;
    let prompts = client.list_all_prompts().await.unwrap();
    let mut names: Vec<&str> = prompts.iter().map(|p| p.name.as_ref()).collect();
    names.sort();
    assert_eq!(names, ["dns-timeout", "networkpolicy-debug", "what-changed"]);
    let debug = prompts.iter().find(|p| p.name == "networkpolicy-debug").unwrap();
    let mut arg_names: Vec<&str> = debug.arguments.iter().flatten().map(|a| a.name.as_str()).collect();
    arg_names.sort();
    assert_eq!(arg_names, ["destination", "port", "source", "symptom"]);

    let got = client
        .get_prompt(
            GetPromptRequestParams::new("networkpolicy-debug").with_arguments(args(json!({
                "source": "shop/frontend-7d9f", "destination": "shop/api-5c6b", "port": "8080", "symptom": "timeout"
            }))),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&got.messages).unwrap();
    for needle in [
        "shop/frontend-7d9f",
        "shop/api-5c6b",
        "8080",
        "timeout",
        "diagnose",
        "Stop at the root cause",
    ] {
        assert!(text.contains(needle), "prompt mentions {needle}: {text}");
    }
    assert!(!text.contains("{{"), "every placeholder is filled");
    let got = client
        .get_prompt(GetPromptRequestParams::new("dns-timeout").with_arguments(args(json!({"pod": "shop/api-5c6b"}))))
        .await
        .unwrap();
    let text = serde_json::to_string(&got.messages).unwrap();
    assert!(text.contains("shop/api-5c6b") && text.contains("check_egress") && text.contains("TCP"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn server_identity_and_instructions_are_ours() {
    let client = connect(EX01).await;
    let info = client.peer_info().expect("server info");
    let server = info.server_info.as_ref().expect("server identifies itself");
    assert_eq!(server.name, "netpol-debug");
    assert_eq!(server.version, env!("CARGO_PKG_VERSION"));
    let instructions = info.instructions.clone().unwrap_or_default();
    assert!(instructions.contains("diagnose") && instructions.contains("never"));
    assert!(
        instructions.contains("01-default-deny-ingress"),
        "names the data source"
    );
    client.cancel().await.unwrap();
}

/// The real binary over stdio: every stdout line is a JSON-RPC message, logs go to stderr.
#[test]
fn stdio_transport_writes_only_json_rpc_to_stdout() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netpol-debug"))
        .args(["serve", "--snapshot"])
        .arg(example(EX01))
        .env("NETPOL_DEBUG_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    // Drain stderr (debug logs are large) so the server never blocks on a full pipe.
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut s);
        s
    });
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "diagnose",
            "arguments": {"from": "shop/frontend-7d9f", "to": "shop/api-5c6b", "protocol": "ICMP"}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "diagnose",
            "arguments": {"from": "shop/frontend-7d9f", "to": "shop/api-5c6b", "port": 8080}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "prompts/list"}),
    ];
    for r in &requests {
        writeln!(stdin, "{r}").unwrap();
    }
    stdin.flush().unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut responses = std::collections::BTreeMap::new();
    while responses.len() < 5 {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("server answered within 30 s; got {responses:?}"));
        let msg: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        assert_eq!(msg["jsonrpc"], "2.0", "stdout line is JSON-RPC: {line}");
        if let Some(id) = msg.get("id").and_then(Value::as_i64) {
            responses.insert(id, msg);
        }
    }
    drop(stdin);
    let status = child.wait().unwrap();
    let stderr = stderr_reader.join().unwrap();
    // Anything left on stdout after the responses must be JSON-RPC too.
    for line in rx.try_iter() {
        let msg: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("stray stdout: {line:?}"));
        assert_eq!(msg["jsonrpc"], "2.0");
    }
    assert!(
        status.success(),
        "server exits cleanly when stdin closes: {status}; stderr: {stderr}"
    );
    assert!(stderr.contains("serving MCP over stdio"), "logs go to stderr: {stderr}");

    assert_eq!(responses[&1]["result"]["serverInfo"]["name"], "netpol-debug");
    assert_eq!(
        responses[&2]["result"]["tools"].as_array().unwrap().len(),
        ToolName::ALL.len()
    );
    assert_eq!(
        responses[&3]["result"]["isError"], true,
        "bad protocol is an in-band error"
    );
    assert_eq!(responses[&4]["result"]["structuredContent"]["verdict"], "blocked");
    assert_eq!(responses[&5]["result"]["prompts"].as_array().unwrap().len(), 3);
}
