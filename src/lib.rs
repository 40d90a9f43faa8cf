//! netpol-debug: finds out why Kubernetes traffic is blocked by NetworkPolicy, and says so with
//! evidence.
//!
//! The crate is built in one-way layers, lowest first; a module uses only the layers below it
//! (`tests/suite/architecture.rs` checks this, ARCHITECTURE.md draws it):
//!
//! - [`snapshot`] reads a cluster's objects from files (or a live read) into plain values;
//! - [`policy`] lowers every policy dialect once into matchers;
//! - [`index`] builds the lookups and facts of one snapshot;
//! - [`engine`] evaluates one flow through ordered tiers, pure and total, explaining itself as data;
//! - [`report`] holds the wire types, the only serialized shapes;
//! - [`diagnosis`] turns a question into a ranked, evidenced answer (causes, checks, steps, map);
//! - [`serve`] is the MCP surface and [`bench`] the generator and benchmark;
//! - [`live`] reads a live cluster, read-only, as a source for `serve`;
//! - the binary's `cli` sits on top.
pub mod snapshot;

pub mod policy;

pub mod index;

pub mod engine;

pub mod report;

pub mod diagnosis;

pub mod bench;
pub mod serve;

pub mod live;
