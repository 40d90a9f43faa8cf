//! Arbitrary bytes as a snapshot file: loading (YAML or JSON, multi-document, Lists), building
//! the index in both ipBlock semantics, the connectivity map and a few diagnoses between the
//! pods it found. Must never panic or hang, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netpol_debug::diagnosis::{Query, check_side, diagnose};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::{Direction, Protocol};
use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::diagnosis::matrix;
use netpol_debug::report::render;
use netpol_debug::snapshot;

/// Pods paired for diagnoses (the first ones by index): keeps one input's work small.
const MAX_PODS: usize = 3;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(snap) = snapshot::load_str("fuzz.yaml", text) else {
        return;
    };
    for ipblock_matches_pods in [true, false] {
        let ix = ClusterIndex::build(&snap, Semantics { ipblock_matches_pods });
        let map = matrix::connectivity_map(&ix, &[]);
        let _ = (
            matrix::render_text(&map),
            matrix::render_dot(&map),
            matrix::render_mermaid(&map),
        );
        if !ipblock_matches_pods {
            continue;
        }
        let pods: Vec<String> = (0..ix.pods.len().min(MAX_PODS)).map(|id| ix.pod(id).key()).collect();
        for from in &pods {
            for to in pods.iter().chain([&"10.0.0.1".to_string()]) {
                let q = Query {
                    from: from.clone(),
                    to: to.clone(),
                    protocol: Protocol::Tcp,
                    port: Some(PortArg::Number(80)),
                };
                if let Ok(d) = diagnose(&ix, &q) {
                    let _ = render::diagnosis_text(&d);
                }
                let _ = check_side(&ix, &q, Direction::Ingress);
            }
        }
    }
});
