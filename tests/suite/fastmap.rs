//! The rule-by-rule map (`matrix::connectivity_map`, `engine::PairConns`) against the map pair by
//! pair through the engine (`matrix::connectivity_map_pairwise`): equal, connection by connection,
//! on seeded random small clusters, under both readings of ipBlocks and pod IPs.
//!
//! The clusters: the oracle's generator (namespaces with labels, pods with labels and named
//! ports, 1-6 NetworkPolicies mixing every construct), plus, by seed, what makes pairs fall back
//! to the engine or is easy to get wrong rule by rule: pods of one ReplicaSet, a hostNetwork pod
//! and its Node, a pod without an IP, ipBlocks over the pods' addresses, an AdminNetworkPolicy or
//! a BaselineAdminNetworkPolicy, a CiliumNetworkPolicy, a Calico NetworkPolicy; and the benchmark
//! generator's S clusters (100 pods, 50 policies) and M cluster (1,000 pods, 500 policies). Any
//! difference prints the seed, the first differing lines, and the cluster.

use std::collections::BTreeSet;

use netpol_debug::bench::cluster_gen::{self, Size, SplitMix64};
use netpol_debug::diagnosis::matrix;
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::report::ConnectivityMap;
use netpol_debug::snapshot;

/// Random small clusters compared (each under both ipBlock readings).
const CLUSTERS: u64 = 300;
/// Benchmark S clusters compared.
const S_CLUSTERS: u64 = 4;

const EXTRA_PODS: &[&str] = &[
    // Two pods of one ReplicaSet: one workload.
    "apiVersion: v1\nkind: Pod\nmetadata: {name: rs-x1, namespace: ns-a, labels: {app: web, tier: back}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: u1, controller: true}]}\nspec: {nodeName: node-1, containers: [{name: c, image: nginx, ports: [{name: http, containerPort: 8080}]}]}\nstatus: {phase: Running, podIP: 10.0.9.1}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: rs-x2, namespace: ns-a, labels: {app: web, tier: back}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: u1, controller: true}]}\nspec: {nodeName: node-2, containers: [{name: c, image: nginx, ports: [{name: http, containerPort: 8080}]}]}\nstatus: {phase: Running, podIP: 10.0.9.2}\n",
    // On the host network, on node-1 (whose pods it reaches whatever the policies say).
    "apiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: ns-b, labels: {app: api}}\nspec: {hostNetwork: true, nodeName: node-1, containers: [{name: c, image: agent, ports: [{name: metrics, containerPort: 9100}]}]}\nstatus: {phase: Running, podIP: 192.168.0.10}\n",
    // No IP yet.
    "apiVersion: v1\nkind: Pod\nmetadata: {name: pending, namespace: ns-b, labels: {app: db}}\nspec: {containers: [{name: c, image: db, ports: [{name: dns, containerPort: 5353, protocol: UDP}]}]}\nstatus: {phase: Pending}\n",
];

const NODES: &str = "apiVersion: v1\nkind: Node\nmetadata: {name: node-1}\nstatus: {addresses: [{type: InternalIP, address: 192.168.0.10}]}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: node-2}\nstatus: {addresses: [{type: InternalIP, address: 192.168.0.11}]}\n";

/// NetworkPolicies whose ipBlocks cover pod and node addresses.
const POD_IPBLOCKS: &[&str] = &[
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ipb-in, namespace: ns-a}\nspec: {podSelector: {matchLabels: {app: web}}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}], ports: [{port: http}]}]}\n",
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ipb-out, namespace: ns-b}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 192.168.0.0/24}}, {ipBlock: {cidr: 10.0.9.0/24}}]}, {to: [{podSelector: {matchLabels: {app: db}}}], ports: [{protocol: UDP, port: dns}]}]}\n",
];

/// Policies of the other dialects: the pods they select fall back to the engine.
const OTHER_DIALECTS: &[&str] = &[
    "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: anp}\nspec:\n  priority: 10\n  subject: {pods: {namespaceSelector: {matchLabels: {team: blue}}, podSelector: {matchLabels: {app: db}}}}\n  ingress: [{name: deny-web, action: Deny, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}], ports: [{portNumber: {protocol: TCP, port: 80}}]}, {name: pass-api, action: Pass, from: [{namespaces: {}}]}]\n",
    "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n  subject: {namespaces: {matchLabels: {team: green}}}\n  ingress: [{name: deny-all, action: Deny, from: [{namespaces: {}}]}]\n  egress: [{name: allow-blue, action: Allow, to: [{namespaces: {matchLabels: {team: blue}}}]}]\n",
    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: cnp, namespace: ns-a}\nspec: {endpointSelector: {matchLabels: {app: api}}, ingress: [{fromEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]}]}\n",
    "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: cal, namespace: ns-b}\nspec: {selector: app == 'web', types: [Ingress], ingress: [{action: Allow, source: {selector: app == 'api'}}]}\n",
];

/// The oracle's cluster of `seed`, with some of the extras above (chosen by the seed).
fn cluster(seed: u64) -> String {
    let mut r = SplitMix64::new(seed ^ 0x5eed);
    let mut docs = vec![crate::oracle::cluster(seed)];
    if r.chance(70) {
        docs.push(NODES.to_string());
        docs.extend(EXTRA_PODS.iter().filter(|_| r.chance(60)).map(|d| d.to_string()));
    }
    docs.extend(POD_IPBLOCKS.iter().filter(|_| r.chance(30)).map(|d| d.to_string()));
    if r.chance(50) {
        docs.push(r.pick(OTHER_DIALECTS).to_string());
    }
    docs.join("---\n")
}

fn index(yaml: &str, ipblock_matches_pods: bool) -> ClusterIndex {
    let snap = snapshot::load_str("fastmap.yaml", yaml).expect("generated cluster parses");
    ClusterIndex::build(&snap, Semantics { ipblock_matches_pods })
}

/// The connections as `SRC => DST : CONNS` lines, in the map's order.
fn lines(map: &ConnectivityMap) -> Vec<String> {
    map.connections
        .iter()
        .map(|c| format!("{} => {} : {}", c.src, c.dst, c.conn))
        .collect()
}

/// The difference between the two maps of one cluster, if any.
fn compare(yaml: &str, ipblock_matches_pods: bool, scope: &[String]) -> Option<String> {
    let ix = index(yaml, ipblock_matches_pods);
    let (fast, slow) = (
        lines(&matrix::connectivity_map(&ix, scope)),
        lines(&matrix::connectivity_map_pairwise(&ix, scope)),
    );
    if fast == slow {
        return None;
    }
    let (f, s): (BTreeSet<&String>, BTreeSet<&String>) = (fast.iter().collect(), slow.iter().collect());
    let only_fast: Vec<&&String> = f.difference(&s).take(5).collect();
    let only_slow: Vec<&&String> = s.difference(&f).take(5).collect();
    Some(format!(
        "ipblock_matches_pods={ipblock_matches_pods} scope={scope:?}: {} vs {} lines; only rule by rule: {only_fast:?}; only pairwise: {only_slow:?}",
        fast.len(),
        slow.len()
    ))
}

#[test]
fn rule_by_rule_map_equals_the_pairwise_map_on_random_clusters() {
    let mut failures = Vec::new();
    for seed in 0..CLUSTERS {
        let yaml = cluster(seed);
        let scope: Vec<String> = match seed % 5 {
            0 => vec!["ns-b".to_string()],
            _ => Vec::new(),
        };
        for reading in [true, false] {
            if let Some(d) = compare(&yaml, reading, &scope) {
                failures.push(format!("seed {seed}: {d}\n{yaml}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} comparisons differ; the first:\n{}",
        failures.len(),
        2 * CLUSTERS,
        failures[0]
    );
}

#[test]
fn rule_by_rule_map_equals_the_pairwise_map_on_benchmark_s_clusters() {
    for seed in 1..=S_CLUSTERS {
        let yaml = cluster_gen::generate(Size::S, seed);
        for reading in [true, false] {
            assert_eq!(compare(&yaml, reading, &[]), None, "S cluster, seed {seed}");
        }
    }
}

/// The benchmark's M cluster (409 workloads, 500 policies), default reading.
#[test]
fn rule_by_rule_map_equals_the_pairwise_map_on_the_benchmark_m_cluster() {
    let yaml = cluster_gen::generate(Size::M, 1);
    assert_eq!(compare(&yaml, true, &[]), None);
}

/// The extras are read as meant: the generator exercises every fallback.
#[test]
fn the_generator_exercises_every_fallback() {
    let yaml = [
        crate::oracle::cluster(1),
        NODES.to_string(),
        EXTRA_PODS.join("---\n"),
        POD_IPBLOCKS.join("---\n"),
        OTHER_DIALECTS.join("---\n"),
    ]
    .join("---\n");
    let ix = index(&yaml, true);
    assert!(ix.pods.iter().any(|p| p.host_network));
    assert!(ix.pods.iter().any(|p| p.ips.is_empty()));
    assert!(!ix.admin.is_empty() && !ix.cilium.is_empty() && !ix.calico.is_empty());
    let unexpected: Vec<String> = ix
        .warnings
        .iter()
        .map(|w| w.to_string())
        .filter(|w| !w.contains("has no IP yet"))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert_eq!(compare(&yaml, true, &[]), None);
}

/// Rule lists at the edge of a 64-bit mask: 64 rules are decided rule by rule, 65 go through the
/// engine; both give the pairwise map.
#[test]
fn rule_lists_of_64_and_65_rules_give_the_pairwise_map() {
    let rules = |n: usize, key: &str| {
        let rules: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "{{{key}: [{{podSelector: {{matchLabels: {{app: {}}}}}}}], ports: [{{port: {}}}]}}",
                    ["web", "api", "db"][i % 3],
                    1000 + i
                )
            })
            .collect();
        rules.join(", ")
    };
    for n in [63, 64, 65, 70] {
        let yaml = format!(
            "{}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: many-in, namespace: ns-a}}\nspec: {{podSelector: {{}}, ingress: [{}]}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: many-out, namespace: ns-b}}\nspec: {{podSelector: {{}}, egress: [{}]}}\n",
            crate::oracle::cluster(7),
            rules(n, "from"),
            rules(n, "to")
        );
        for reading in [true, false] {
            assert_eq!(compare(&yaml, reading, &[]), None, "{n} rules");
        }
    }
}
