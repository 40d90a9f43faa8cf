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
    #[error("no snapshot files given (pass files, directories or - for stdin)")]
    NoInput,
    #[error("{path}: no .yaml, .yml or .json files in this directory")]
    EmptyDirectory { path: PathBuf },
}
