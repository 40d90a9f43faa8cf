//! Which policy language an object of the snapshot speaks, from its apiVersion and kind.
//!
//! Invariant: one table names every policy kind we know of outside `networking.k8s.io/v1`
//! NetworkPolicy; the facts, the listing and the per-vendor readers all ask it, so a kind can
//! never be recognised by one of them and missed by another.

/// A policy kind other than the Kubernetes NetworkPolicy: it filters traffic too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyKind {
    CiliumNetworkPolicy,
    CiliumClusterwideNetworkPolicy,
    CalicoNetworkPolicy,
    CalicoGlobalNetworkPolicy,
    AdminNetworkPolicy,
    BaselineAdminNetworkPolicy,
    /// `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy (not Antrea's kind of that name).
    ClusterNetworkPolicy,
    MultiNetworkPolicy,
    AntreaNetworkPolicy,
    AntreaClusterNetworkPolicy,
}

/// `(API group, versions, kind, PolicyKind)`: every group a kind is served under, and the versions
/// whose shape we read (empty: any). Antrea serves its policies under `crd.antrea.io` and, in older
/// releases, `security.antrea.tanzu.vmware.com`. In `policy.networking.k8s.io` the version decides
/// the shape: AdminNetworkPolicy and BaselineAdminNetworkPolicy are `v1alpha1`, ClusterNetworkPolicy
/// `v1alpha2` (network-policy-api v0.2.0); an object of another version is none of them.
const KINDS: &[(&str, &[&str], &str, PolicyKind)] = &[
    ("cilium.io", &[], "CiliumNetworkPolicy", PolicyKind::CiliumNetworkPolicy),
    (
        "cilium.io",
        &[],
        "CiliumClusterwideNetworkPolicy",
        PolicyKind::CiliumClusterwideNetworkPolicy,
    ),
    (
        "projectcalico.org",
        &[],
        "NetworkPolicy",
        PolicyKind::CalicoNetworkPolicy,
    ),
    (
        "projectcalico.org",
        &[],
        "GlobalNetworkPolicy",
        PolicyKind::CalicoGlobalNetworkPolicy,
    ),
    (
        "crd.projectcalico.org",
        &[],
        "NetworkPolicy",
        PolicyKind::CalicoNetworkPolicy,
    ),
    (
        "crd.projectcalico.org",
        &[],
        "GlobalNetworkPolicy",
        PolicyKind::CalicoGlobalNetworkPolicy,
    ),
    (
        "policy.networking.k8s.io",
        &["v1alpha1"],
        "AdminNetworkPolicy",
        PolicyKind::AdminNetworkPolicy,
    ),
    (
        "policy.networking.k8s.io",
        &["v1alpha1"],
        "BaselineAdminNetworkPolicy",
        PolicyKind::BaselineAdminNetworkPolicy,
    ),
    (
        "policy.networking.k8s.io",
        &["v1alpha2"],
        "ClusterNetworkPolicy",
        PolicyKind::ClusterNetworkPolicy,
    ),
    (
        "k8s.cni.cncf.io",
        &[],
        "MultiNetworkPolicy",
        PolicyKind::MultiNetworkPolicy,
    ),
    ("crd.antrea.io", &[], "NetworkPolicy", PolicyKind::AntreaNetworkPolicy),
    (
        "crd.antrea.io",
        &[],
        "ClusterNetworkPolicy",
        PolicyKind::AntreaClusterNetworkPolicy,
    ),
    (
        "security.antrea.tanzu.vmware.com",
        &[],
        "NetworkPolicy",
        PolicyKind::AntreaNetworkPolicy,
    ),
    (
        "security.antrea.tanzu.vmware.com",
        &[],
        "ClusterNetworkPolicy",
        PolicyKind::AntreaClusterNetworkPolicy,
    ),
];

/// The API group of an `apiVersion` (`""` for the core group's `v1`).
pub fn api_group(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((group, _)) => group,
        None => "",
    }
}

impl PolicyKind {
    /// The policy kind of an object, if it is one.
    pub fn of(api_version: &str, kind: &str) -> Option<PolicyKind> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        KINDS
            .iter()
            .find(|(g, vs, k, _)| *g == group && *k == kind && (vs.is_empty() || vs.contains(&version)))
            .map(|(_, _, _, p)| *p)
    }

    /// Every `(group, kind)` the table knows, for discovery and RBAC cross-checks.
    pub fn table() -> impl Iterator<Item = (&'static str, &'static str, PolicyKind)> {
        KINDS.iter().map(|&(g, _, k, p)| (g, k, p))
    }

    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy: evaluated in the
    /// engine's tiers.
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            PolicyKind::AdminNetworkPolicy | PolicyKind::BaselineAdminNetworkPolicy | PolicyKind::ClusterNetworkPolicy
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Objects of the policy groups that we do not evaluate.
//
// An object of a group that is about policy, whose kind or version nothing here reads, may filter
// traffic: it is listed, warned about, and makes the verdicts it could change inconclusive
// (`EXTENDED_POLICY_PRESENT`). The same groups hold kinds that are not policies; they are listed
// below so that, say, an Ingress does not make every verdict inconclusive.

/// API groups whose objects are about network policy.
const POLICY_GROUPS: &[&str] = &[
    "networking.k8s.io",
    "policy.networking.k8s.io",
    "cilium.io",
    "projectcalico.org",
    "crd.projectcalico.org",
    "crd.antrea.io",
    "security.antrea.tanzu.vmware.com",
    "k8s.cni.cncf.io",
];

/// The kinds of `policy.networking.k8s.io` evaluated, by version: ANP and BANP `v1alpha1`, and
/// ClusterNetworkPolicy `v1alpha2` (evaluated on its own branch; counted as evaluated here so
/// the two merge). Every other version or kind of that group is not evaluated.
const NETWORK_POLICY_API: &[(&str, &str)] = &[
    ("v1alpha1", "AdminNetworkPolicy"),
    ("v1alpha1", "BaselineAdminNetworkPolicy"),
    ("v1alpha2", "ClusterNetworkPolicy"),
];

/// Kinds of the policy groups that are not policies: they select no pod to filter its traffic.
/// `(group, kind, note)`; the note says how the kind can still change connectivity, if it can.
/// A Calico kind is listed once and holds for both of its groups.
const NOT_POLICY: &[(&str, &str, &str)] = &[
    // networking.k8s.io: routing and addressing.
    (
        "networking.k8s.io",
        "Ingress",
        "HTTP routing into the cluster, no filtering",
    ),
    ("networking.k8s.io", "IngressClass", ""),
    ("networking.k8s.io", "ServiceCIDR", "Service address ranges"),
    ("networking.k8s.io", "IPAddress", "a Service IP allocation"),
    // cilium.io (v2 and v2alpha1).
    ("cilium.io", "CiliumEndpoint", "state written by Cilium, one per pod"),
    ("cilium.io", "CiliumEndpointSlice", "state written by Cilium"),
    ("cilium.io", "CiliumIdentity", "state written by Cilium"),
    ("cilium.io", "CiliumNode", "state written by Cilium"),
    ("cilium.io", "CiliumNodeConfig", "agent configuration"),
    ("cilium.io", "CiliumExternalWorkload", "a VM joining the cluster"),
    ("cilium.io", "CiliumLoadBalancerIPPool", "LoadBalancer address pools"),
    ("cilium.io", "CiliumPodIPPool", "pod address pools"),
    (
        "cilium.io",
        "CiliumL2AnnouncementPolicy",
        "ARP announcements of Service IPs, no filtering",
    ),
    ("cilium.io", "CiliumBGPPeeringPolicy", "routing"),
    ("cilium.io", "CiliumBGPClusterConfig", "routing"),
    ("cilium.io", "CiliumBGPPeerConfig", "routing"),
    ("cilium.io", "CiliumBGPAdvertisement", "routing"),
    ("cilium.io", "CiliumBGPNodeConfig", "routing"),
    ("cilium.io", "CiliumBGPNodeConfigOverride", "routing"),
    (
        "cilium.io",
        "CiliumCIDRGroup",
        "CIDRs a Cilium policy refers to (cidrGroupRef); the policy is what filters",
    ),
    (
        "cilium.io",
        "CiliumEgressGatewayPolicy",
        "changes the source IP of egress to an external address (what a destination's ipBlock sees), no filtering",
    ),
    (
        "cilium.io",
        "CiliumLocalRedirectPolicy",
        "redirects traffic for an address to a node-local pod: the real destination differs",
    ),
    (
        "cilium.io",
        "CiliumEnvoyConfig",
        "L7 proxy configuration: the proxy may reject requests",
    ),
    (
        "cilium.io",
        "CiliumClusterwideEnvoyConfig",
        "L7 proxy configuration: the proxy may reject requests",
    ),
    ("cilium.io", "CiliumGatewayClassConfig", ""),
    // Calico (projectcalico.org and crd.projectcalico.org).
    (
        "calico",
        "StagedNetworkPolicy",
        "NOT enforced: previews a policy without filtering traffic",
    ),
    (
        "calico",
        "StagedGlobalNetworkPolicy",
        "NOT enforced: previews a policy without filtering traffic",
    ),
    (
        "calico",
        "StagedKubernetesNetworkPolicy",
        "NOT enforced: previews a NetworkPolicy without filtering traffic",
    ),
    (
        "calico",
        "Tier",
        "orders Calico policies; the policies in it are what filter",
    ),
    (
        "calico",
        "NetworkSet",
        "CIDRs a Calico policy's selectors can match; the policy is what filters",
    ),
    (
        "calico",
        "GlobalNetworkSet",
        "CIDRs a Calico policy's selectors can match; the policy is what filters",
    ),
    (
        "calico",
        "HostEndpoint",
        "a host interface Calico policies may select: host traffic, not pods",
    ),
    (
        "calico",
        "WorkloadEndpoint",
        "state written by Calico, one per pod interface",
    ),
    (
        "calico",
        "Profile",
        "labels per namespace/service account (generated); its rules are deprecated",
    ),
    (
        "calico",
        "IPPool",
        "pod address pools (natOutgoing changes the source IP of egress leaving the cluster)",
    ),
    ("calico", "IPReservation", "addresses kept out of IPAM"),
    ("calico", "IPAMBlock", "IPAM state"),
    ("calico", "IPAMHandle", "IPAM state"),
    ("calico", "IPAMConfig", "IPAM configuration"),
    ("calico", "IPAMConfiguration", "IPAM configuration"),
    ("calico", "BlockAffinity", "IPAM state"),
    ("calico", "BGPConfiguration", "routing"),
    ("calico", "BGPPeer", "routing"),
    ("calico", "BGPFilter", "routing"),
    (
        "calico",
        "FelixConfiguration",
        "agent configuration (e.g. what endpoints may send to their host)",
    ),
    ("calico", "KubeControllersConfiguration", "controller configuration"),
    ("calico", "ClusterInformation", "state written by Calico"),
    ("calico", "CalicoNodeStatus", "state written by Calico"),
    // Antrea (crd.antrea.io and security.antrea.tanzu.vmware.com).
    (
        "antrea",
        "Tier",
        "orders Antrea policies; the policies in it are what filter",
    ),
    (
        "antrea",
        "ClusterGroup",
        "a set of pods or addresses Antrea policies refer to",
    ),
    ("antrea", "Group", "a set of pods or addresses Antrea policies refer to"),
    ("antrea", "ExternalEntity", "a non-pod endpoint"),
    ("antrea", "ExternalNode", "a non-pod endpoint"),
    ("antrea", "ExternalIPPool", "egress and LoadBalancer address pools"),
    (
        "antrea",
        "Egress",
        "changes the source IP of egress (what a destination's ipBlock sees), no filtering",
    ),
    ("antrea", "IPPool", "pod address pools"),
    (
        "antrea",
        "TrafficControl",
        "mirrors or redirects pod traffic to another port",
    ),
    ("antrea", "Traceflow", "a diagnostic"),
    ("antrea", "PacketCapture", "a diagnostic"),
    ("antrea", "SupportBundleCollection", "a diagnostic"),
    ("antrea", "NodeLatencyMonitor", "a diagnostic"),
    ("antrea", "BGPPolicy", "routing"),
    ("antrea", "AntreaAgentInfo", "state written by Antrea"),
    ("antrea", "AntreaControllerInfo", "state written by Antrea"),
    // k8s.cni.cncf.io (Multus).
    (
        "k8s.cni.cncf.io",
        "NetworkAttachmentDefinition",
        "a secondary network (the MultiNetworkPolicy kind filters it)",
    ),
    ("k8s.cni.cncf.io", "IPAMClaim", "an address claim"),
];

/// The vendor family a group belongs to, as [`NOT_POLICY`] names it.
fn family(group: &str) -> &str {
    match group {
        "projectcalico.org" | "crd.projectcalico.org" => "calico",
        "crd.antrea.io" | "security.antrea.tanzu.vmware.com" => "antrea",
        g => g,
    }
}

/// Whether the group of `api_version` is about policy.
pub fn in_policy_group(api_version: &str) -> bool {
    POLICY_GROUPS.contains(&api_group(api_version))
}

/// Why a kind of a policy group is not a policy, when it is in the table (`""`: no note).
pub fn not_policy(api_version: &str, kind: &str) -> Option<&'static str> {
    let f = family(api_group(api_version));
    NOT_POLICY
        .iter()
        .find(|(g, k, _)| *g == f && *k == kind)
        .map(|(_, _, note)| *note)
}

/// A policy object of any dialect other than the Kubernetes NetworkPolicy, evaluated or not.
pub fn is_policy_object(api_version: &str, kind: &str) -> bool {
    PolicyKind::of(api_version, kind).is_some() || unevaluated_policy(api_version, kind)
}

/// An object of a policy group whose kind or version nothing here evaluates or reads, and that
/// is not a known non-policy kind: it may filter traffic we cannot see.
pub fn unevaluated_policy(api_version: &str, kind: &str) -> bool {
    let group = api_group(api_version);
    if !POLICY_GROUPS.contains(&group) || not_policy(api_version, kind).is_some() {
        return false;
    }
    match group {
        "networking.k8s.io" => kind != "NetworkPolicy",
        "policy.networking.k8s.io" => {
            let version = api_version.split_once('/').map_or("", |(_, v)| v);
            !NETWORK_POLICY_API.contains(&(version, kind))
        }
        _ => PolicyKind::of(api_version, kind).is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_of_a_kind_is_recognised() {
        let rows = [
            (
                "cilium.io/v2",
                "CiliumNetworkPolicy",
                Some(PolicyKind::CiliumNetworkPolicy),
            ),
            (
                "projectcalico.org/v3",
                "NetworkPolicy",
                Some(PolicyKind::CalicoNetworkPolicy),
            ),
            (
                "crd.projectcalico.org/v1",
                "GlobalNetworkPolicy",
                Some(PolicyKind::CalicoGlobalNetworkPolicy),
            ),
            (
                "crd.antrea.io/v1beta1",
                "ClusterNetworkPolicy",
                Some(PolicyKind::AntreaClusterNetworkPolicy),
            ),
            // The older Antrea group: it was once missing from the facts' list, so such objects
            // were never seen.
            (
                "security.antrea.tanzu.vmware.com/v1alpha1",
                "NetworkPolicy",
                Some(PolicyKind::AntreaNetworkPolicy),
            ),
            (
                "security.antrea.tanzu.vmware.com/v1alpha1",
                "ClusterNetworkPolicy",
                Some(PolicyKind::AntreaClusterNetworkPolicy),
            ),
            (
                "policy.networking.k8s.io/v1alpha1",
                "AdminNetworkPolicy",
                Some(PolicyKind::AdminNetworkPolicy),
            ),
            (
                "k8s.cni.cncf.io/v1beta1",
                "MultiNetworkPolicy",
                Some(PolicyKind::MultiNetworkPolicy),
            ),
            (
                "policy.networking.k8s.io/v1alpha2",
                "ClusterNetworkPolicy",
                Some(PolicyKind::ClusterNetworkPolicy),
            ),
            // Antrea's kind of the same name is keyed by its group.
            (
                "crd.antrea.io/v1beta1",
                "ClusterNetworkPolicy",
                Some(PolicyKind::AntreaClusterNetworkPolicy),
            ),
            // A version whose shape we do not read is not mistaken for another one.
            ("policy.networking.k8s.io/v1alpha1", "ClusterNetworkPolicy", None),
            ("policy.networking.k8s.io/v1alpha2", "AdminNetworkPolicy", None),
            ("policy.networking.k8s.io/v1beta1", "ClusterNetworkPolicy", None),
            ("networking.k8s.io/v1", "NetworkPolicy", None),
            ("v1", "Pod", None),
        ];
        for (api_version, kind, want) in rows {
            assert_eq!(PolicyKind::of(api_version, kind), want, "{api_version} {kind}");
        }
    }

    #[test]
    fn unevaluated_policy_kinds_table() {
        let rows = [
            (
                "an unknown kind of policy.networking.k8s.io",
                "policy.networking.k8s.io/v1alpha3",
                "Foo",
                true,
            ),
            (
                "an unknown version of AdminNetworkPolicy",
                "policy.networking.k8s.io/v1beta1",
                "AdminNetworkPolicy",
                true,
            ),
            (
                "an unknown version of BaselineAdminNetworkPolicy",
                "policy.networking.k8s.io/v1",
                "BaselineAdminNetworkPolicy",
                true,
            ),
            (
                "AdminNetworkPolicy v1alpha1 is evaluated",
                "policy.networking.k8s.io/v1alpha1",
                "AdminNetworkPolicy",
                false,
            ),
            (
                "ClusterNetworkPolicy v1alpha2 counts as evaluated",
                "policy.networking.k8s.io/v1alpha2",
                "ClusterNetworkPolicy",
                false,
            ),
            ("an unknown Cilium kind", "cilium.io/v2", "CiliumFooPolicy", true),
            (
                "a Cilium kind that is not a policy",
                "cilium.io/v2",
                "CiliumEndpoint",
                false,
            ),
            (
                "CiliumNetworkPolicy is read",
                "cilium.io/v2",
                "CiliumNetworkPolicy",
                false,
            ),
            ("an Ingress is not a policy", "networking.k8s.io/v1", "Ingress", false),
            (
                "NetworkPolicy is evaluated",
                "networking.k8s.io/v1",
                "NetworkPolicy",
                false,
            ),
            (
                "an unknown kind of networking.k8s.io",
                "networking.k8s.io/v1",
                "ClusterNetworkPolicy",
                true,
            ),
            (
                "Calico StagedNetworkPolicy is not enforced",
                "projectcalico.org/v3",
                "StagedNetworkPolicy",
                false,
            ),
            (
                "Calico Tier, in the CRD group too",
                "crd.projectcalico.org/v1",
                "Tier",
                false,
            ),
            (
                "an unknown Calico kind",
                "projectcalico.org/v3",
                "GlobalThreatFeed",
                true,
            ),
            (
                "Antrea Egress is not a policy",
                "crd.antrea.io/v1beta1",
                "Egress",
                false,
            ),
            (
                "an unknown Antrea kind in the older group",
                "security.antrea.tanzu.vmware.com/v1alpha1",
                "FooPolicy",
                true,
            ),
            (
                "a NetworkAttachmentDefinition is not a policy",
                "k8s.cni.cncf.io/v1",
                "NetworkAttachmentDefinition",
                false,
            ),
            (
                "a kind outside the policy groups",
                "monitoring.coreos.com/v1",
                "Prometheus",
                false,
            ),
        ];
        for (rule, api_version, kind, want) in rows {
            assert_eq!(unevaluated_policy(api_version, kind), want, "{rule}");
        }
    }
}
