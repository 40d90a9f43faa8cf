//! The integration test binary. Index:
//! - `rules`: one table row per NetworkPolicy semantic rule, each naming the rule it checks.
//! - `e2e`: the upstream Kubernetes e2e NetworkPolicy cases (tests/e2e/*.yaml, our transcription).
//! - `netpol_analyzer`: our `matrix` against the netpol-analyzer corpus in ../shared/conformance.
//! - `examples`: every broken-cluster scenario in examples/ gives the verdict and root cause its case file names.
//! - `diagnose`: which root causes `diagnose` reports, and in which order, beyond the examples.
//! - `cli`: the real binary: exit codes, JSON shape, errors that name the file.

#[path = "suite/cli.rs"]
mod cli;
#[path = "suite/common.rs"]
mod common;
#[path = "suite/diagnose.rs"]
mod diagnose;
#[path = "suite/e2e.rs"]
mod e2e;
#[path = "suite/examples.rs"]
mod examples;
#[path = "suite/netpol_analyzer.rs"]
mod netpol_analyzer;
#[path = "suite/rules.rs"]
mod rules;
