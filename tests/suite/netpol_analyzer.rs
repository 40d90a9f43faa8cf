//! Our connectivity map (`matrix`) against the netpol-analyzer corpus in
//! ../shared/conformance/netpol-analyzer (np-guard/netpol-analyzer, see COMMIT there).
//!
//! Facts about the corpus output are summarized in CONFORMANCE.md (they override the corpus README).
//! Compared as sets of lines: `SRC => DST : CONNS`.
//! - Class A (only namespaces, pods, workloads, NetworkPolicies): every line.
//! - Class C (Routes / Ingresses): only the lines whose source is not `{ingress-controller}`
//!   (upstream adds the fake ingress-controller peer after computing the pod/External pairs).
//! - Class B (AdminNetworkPolicy / BaselineAdminNetworkPolicy, with namespaces, pods, workloads,
//!   NetworkPolicies): every line, in `netpol_analyzer_admin_conformance`, with its own
//!   `ADMIN_KNOWN_DIFFERENCES`. The malformed cases upstream rejects (`ADMIN_REJECTED`) have no
//!   map: loading them must not panic and must warn about the admin policy.
//!
//! `KNOWN_DIFFERENCES` lists the cases we do not match, with the reason. The test fails when a
//! case outside the list mismatches, and when a listed case now matches (so the list stays true).
//! Cases listed for `HOST_NETWORK` are also checked to match once hostNetwork is ignored, so
//! that reason is proven to be the whole difference.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use netpol_debug::diagnosis::matrix;
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::snapshot;

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

/// Class B: AdminNetworkPolicy / BaselineAdminNetworkPolicy cases whose inputs are otherwise made
/// of the kinds we model, and that have an expected map.
const CLASS_B: &[&str] = &[
    "anp_and_banp_using_networks_and_nodes_test",
    "anp_and_banp_using_networks_test",
    "anp_and_banp_using_networks_with_ipv6_test",
    "anp_banp_blog_demo",
    "anp_banp_core_test",
    "anp_banp_test_multiple_warnings",
    "anp_banp_test_with_named_port_matched",
    "anp_banp_test_with_named_port_unmatched",
    "anp_demo",
    "anp_np_banp_core_test",
    "anp_test_10",
    "anp_test_10_swapping_rules",
    "anp_test_11",
    "anp_test_11_swapping_rules",
    "anp_test_12",
    "anp_test_12_swapping_rules",
    "anp_test_1_deny_traffic_at_cluster_level",
    "anp_test_2_allow_traffic_at_cluster_level",
    "anp_test_3_pass_traffic",
    "anp_test_4",
    "anp_test_4_with_priority_chang_pass_to_banp",
    "anp_test_5",
    "anp_test_6",
    "anp_test_6_swapping_rules",
    "anp_test_7",
    "anp_test_7_swapping_rules",
    "anp_test_8",
    "anp_test_8_swapping_rules",
    "anp_test_9",
    "anp_test_9_swapping_rules",
    "anp_test_combining_test_6_and_test_10",
    "anp_test_ingress_egress_intersection",
    "anp_test_multiple_anps",
    "anp_test_named_ports_multiple_peers",
    "anp_with_banp_new_test",
    "anp_with_banp_pass_test",
    "anp_with_np_and_banp_pass_test",
    "anp_with_np_pass_test",
    "banp_test_core_egress_sctp_rules",
    "banp_test_core_egress_sctp_swapping_rules",
    "banp_test_core_egress_tcp_rules",
    "banp_test_core_egress_tcp_swapping_rules",
    "banp_test_core_egress_udp_rules",
    "banp_test_core_egress_udp_swapping_rules",
    "banp_test_core_gress_rules",
    "banp_test_core_gress_swapping_rules",
    "banp_test_core_ingress_sctp_rules",
    "banp_test_core_ingress_sctp_swapping_rules",
    "banp_test_core_ingress_tcp_rules",
    "banp_test_core_ingress_tcp_swapping_rules",
    "banp_test_core_ingress_udp_rules",
    "banp_test_core_ingress_udp_swapping_rules",
    "example_pods_w_same_owner_and_labels_gap_anp_good",
    "example_pods_w_same_owner_and_labels_gap_banp_good",
];

/// The analyzer skips IPv6 CIDRs of `networks` peers (with a warning) and never prints IPv6; we
/// evaluate them and list the IPv6 External ranges they cut. A case listed with this reason must
/// match exactly once our IPv6 External lines are dropped.
const IPV6: &str = "IPv6 networks: the analyzer ignores IPv6 CIDRs and prints no IPv6 range; we evaluate them";

/// Class B cases we do not match, each with the reason (same rules as `KNOWN_DIFFERENCES`).
const ADMIN_KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    ("anp_and_banp_using_networks_with_ipv6_test", IPV6),
    ("anp_banp_test_multiple_warnings", IPV6),
];

/// Malformed AdminNetworkPolicy / BaselineAdminNetworkPolicy cases the analyzer rejects with an
/// error (no map): each must load without panicking and warn about the policy.
const ADMIN_REJECTED: &[&str] = &[
    "anp_bad_path_test_1",
    "anp_bad_path_test_2",
    "anp_bad_path_test_3",
    "anp_bad_path_test_4",
    "anp_bad_path_test_5",
    "anp_bad_path_test_6",
    "anp_bad_path_test_7",
    "anp_bad_path_test_8",
    "anp_bad_path_test_9",
    "anp_bad_path_test_10",
    "anp_bad_path_test_12",
    "anp_bad_path_test_14",
    "anp_bad_path_test_15",
    "anp_bad_path_test_16",
    "anp_bad_path_test_17",
    "anp_bad_path_test_18",
    "anp_bad_path_test_19",
    "anp_bad_path_test_20",
    "anp_test_with_empty_port_range",
    "banp_bad_path_test_1",
    "banp_bad_path_test_2",
    "banp_bad_path_test_3",
    "banp_bad_path_test_4",
    "banp_bad_path_test_5",
    "banp_bad_path_test_6",
    "banp_bad_path_test_7",
    "banp_bad_path_test_8",
    "banp_bad_path_test_9",
    "banp_bad_path_test_10",
    "banp_bad_path_test_11",
    "banp_bad_path_test_12",
    "banp_bad_path_test_13",
    "banp_bad_path_test_14",
    "banp_bad_path_test_15",
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

/// `SRC => DST : CONNS` where SRC or DST is an IPv6 External range.
fn is_ipv6_external(line: &str) -> bool {
    let ends = line.rsplit_once(" : ").map_or(line, |(ends, _)| ends);
    ends.split(" => ").any(|e| e.ends_with("[External]") && e.contains(':'))
}

#[test]
fn netpol_analyzer_admin_conformance() {
    let Some(root) = corpus() else {
        eprintln!("SKIPPED: ../shared/conformance not found (netpol-analyzer admin conformance)");
        return;
    };
    for (case, _) in ADMIN_KNOWN_DIFFERENCES {
        assert!(
            CLASS_B.contains(case),
            "ADMIN_KNOWN_DIFFERENCES names {case}, which is no class B case"
        );
    }
    let known = |c: &str| ADMIN_KNOWN_DIFFERENCES.iter().find(|(k, _)| *k == c).map(|(_, r)| *r);
    let mut problems = Vec::new();
    let mut matching = 0;
    let mut ipv6_only = 0;
    for &case in CLASS_B {
        let o = compare(&root, case, false);
        let diff_without_ipv6 = o.diff.as_ref().map(|_| {
            let expected = std::fs::read_to_string(root.join("expected").join(format!("{case}_connlist_output.txt")))
                .map(|t| lines(&t))
                .unwrap_or_default();
            match our_lines(&root, case, false) {
                Ok((ours, _)) => describe(&expected, &ours.into_iter().filter(|l| !is_ipv6_external(l)).collect()),
                Err(e) => Some(e),
            }
        });
        match (&o.diff, known(case)) {
            (None, None) => matching += 1,
            (None, Some(_)) => problems.push(format!("{case} now matches: remove it from ADMIN_KNOWN_DIFFERENCES")),
            (Some(d), None) => {
                let mut msg = format!("{case} mismatches (not in ADMIN_KNOWN_DIFFERENCES):\n{d}");
                if let Some(None) = diff_without_ipv6 {
                    msg.push_str(&format!(
                        "  it matches once IPv6 External lines are dropped: list it with reason {IPV6:?}\n"
                    ));
                }
                problems.push(msg);
            }
            (Some(_), Some(reason)) if reason == IPV6 => match diff_without_ipv6 {
                Some(None) => ipv6_only += 1,
                Some(Some(d2)) => problems.push(format!(
                    "{case} is listed as differing only by IPv6, but still differs without the IPv6 lines:\n{d2}"
                )),
                None => unreachable!("a listed case with a diff has a diff without IPv6"),
            },
            (Some(_), Some(reason)) => eprintln!("  known difference: {case}: {reason}"),
        }
    }

    let mut rejected_ok = 0;
    for &case in ADMIN_REJECTED {
        let loaded = std::panic::catch_unwind(|| {
            let snap =
                snapshot::load_paths(&[root.join("tests").join(case)]).map_err(|e| format!("load error: {e}"))?;
            let ix = ClusterIndex::build(
                &snap,
                Semantics {
                    ipblock_matches_pods: false,
                },
            );
            // The map must be computable too.
            let _ = matrix::connectivity_map(&ix, &[]);
            Ok::<Vec<String>, String>(ix.warnings.iter().map(|w| w.to_string()).collect())
        });
        match loaded {
            Err(_) => problems.push(format!("{case}: loading or mapping panicked")),
            Ok(Err(e)) => problems.push(format!("{case}: {e}")),
            Ok(Ok(warnings)) if warnings.iter().any(|w| w.contains("AdminNetworkPolicy")) => rejected_ok += 1,
            Ok(Ok(warnings)) => problems.push(format!(
                "{case}: upstream rejects it, but we give no AdminNetworkPolicy warning: {warnings:?}"
            )),
        }
    }
    eprintln!(
        "netpol-analyzer admin conformance: {matching}/{} ANP/BANP cases match; {ipv6_only} more match once our IPv6 \
         External lines are dropped ({} of {} in all); {rejected_ok}/{} malformed cases upstream rejects load with a warning",
        CLASS_B.len(),
        matching + ipv6_only,
        CLASS_B.len(),
        ADMIN_REJECTED.len(),
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n\n{}",
        problems.len(),
        problems.join("\n")
    );
}
