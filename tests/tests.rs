//! The integration test binary. Index:
//! - `architecture`: the layers hold (no `crate::` path points up, no import circle between
//!   files, wire derives only in `src/report/`), read from `src/` as text.
//! - `rules`: one table row per NetworkPolicy semantic rule, each naming the rule it checks, and
//!   one per defaulting the API server applies (`api_server_defaulting_table`).
//! - `admin`: one table row per AdminNetworkPolicy / BaselineAdminNetworkPolicy semantic rule (tiers,
//!   ports, peers, subjects, same priority, malformed objects), with the connection sets across tiers.
//! - `cluster_network_policy`: one table row per ClusterNetworkPolicy (v1alpha2) semantic rule
//!   (tiers, Pass, priorities and undefined orders, subjects, peers, protocols) and per strict-reading
//!   rule of the admin kinds (unknown fields, wrong version or action words).
//! - `calico`: one table row per Calico semantic rule (tiers and their order, policies and
//!   theirs, Allow/Deny/Log/Pass, end-of-tier deny, Kubernetes policies in the default tier,
//!   `types`, selectors, entity rules), each in both object orders.
//! - `cilium`: one table row per Cilium (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy)
//!   semantic rule evaluated at L3/L4 (selection, default deny, deny wins, L3/L4, what stays
//!   DATAPLANE_DEPENDENT), each in both policy orders.
//! - `e2e`: the upstream Kubernetes e2e NetworkPolicy cases (tests/e2e/*.yaml, our transcription).
//! - `cnp_conformance`: the upstream ClusterNetworkPolicy (v1alpha2) conformance tests of
//!   network-policy-api (tests/cnp_conformance/*.yaml, our transcription): the table is checked on
//!   every build, the verdicts asserted once the policy table knows the kind.
//! - `extended_conformance`: the cilium-cli connectivity tests and the Calico docs' worked examples
//!   (tests/cilium_conformance/, tests/calico_conformance/, our transcription): the data is checked
//!   on every build, confident wrong verdicts always fail, `inconclusive` until each dialect's
//!   `*_EVALUATED` constant is set.
//! - `netpol_analyzer`: our `matrix` against the netpol-analyzer corpus in ../shared/conformance.
//! - `examples`: every broken-cluster scenario in examples/ gives the verdict and root cause its case file names.
//! - `example_fixes`: each example's suggested fix, written as objects (`fix` in its case file),
//!   turns the flow into allowed and changes nothing else in the map but what the case names.
//! - `context`: the checks around the rules (CNI, DNS, API server, Services, NodePort SNAT,
//!   hostNetwork, Multus, meshes, cross-namespace, verification), one trap per test.
//! - `explanations`: how answers explain themselves, one row per point of the contract
//!   (tests/explanations/*.yaml): ranking, AND/OR, quoted YAML, fixes in labels, contradictions,
//!   noise, text that carries the facts, errors an agent can act on, the first run.
//! - `diagnose`: which root causes `diagnose` reports, and in which order, beyond the examples.
//! - `live`: the live-cluster source over real HTTP against `fake_kube`, a local server that
//!   answers like the Kubernetes API (discovery, lists, pagination, 403s, delays): live equals
//!   offline, GET only, the request bound, RBAC, errors, snapshot export, the MCP cache.
//! - `real_apiserver`: live mode against a real kube-apiserver and etcd (`control_plane` starts
//!   them through tests/apiserver/control-plane.sh, once per run; skipped loudly without them):
//!   live = offline, the audit log shows only reads, RBAC one permission missing at a time,
//!   pagination and an expired `continue` token (the real 410), CRDs found after start, CRDs
//!   with several served versions, `serve --live` through the Python MCP SDK.
//! - `cli`: the real binary: exit codes, JSON shape, errors that name the file.
//! - `bad_inputs`: the catalogue of bad inputs (syntax, encodings, wrong types, invalid values,
//!   duplicates, size and object limits, nesting, alias bombs, 1,000,000 objects): each names the
//!   file/object/field, stays bounded, and never yields a confident verdict it cannot back; fields
//!   the API server does not know (`POLICY_FIELD_UNKNOWN`), policy kinds we do not evaluate, and
//!   the count of kinds we do not model.
//! - `manifests`: manifests read as `kubectl apply` reads them (`--namespace` for objects that name
//!   none, the hint when a question names another namespace), templates stopped before loading,
//!   and every command ending quietly on a closed stdout.
//! - `mcp`: the MCP server through a real rmcp client (every tool, tools/list golden, prompts,
//!   in-band errors) and the real binary over stdio (nothing but JSON-RPC on stdout).
//! - `mcp_python`: the official Python MCP SDK (`tests/mcp_client/`, a venv made by tests/run) over
//!   stdio and Streamable HTTP, both protocol generations; outputs validated with jsonschema.
//! - `http_safety`: the Streamable HTTP server's checks over real HTTP: Origin and Host (DNS
//!   rebinding), `--allow-host`, the bearer token, the body limit; no tool runs on a refusal.
//! - `mcp_stress`: the Python SDK (`tests/mcp_client/stress.py`) sends mixed valid and invalid calls
//!   over stdio and HTTP (50 clients): every call answered, RSS flat; p50/p99 and RSS printed.
//! - `fastmap`: the rule-by-rule connectivity map equals the map pair by pair through the engine,
//!   connection by connection, on 300 seeded random small clusters (every fallback exercised) and
//!   on benchmark S clusters and the M cluster, and rule lists at the edge of the 64-bit mask.
//! - `oracle`: np-guard/netpol-analyzer (built by tests/netpol-analyzer/build.sh) as a differential
//!   oracle: 300 seeded random small clusters, our `matrix` against its `netpolicy list`.
//! - `props`: property tests (proptest) of the engine's invariants over generated clusters and policies
//!   (additivity, policy order, `diagnose` = `matrix`, explanations of blocked/allowed, determinism).
//! - `query`: endpoint resolution: Service virtual IPs (ClusterIP, externalIPs, load-balancer
//!   ingress) as destination and as source, Service ports of selector-less Services, nodePorts.
//! - `reach`: `reach` / `check_reachability`, one table row per grouping rule (same namespace
//!   first, by cause, allowing rules quoted, external ranges, inconclusive, CNI-specific policies,
//!   limits, the egress view, bad arguments, nothing enforced), each listed pod checked against
//!   `diagnose`; and every peer listed for every example, and every blocked example's source,
//!   get `diagnose`'s verdict and first root cause (a check around the rules aside).
//! - `steps`: the step tools' results (CNI, policy lists, selectors, default deny, policyTypes,
//!   cross-namespace) on small clusters.
//! - `what_if`: what-if edits and the diff of two states, one row per rule (pairs opened and
//!   closed exactly, replacement, deletion, labels of pods and namespaces, a pod gone,
//!   inconclusive pairs, another dialect, the flow before and after, bad edits), the CLI (and
//!   `diff` against `fake_kube`), and the paths `diff_snapshots` may read.

#[path = "suite/admin.rs"]
mod admin;
#[path = "suite/architecture.rs"]
mod architecture;
#[path = "suite/bad_inputs.rs"]
mod bad_inputs;
#[path = "suite/calico.rs"]
mod calico;
#[path = "suite/cilium.rs"]
mod cilium;
#[path = "suite/cli.rs"]
mod cli;
#[path = "suite/cluster_network_policy.rs"]
mod cluster_network_policy;
#[path = "suite/cnp_conformance.rs"]
mod cnp_conformance;
#[path = "suite/common.rs"]
mod common;
#[path = "suite/context.rs"]
mod context;
#[path = "suite/control_plane.rs"]
mod control_plane;
#[path = "suite/diagnose.rs"]
mod diagnose;
#[path = "suite/e2e.rs"]
mod e2e;
#[path = "suite/example_fixes.rs"]
mod example_fixes;
#[path = "suite/examples.rs"]
mod examples;
#[path = "suite/explanations.rs"]
mod explanations;
#[path = "suite/extended_conformance.rs"]
mod extended_conformance;
#[path = "suite/fake_kube.rs"]
mod fake_kube;
#[path = "suite/fastmap.rs"]
mod fastmap;
#[path = "suite/http_safety.rs"]
mod http_safety;
#[path = "suite/live.rs"]
mod live;
#[path = "suite/manifests.rs"]
mod manifests;
#[path = "suite/mcp.rs"]
mod mcp;
#[path = "suite/mcp_python.rs"]
mod mcp_python;
#[path = "suite/mcp_stress.rs"]
mod mcp_stress;
#[path = "suite/netpol_analyzer.rs"]
mod netpol_analyzer;
#[path = "suite/oracle.rs"]
mod oracle;
#[path = "suite/props.rs"]
mod props;
#[path = "suite/query.rs"]
mod query;
#[path = "suite/reach.rs"]
mod reach;
#[path = "suite/real_apiserver.rs"]
mod real_apiserver;
#[path = "suite/rules.rs"]
mod rules;
#[path = "suite/steps.rs"]
mod steps;
#[path = "suite/what_if.rs"]
mod what_if;
