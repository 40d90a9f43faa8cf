//! netpol-debug: finds out why Kubernetes traffic is blocked by NetworkPolicy.
pub mod bench;
pub mod diagnosis;
pub mod engine;
pub mod index;
pub mod live;
pub mod policy;
pub mod report;
pub mod serve;
pub mod snapshot;
