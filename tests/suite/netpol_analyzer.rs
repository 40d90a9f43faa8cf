//! Our connectivity map (`matrix`) against the netpol-analyzer corpus in
//! ../shared/conformance/netpol-analyzer (np-guard/netpol-analyzer, see COMMIT there).
//!
//! Facts about the corpus output are summarized in CONFORMANCE.md (they override the corpus README).
//! Compared as sets of lines: `SRC => DST : CONNS`.
//! - Class A (only namespaces, pods, workloads, NetworkPolicies): every line.
//! - Class C (Routes / Ingresses): only the lines whose source is not `{ingress-controller}`
//!   (upstream adds the fake ingress-controller peer after computing the pod/External pairs).
//!
//! `KNOWN_DIFFERENCES` lists the cases we do not match, with the reason. The test fails when a
//! case outside the list mismatches, and when a listed case now matches (so the list stays true).
//! Cases listed for `HOST_NETWORK` are also checked to match once hostNetwork is ignored, so
//! that reason is proven to be the whole difference.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::{matrix, snapshot};

/// Class A: only namespaces, pods, workloads and NetworkPolicies. (The stale
/// `test_pod_exposed_only_to_representative_peers` expected file is left out: no test produces it.)
const CLASS_A: &[&str] = &[
    "core_pods_without_host_ip",
    "example_pods_w_same_owner_and_labels_gap_no_policy",
    "example_pods_w_same_owner_and_labels_gap_with_good_match_expression",
    "example_pods_w_same_owner_and_labels_gap_with_good_match_expression2",
    "example_pods_w_same_owner_and_labels_gap_with_policy_selector_not_in_gap",
    "exposure_test_pod_exposed_only_to_representative_peers",
    "ipblockstest",
    "ipblockstest_2",
    "ipblockstest_3",
    "ipblockstest_4",
    "minikube_resources",
    "minimal_test_in_ns",
    "multiple_topology_resources_1",
    "multiple_topology_resources_2",
    "multiple_topology_resources_3",
    "multiple_topology_resources_4",
    "netpol-analysis-example-minimal",
    "netpol_named_port_test",
    "netpol_named_port_test_2",
    "new_online_boutique",
    "new_online_boutique_synthesis",
    "online_boutique_workloads_no_ns",
    "onlineboutique",
    "onlineboutique_workloads",
    "semanticDiff-different-topologies-policy-a",
    "semanticDiff-different-topologies-policy-a-with-ipblock",
    "semanticDiff-different-topologies-policy-b",
    "semanticDiff-different-topologies-policy-b-with-ipblock",
    "semanticDiff-orig-topologies-no-policy",
    "semanticDiff-orig-topologies-policy-a",
    "semanticDiff-same-topologies-new1",
    "semanticDiff-same-topologies-new1a",
    "semanticDiff-same-topologies-new2",
    "semanticDiff-same-topologies-new3",
    "semanticDiff-same-topologies-old1",
    "semanticDiff-same-topologies-old2",
    "semanticDiff-same-topologies-old3",
    "test_with_named_ports",
    "test_with_named_ports_changed_netpol",
    "test_with_named_ports_changed_netpol_2",
    "with_end_port_example",
    "with_end_port_example_new",
];

/// Class C: Routes / Ingresses; compared without the `{ingress-controller}` lines.
const CLASS_C: &[&str] = &[
    "acs-security-demos",
    "acs-security-demos-with-netpol-list",
    "acs_security_frontend_demos",
    "demo_app_with_routes_and_ingress",
    "k8s_ingress_test",
    "multiple_ingress_objects_with_different_ports",
    "one_ingress_multiple_ports",
    "one_ingress_multiple_services",
];

/// The one semantic difference we keep on purpose. The analyzer treats `hostNetwork: true` pods as
/// ordinary pods (policies select them, selectors match them). We follow Kubernetes: such a pod
/// uses the node's network, policies neither select it nor match it by pod/namespace selector.
/// A case listed with this reason must match exactly once hostNetwork is cleared on every pod.
const HOST_NETWORK: &str =
    "hostNetwork pods: the analyzer treats them as ordinary pods, we (like Kubernetes) never select or match them";

/// Cases we do not match, each with the reason. The test fails when one of them matches, or
/// when a case not listed mismatches.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    ("ipblockstest", HOST_NETWORK),
    ("ipblockstest_2", HOST_NETWORK),
    ("ipblockstest_3", HOST_NETWORK),
    ("ipblockstest_4", HOST_NETWORK),
    ("multiple_topology_resources_1", HOST_NETWORK),
    ("multiple_topology_resources_2", HOST_NETWORK),
    ("semanticDiff-same-topologies-new1", HOST_NETWORK),
    ("semanticDiff-same-topologies-new1a", HOST_NETWORK),
    ("semanticDiff-same-topologies-new2", HOST_NETWORK),
    ("semanticDiff-same-topologies-new3", HOST_NETWORK),
    ("semanticDiff-same-topologies-old1", HOST_NETWORK),
    ("semanticDiff-same-topologies-old2", HOST_NETWORK),
    ("semanticDiff-same-topologies-old3", HOST_NETWORK),
];

const INGRESS_CONTROLLER: &str = "{ingress-controller}";

fn corpus() -> Option<PathBuf> {
    let p = super::common::shared_dir()?.join("conformance/netpol-analyzer");
    p.is_dir().then_some(p)
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// What our map says for one case, or an error text. `ignore_host_network`: clear
/// `spec.hostNetwork` on every pod first, as the analyzer does (it treats hostNetwork pods as
/// ordinary pods; we follow Kubernetes, where policies neither select nor match them).
/// Returns the lines and whether any pod had hostNetwork set.
fn our_lines(root: &Path, case: &str, ignore_host_network: bool) -> Result<(BTreeSet<String>, bool), String> {
    let mut snap = snapshot::load_paths(&[root.join("tests").join(case)]).map_err(|e| format!("load error: {e}"))?;
    let mut had_host_network = false;
    for pod in &mut snap.pods {
        if let Some(spec) = pod.spec.as_mut()
            && spec.host_network == Some(true)
        {
            had_host_network = true;
            if ignore_host_network {
                spec.host_network = None;
            }
        }
    }
    let ix = ClusterIndex::build(
        &snap,
        Semantics {
            ipblock_matches_pods: false,
        },
    );
    Ok((
        lines(&matrix::render_text(&matrix::connectivity_map(&ix, &[]))),
        had_host_network,
    ))
}

struct Outcome {
    case: &'static str,
    /// None when our map equals the expected file.
    diff: Option<String>,
    /// When it does not and some pod is hostNetwork: the diff once hostNetwork is ignored as the
    /// analyzer ignores it (`Some(None)`: then it matches).
    diff_ignoring_host_network: Option<Option<String>>,
}

fn describe(expected: &BTreeSet<String>, ours: &BTreeSet<String>) -> Option<String> {
    if ours == expected {
        return None;
    }
    let missing: Vec<&String> = expected.difference(ours).collect();
    let extra: Vec<&String> = ours.difference(expected).collect();
    let mut d = format!(
        "{} expected lines, {} ours; {} missing (-), {} extra (+)\n",
        expected.len(),
        ours.len(),
        missing.len(),
        extra.len()
    );
    for (sign, v) in [("-", &missing), ("+", &extra)] {
        for l in v.iter().take(15) {
            d.push_str(&format!("  {sign} {l}\n"));
        }
        if v.len() > 15 {
            d.push_str(&format!("  {sign} ... {} more\n", v.len() - 15));
        }
    }
    Some(d)
}

fn compare(root: &Path, case: &'static str, skip_ingress_controller: bool) -> Outcome {
    let fail = |d: String| Outcome {
        case,
        diff: Some(d),
        diff_ignoring_host_network: None,
    };
    let expected_path = root.join("expected").join(format!("{case}_connlist_output.txt"));
    let expected = match std::fs::read_to_string(&expected_path) {
        Ok(t) => lines(&t),
        Err(e) => return fail(format!("cannot read {}: {e}", expected_path.display())),
    };
    let keep = |l: &String| !(skip_ingress_controller && l.starts_with(INGRESS_CONTROLLER));
    let expected: BTreeSet<String> = expected.into_iter().filter(keep).collect();
    let run = |ignore_host_network: bool| {
        our_lines(root, case, ignore_host_network)
            .map(|(o, hn)| (o.into_iter().filter(keep).collect::<BTreeSet<_>>(), hn))
    };
    let (ours, had_host_network) = match run(false) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let diff = describe(&expected, &ours);
    let diff_ignoring_host_network = (diff.is_some() && had_host_network).then(|| match run(true) {
        Ok((o, _)) => describe(&expected, &o),
        Err(e) => Some(e),
    });
    Outcome {
        case,
        diff,
        diff_ignoring_host_network,
    }
}

#[test]
fn netpol_analyzer_conformance() {
    let Some(root) = corpus() else {
        eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!("SKIPPED: ../shared/conformance not found (netpol-analyzer conformance)");
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
        return;
    };
    for (case, _) in KNOWN_DIFFERENCES {
        assert!(
            CLASS_A.contains(case) || CLASS_C.contains(case),
            "KNOWN_DIFFERENCES names {case}, which is no eligible case"
        );
    }
    let outcomes: Vec<Outcome> = CLASS_A
        .iter()
        .map(|c| compare(&root, c, false))
        .chain(CLASS_C.iter().map(|c| compare(&root, c, true)))
        .collect();

    let eligible = outcomes.len();
    let matching = outcomes.iter().filter(|o| o.diff.is_none()).count();
    let a_matching = outcomes[..CLASS_A.len()].iter().filter(|o| o.diff.is_none()).count();
    let c_matching = matching - a_matching;
    let host_network_only = outcomes
        .iter()
        .filter(|o| matches!(o.diff_ignoring_host_network, Some(None)))
        .count();
    eprintln!(
        "netpol-analyzer conformance: {matching} of {eligible} eligible cases match \
         (class A {a_matching}/{}, class C without {{ingress-controller}} lines {c_matching}/{}); \
         {host_network_only} more match once hostNetwork is ignored as the analyzer does ({} of {eligible} in all)",
        CLASS_A.len(),
        CLASS_C.len(),
        matching + host_network_only,
    );

    let known = |c: &str| KNOWN_DIFFERENCES.iter().find(|(k, _)| *k == c).map(|(_, r)| *r);
    let mut problems = Vec::new();
    for o in &outcomes {
        match (&o.diff, known(o.case)) {
            (Some(d), None) => {
                let mut msg = format!("{} mismatches (not in KNOWN_DIFFERENCES):\n{d}", o.case);
                if let Some(Some(d2)) = &o.diff_ignoring_host_network {
                    msg.push_str(&format!("  with hostNetwork ignored as the analyzer does:\n{d2}"));
                } else if let Some(None) = &o.diff_ignoring_host_network {
                    msg.push_str(&format!(
                        "  it matches once hostNetwork is ignored: list it with reason {HOST_NETWORK:?}\n"
                    ));
                }
                problems.push(msg);
            }
            (None, Some(_)) => problems.push(format!("{} now matches: remove it from KNOWN_DIFFERENCES", o.case)),
            (Some(_), Some(reason)) if reason == HOST_NETWORK => match &o.diff_ignoring_host_network {
                Some(None) => {}
                Some(Some(d2)) => problems.push(format!(
                    "{} is listed as differing only by hostNetwork, but still differs with hostNetwork ignored:\n{d2}",
                    o.case
                )),
                None => problems.push(format!(
                    "{} is listed as differing only by hostNetwork, but has no hostNetwork pod",
                    o.case
                )),
            },
            (Some(_), Some(reason)) => eprintln!("  known difference: {}: {reason}", o.case),
            (None, None) => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n\n{}",
        problems.len(),
        problems.join("\n")
    );
}
