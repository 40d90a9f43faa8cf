//! Errors of the I/O edges only (reading files, parsing YAML/JSON). The engine has none.
//!
//! Invariant: every message names the file (and line or document where known).

use std::path::PathBuf;

/// A snapshot could not be read at all. Problems with single objects are warnings instead.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: no such file or directory")]
    Missing { path: PathBuf },
    #[error("{path}: not UTF-8 text (byte {offset}); snapshots are YAML or JSON files")]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("{path}:{line}:{column}: YAML syntax error: {message}")]
    Yaml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}:{line}:{column}: JSON syntax error: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Over [`crate::snapshot::Limits::max_bytes`]; a file is rejected from its size alone, before
    /// it is read.
    #[error("{path}: {}", too_large(*size, *at_least, *before, *limit))]
    TooLarge {
        path: PathBuf,
        /// The input's size (`at_least`: what was read of a stream before the limit stopped it).
        size: u64,
        at_least: bool,
        /// Bytes read from the inputs before this one.
        before: u64,
        limit: u64,
    },
    /// Over [`crate::snapshot::Limits::max_objects`]; `location` is the first object over it.
    #[error("{location}: more than {limit} objects in the snapshot (the limit; raise it with --max-objects)")]
    TooManyObjects { location: String, limit: usize },
    /// YAML aliases that expand far beyond the text (a "billion laughs" alias bomb).
    #[error("{path}: YAML aliases expand to too much data ({detail}); an alias bomb is not loaded")]
    AliasBomb { path: PathBuf, detail: String },
    /// Nesting deeper than the parsers' recursion limit (128 levels).
    #[error("{path}:{line}:{column}: nested more than 128 levels deep; not loaded")]
    TooDeep { path: PathBuf, line: usize, column: usize },
    /// A Helm / Go template (`{{ ... }}` where a value begins), not a rendered manifest.
    #[error(
        "{path}:{line}: looks like a Helm/Go template, not a manifest (`{text}`): render it first \
         (e.g. `helm template RELEASE CHART > rendered.yaml`) and load the rendered file"
    )]
    Template { path: PathBuf, line: usize, text: String },
    #[error("no snapshot files given (pass files, directories or - for stdin)")]
    NoInput,
    #[error("{path}: no .yaml, .yml or .json files in this directory")]
    EmptyDirectory { path: PathBuf },
}

fn too_large(size: u64, at_least: bool, before: u64, limit: u64) -> String {
    let size = if at_least {
        format!("more than {} bytes", size.saturating_sub(1))
    } else {
        format!("{size} bytes")
    };
    let total = if before > 0 {
        format!(" (after {before} bytes of the inputs before it)")
    } else {
        String::new()
    };
    format!(
        "{size}{total}: over the snapshot size limit of {limit} bytes; not read (raise the limit with --max-snapshot-bytes)"
    )
}
