//! The MCP surface: tools, their text summaries, the rmcp server, and the HTTP transport's safety gate.
pub mod http_safety;
pub mod mcp;
pub mod source;
pub mod text;
pub mod tools;
