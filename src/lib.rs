//! netpol-debug: finds out why Kubernetes traffic is blocked by NetworkPolicy.
pub mod cni;
pub mod diagnose;
pub mod engine;
pub mod error;
pub mod index;
pub mod matrix;
pub mod mcp;
pub mod policy;
pub mod query;
pub mod render;
pub mod report;
pub mod snapshot;
pub mod steps;
pub mod tools;
