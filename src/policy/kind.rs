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
}
