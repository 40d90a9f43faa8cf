//! Helpers shared by the integration tests.
#![allow(dead_code)]

use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::snapshot;

/// Builds an index from YAML text.
pub fn index(yaml: &str) -> ClusterIndex {
    let snap = snapshot::load_str("test.yaml", yaml).expect("test snapshot parses");
    ClusterIndex::build(&snap, Semantics::default())
}

/// Path of the shared conformance corpus, if present (CI always has it).
pub fn shared_dir() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    p.is_dir().then_some(p)
}
