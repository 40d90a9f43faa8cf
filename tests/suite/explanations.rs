//! How the answers explain themselves: one table row per point of the explanation contract
//! (ranking, AND/OR, quoted YAML, fixes in labels, contradictions, noise, text that carries the
//! facts, errors an agent can act on, first run). Rows are data, `tests/explanations/*.yaml`:
//!
//! ```yaml
//! point: 1                       # which point of the contract (ARCHITECTURE.md "Explanations")
//! rule: API-server egress is a root cause only when the flow goes to the API server
//! objects: |                     # the snapshot, multi-document YAML (or `example: 03-...`)
//!   ...
//! diagnose: {from: shop/a, to: shop/b, port: 80, protocol: TCP}  # or one of:
//! tool: {name: check_default_deny, arguments: {pod: shop/b}}     #   an MCP tool, in process
//! cli: [diagnose, --snapshot, "{snapshot}", --from, shop/a]      #   the binary
//! tools_list: true                                               #   `tools/list`, in process
//! prompt: {name: dns-timeout, arguments: {pod: shop/a}}          #   an MCP prompt (or the
//!                                #   server `instructions`), filled as the server fills it
//! expect:
//!   verdict: blocked             # diagnose only
//!   first: DEFAULT_DENY_INGRESS  # root_causes[0].code (diagnose)
//!   codes: [DNS_EGRESS_BLOCKED]  # also among the root causes
//!   not_codes: [APISERVER_EGRESS_BLOCKED]  # in no root cause
//!   text: ["spec.ingress[0].from[0]: {namespaceSelector"]  # in the text a person or model reads
//!   not_text: ["any port"]
//!   once: ["not why"]            # in the text exactly once (a sentence not repeated)
//!   error: false                 # tool isError / non-zero exit
//!   json: {"/root_causes/0/policies/0": "shop/allow"}      # JSON pointer -> value
//!   max_lines: 12                # of the text
//!   max_bytes: 20480             # of the text
//!   field_text: {"/root_causes/0/suggestion": ["app=web"]}   # JSON pointer -> substrings
//!   field_not_text: {"/root_causes/0/suggestion": ["web-6d4cf56db6-x2v7n"]}
//! ```
//!
//! The text of a `diagnose` row is the CLI's text output plus its JSON's `warnings`; of a `tool`
//! row, the tool's text content; of a `cli` row, stdout then stderr; of a `tools_list` row, the
//! `tools/list` result as compact JSON; of a `prompt` row, the filled prompt (a `prompt` row needs
//! no snapshot). Every failing row is reported
//! at once, with its file and rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use netpol_debug::diagnosis::query::{self, PortArg};
use netpol_debug::diagnosis::{self, Query};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::report::render;
use netpol_debug::serve::mcp::NetpolServer;
use netpol_debug::serve::source::Context;
use netpol_debug::serve::tools::{self, ToolName};
use netpol_debug::snapshot;
use serde::Deserialize;
use serde_json::Value;

use crate::common;

/// The contract's points; every one must have at least one row.
const POINTS: std::ops::RangeInclusive<u32> = 1..=11;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    point: u32,
    rule: String,
    #[serde(default)]
    objects: Option<String>,
    #[serde(default)]
    example: Option<String>,
    #[serde(default)]
    diagnose: Option<FlowRow>,
    #[serde(default)]
    tool: Option<ToolRow>,
    #[serde(default)]
    cli: Option<Vec<String>>,
    #[serde(default)]
    tools_list: bool,
    #[serde(default)]
    prompt: Option<PromptRow>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptRow {
    name: String,
    #[serde(default)]
    arguments: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowRow {
    from: String,
    to: String,
    #[serde(default)]
    port: Option<Value>,
    #[serde(default)]
    protocol: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolRow {
    name: String,
    #[serde(default)]
    arguments: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    verdict: Option<String>,
    #[serde(default)]
    first: Option<String>,
    #[serde(default)]
    codes: Vec<String>,
    #[serde(default)]
    not_codes: Vec<String>,
    #[serde(default)]
    text: Vec<String>,
    #[serde(default)]
    not_text: Vec<String>,
    #[serde(default)]
    once: Vec<String>,
    #[serde(default)]
    error: Option<bool>,
    #[serde(default)]
    json: BTreeMap<String, Value>,
    #[serde(default)]
    max_lines: Option<usize>,
    #[serde(default)]
    max_bytes: Option<usize>,
    /// JSON pointer -> substrings its text (a string, or an array's items joined by newlines) must have.
    #[serde(default)]
    field_text: BTreeMap<String, Vec<String>>,
    /// JSON pointer -> substrings its text must not have.
    #[serde(default)]
    field_not_text: BTreeMap<String, Vec<String>>,
}

/// What one row produced: the text a reader sees, the JSON, and whether it was an error.
struct Outcome {
    text: String,
    json: Value,
    error: bool,
}

fn rows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/explanations")
}

fn rows() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(rows_dir())
        .expect("tests/explanations is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("row is readable"))
        })
        .collect();
    out.sort();
    out
}

/// The row's snapshot as a file (the CLI and the loader read files).
fn snapshot_path(file: &str, row: &Row) -> Result<PathBuf, String> {
    match (&row.objects, &row.example) {
        (Some(yaml), None) => Ok(common::temp_file("explanations", file, yaml)),
        (None, Some(ex)) => Ok(Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(ex)
            .join("cluster.yaml")),
        _ => Err("give exactly one of `objects` and `example`".into()),
    }
}

fn load(path: &Path) -> Result<ClusterIndex, String> {
    let snap = snapshot::load_paths(&[path.to_path_buf()]).map_err(|e| format!("snapshot: {e}"))?;
    Ok(ClusterIndex::build(&snap, Semantics::default()))
}

fn run_diagnose(path: &Path, f: &FlowRow) -> Result<Outcome, String> {
    let ix = load(path)?;
    let port = match &f.port {
        None => None,
        Some(Value::Number(n)) => Some(PortArg::parse(&n.to_string()).map_err(|e| e.message)?),
        Some(Value::String(s)) => Some(PortArg::parse(s).map_err(|e| e.message)?),
        Some(other) => return Err(format!("port: {other} is neither a number nor a name")),
    };
    let q = Query {
        from: f.from.clone(),
        to: f.to.clone(),
        protocol: query::parse_protocol(f.protocol.as_deref().unwrap_or("TCP")).map_err(|e| e.message)?,
        port,
    };
    match diagnosis::diagnose(&ix, &q) {
        Ok(d) => {
            let json = serde_json::to_value(&d).expect("diagnosis serializes");
            let mut text = render::diagnosis_text(&d);
            for w in &d.warnings {
                text.push_str(&format!("\n[warnings] {w}"));
            }
            Ok(Outcome {
                text,
                json,
                error: false,
            })
        }
        Err(e) => Ok(Outcome {
            text: e.to_string(),
            json: Value::Null,
            error: true,
        }),
    }
}

fn run_tool(path: &Path, t: &ToolRow) -> Result<Outcome, String> {
    let snap = snapshot::load_paths(&[path.to_path_buf()]).map_err(|e| format!("snapshot: {e}"))?;
    let ctx = Context::from_snapshot(&snap, Semantics::default(), "explanations".into());
    let tool = ToolName::parse(&t.name).ok_or_else(|| format!("no tool {:?}", t.name))?;
    let out = tools::call_json(&ctx, tool, t.arguments.clone());
    Ok(Outcome {
        text: out.text,
        json: out.structured.unwrap_or(Value::Null),
        error: out.is_error,
    })
}

fn run_cli(path: &Path, args: &[String]) -> Outcome {
    let snapshot = path.to_string_lossy();
    let args: Vec<String> = args.iter().map(|a| a.replace("{snapshot}", &snapshot)).collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run_bin(&refs);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    Outcome {
        text: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
        json,
        error: !out.status.success(),
    }
}

/// The server's `tools/list` result, as a client receives it.
fn run_tools_list(path: &Path) -> Result<Outcome, String> {
    let snap = snapshot::load_paths(&[path.to_path_buf()]).map_err(|e| format!("snapshot: {e}"))?;
    let ctx = Context::from_snapshot(&snap, Semantics::default(), "explanations".into());
    let tools = NetpolServer::new(Arc::new(Arc::new(ctx))).tools();
    let json = serde_json::json!({ "tools": tools });
    Ok(Outcome {
        text: json.to_string(),
        json,
        error: false,
    })
}

fn run_prompt(p: &PromptRow) -> Result<Outcome, String> {
    let text = netpol_debug::serve::mcp::prompt_text(&p.name, &p.arguments)
        .ok_or_else(|| format!("no prompt {:?}", p.name))?;
    Ok(Outcome {
        text,
        json: Value::Null,
        error: false,
    })
}

fn run_row(file: &str, row: &Row) -> Result<Outcome, String> {
    if let Some(p) = &row.prompt {
        return match (&row.objects, &row.example, &row.diagnose, &row.tool, &row.cli) {
            (None, None, None, None, None) => run_prompt(p),
            _ => Err("a `prompt` row has no snapshot and no other kind".into()),
        };
    }
    let path = snapshot_path(file, row)?;
    match (&row.diagnose, &row.tool, &row.cli, row.tools_list) {
        (Some(f), None, None, false) => run_diagnose(&path, f),
        (None, Some(t), None, false) => run_tool(&path, t),
        (None, None, Some(args), false) => Ok(run_cli(&path, args)),
        (None, None, None, true) => run_tools_list(&path),
        _ => Err("give exactly one of `diagnose`, `tool`, `cli`, `tools_list` and `prompt`".into()),
    }
}

fn codes(json: &Value) -> Vec<String> {
    json.get("root_causes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("code").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The text at a JSON pointer: a string as is, an array's items (strings or JSON) one per line.
fn field_text(json: &Value, ptr: &str) -> String {
    match json.pointer(ptr) {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) => other.to_string(),
    }
}

/// Every way the outcome differs from the row's expectations.
fn check(e: &Expect, o: &Outcome) -> Vec<String> {
    let mut bad = Vec::new();
    let found = codes(&o.json);
    if let Some(v) = &e.verdict {
        let got = o.json.get("verdict").and_then(Value::as_str).unwrap_or("none");
        if got != v {
            bad.push(format!("verdict {got}, expected {v}"));
        }
    }
    if let Some(first) = &e.first
        && found.first() != Some(first)
    {
        bad.push(format!(
            "first root cause {:?}, expected {first} (all: {found:?})",
            found.first()
        ));
    }
    for c in &e.codes {
        if !found.contains(c) {
            bad.push(format!("root cause {c} missing (all: {found:?})"));
        }
    }
    for c in &e.not_codes {
        if found.contains(c) {
            bad.push(format!("root cause {c} present (all: {found:?})"));
        }
    }
    for t in &e.text {
        if !o.text.contains(t.as_str()) {
            bad.push(format!("text lacks {t:?}"));
        }
    }
    for t in &e.not_text {
        if o.text.contains(t.as_str()) {
            bad.push(format!("text has {t:?}"));
        }
    }
    for t in &e.once {
        let n = o.text.matches(t.as_str()).count();
        if n != 1 {
            bad.push(format!("text has {t:?} {n} times, expected once"));
        }
    }
    if let Some(err) = e.error
        && err != o.error
    {
        bad.push(format!("error {}, expected {err}", o.error));
    }
    for (ptr, want) in &e.json {
        let got = o.json.pointer(ptr).cloned().unwrap_or(Value::Null);
        if &got != want {
            bad.push(format!("json {ptr} = {got}, expected {want}"));
        }
    }
    for (ptr, wants) in &e.field_text {
        let got = field_text(&o.json, ptr);
        for w in wants {
            if !got.contains(w.as_str()) {
                bad.push(format!("{ptr} lacks {w:?} (it is {got:?})"));
            }
        }
    }
    for (ptr, wants) in &e.field_not_text {
        let got = field_text(&o.json, ptr);
        for w in wants {
            if got.contains(w.as_str()) {
                bad.push(format!("{ptr} has {w:?} (it is {got:?})"));
            }
        }
    }
    if let Some(max) = e.max_bytes
        && o.text.len() > max
    {
        bad.push(format!("{} bytes of text, at most {max} expected", o.text.len()));
    }
    if let Some(max) = e.max_lines {
        let lines = o.text.lines().count();
        if lines > max {
            bad.push(format!("{lines} lines of text, at most {max} expected"));
        }
    }
    bad
}

#[test]
fn explanations() {
    let rows = rows();
    let mut failures = Vec::new();
    let mut points = BTreeMap::<u32, usize>::new();
    for (file, text) in &rows {
        let row: Row = match yaml_serde::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{file}: not a row: {e}"));
                continue;
            }
        };
        *points.entry(row.point).or_default() += 1;
        match run_row(file, &row) {
            Err(e) => failures.push(format!("{file} ({}): {e}", row.rule)),
            Ok(o) => {
                let bad = check(&row.expect, &o);
                if !bad.is_empty() {
                    failures.push(format!(
                        "{file} (point {}: {}):\n    {}\n  --- text ---\n{}",
                        row.point,
                        row.rule,
                        bad.join("\n    "),
                        o.text
                    ));
                }
            }
        }
    }
    for p in POINTS {
        if !points.contains_key(&p) {
            failures.push(format!("point {p} has no row in tests/explanations/"));
        }
    }
    println!(
        "explanations: {} rows over {} points ({:?})",
        rows.len(),
        points.len(),
        points
    );
    assert!(
        failures.is_empty(),
        "{} of {} rows fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}
