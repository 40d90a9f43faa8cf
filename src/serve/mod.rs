//! The MCP surface: tools, their text summaries, the rmcp server, and the HTTP transport's safety gate.
pub mod complete;
pub mod http_safety;
pub mod mcp;
pub mod resources;
pub mod source;
pub mod text;
pub mod tools;
