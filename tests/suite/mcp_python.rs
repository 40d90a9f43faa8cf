//! The MCP server against the official Python SDK (`mcp` 2.x): tests/mcp_client/test_mcp_client.py
//! drives the real binary over stdio and Streamable HTTP, with the 2025-11-25 handshake and the
//! stateless 2026-07-28 protocol, and validates every structuredContent against its outputSchema (an outline) and the tool's whole
//! result schema (`mcp::result_schema`); it also reads the resources, follows a diagnosis's
//! resource links, fills the three prompts and completes their arguments.
//!
//! The interpreter: `NETPOL_DEBUG_MCP_PYTHON`, else `<crate>/.venv-mcp/bin/python` (made by
//! tests/run). With neither, the test fails under CI (env `CI` set) and is skipped elsewhere.

use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

/// Each tool's whole result schema, `{tool: schema}`, in a file: `tools/list` carries outlines,
/// and the client checks every result against the whole schema too.
fn result_schemas() -> String {
    use netpol_debug::serve::{mcp, tools::ToolName};
    let all: serde_json::Map<String, serde_json::Value> = ToolName::ALL
        .iter()
        .map(|t| {
            (
                t.as_str().to_string(),
                serde_json::Value::Object(mcp::result_schema(*t).as_ref().clone()),
            )
        })
        .collect();
    let text = serde_json::to_string(&all).expect("schemas serialize");
    let path = crate::common::temp_file("mcp_python", "result-schemas.json", &text);
    path.to_string_lossy().into_owned()
}

#[test]
fn python_sdk_client_against_the_server() {
    let Some(python) = crate::common::mcp_python("python MCP SDK tests") else {
        return;
    };
    let script = "tests/mcp_client/test_mcp_client.py";
    let run = crate::common::run_mcp_script(&python, script, &[result_schemas()], TIMEOUT);
    let (status, out, err) = (run.status, run.stdout, run.stderr);
    match status {
        Some(s) if s.success() => {
            // The summary line (`N checks passed`), shown with --show-output.
            println!("python MCP SDK: {}", out.lines().last().unwrap_or("").trim());
        }
        Some(s) => panic!(
            "python MCP SDK client failed ({s}): {} {}\n---- stdout ----\n{out}\n---- stderr ----\n{err}",
            python.display(),
            script
        ),
        None => panic!(
            "python MCP SDK client timed out after {TIMEOUT:?} and was killed\n---- stdout ----\n{out}\n---- stderr ----\n{err}"
        ),
    }
}
